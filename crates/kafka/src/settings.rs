//! The Kafka connector's options, read once at prepare into typed settings (pure, tested): the
//! client (`bootstrap.servers`, `kafka.config`), the source's topics and start mode, the sink's
//! topic, partitioning and delivery semantics.

use crate::cluster::ClientConfig;
use crate::format::{Format, OnError};
use crate::offsets::TopicPartition;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::Options;

/// `kafka.config` keys weir's client honours; others are accepted and logged as ignored.
const CLIENT_KEYS: &[&str] = &[
    "client.id",
    "request.timeout.ms",
    "isolation.level",
    "max.partition.fetch.bytes",
    "fetch.max.wait.ms",
    "acks",
    "compression.type",
    "batch.size",
    "transaction.timeout.ms",
    "group.id",
];

/// `kafka.config` as strings.
pub fn kafka_config(o: &Options) -> WeirResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if let Some(m) = o.object("kafka.config").map_err(WeirError::new)? {
        for (k, v) in m {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(WeirError::new(format!(
                        "kafka.config '{k}' must be a string or number, not {other}"
                    )))
                }
            };
            if !CLIENT_KEYS.contains(&k.as_str()) {
                tracing::warn!(key = %k, "kafka.config key not used by weir's Kafka client");
            }
            out.insert(k.clone(), v);
        }
    }
    Ok(out)
}

fn config_ms(cfg: &BTreeMap<String, String>, key: &str, default: u64) -> WeirResult<u64> {
    match cfg.get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse::<u64>().map_err(|_| {
            WeirError::new(format!("kafka.config '{key}' must be a number, not '{v}'"))
        }),
    }
}

/// How to reach the brokers.
pub fn client(o: &Options, cfg: &BTreeMap<String, String>, role: &str) -> WeirResult<ClientConfig> {
    let servers = o
        .str("bootstrap.servers")
        .map_err(WeirError::new)?
        .ok_or_else(|| WeirError::new("the Kafka connector needs 'bootstrap.servers'"))?;
    let id = cfg
        .get("client.id")
        .cloned()
        .unwrap_or_else(|| format!("weir-{role}"));
    let timeout = config_ms(cfg, "request.timeout.ms", 30_000)?;
    ClientConfig::new(&servers, &id, Duration::from_millis(timeout.max(100)))
}

/// Which topics a source reads.
#[derive(Debug, Clone)]
pub enum Topics {
    Names(Vec<String>),
    Pattern(regex::Regex),
}

impl Topics {
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            Topics::Names(n) => n.iter().any(|t| t == topic),
            Topics::Pattern(r) => r.is_match(topic) && !topic.starts_with("__"),
        }
    }
}

/// Where a source starts on partitions it has no saved position for.
#[derive(Debug, Clone, PartialEq)]
pub enum StartMode {
    Earliest,
    Latest,
    GroupOffsets,
    Specific(BTreeMap<TopicPartition, i64>),
    Timestamp(i64),
}

/// Everything the source needs.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub client: ClientConfig,
    pub topics: Topics,
    pub group: String,
    pub start: StartMode,
    pub discovery: Option<Duration>,
    pub commit_on_checkpoint: bool,
    pub format: Format,
    pub on_error: OnError,
    pub read_committed: bool,
    pub partition_max_bytes: i32,
    pub max_wait: Duration,
}

/// Parses `topic-partition` (the partition after the last `-`).
pub fn parse_topic_partition(s: &str) -> Option<TopicPartition> {
    let (t, p) = s.rsplit_once('-')?;
    Some(TopicPartition {
        topic: t.to_string(),
        partition: p.parse().ok()?,
    })
}

impl SourceSettings {
    pub fn parse(o: &Options) -> WeirResult<SourceSettings> {
        let e = WeirError::new;
        let cfg = kafka_config(o)?;
        let client = client(o, &cfg, "source")?;
        let topic = o
            .str("topic")
            .map_err(e)?
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| WeirError::new("the Kafka source needs 'topic'"))?;
        let topics = if o.bool("pattern").map_err(e)?.unwrap_or(false) {
            Topics::Pattern(
                regex::Regex::new(&format!("^(?:{})$", topic.trim())).map_err(|err| {
                    WeirError::new(format!("'topic' is not a valid pattern: {err}"))
                })?,
            )
        } else {
            Topics::Names(
                topic
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect(),
            )
        };
        let group = o
            .str("consumer.group")
            .map_err(e)?
            .or_else(|| cfg.get("group.id").cloned())
            .unwrap_or_else(|| "SeaTunnel-Consumer-Group".into());
        let start = match o
            .str("start_mode")
            .map_err(e)?
            .unwrap_or_else(|| "group_offsets".into())
            .to_ascii_lowercase()
            .as_str()
        {
            "earliest" => StartMode::Earliest,
            "latest" => StartMode::Latest,
            "group_offsets" => StartMode::GroupOffsets,
            "timestamp" => StartMode::Timestamp(
                o.i64("start_mode.timestamp").map_err(e)?.ok_or_else(|| {
                    WeirError::new("start_mode = timestamp needs 'start_mode.timestamp' (ms since the epoch)")
                })?,
            ),
            "specific_offsets" => {
                let m = o.object("start_mode.offsets").map_err(e)?.ok_or_else(|| {
                    WeirError::new("start_mode = specific_offsets needs 'start_mode.offsets'")
                        .with_hint("start_mode.offsets = { \"my_topic-0\" = 70 }")
                })?;
                let mut offsets = BTreeMap::new();
                for (k, v) in m {
                    let tp = parse_topic_partition(k).ok_or_else(|| {
                        WeirError::new(format!(
                            "start_mode.offsets key '{k}' is not <topic>-<partition>"
                        ))
                    })?;
                    let off = weir_pipeline::options::as_i64(v).filter(|o| *o >= 0).ok_or_else(
                        || WeirError::new(format!("start_mode.offsets '{k}' must be an offset")),
                    )?;
                    offsets.insert(tp, off);
                }
                StartMode::Specific(offsets)
            }
            other => {
                return Err(WeirError::new(format!(
                    "unknown start_mode '{other}'; use earliest, latest, group_offsets, specific_offsets or timestamp"
                )))
            }
        };
        let discovery = match o.i64("partition-discovery.interval-millis").map_err(e)? {
            Some(ms) if ms > 0 => Some(Duration::from_millis(ms as u64)),
            _ => None,
        };
        let format = Format::parse(
            o.str("format").map_err(e)?.as_deref(),
            o.str("field_delimiter").map_err(e)?.as_deref(),
        )?;
        let on_error = match o
            .str("format_error_handle_way")
            .map_err(e)?
            .unwrap_or_else(|| "fail".into())
            .to_ascii_lowercase()
            .as_str()
        {
            "fail" => OnError::Fail,
            "skip" => OnError::Skip,
            other => {
                return Err(WeirError::new(format!(
                    "unknown format_error_handle_way '{other}'; use fail or skip"
                )))
            }
        };
        let read_committed = match cfg.get("isolation.level").map(|s| s.as_str()) {
            None | Some("read_uncommitted") => false,
            Some("read_committed") => true,
            Some(other) => {
                return Err(WeirError::new(format!(
                    "kafka.config 'isolation.level' is read_committed or read_uncommitted, not '{other}'"
                )))
            }
        };
        Ok(SourceSettings {
            client,
            topics,
            group,
            start,
            discovery,
            commit_on_checkpoint: o.bool("commit_on_checkpoint").map_err(e)?.unwrap_or(true),
            format,
            on_error,
            read_committed,
            partition_max_bytes: config_ms(&cfg, "max.partition.fetch.bytes", 1 << 20)?
                .clamp(1024, i32::MAX as u64) as i32,
            max_wait: Duration::from_millis(
                config_ms(&cfg, "fetch.max.wait.ms", 50)?.clamp(1, 10_000),
            ),
        })
    }
}

/// The sink's delivery guarantee (`semantics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantics {
    /// Written when convenient; lost on a crash if not yet sent.
    None,
    /// Flushed at every checkpoint; a restore may write some rows again.
    AtLeastOnce,
    /// Kafka transactions committed with the checkpoint.
    ExactlyOnce,
}

/// Where a sink's rows go.
#[derive(Debug, Clone, PartialEq)]
pub enum TopicRoute {
    Fixed(String),
    /// `${column}`: each row's value of the column.
    Column(String),
}

/// Everything the sink needs.
#[derive(Debug, Clone)]
pub struct SinkSettings {
    pub client: ClientConfig,
    pub topic: TopicRoute,
    pub format: Format,
    pub key_fields: Vec<String>,
    pub partition: Option<i32>,
    pub assign_partitions: Vec<String>,
    pub semantics: Semantics,
    pub transaction_prefix: Option<String>,
    pub acks: i16,
    pub compression: kafka_protocol::records::Compression,
    pub batch_bytes: usize,
    pub transaction_timeout_ms: i32,
}

impl SinkSettings {
    /// `topic` as given after table placeholders were filled in.
    pub fn parse(o: &Options, topic: &str) -> WeirResult<SinkSettings> {
        let e = WeirError::new;
        let cfg = kafka_config(o)?;
        let client = client(o, &cfg, "sink")?;
        let topic = topic.trim();
        if topic.is_empty() {
            return Err(WeirError::new("the Kafka sink needs 'topic'"));
        }
        let topic = match topic.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
            Some(col) => TopicRoute::Column(col.to_string()),
            None => TopicRoute::Fixed(topic.to_string()),
        };
        let semantics = match o
            .str("semantics")
            .map_err(e)?
            .unwrap_or_else(|| "NON".into())
            .to_ascii_uppercase()
            .as_str()
        {
            "NON" => Semantics::None,
            "AT_LEAST_ONCE" => Semantics::AtLeastOnce,
            "EXACTLY_ONCE" => Semantics::ExactlyOnce,
            other => {
                return Err(WeirError::new(format!(
                    "unknown semantics '{other}'; use NON, AT_LEAST_ONCE or EXACTLY_ONCE"
                )))
            }
        };
        let acks = match cfg.get("acks").map(|s| s.as_str()) {
            None | Some("all") | Some("-1") => -1,
            Some("1") => 1,
            Some(other) => {
                return Err(WeirError::new(format!(
                    "kafka.config 'acks' = '{other}' is not supported; use all, -1 or 1"
                )))
            }
        };
        if semantics == Semantics::ExactlyOnce && acks != -1 {
            return Err(WeirError::new(
                "semantics = EXACTLY_ONCE needs kafka.config 'acks' = all (Kafka's transactions require it)",
            ));
        }
        use kafka_protocol::records::Compression;
        let compression = match cfg.get("compression.type").map(|s| s.as_str()) {
            None | Some("none") => Compression::None,
            Some("gzip") => Compression::Gzip,
            Some("snappy") => Compression::Snappy,
            Some("lz4") => Compression::Lz4,
            Some("zstd") => Compression::Zstd,
            Some(other) => {
                return Err(WeirError::new(format!(
                    "kafka.config 'compression.type' '{other}' is not one of none, gzip, snappy, lz4, zstd"
                )))
            }
        };
        let partition = o.i64("partition").map_err(e)?;
        if partition.is_some_and(|p| p < 0 || p > i32::MAX as i64) {
            return Err(WeirError::new(
                "'partition' must be a partition number (0 or more)",
            ));
        }
        Ok(SinkSettings {
            client,
            topic,
            format: Format::parse(
                o.str("format").map_err(e)?.as_deref(),
                o.str("field_delimiter").map_err(e)?.as_deref(),
            )?,
            key_fields: o
                .str_list("partition_key_fields")
                .map_err(e)?
                .unwrap_or_default(),
            partition: partition.map(|p| p as i32),
            assign_partitions: o
                .str_list("assign_partitions")
                .map_err(e)?
                .unwrap_or_default(),
            semantics,
            transaction_prefix: o
                .str("transaction_prefix")
                .map_err(e)?
                .filter(|p| !p.is_empty()),
            acks,
            compression,
            batch_bytes: config_ms(&cfg, "batch.size", 1 << 20)?.clamp(1024, 64 << 20) as usize,
            transaction_timeout_ms: config_ms(&cfg, "transaction.timeout.ms", 900_000)?
                .clamp(1000, i32::MAX as u64) as i32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(v: Value) -> Options {
        Options::new(v.as_object().unwrap().clone())
    }

    #[test]
    fn source_options_as_seatunnel_spells_them() {
        let s = SourceSettings::parse(&opts(json!({
            "bootstrap.servers": "PLAINTEXT://a:9092, b:9093",
            "topic": "t1,t2",
            "start_mode": "specific_offsets",
            "start_mode.offsets": {"t1-0": 70, "my-topic-3": "5"},
            "format_error_handle_way": "skip",
            "kafka.config": {"isolation.level": "read_committed"},
        })))
        .unwrap();
        assert_eq!(s.client.bootstrap, vec!["a:9092", "b:9093"]);
        assert!(s.topics.matches("t2") && !s.topics.matches("t3"));
        let StartMode::Specific(m) = s.start else {
            panic!()
        };
        assert_eq!(
            m[&TopicPartition {
                topic: "my-topic".into(),
                partition: 3
            }],
            5
        );
        assert_eq!(s.on_error, OnError::Skip);
        assert!(s.read_committed);
        assert_eq!(s.group, "SeaTunnel-Consumer-Group");
        let p = SourceSettings::parse(&opts(json!({
            "bootstrap.servers": "a:1", "topic": "logs-.*", "pattern": true,
            "start_mode": "timestamp", "start_mode.timestamp": 1700000000000i64,
        })))
        .unwrap();
        assert!(p.topics.matches("logs-a") && !p.topics.matches("xlogs-a"));
        assert_eq!(p.start, StartMode::Timestamp(1700000000000));
    }

    #[test]
    fn source_mistakes_say_what_to_fix() {
        let err = |v: Value| SourceSettings::parse(&opts(v)).unwrap_err().message;
        assert!(err(json!({"topic": "t"})).contains("bootstrap.servers"));
        assert!(err(json!({"bootstrap.servers": "a", "topic": "t"})).contains("host:port"));
        assert!(
            err(json!({"bootstrap.servers": "a:1", "topic": "t", "start_mode": "timestamp"}))
                .contains("start_mode.timestamp")
        );
        assert!(
            err(json!({"bootstrap.servers": "a:1", "topic": "t", "start_mode": "begin"}))
                .contains("earliest")
        );
        assert!(
            err(json!({"bootstrap.servers": "a:1", "topic": "t", "format": "avro"}))
                .contains("json")
        );
    }

    #[test]
    fn sink_options_as_seatunnel_spells_them() {
        let o = opts(json!({
            "bootstrap.servers": "a:1", "semantics": "exactly_once",
            "partition_key_fields": ["id"], "kafka.config": {"compression.type": "lz4"},
        }));
        let s = SinkSettings::parse(&o, "${topic_col}").unwrap();
        assert_eq!(s.topic, TopicRoute::Column("topic_col".into()));
        assert_eq!(s.semantics, Semantics::ExactlyOnce);
        assert_eq!(s.key_fields, vec!["id"]);
        let o = opts(
            json!({"bootstrap.servers": "a:1", "semantics": "EXACTLY_ONCE",
            "kafka.config": {"acks": "1"}}),
        );
        assert!(SinkSettings::parse(&o, "t")
            .unwrap_err()
            .message
            .contains("acks"));
    }
}
