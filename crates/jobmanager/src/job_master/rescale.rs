//! What a rescale request asks for, decided once: the parallelism of every vertex after it, or
//! why the request cannot be served.

use weir_gateway::{GatewayError, JobSnapshot, RescalePlan};
use weir_pipeline::JobGraph;

/// The parallelism of every vertex (in graph order) once `plan` is applied to the job as
/// `snapshot` shows it. Sources keep theirs: weir's sources divide their input by subtask.
pub fn plan_parallelism(
    snapshot: &JobSnapshot,
    graph: &JobGraph,
    plan: &RescalePlan,
) -> Result<Vec<usize>, GatewayError> {
    let mut parallelism: Vec<usize> = snapshot.vertices.iter().map(|v| v.parallelism).collect();
    for (vertex, &p) in plan {
        let Some(i) = snapshot.vertices.iter().position(|v| v.id == *vertex) else {
            return Err(GatewayError::BadRequest(format!(
                "Vertex {vertex} is not a vertex of job {}.",
                snapshot.job_id
            )));
        };
        let max = snapshot.vertices[i].max_parallelism;
        if p == 0 || p > max {
            return Err(GatewayError::BadRequest(format!(
                "The parallelism of vertex {vertex} must be between 1 and its max parallelism {max}, not {p}."
            )));
        }
        if p != parallelism[i] && graph.is_source_vertex(i) {
            return Err(GatewayError::BadRequest(format!(
                "Vertex {vertex} ({}) reads a source: its parallelism stays {}, because weir's sources divide their input by subtask. Rescale the vertices after it.",
                snapshot.vertices[i].name, parallelism[i]
            )));
        }
        parallelism[i] = p;
    }
    Ok(parallelism)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execution_graph::ExecutionGraph;
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use weir_core::JobId;
    use weir_pipeline::catalog::StaticCatalog;
    use weir_pipeline::{parse_job, Format, PluginKind, PluginSpec, Variables};

    fn job() -> (JobSnapshot, Arc<JobGraph>) {
        let catalog = StaticCatalog {
            specs: vec![
                PluginSpec::new("FakeSource", PluginKind::Source, vec![]),
                PluginSpec::new("Console", PluginKind::Sink, vec![]),
            ],
        };
        let config = parse_job(
            "env { parallelism = 2 }\nsource { FakeSource { plugin_output = a } }\nsink { Console { plugin_input = a, parallelism = 3 } }",
            Format::Hocon,
            &Variables::default(),
        )
        .unwrap();
        let graph = Arc::new(JobGraph::build(config, &catalog).unwrap());
        let eg = ExecutionGraph::new(JobId(7), &graph, BTreeMap::new(), None, 1);
        (eg.snapshot(1), graph)
    }

    #[test]
    fn a_plan_changes_only_the_vertices_it_names_and_never_a_source() {
        let (snapshot, graph) = job();
        let ids: Vec<_> = snapshot.vertices.iter().map(|v| v.id).collect();
        let current: Vec<usize> = snapshot.vertices.iter().map(|v| v.parallelism).collect();
        assert_eq!(
            plan_parallelism(&snapshot, &graph, &RescalePlan::new()).unwrap(),
            current
        );
        let last = *ids.last().unwrap();
        let mut expected = current.clone();
        *expected.last_mut().unwrap() = 3;
        assert_eq!(
            plan_parallelism(&snapshot, &graph, &RescalePlan::from([(last, 3)])).unwrap(),
            expected
        );
        // The source keeps its parallelism; asking for the same is fine.
        assert!(matches!(
            plan_parallelism(&snapshot, &graph, &RescalePlan::from([(ids[0], 5)])),
            Err(GatewayError::BadRequest(m)) if m.contains("reads a source")
        ));
        assert!(plan_parallelism(
            &snapshot,
            &graph,
            &RescalePlan::from([(ids[0], current[0])])
        )
        .is_ok());
        assert!(matches!(
            plan_parallelism(&snapshot, &graph, &RescalePlan::from([(last, 0)])),
            Err(GatewayError::BadRequest(m)) if m.contains("between 1 and")
        ));
        assert!(matches!(
            plan_parallelism(&snapshot, &graph, &RescalePlan::from([(weir_core::VertexId(99), 2)])),
            Err(GatewayError::BadRequest(m)) if m.contains("is not a vertex")
        ));
    }
}
