//! Turns a submission into a validated `JobGraph` with the binary's plugins, preparing every
//! operator once to check it (schemas, SQL plans), so a bad job is rejected at submission with
//! all its problems instead of failing later on a TaskManager.

use weir_core::JobId;
use weir_gateway::{JobCompiler, JobFileProblem, JobFileProblems, JobSubmission};
use weir_pipeline::{parse_job, JobGraph, Variables};
use weir_runtime::{PluginRegistry, PreparedJob, RuntimeConfig};

/// The binary's `JobCompiler`.
pub struct PluginCompiler {
    pub registry: PluginRegistry,
    /// `parallelism.default`, used when the job sets none.
    pub default_parallelism: usize,
    /// `weir.job-file.env-allowlist`: the environment variables job files may read.
    pub env_allowlist: Vec<String>,
    /// Which local paths the job's plugins may name (`weir.sandbox.allowed-paths`).
    pub sandbox: weir_pipeline::sandbox::PathSandbox,
    /// Which object-store endpoints the job's plugins may reach (`weir.sandbox.allowed-endpoints`).
    pub endpoints: weir_pipeline::endpoint_allowlist::EndpointAllowlist,
}

impl JobCompiler for PluginCompiler {
    fn check(&self, s: &JobSubmission) -> Result<JobGraph, JobFileProblems> {
        let vars = Variables {
            values: s.variables.clone(),
            use_env: false,
            allowed_env: self.env_allowlist.clone(),
        };
        let mut config =
            parse_job(&s.text, s.format, &vars).map_err(|e| JobFileProblems::from(&e))?;
        if let Some(p) = s.parallelism {
            if p > weir_pipeline::config::MAX_PARALLELISM {
                return Err(JobFileProblems::one(JobFileProblem {
                    option: Some("parallelism".into()),
                    message: format!(
                        "parallelism {p} is above the maximum of {}",
                        weir_pipeline::config::MAX_PARALLELISM
                    ),
                    ..JobFileProblem::default()
                }));
            }
            config.env.parallelism = p.max(1);
        } else if !config.env.options.contains("parallelism") {
            config.env.parallelism = self.default_parallelism.max(1);
        }
        let graph =
            JobGraph::build(config, &self.registry).map_err(|e| JobFileProblems::from(&e))?;
        PreparedJob::prepare(
            JobId(0),
            graph.clone(),
            &self.registry,
            RuntimeConfig {
                sandbox: self.sandbox.clone(),
                endpoints: self.endpoints.clone(),
                ..RuntimeConfig::default()
            },
        )
        .map_err(|e| JobFileProblems::from(&e))?;
        Ok(graph)
    }
}
