//! The `weir` binary.

use clap::Parser;
use weir::cli::{Cli, Command};

fn stderr_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEIR_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match cli.command {
        Command::Run(args) => {
            stderr_logging();
            runtime.block_on(weir::cli::run::execute(args))
        }
        Command::List(args) => {
            stderr_logging();
            runtime.block_on(weir::cli::remote::list(args))
        }
        Command::Cancel(args) => {
            stderr_logging();
            runtime.block_on(weir::cli::remote::cancel(args))
        }
        Command::Info(args) => {
            stderr_logging();
            runtime.block_on(weir::cli::remote::info(args))
        }
        Command::Savepoint(args) => {
            stderr_logging();
            runtime.block_on(weir::cli::savepoint::savepoint(args))
        }
        Command::Stop(args) => {
            stderr_logging();
            runtime.block_on(weir::cli::savepoint::stop(args))
        }
        Command::Start(args) => match weir::cli::start::prepare(&args) {
            Ok((config, dirs)) => {
                // The cluster logs to a file in its log directory, served by /jobmanager/log.
                let appender =
                    tracing_appender::rolling::never(&dirs.logs, weir::cluster::LOG_FILE);
                tracing_subscriber::fmt()
                    .with_env_filter(
                        tracing_subscriber::EnvFilter::try_from_env("WEIR_LOG")
                            .unwrap_or_else(|_| "info".into()),
                    )
                    .with_ansi(false)
                    .with_writer(appender)
                    .init();
                runtime.block_on(weir::cli::start::execute(args, config, dirs))
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
    };
    // Subtasks of a cancelled streaming job may still be parked; do not wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    std::process::exit(code);
}
