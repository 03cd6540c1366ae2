//! `Blackhole` sink: accepts and discards rows, so benchmarks measure the pipeline, not I/O.

use crate::batch::Batch;
use crate::operator::{PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use std::sync::Arc;
use weir_core::WeirResult;
use weir_pipeline::{Options, PluginKind, PluginSpec};

pub struct BlackholeSinkFactory;

impl SinkFactory for BlackholeSinkFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new("Blackhole", PluginKind::Sink, vec![])
    }

    fn accepts_mixed_schemas(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        _o: &Options,
        _input: SchemaRef,
        _ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        Ok(Arc::new(Blackhole))
    }
}

struct Blackhole;

impl PreparedSink for Blackhole {
    fn create_writer(&self, _subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        Ok(Box::new(Blackhole))
    }
}

#[async_trait]
impl SinkWriter for Blackhole {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        drop(batch);
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        Ok(())
    }
}
