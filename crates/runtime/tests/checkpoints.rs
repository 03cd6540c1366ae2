//! Barriers through a real job: every subtask acknowledges with its state, and a job deployed
//! from those states continues exactly where the snapshot was taken.

use std::time::Duration;
use weir_core::JobId;
use weir_pipeline::{parse_job, Format, JobGraph, Variables};
use weir_runtime::channel::Barrier;
use weir_runtime::state::SubtaskState;
use weir_runtime::{JobState, PluginRegistry, PreparedJob, RuntimeConfig};

const JOB: &str = r#"
env { job.mode = "STREAMING" }
source { FakeSource { plugin_output = s, parallelism = 2, row.num = 3000, batch.size = 10, rows.per.second = 3000, seed = 7, schema = { fields { id = bigint } } } }
sink { Blackhole { plugin_input = s, parallelism = 1 } }
"#;

fn prepare(text: &str) -> PreparedJob {
    let registry = PluginRegistry::builtin();
    let config = parse_job(text, Format::Hocon, &Variables::default()).unwrap();
    let graph = JobGraph::build(config, &registry).unwrap();
    PreparedJob::prepare(JobId(9), graph, &registry, RuntimeConfig::default()).unwrap()
}

fn emitted(state: &SubtaskState) -> u64 {
    let entry: serde_json::Value =
        serde_json::from_slice(&state.operators[0].list[0]).expect("a FakeSource position");
    entry["emitted"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subtask_acknowledges_and_a_restored_job_continues_from_the_snapshot() {
    let job = prepare(JOB);
    let mut running = job.deploy(0, None).unwrap();
    let mut acks = running.take_acks().unwrap();
    let control = running.control_handle();
    let cancel = running.cancel_handle();
    let metrics = running.metrics.clone();
    let waiter = tokio::spawn(running.wait());
    // Snapshot mid-stream: once rows flow, not after a fixed sleep a loaded machine may outlast.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while metrics.subtasks[1][0].task.snapshot().records_in == 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let reached = control.trigger_checkpoint(Barrier {
        checkpoint_id: 1,
        timestamp_ms: 0,
    });
    assert_eq!(reached, 2, "both source subtasks get the trigger");
    let mut state = JobState {
        checkpoint_id: 1,
        vertices: vec![
            vec![SubtaskState::default(); 2],
            vec![SubtaskState::default()],
        ],
    };
    for _ in 0..3 {
        let ack = tokio::time::timeout(Duration::from_secs(5), acks.recv())
            .await
            .expect("an ack within 5 s")
            .unwrap();
        assert_eq!(ack.checkpoint_id, 1);
        state.vertices[ack.vertex][ack.subtask] = ack.state;
    }
    cancel.cancel();
    waiter.await.unwrap();
    let before: u64 = state.vertices[0].iter().map(emitted).sum();
    assert!(
        before > 0 && before < 6000,
        "snapshot mid-stream, got {before}"
    );
    // The sink (Blackhole) keeps no state; the source positions are the whole story.
    let restored = job.deploy(1, Some(&state)).unwrap();
    let metrics = restored.metrics.clone();
    let cancel = restored.cancel_handle();
    let waiter = tokio::spawn(restored.wait());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let sink_rows = || metrics.subtasks[1][0].task.snapshot().records_in;
    while sink_rows() < 6000 - before && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        sink_rows(),
        6000 - before,
        "exactly the rows after the snapshot"
    );
    cancel.cancel();
    waiter.await.unwrap();
}
