//! SeaTunnel's `jobDag`: the job's plugin blocks as SeaTunnel's physical plan shows them.
//! Sources and sinks are vertices of their own; consecutive transforms fuse into one
//! `TransformChain[...]` vertex; each connected part of the graph is a pipeline. Vertex ids
//! count from 1 in plan order (sources first), pipeline ids from 1 in the order their first
//! vertex appears; `vertexInfoMap` is an array despite its name, as SeaTunnel sends it.

use super::messages::{DagEdge, DagVertexInfo, JobDag, PipelineEdges};
use std::collections::BTreeMap;
use weir_gateway::OperatorInfo;

/// One vertex of SeaTunnel's DAG.
#[derive(Debug, Clone, PartialEq)]
pub struct DagVertex {
    pub id: usize,
    pub pipeline: usize,
    pub kind: String,
    /// `Source[0]-FakeSource`, `Sink[0]-console-MultiTableSink`, `TransformChain[...]`.
    pub action: String,
    pub table_paths: Vec<String>,
    /// Vertex ids it reads from.
    pub inputs: Vec<usize>,
}

/// SeaTunnel's DAG of a job's operators (in topological order).
pub fn vertices(operators: &[OperatorInfo]) -> Vec<DagVertex> {
    let consumers = |op: usize| operators.iter().filter(|o| o.inputs.contains(&op)).count();
    // Operator → the DAG vertex (position in `groups`) it belongs to.
    let mut vertex_of: Vec<usize> = Vec::with_capacity(operators.len());
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, op) in operators.iter().enumerate() {
        let fuse_into = match op.inputs.as_slice() {
            [only]
                if op.kind == "transform"
                    && operators[*only].kind == "transform"
                    && consumers(*only) == 1 =>
            {
                Some(vertex_of[*only])
            }
            _ => None,
        };
        match fuse_into {
            Some(g) => {
                groups[g].push(i);
                vertex_of.push(g);
            }
            None => {
                vertex_of.push(groups.len());
                groups.push(vec![i]);
            }
        }
    }
    // Pipelines: connected parts, numbered by their first vertex.
    let mut pipeline_of: Vec<usize> = (0..groups.len()).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for (i, op) in operators.iter().enumerate() {
        for &input in &op.inputs {
            let (a, b) = (
                root(&mut pipeline_of, vertex_of[i]),
                root(&mut pipeline_of, vertex_of[input]),
            );
            pipeline_of[a.max(b)] = a.min(b);
        }
    }
    let mut pipeline_ids: Vec<usize> = Vec::new();
    groups
        .iter()
        .enumerate()
        .map(|(g, members)| {
            let r = root(&mut pipeline_of, g);
            let pipeline = match pipeline_ids.iter().position(|&x| x == r) {
                Some(p) => p + 1,
                None => {
                    pipeline_ids.push(r);
                    pipeline_ids.len()
                }
            };
            let head = &operators[members[0]];
            let tail = &operators[members[members.len() - 1]];
            let action = match head.kind.as_str() {
                "source" => format!("Source[{}]-{}", head.index, head.plugin),
                "sink" => format!("Sink[{}]-{}-MultiTableSink", head.index, head.plugin),
                _ => format!(
                    "TransformChain[{}]",
                    members
                        .iter()
                        .map(|&m| format!(
                            "Transform[{}]-{}",
                            operators[m].index, operators[m].plugin
                        ))
                        .collect::<Vec<_>>()
                        .join("->")
                ),
            };
            let mut inputs: Vec<usize> = head.inputs.iter().map(|&i| vertex_of[i] + 1).collect();
            inputs.dedup();
            DagVertex {
                id: g + 1,
                pipeline,
                kind: head.kind.clone(),
                action,
                table_paths: tail.table_paths.clone(),
                inputs,
            }
        })
        .collect()
}

/// The `jobDag` object of a job.
pub fn job_dag(
    seatunnel_id: i64,
    env: &BTreeMap<String, String>,
    operators: &[OperatorInfo],
) -> JobDag {
    let vertices = vertices(operators);
    let mut edges: BTreeMap<usize, Vec<DagEdge>> = BTreeMap::new();
    for v in &vertices {
        let list = edges.entry(v.pipeline).or_default();
        for input in &v.inputs {
            list.push(DagEdge {
                input_vertex_id: input.to_string(),
                target_vertex_id: v.id.to_string(),
            });
        }
    }
    JobDag {
        job_id: seatunnel_id.to_string(),
        env_options: env.clone(),
        pipeline_edges: PipelineEdges(edges.into_iter().collect()),
        vertex_info_map: vertices
            .iter()
            .map(|v| DagVertexInfo {
                vertex_id: v.id,
                kind: v.kind.clone(),
                vertex_name: format!("pipeline-{} [{}]", v.pipeline, v.action),
                table_paths: v.table_paths.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(kind: &str, index: usize, plugin: &str, inputs: Vec<usize>, table: &str) -> OperatorInfo {
        OperatorInfo {
            kind: kind.into(),
            index,
            plugin: plugin.into(),
            inputs,
            table_paths: vec![table.into()],
            vertex: 0,
            position: 0,
        }
    }

    #[test]
    fn fake_to_console_is_seatunnels_tested_dag() {
        let ops = vec![
            op("source", 0, "FakeSource", vec![], "fake"),
            op("sink", 0, "console", vec![0], "fake"),
        ];
        let dag = serde_json::to_value(job_dag(7, &BTreeMap::new(), &ops)).unwrap();
        assert_eq!(
            dag["pipelineEdges"],
            json!({"1": [{"inputVertexId": "1", "targetVertexId": "2"}]})
        );
        assert_eq!(
            dag["vertexInfoMap"],
            json!([
                {"vertexId": 1, "type": "source", "vertexName": "pipeline-1 [Source[0]-FakeSource]", "tablePaths": ["fake"]},
                {"vertexId": 2, "type": "sink", "vertexName": "pipeline-1 [Sink[0]-console-MultiTableSink]", "tablePaths": ["fake"]},
            ])
        );
        assert_eq!(dag["jobId"], "7");
    }

    #[test]
    fn transforms_fuse_and_separate_parts_are_separate_pipelines() {
        let ops = vec![
            op("source", 0, "FakeSource", vec![], "a"),
            op("source", 1, "FakeSource", vec![], "b"),
            op("transform", 0, "Sql", vec![0], "a"),
            op("transform", 1, "Filter", vec![2], "a"),
            op("sink", 0, "Console", vec![3], "a"),
            op("sink", 1, "Console", vec![1], "b"),
        ];
        let v = vertices(&ops);
        let names: Vec<String> = v
            .iter()
            .map(|v| format!("{}:{}", v.pipeline, v.action))
            .collect();
        assert_eq!(
            names,
            vec![
                "1:Source[0]-FakeSource",
                "2:Source[1]-FakeSource",
                "1:TransformChain[Transform[0]-Sql->Transform[1]-Filter]",
                "1:Sink[0]-Console-MultiTableSink",
                "2:Sink[1]-Console-MultiTableSink",
            ]
        );
        assert_eq!(v[3].inputs, vec![3]);
    }
}
