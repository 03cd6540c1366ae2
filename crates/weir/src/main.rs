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

/// The cluster's log, to a file in `dir` (served by `/jobmanager/log`).
fn file_logging(dir: &std::path::Path) {
    let appender = tracing_appender::rolling::never(dir, weir::cluster::LOG_FILE);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WEIR_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(false)
        .with_writer(appender)
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
            // A local run is a cluster in this process: its log goes where a cluster's does,
            // and the terminal shows only the command's own lines.
            match weir::cli::run::local_log_dir(&args) {
                Some(dir) => file_logging(&dir),
                None => stderr_logging(),
            }
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
        Command::Jobmanager(args) => match weir::cli::jobmanager::prepare(&args) {
            Ok((config, dirs)) => {
                file_logging(&dirs.logs);
                runtime.block_on(weir::cli::jobmanager::execute(config, dirs))
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
        Command::Taskmanager(args) => match weir::cli::taskmanager::prepare(&args) {
            Ok((config, dirs)) => {
                file_logging(&dirs.logs);
                runtime.block_on(weir::cli::taskmanager::execute(args, config, dirs))
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
        Command::Start(args) => match weir::cli::start::prepare(&args) {
            Ok((config, dirs)) => {
                file_logging(&dirs.logs);
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
