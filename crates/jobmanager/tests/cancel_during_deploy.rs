//! A cancel that arrives while the TaskExecutor is still deploying must still stop the job.

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use weir_core::{ExecutionState, JobId, JobStatus};
use weir_gateway::*;
use weir_jobmanager::execution_graph::ExecutionGraph;
use weir_jobmanager::job_master::JobMaster;
use weir_jobmanager::resource_manager::ResourceManager;
use weir_pipeline::catalog::StaticCatalog;
use weir_pipeline::{parse_job, Format, JobGraph, PluginKind, PluginSpec, Variables};

/// Holds `deploy` open until released; knows the job only once deploy returns.
struct SlowExecutor {
    endpoint: TaskManagerEndpoint,
    release: Notify,
    deployed: Mutex<bool>,
    cancels_that_found_tasks: Mutex<usize>,
    master: Mutex<Option<Arc<JobMaster>>>,
}

#[async_trait]
impl TaskExecutorGateway for SlowExecutor {
    fn endpoint(&self) -> &TaskManagerEndpoint {
        &self.endpoint
    }
    async fn deploy(&self, _d: TaskDeployment) -> Result<(), GatewayError> {
        self.release.notified().await;
        *self.deployed.lock().unwrap() = true;
        Ok(())
    }
    async fn cancel(&self, job: JobId) -> Result<(), GatewayError> {
        if !*self.deployed.lock().unwrap() {
            return Err(GatewayError::NotFound(format!(
                "Job {job} has no running tasks"
            )));
        }
        *self.cancels_that_found_tasks.lock().unwrap() += 1;
        // The tasks stop and say so.
        let master = self.master.lock().unwrap().clone();
        if let Some(m) = master {
            m.on_task_update(TaskStateUpdate {
                job_id: job,
                vertex: 0,
                subtask: 0,
                attempt: 0,
                state: ExecutionState::Canceled,
                error: None,
                location: None,
                io: None,
                operator_io: Vec::new(),
            });
        }
        Ok(())
    }
    async fn trigger_checkpoint(
        &self,
        _job: JobId,
        _t: CheckpointTrigger,
    ) -> Result<(), GatewayError> {
        Err(GatewayError::Conflict("no checkpoints here".into()))
    }
    async fn notify_checkpoint_complete(&self, _job: JobId, _id: u64) {}
    async fn task_io(&self, _job: JobId) -> Option<Vec<SubtaskIo>> {
        None
    }
    async fn thread_dump(&self) -> Vec<ThreadInfo> {
        Vec::new()
    }
    async fn request_profiling(
        &self,
        _duration_s: i64,
        _mode: weir_gateway::ProfilingMode,
    ) -> Result<weir_gateway::ProfilingInfo, GatewayError> {
        Err(GatewayError::NotSupported(
            "not profiled in this test".into(),
        ))
    }
    async fn profiling_list(&self) -> Vec<weir_gateway::ProfilingInfo> {
        Vec::new()
    }
    async fn profiling_file(&self, name: &str) -> Result<Vec<u8>, GatewayError> {
        Err(GatewayError::NotFound(name.to_string()))
    }
    async fn describe(&self) -> TaskManagerInfo {
        TaskManagerInfo {
            id: "tm-slow".into(),
            path: self.endpoint.path(),
            data_port: -1,
            slots_total: 1,
            slots_free: 1,
            ..TaskManagerInfo::default()
        }
    }
    async fn list_logs(&self) -> Vec<LogFile> {
        Vec::new()
    }
    async fn read_log(&self, name: &str) -> Result<Vec<u8>, GatewayError> {
        Err(GatewayError::NotFound(name.into()))
    }
    async fn metric_dump(&self) -> Vec<weir_gateway::metrics::DumpedGroup> {
        Vec::new()
    }
    async fn sample_tasks(&self, _: JobId, _: usize) -> Vec<weir_gateway::ThreadSample> {
        Vec::new()
    }
}

#[tokio::test]
async fn a_cancel_during_deployment_stops_the_deployed_tasks() {
    let catalog = StaticCatalog {
        specs: vec![
            PluginSpec::new("FakeSource", PluginKind::Source, vec![]),
            PluginSpec::new("Blackhole", PluginKind::Sink, vec![]),
        ],
    };
    let config = parse_job(
        "source { FakeSource {} }\nsink { Blackhole {} }",
        Format::Hocon,
        &Variables::default(),
    )
    .unwrap();
    let graph = Arc::new(JobGraph::build(config, &catalog).unwrap());
    let job = JobId(42);
    let mut eg = ExecutionGraph::new(job, &graph, BTreeMap::new(), None, 1);
    eg.created(1);
    let (terminated, mut ended) = mpsc::unbounded_channel();
    let settings =
        weir_jobmanager::job_settings::JobSettings::resolve(&BTreeMap::new(), &graph).unwrap();
    let (master, task) = JobMaster::new(
        job,
        graph,
        eg,
        settings,
        None,
        terminated,
        weir_gateway::JobLog::new(None, job),
    );
    let executor = Arc::new(SlowExecutor {
        endpoint: TaskManagerEndpoint {
            resource_id: "tm-slow".into(),
            host: "localhost".into(),
            data_port: None,
        },
        release: Notify::new(),
        deployed: Mutex::new(false),
        cancels_that_found_tasks: Mutex::new(0),
        master: Mutex::new(Some(master.clone())),
    });
    let rm = Arc::new(ResourceManager::new());
    rm.register(
        executor.clone(),
        weir_jobmanager::resource_manager::SlotPolicy::Fixed(1),
        BTreeMap::new(),
        1,
    );
    let start = tokio::spawn(task.run(rm, Duration::from_secs(5)));

    // Wait until the job is deploying, then cancel while deploy() is held open.
    for _ in 0..200 {
        if master.status() == JobStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(master.status(), JobStatus::Running);
    master.cancel().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        master.status(),
        JobStatus::Cancelling,
        "the early cancel found no tasks yet"
    );
    executor.release.notify_one();
    start.await.unwrap();

    assert_eq!(
        *executor.cancels_that_found_tasks.lock().unwrap(),
        1,
        "the deployed tasks were cancelled"
    );
    assert_eq!(master.status(), JobStatus::Canceled);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(1), ended.recv())
            .await
            .unwrap(),
        Some(job)
    );
}
