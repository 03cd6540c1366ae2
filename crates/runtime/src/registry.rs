//! The plugins a runtime knows, by kind and case-insensitive name. It doubles as the
//! `Catalog` that job validation checks plugin names and options against.

use crate::operator::{SinkFactory, SourceFactory, TransformFactory};
use std::collections::BTreeMap;
use std::sync::Arc;
use weir_pipeline::{Catalog, PluginKind, PluginSpec};

/// Plugin factories plus their specs.
#[derive(Clone, Default)]
pub struct PluginRegistry {
    sources: BTreeMap<String, Arc<dyn SourceFactory>>,
    transforms: BTreeMap<String, Arc<dyn TransformFactory>>,
    sinks: BTreeMap<String, Arc<dyn SinkFactory>>,
    specs: Vec<PluginSpec>,
}

impl PluginRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every built-in connector and transform of this crate (`Sql` lives in `weir-sql`).
    pub fn builtin() -> Self {
        let mut r = Self::new();
        crate::connectors::register(&mut r);
        crate::transforms::register(&mut r);
        r
    }

    fn key(name: &str) -> String {
        name.to_ascii_lowercase()
    }

    /// Adds a source.
    pub fn add_source(&mut self, f: Arc<dyn SourceFactory>) {
        let spec = f.spec();
        self.sources.insert(Self::key(spec.name), f);
        self.specs.push(spec);
    }

    /// Adds a transform.
    pub fn add_transform(&mut self, f: Arc<dyn TransformFactory>) {
        let spec = f.spec();
        self.transforms.insert(Self::key(spec.name), f);
        self.specs.push(spec);
    }

    /// Adds a sink.
    pub fn add_sink(&mut self, f: Arc<dyn SinkFactory>) {
        let spec = f.spec();
        self.sinks.insert(Self::key(spec.name), f);
        self.specs.push(spec);
    }

    pub fn source(&self, name: &str) -> Option<&Arc<dyn SourceFactory>> {
        self.sources.get(&Self::key(name))
    }

    pub fn transform(&self, name: &str) -> Option<&Arc<dyn TransformFactory>> {
        self.transforms.get(&Self::key(name))
    }

    pub fn sink(&self, name: &str) -> Option<&Arc<dyn SinkFactory>> {
        self.sinks.get(&Self::key(name))
    }
}

impl Catalog for PluginRegistry {
    fn lookup(&self, kind: PluginKind, name: &str) -> Option<&PluginSpec> {
        self.specs
            .iter()
            .find(|s| s.kind == kind && s.name.eq_ignore_ascii_case(name))
    }

    fn names(&self, kind: PluginKind) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .specs
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.name)
            .collect();
        v.sort_unstable();
        v
    }
}
