//! Registration against a real JobManager service on a loopback port: a TaskManager speaking
//! another protocol version is refused with words that say what to do; a proper one is
//! registered, heartbeats keep it, and silence loses it.

use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weir_core::JobId;
use weir_gateway::{CheckpointAck, JobMasterGateway, TaskExecutorGateway, TaskStateUpdate};
use weir_rpc::proto::job_manager_client::JobManagerClient;
use weir_rpc::{proto, JobManagerService, TaskManagerOffer, TaskManagerRegistry};

#[derive(Default)]
struct Desk {
    registered: Mutex<Vec<String>>,
    lost: Mutex<Vec<(String, String)>>,
}

impl TaskManagerRegistry for Desk {
    fn registered(&self, offer: TaskManagerOffer, gateway: Arc<dyn TaskExecutorGateway>) {
        assert_eq!(gateway.endpoint().resource_id, offer.endpoint.resource_id);
        self.registered
            .lock()
            .unwrap()
            .push(offer.endpoint.resource_id);
    }
    fn lost(&self, resource_id: &str, reason: &str) {
        self.lost
            .lock()
            .unwrap()
            .push((resource_id.into(), reason.into()));
    }
}

struct NoJobs;

#[async_trait]
impl JobMasterGateway for NoJobs {
    async fn update_task_execution_state(&self, _: TaskStateUpdate) {}
    async fn acknowledge_checkpoint(&self, _: JobId, _: CheckpointAck) {}
    async fn decline_checkpoint(&self, _: JobId, _: u64, _: String) {}
}

async fn service(desk: Arc<Desk>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let service = JobManagerService::new(
        desk,
        Arc::new(NoJobs),
        Duration::from_millis(50),
        Duration::from_millis(300),
    );
    tokio::spawn(service.serve(listener, std::future::pending()));
    address
}

fn registration(version: u32) -> proto::Registration {
    proto::Registration {
        protocol_version: version,
        weir_version: "9.9.9".into(),
        resource_id: "tm-x".into(),
        rpc_address: "127.0.0.1:1".into(),
        host: "127.0.0.1".into(),
        slots: 2,
        dynamic_slots: false,
        tags: Default::default(),
        data_port: 0,
    }
}

#[tokio::test]
async fn another_protocol_version_is_refused_with_a_clear_error() {
    let desk = Arc::new(Desk::default());
    let address = service(desk.clone()).await;
    let mut client = JobManagerClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let refused = client
        .register_task_manager(registration(weir_rpc::PROTOCOL_VERSION + 1))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    let expected = format!(
        "TaskManager tm-x speaks weir control protocol v{} (weir 9.9.9), but this JobManager speaks v{} (weir {}): run the same weir release on both",
        weir_rpc::PROTOCOL_VERSION + 1,
        weir_rpc::PROTOCOL_VERSION,
        weir_rpc::WEIR_VERSION
    );
    assert_eq!(refused.message(), expected);
    assert!(desk.registered.lock().unwrap().is_empty());
}

#[tokio::test]
async fn heartbeats_keep_a_taskmanager_and_silence_loses_it() {
    let desk = Arc::new(Desk::default());
    let address = service(desk.clone()).await;
    let mut client = JobManagerClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let registered = client
        .register_task_manager(registration(weir_rpc::PROTOCOL_VERSION))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(registered.heartbeat_interval_ms, 50);
    assert_eq!(*desk.registered.lock().unwrap(), vec!["tm-x".to_string()]);
    let beat = |jm: &str| proto::Heartbeat {
        resource_id: "tm-x".into(),
        jobmanager_id: jm.into(),
    };
    for _ in 0..8 {
        let known = client
            .heartbeat(beat(&registered.jobmanager_id))
            .await
            .unwrap()
            .into_inner()
            .known;
        assert!(known);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(desk.lost.lock().unwrap().is_empty(), "beating, it is kept");
    // A heartbeat naming another JobManager instance is from before a restart.
    assert!(
        !client
            .heartbeat(beat("other"))
            .await
            .unwrap()
            .into_inner()
            .known
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let lost = desk.lost.lock().unwrap().clone();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0].0, "tm-x");
    assert!(
        lost[0].1.contains("sent no heartbeat for 300 ms"),
        "{lost:?}"
    );
    assert!(
        !client
            .heartbeat(beat(&registered.jobmanager_id))
            .await
            .unwrap()
            .into_inner()
            .known,
        "a lost TaskManager must register again"
    );
}
