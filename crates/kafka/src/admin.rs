//! Creating topics and adding partitions: what tests and benchmarks need to set a broker up,
//! through the same client the connector uses.

use crate::cluster::Cluster;
use crate::offsets::topic_name;
use crate::wire::error_name;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{CreatePartitionsRequest, CreateTopicsRequest};
use weir_core::{WeirError, WeirResult};

impl Cluster {
    /// Creates `topic` with `partitions` partitions (replication factor 1); an existing
    /// topic is an error.
    pub async fn create_topic(&mut self, topic: &str, partitions: i32) -> WeirResult<()> {
        let req = CreateTopicsRequest::default()
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic_name(topic))
                .with_num_partitions(partitions)
                .with_replication_factor(1)])
            .with_timeout_ms(30_000);
        let controller = self.any().await?;
        let resp = controller.call(&req, 5).await?;
        for t in resp.topics {
            if t.error_code != 0 {
                return Err(WeirError::new(format!(
                    "Kafka cannot create topic '{topic}': {}",
                    error_name(t.error_code)
                )));
            }
        }
        // Leaders are elected a moment after creation.
        for attempt in 0..50u32 {
            let meta = self.metadata(Some(&[topic.to_string()])).await?;
            if meta.get(topic).is_some_and(|t| {
                t.partitions.len() == partitions as usize && t.partitions.values().all(|l| *l >= 0)
            }) {
                return Ok(());
            }
            crate::offsets::backoff(attempt).await;
        }
        Err(WeirError::new(format!("topic '{topic}' has no leaders")))
    }

    /// Grows `topic` to `count` partitions.
    pub async fn create_partitions(&mut self, topic: &str, count: i32) -> WeirResult<()> {
        let req = CreatePartitionsRequest::default()
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(topic_name(topic))
                .with_count(count)])
            .with_timeout_ms(30_000);
        let resp = self.any().await?.call(&req, 3).await?;
        for r in resp.results {
            if r.error_code != 0 {
                return Err(WeirError::new(format!(
                    "Kafka cannot grow topic '{topic}' to {count} partitions: {}",
                    error_name(r.error_code)
                )));
            }
        }
        Ok(())
    }
}
