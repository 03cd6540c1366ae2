//! A job's checkpointing and restart settings, from Flink's option names in the cluster
//! configuration (or the submission's), overridden by SeaTunnel's `env` options of the job file
//! (`checkpoint.interval`, `checkpoint.timeout`). In one place so every key and default is
//! visible together.

use crate::checkpoint_coordinator::{CheckpointSettings, DEFAULT_CHECKPOINT_DIR};
use crate::restart_strategy::RestartStrategy;
use std::collections::BTreeMap;
use std::time::Duration;
use weir_core::time::parse_duration;
use weir_gateway::CheckpointLocation;
use weir_pipeline::{JobGraph, JobMode};

/// SeaTunnel's default checkpoint interval for streaming jobs (Zeta's `seatunnel.yaml`).
pub const STREAMING_DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// Checkpointing and restart settings of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    /// `None` for jobs that never checkpoint (batch jobs).
    pub checkpoints: Option<CheckpointSettings>,
    pub restart: RestartStrategy,
    /// `env.tag_filter`: the tags a worker must have to run the job (SeaTunnel's resource
    /// isolation); empty runs anywhere.
    pub tag_filter: BTreeMap<String, String>,
}

struct Lookup<'a>(&'a BTreeMap<String, String>);

impl Lookup<'_> {
    fn get(&self, keys: &[&str]) -> Option<&str> {
        keys.iter()
            .find_map(|k| self.0.get(*k))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    fn duration(&self, keys: &[&str]) -> Result<Option<Duration>, String> {
        self.get(keys)
            .map(|v| parse_duration(v).map_err(|e| format!("configuration '{}': {e}", keys[0])))
            .transpose()
    }

    fn number<T: std::str::FromStr>(&self, keys: &[&str]) -> Result<Option<T>, String> {
        self.get(keys)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| format!("configuration '{}' must be a number, got '{v}'", keys[0]))
            })
            .transpose()
    }
}

impl JobSettings {
    /// Settings from `config` (cluster configuration with the submission's overrides) and the
    /// job file's `env`.
    pub fn resolve(config: &BTreeMap<String, String>, graph: &JobGraph) -> Result<Self, String> {
        let c = Lookup(config);
        let env_timeout = graph
            .env
            .options
            .i64("checkpoint.timeout")
            .ok()
            .flatten()
            .filter(|t| *t > 0)
            .map(|t| Duration::from_millis(t as u64));
        let interval = match graph.env.checkpoint_interval_ms {
            Some(ms) => Some(Duration::from_millis(ms)),
            None => c
                .duration(&["execution.checkpointing.interval"])?
                .filter(|d| !d.is_zero())
                .or((graph.mode == JobMode::Streaming).then_some(STREAMING_DEFAULT_INTERVAL)),
        };
        let checkpoints = (graph.mode == JobMode::Streaming).then(|| -> Result<_, String> {
            let d = CheckpointSettings::default();
            let retention = c
                .get(&[
                    "execution.checkpointing.externalized-checkpoint-retention",
                    "execution.checkpointing.externalized-checkpoints",
                ])
                .unwrap_or("NO_EXTERNALIZED_CHECKPOINTS");
            let retain_on_cancellation = match retention {
                "RETAIN_ON_CANCELLATION" => true,
                "DELETE_ON_CANCELLATION" | "NO_EXTERNALIZED_CHECKPOINTS" => false,
                other => return Err(format!(
                    "configuration 'execution.checkpointing.externalized-checkpoint-retention' must be RETAIN_ON_CANCELLATION, DELETE_ON_CANCELLATION or NO_EXTERNALIZED_CHECKPOINTS, got '{other}'"
                )),
            };
            Ok(CheckpointSettings {
                interval,
                timeout: env_timeout
                    .or(c.duration(&["execution.checkpointing.timeout"])?)
                    .unwrap_or(d.timeout),
                min_pause: c
                    .duration(&["execution.checkpointing.min-pause"])?
                    .unwrap_or(d.min_pause),
                max_concurrent: c
                    .number(&["execution.checkpointing.max-concurrent-checkpoints"])?
                    .unwrap_or(d.max_concurrent),
                tolerable_failures: c
                    .number(&["execution.checkpointing.tolerable-failed-checkpoints"])?
                    .unwrap_or(d.tolerable_failures),
                num_retained: c
                    .number(&["execution.checkpointing.num-retained", "state.checkpoints.num-retained"])?
                    .unwrap_or(d.num_retained),
                retain_on_cancellation,
                dir: checkpoint_dir(&c)?,
                savepoint_dir: c
                    .get(&["execution.checkpointing.savepoint-dir", "state.savepoints.dir"])
                    .map(str::to_string),
                history_size: c
                    .number(&["web.checkpoints.history"])?
                    .unwrap_or(d.history_size),
            })
        });
        let checkpoints = checkpoints.transpose()?;
        let restart = restart_strategy(&c, checkpoints.is_some())?;
        Ok(JobSettings {
            checkpoints,
            restart,
            tag_filter: tag_filter(&graph.env.options)?,
        })
    }
}

/// `env.tag_filter { key = value, ... }`, values as text.
fn tag_filter(env: &weir_pipeline::Options) -> Result<BTreeMap<String, String>, String> {
    let Some(filter) = env.get("tag_filter") else {
        return Ok(BTreeMap::new());
    };
    let serde_json::Value::Object(tags) = filter else {
        return Err(
            "env.tag_filter must be an object of tags, e.g. tag_filter { group = \"platform\" }"
                .into(),
        );
    };
    tags.iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                Ok((k.clone(), v.to_string()))
            }
            _ => Err(format!(
                "env.tag_filter.{k} must be a value, not a list or object"
            )),
        })
        .collect()
}

/// `execution.checkpointing.dir` as a place, or why it is none.
fn checkpoint_dir(c: &Lookup) -> Result<CheckpointLocation, String> {
    let dir = c
        .get(&["execution.checkpointing.dir", "state.checkpoints.dir"])
        .unwrap_or(DEFAULT_CHECKPOINT_DIR);
    CheckpointLocation::parse(dir)
        .map_err(|e| format!("configuration 'execution.checkpointing.dir': {e}"))
}

fn restart_strategy(c: &Lookup, checkpointing: bool) -> Result<RestartStrategy, String> {
    let kind = c.get(&["restart-strategy.type", "restart-strategy"]);
    // Flink: no strategy configured means exponential-delay with checkpointing, none without.
    let kind = kind.unwrap_or(if checkpointing {
        "exponential-delay"
    } else {
        "none"
    });
    Ok(match kind.to_ascii_lowercase().as_str() {
        "none" | "off" | "disable" => RestartStrategy::None,
        "fixed-delay" | "fixeddelay" => RestartStrategy::FixedDelay {
            attempts: c
                .number(&["restart-strategy.fixed-delay.attempts"])?
                .unwrap_or(1),
            delay: c
                .duration(&["restart-strategy.fixed-delay.delay"])?
                .unwrap_or(Duration::from_secs(1)),
        },
        "exponential-delay" | "exponentialdelay" => RestartStrategy::ExponentialDelay {
            initial: c
                .duration(&["restart-strategy.exponential-delay.initial-backoff"])?
                .unwrap_or(Duration::from_secs(1)),
            max: c
                .duration(&["restart-strategy.exponential-delay.max-backoff"])?
                .unwrap_or(Duration::from_secs(60)),
            multiplier: c
                .number(&["restart-strategy.exponential-delay.backoff-multiplier"])?
                .unwrap_or(1.5),
            reset_after: c
                .duration(&["restart-strategy.exponential-delay.reset-backoff-threshold"])?
                .unwrap_or(Duration::from_secs(3600)),
            attempts: c
                .number(&["restart-strategy.exponential-delay.attempts-before-reset-backoff"])?
                .unwrap_or(i32::MAX as u32),
        },
        "failure-rate" | "failurerate" => RestartStrategy::FailureRate {
            max_failures: c
                .number(&["restart-strategy.failure-rate.max-failures-per-interval"])?
                .unwrap_or(1),
            interval: c
                .duration(&["restart-strategy.failure-rate.failure-rate-interval"])?
                .unwrap_or(Duration::from_secs(60)),
            delay: c
                .duration(&["restart-strategy.failure-rate.delay"])?
                .unwrap_or(Duration::from_secs(1)),
        },
        other => {
            return Err(format!(
                "configuration 'restart-strategy.type' must be none, fixed-delay, exponential-delay or failure-rate, got '{other}'"
            ))
        }
    })
}
