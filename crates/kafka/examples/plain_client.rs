//! The broker's own limit with weir's Kafka client alone, for `bench/kafka.sh`: a plain
//! produce loop and a plain consume loop, no job around them.
//!
//!   plain_client produce BOOTSTRAP TOPIC ROWS BYTES [RATE]   (RATE rows/s; 0 = as fast as it goes)
//!   plain_client consume BOOTSTRAP TOPIC ROWS [latency]      (latency: rows carry "ts" ms)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use weir_kafka::cluster::{ClientConfig, Cluster};
use weir_kafka::fetch::FetchSettings;
use weir_kafka::offsets::{TopicPartition, EARLIEST};
use weir_kafka::produce::{encode_batch, Outgoing};

fn arg(i: usize) -> String {
    std::env::args().nth(i).unwrap_or_default()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mode, bs, topic) = (arg(1), arg(2), arg(3));
    let rows: usize = arg(4).parse()?;
    let cfg = ClientConfig::new(&bs, "plain-client", Duration::from_secs(30))?;
    let mut c = Cluster::connect(cfg).await?;
    let meta = c.metadata(Some(std::slice::from_ref(&topic))).await?;
    let parts: Vec<i32> = meta[&topic].partitions.keys().copied().collect();
    let start = Instant::now();
    if mode == "produce" {
        let bytes: usize = arg(5).parse()?;
        let rate: f64 = arg(6).parse().unwrap_or(0.0);
        let pad = "x".repeat(bytes.saturating_sub(60));
        let per_request = if rate > 0.0 {
            ((rate / 100.0) as usize).max(1)
        } else {
            1000
        };
        let mut sent = 0;
        while sent < rows {
            let n = per_request.min(rows - sent);
            let mut batches: BTreeMap<TopicPartition, Vec<Outgoing>> = BTreeMap::new();
            let now = weir_core::now_ms();
            for i in sent..sent + n {
                let v = format!(r#"{{"id":{i},"ts":{now},"pad":"{pad}"}}"#);
                batches
                    .entry(TopicPartition {
                        topic: topic.clone(),
                        partition: parts[i % parts.len()],
                    })
                    .or_default()
                    .push(Outgoing {
                        key: None,
                        value: Some(v.into()),
                        timestamp: now,
                    });
            }
            let mut encoded = BTreeMap::new();
            for (tp, m) in batches {
                encoded.insert(
                    tp,
                    encode_batch(&m, None, 0, kafka_protocol::records::Compression::None)?,
                );
            }
            c.produce(encoded, None, -1).await?;
            sent += n;
            if rate > 0.0 {
                let due = start + Duration::from_secs_f64(sent as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
        }
    } else {
        let latency = arg(5) == "latency";
        let tps: Vec<TopicPartition> = parts
            .iter()
            .map(|p| TopicPartition {
                topic: topic.clone(),
                partition: *p,
            })
            .collect();
        let mut offsets = c.list_offsets(&tps, EARLIEST, true).await?;
        let settings = FetchSettings {
            read_committed: true,
            max_wait: Duration::from_millis(50),
            partition_max_bytes: 1 << 20,
        };
        let (mut got, mut bytes) = (0usize, 0usize);
        let mut lat: Vec<i64> = Vec::new();
        while got < rows {
            let mut by_leader: BTreeMap<i32, BTreeMap<TopicPartition, i64>> = BTreeMap::new();
            for (tp, o) in &offsets {
                by_leader
                    .entry(c.leader(&tp.topic, tp.partition).await?)
                    .or_default()
                    .insert(tp.clone(), *o);
            }
            for (leader, p) in by_leader {
                for f in c.fetch(leader, &p, settings).await? {
                    let now = weir_core::now_ms();
                    for m in &f.messages {
                        let v = m.value.as_deref().unwrap_or_default();
                        bytes += v.len();
                        if latency {
                            let j: serde_json::Value = serde_json::from_slice(v)?;
                            lat.push(now - j["ts"].as_i64().unwrap_or(now));
                        }
                    }
                    got += f.messages.len();
                    offsets.insert(f.tp, f.next_offset);
                }
            }
        }
        if latency {
            lat.sort_unstable();
            let q = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
            println!("latency_ms p50={} p99={} max={}", q(0.5), q(0.99), q(1.0));
            return Ok(());
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "rows={got} secs={secs:.2} rows_per_s={:.0} mb_per_s={:.1}",
            got as f64 / secs,
            bytes as f64 / secs / 1e6
        );
        return Ok(());
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "rows={rows} secs={secs:.2} rows_per_s={:.0}",
        rows as f64 / secs
    );
    Ok(())
}
