//! Output sinks. Push model: [`Sink::begin`], then [`Sink::flow`] once per finished flow, then
//! [`Sink::finish`] with the run's counters.
//!
//! - [`ParquetSink`]: `flows.parquet` (zstd), written to a temporary name and renamed when complete.
//! - [`JsonLinesSink`]: one JSON object per flow and line, flushed per line.
//! - [`SummarySink`]: a plain-text summary for people.
//!
//! Every sink sees the same flat [`FlowRow`]; its columns are those of `flow_schema()`.

mod error;
mod jsonl;
mod parquet_sink;
mod row;
mod stats;
mod summary;
mod time;

pub use error::Error;
pub use jsonl::JsonLinesSink;
pub use parquet_sink::{BATCH_ROWS, ParquetSink, flow_schema};
pub use row::FlowRow;
pub use stats::{InputStats, RunStats};
pub use summary::SummarySink;
pub use time::format_rfc3339_nanos;

/// Information about the run, given to [`Sink::begin`].
#[derive(Debug, Clone, Default)]
pub struct CaptureMeta {
    /// The inputs, as named on the command line (`-` for standard input).
    pub inputs: Vec<String>,
}

/// A destination for finished flows.
pub trait Sink {
    /// Called once before the first flow.
    fn begin(&mut self, meta: &CaptureMeta) -> Result<(), Error>;
    /// Called once per finished flow, in the order flows end.
    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error>;
    /// Called once at the end; completes the output (renames files, prints the summary).
    fn finish(&mut self, stats: &RunStats) -> Result<(), Error>;
}
