//! A Kafka cluster as one reader or writer sees it: the brokers (from `bootstrap.servers`,
//! then from metadata), one [`Connection`] per broker opened on first use, and which broker
//! leads each partition. Each reader and writer owns its `Cluster`, so there is nothing to
//! lock; a connection that fails is dropped and opened again on the next call.

use crate::wire::{error_name, Connection};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use weir_core::{WeirError, WeirResult};

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` of the brokers to ask first.
    pub bootstrap: Vec<String>,
    pub client_id: String,
    /// How long one request may take (`request.timeout.ms`).
    pub timeout: Duration,
}

impl ClientConfig {
    /// Parses `bootstrap.servers` (`host:port,host:port`); `PLAINTEXT://` prefixes are
    /// accepted and dropped.
    pub fn new(servers: &str, client_id: &str, timeout: Duration) -> WeirResult<ClientConfig> {
        let bootstrap: Vec<String> = servers
            .split(',')
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| s.strip_prefix("PLAINTEXT://").unwrap_or(s).to_string())
            .collect();
        if bootstrap.is_empty() {
            return Err(WeirError::new("'bootstrap.servers' names no broker")
                .with_hint("bootstrap.servers = \"localhost:9092\""));
        }
        for s in &bootstrap {
            let port = s.rsplit_once(':').map(|(_, p)| p.parse::<u16>());
            if !matches!(port, Some(Ok(_))) {
                return Err(WeirError::new(format!(
                    "'bootstrap.servers' entry '{s}' is not host:port"
                )));
            }
        }
        Ok(ClientConfig {
            bootstrap,
            client_id: client_id.to_string(),
            timeout,
        })
    }
}

/// One topic's partitions and their leaders.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicInfo {
    /// Partition → leading broker (-1 while it has none).
    pub partitions: BTreeMap<i32, i32>,
}

/// The cluster's brokers, connections and partition leaders.
pub struct Cluster {
    config: ClientConfig,
    brokers: HashMap<i32, String>,
    conns: HashMap<String, Connection>,
    topics: HashMap<String, TopicInfo>,
}

impl Cluster {
    /// Connects to the first bootstrap broker that answers and learns the brokers.
    pub async fn connect(config: ClientConfig) -> WeirResult<Cluster> {
        let mut c = Cluster {
            config,
            brokers: HashMap::new(),
            conns: HashMap::new(),
            topics: HashMap::new(),
        };
        c.metadata(Some(&[])).await?;
        Ok(c)
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    async fn open(&mut self, addr: &str) -> WeirResult<&mut Connection> {
        if !self.conns.contains_key(addr) {
            let conn = Connection::open(addr, &self.config.client_id, self.config.timeout).await?;
            self.conns.insert(addr.to_string(), conn);
        }
        self.conns
            .get_mut(addr)
            .ok_or_else(|| WeirError::new("connection vanished"))
    }

    /// A connection to any broker: a known one, else the bootstrap list in order.
    pub async fn any(&mut self) -> WeirResult<&mut Connection> {
        let mut candidates: Vec<String> = self.conns.keys().cloned().collect();
        candidates.extend(self.brokers.values().cloned());
        candidates.extend(self.config.bootstrap.iter().cloned());
        let mut last = None;
        for addr in candidates {
            match self.open(&addr).await {
                Ok(_) => return self.open(&addr).await,
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| WeirError::new("no Kafka broker to ask")))
    }

    /// A connection to broker `node`.
    pub async fn broker(&mut self, node: i32) -> WeirResult<&mut Connection> {
        let addr = match self.brokers.get(&node) {
            Some(a) => a.clone(),
            None => {
                self.metadata(Some(&[])).await?;
                self.brokers.get(&node).cloned().ok_or_else(|| {
                    WeirError::new(format!("Kafka broker {node} is not in the cluster"))
                })?
            }
        };
        self.open(&addr).await
    }

    /// Forgets the connection to `addr` (after an I/O error), so the next call reconnects.
    pub fn forget(&mut self, addr: &str) {
        self.conns.remove(addr);
    }

    /// Forgets every connection that failed a call to `node`.
    pub fn forget_broker(&mut self, node: i32) {
        if let Some(addr) = self.brokers.get(&node).cloned() {
            self.forget(&addr);
        }
    }

    /// Asks for the metadata of `topics` (None: every topic) and remembers the leaders.
    /// Topics the cluster does not have are left out of the answer.
    pub async fn metadata(
        &mut self,
        topics: Option<&[String]>,
    ) -> WeirResult<BTreeMap<String, TopicInfo>> {
        let req = MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(false);
        let conn = self.any().await?;
        let addr = conn.addr().to_string();
        let resp = match conn.call(&req, 12).await {
            Ok(r) => r,
            Err(e) => {
                self.forget(&addr);
                return Err(e);
            }
        };
        for b in &resp.brokers {
            self.brokers
                .insert(b.node_id.0, format!("{}:{}", b.host.as_str(), b.port));
        }
        let mut out = BTreeMap::new();
        for t in resp.topics {
            let Some(name) = t.name.map(|n| n.0.to_string()) else {
                continue;
            };
            match t.error_code {
                0 => {}
                3 => continue, // UNKNOWN_TOPIC_OR_PARTITION
                code => {
                    return Err(WeirError::new(format!(
                        "Kafka cannot describe topic '{name}': {}",
                        error_name(code)
                    )))
                }
            }
            let info = TopicInfo {
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| (p.partition_index, p.leader_id.0))
                    .collect(),
            };
            self.topics.insert(name.clone(), info.clone());
            out.insert(name, info);
        }
        Ok(out)
    }

    /// The broker leading `topic`/`partition`, asking the cluster when not known.
    pub async fn leader(&mut self, topic: &str, partition: i32) -> WeirResult<i32> {
        if let Some(l) = self
            .topics
            .get(topic)
            .and_then(|t| t.partitions.get(&partition))
            .filter(|l| **l >= 0)
        {
            return Ok(*l);
        }
        self.metadata(Some(&[topic.to_string()])).await?;
        self.topics
            .get(topic)
            .and_then(|t| t.partitions.get(&partition))
            .copied()
            .filter(|l| *l >= 0)
            .ok_or_else(|| {
                WeirError::new(format!(
                    "Kafka partition {topic}-{partition} has no leader (does the topic exist?)"
                ))
            })
    }

    /// Forgets the leader of every partition of `topic` (after NOT_LEADER_OR_FOLLOWER).
    pub fn forget_leaders(&mut self, topic: &str) {
        self.topics.remove(topic);
    }
}
