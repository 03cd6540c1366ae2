//! SeaTunnel's resource isolation: workers carry tags (`hazelcast.member-attributes`, or
//! `/update-tags` at run time) and a job's `env.tag_filter` runs only on a worker that has them
//! all; a job no worker can take fails with SeaTunnel's NoEnoughResourceException, never runs
//! on the wrong worker.

use crate::rest_support;

use rest_support::{client, get, start_cluster, submit, wait_for};
use serde_json::json;

fn job(filter: &str) -> String {
    format!(
        "env {{ job.mode = \"BATCH\", tag_filter {{ {filter} }} }}\n\
         source {{ FakeSource {{ row.num = 3, schema = {{ fields {{ id = int }} }} }} }}\n\
         sink {{ Blackhole {{}} }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_only_where_their_tags_are() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(
        dir.path(),
        &[
            "hazelcast.member-attributes.group.value=platform",
            "hazelcast.member-attributes.team.value=team1",
        ],
    )
    .await;
    let base = cluster.url();
    let v2 = format!("http://{}", cluster.seatunnel_v2.expect("v2 listens"));
    let c = client();

    let matching = submit(&c, &base, job("group = \"platform\", team = team1")).await;
    wait_for(&c, &format!("{base}/jobs/{matching}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;

    let elsewhere = submit(&c, &base, job("group = \"analytics\"")).await;
    wait_for(&c, &format!("{base}/jobs/{elsewhere}"), |v| {
        v["state"] == "FAILED"
    })
    .await;
    let (_, ex) = get(&c, &format!("{base}/jobs/{elsewhere}/exceptions")).await;
    let text = ex.to_string();
    assert!(
        text.contains("NoEnoughResourceException: no worker has the tags {group=analytics}")
            && text.contains("{group=platform, team=team1}"),
        "{text}"
    );

    // SeaTunnel's overview counts the slots of the workers a tag query matches.
    let (_, all) = get(&c, &format!("{v2}/overview")).await;
    assert_eq!(all["workers"], "1", "{all}");
    let (_, none) = get(&c, &format!("{v2}/overview?group=analytics")).await;
    assert_eq!(none["workers"], "0", "{none}");

    // Retagged at run time, the worker takes the job.
    let r = c
        .post(format!("{v2}/update-tags"))
        .json(&json!({"group": "analytics"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, tagged) = get(&c, &format!("{v2}/overview?group=analytics")).await;
    assert_eq!(tagged["workers"], "1", "{tagged}");
    let now = submit(&c, &base, job("group = \"analytics\"")).await;
    wait_for(&c, &format!("{base}/jobs/{now}"), |v| {
        v["state"] == "FINISHED"
    })
    .await;
    cluster.stop().await;
}
