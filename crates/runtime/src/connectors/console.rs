//! `Console` sink: prints every row to standard output in SeaTunnel's layout, after one
//! `output rowType:` line per subtask. At-least-once by nature.

use crate::batch::Batch;
use crate::operator::{PrepareContext, PreparedSink, SinkFactory, SinkWriter, SubtaskContext};
use arrow::datatypes::SchemaRef;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;
use weir_core::{WeirError, WeirResult};
use weir_pipeline::types::seatunnel_type_name;
use weir_pipeline::{OptionSpec, OptionType, Options, PluginKind, PluginSpec};

/// Where Console rows go: stdout unless the process redirects them (a TaskManager writes them
/// to its `.out` file, as Flink's print sink does).
static OUTPUT: std::sync::Mutex<Option<Box<dyn std::io::Write + Send>>> =
    std::sync::Mutex::new(None);

/// Sends Console output of this process to `w` instead of stdout.
pub fn redirect_output(w: Box<dyn std::io::Write + Send>) {
    if let Ok(mut o) = OUTPUT.lock() {
        *o = Some(w);
    }
}

fn write_output(bytes: &[u8]) -> std::io::Result<()> {
    let mut guard = OUTPUT
        .lock()
        .map_err(|_| std::io::Error::other("console output lock poisoned"))?;
    match guard.as_mut() {
        Some(w) => {
            w.write_all(bytes)?;
            w.flush()
        }
        None => std::io::stdout().lock().write_all(bytes),
    }
}

pub struct ConsoleSinkFactory;

impl SinkFactory for ConsoleSinkFactory {
    fn spec(&self) -> PluginSpec {
        PluginSpec::new(
            "Console",
            PluginKind::Sink,
            vec![
                OptionSpec::optional("log.print.data", OptionType::Bool),
                OptionSpec::optional("log.print.delay.ms", OptionType::Int),
            ],
        )
        .ignoring(&["multi_table_sink_replica"])
    }

    fn accepts_mixed_schemas(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        o: &Options,
        input: SchemaRef,
        ctx: &PrepareContext,
    ) -> WeirResult<Arc<dyn PreparedSink>> {
        let print = o
            .bool("log.print.data")
            .map_err(WeirError::new)?
            .unwrap_or(true);
        let delay = o
            .i64("log.print.delay.ms")
            .map_err(WeirError::new)?
            .unwrap_or(0)
            .max(0) as u64;
        Ok(Arc::new(PreparedConsole {
            print,
            delay: Duration::from_millis(delay),
            table: ctx
                .input_table
                .clone()
                .unwrap_or_else(|| "default.default.default".into()),
            schema: input,
            job_log: ctx.job_log.clone(),
        }))
    }
}

struct PreparedConsole {
    print: bool,
    delay: Duration,
    table: String,
    schema: SchemaRef,
    job_log: crate::operator::JobLogHandle,
}

impl PreparedSink for PreparedConsole {
    fn create_writer(&self, subtask: SubtaskContext) -> WeirResult<Box<dyn SinkWriter>> {
        let row_type: Vec<String> = self
            .schema
            .fields()
            .iter()
            .map(|f| format!("{}<{}>", f.name(), seatunnel_type_name(f.data_type())))
            .collect();
        let line = format!("output rowType: {}", row_type.join(", "));
        // SeaTunnel's Console writer logs this line (to the job's log) whatever it prints.
        self.job_log.info(&line);
        if self.print {
            write_output(format!("{line}\n").as_bytes())
                .map_err(|e| WeirError::new(format!("writing Console output: {e}")))?;
        }
        Ok(Box::new(ConsoleWriter {
            subtask: subtask.index,
            row_index: 0,
            print: self.print,
            delay: self.delay,
            table: self.table.clone(),
        }))
    }
}

struct ConsoleWriter {
    subtask: usize,
    row_index: u64,
    print: bool,
    delay: Duration,
    table: String,
}

/// Renders rows the way SeaTunnel's Console sink prints them.
pub fn render_rows(
    batch: &Batch,
    subtask: usize,
    first_row_index: u64,
    table: &str,
) -> WeirResult<String> {
    let opts = FormatOptions::default().with_null("null");
    let formatters = batch
        .records
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WeirError::new(format!("cannot print this column type: {e}")))?;
    let mut out = String::with_capacity(batch.num_rows() * 64);
    for row in 0..batch.num_rows() {
        let _ = write!(
            out,
            "subtaskIndex={subtask}  rowIndex={}:  SeaTunnelRow#tableId={table} SeaTunnelRow#kind={} : ",
            first_row_index + row as u64 + 1,
            batch.kind(row)
        );
        for (i, f) in formatters.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}", f.value(row));
        }
        out.push('\n');
    }
    Ok(out)
}

#[async_trait]
impl SinkWriter for ConsoleWriter {
    async fn write(&mut self, batch: Batch) -> WeirResult<()> {
        if self.print {
            let text = render_rows(&batch, self.subtask, self.row_index, &self.table)?;
            write_output(text.as_bytes())
                .map_err(|e| WeirError::new(format!("writing Console output: {e}")))?;
        }
        self.row_index += batch.num_rows() as u64;
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay * batch.num_rows() as u32).await;
        }
        Ok(())
    }

    async fn finish(&mut self) -> WeirResult<()> {
        let _ = std::io::stdout().flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::RowKind;
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;

    #[test]
    fn rows_print_like_seatunnel() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("age", DataType::Int32, true),
        ]));
        let rb = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("A"), None])),
                Arc::new(Int32Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let b = Batch::with_kinds(rb, vec![RowKind::Insert, RowKind::UpdateAfter]);
        let text = render_rows(&b, 0, 0, "fake").unwrap();
        assert_eq!(
            text,
            "subtaskIndex=0  rowIndex=1:  SeaTunnelRow#tableId=fake SeaTunnelRow#kind=INSERT : A, 1\n\
             subtaskIndex=0  rowIndex=2:  SeaTunnelRow#tableId=fake SeaTunnelRow#kind=UPDATE_AFTER : null, 2\n"
        );
    }
}
