//! Flame graphs of where a vertex's subtasks spend their time, in Flink's `VertexFlameGraph`
//! shape. A TaskManager answers one sample per subtask (a stack of frames and whether it was
//! on CPU); the JobManager takes many samples and folds them into a tree here.

use serde::Serialize;
use std::sync::Arc;

/// Which samples a flame graph counts (Flink's `type` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlameGraphType {
    Full,
    OnCpu,
    OffCpu,
}

impl FlameGraphType {
    /// Parses Flink's values, case-insensitively; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_uppercase().as_str() {
            "FULL" => Some(Self::Full),
            "ON_CPU" => Some(Self::OnCpu),
            "OFF_CPU" => Some(Self::OffCpu),
            _ => None,
        }
    }

    fn counts(self, on_cpu: bool) -> bool {
        match self {
            Self::Full => true,
            Self::OnCpu => on_cpu,
            Self::OffCpu => !on_cpu,
        }
    }
}

/// One subtask caught at one instant.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThreadSample {
    pub subtask: usize,
    /// Outermost frame first.
    pub frames: Vec<Arc<str>>,
    pub on_cpu: bool,
}

/// A node of the graph: `value` samples passed through it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlameNode {
    pub name: String,
    pub value: u64,
    pub children: Vec<FlameNode>,
}

/// Flink's `VertexFlameGraph`. `data` is absent while there is nothing to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VertexFlameGraph {
    #[serde(rename = "endTimestamp")]
    pub end_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<FlameNode>,
}

impl VertexFlameGraph {
    /// Flink's answer when flame graphs are switched off (`rest.flamegraph.enabled`).
    pub fn disabled() -> Self {
        Self {
            end_timestamp: -1,
            data: None,
        }
    }

    /// Flink's answer for a vertex with no running subtask to sample.
    pub fn terminated() -> Self {
        Self {
            end_timestamp: -2,
            data: None,
        }
    }

    /// Folds samples into a tree under `root`, keeping those `kind` counts.
    pub fn fold(samples: &[ThreadSample], kind: FlameGraphType, end_timestamp: i64) -> Self {
        let mut root = FlameNode {
            name: "root".into(),
            value: 0,
            children: Vec::new(),
        };
        for s in samples.iter().filter(|s| kind.counts(s.on_cpu)) {
            root.value += 1;
            let mut node = &mut root;
            for f in &s.frames {
                let i = match node.children.iter().position(|c| c.name == f.as_ref()) {
                    Some(i) => i,
                    None => {
                        node.children.push(FlameNode {
                            name: f.to_string(),
                            value: 0,
                            children: Vec::new(),
                        });
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[i];
                node.value += 1;
            }
        }
        Self {
            end_timestamp,
            data: Some(root),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(frames: &[&str], on_cpu: bool) -> ThreadSample {
        ThreadSample {
            subtask: 0,
            frames: frames.iter().map(|f| Arc::from(*f)).collect(),
            on_cpu,
        }
    }

    #[test]
    fn folds_samples_by_frame_and_filters_by_type() {
        let samples = vec![
            sample(&["run", "Sql"], true),
            sample(&["run", "Sql"], true),
            sample(&["run", "waitForInput"], false),
        ];
        let full = VertexFlameGraph::fold(&samples, FlameGraphType::Full, 5);
        let root = full.data.clone().unwrap_or_else(|| unreachable!());
        assert_eq!(root.value, 3);
        assert_eq!(root.children[0].value, 3);
        assert_eq!(root.children[0].children.len(), 2);
        assert_eq!(root.children[0].children[0].value, 2);
        let off = VertexFlameGraph::fold(&samples, FlameGraphType::OffCpu, 5);
        assert_eq!(off.data.map(|d| d.value), Some(1));
        assert_eq!(FlameGraphType::parse("on_cpu"), Some(FlameGraphType::OnCpu));
        assert_eq!(FlameGraphType::parse("BOGUS"), None);
    }
}
