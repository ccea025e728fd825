//! Output sinks. Push model: [`Sink::begin`], then [`Sink::flow`] once per finished flow, then
//! [`Sink::finish`] with the run's counters.
//!
//! - [`ParquetSink`]: `flows.parquet` (zstd), written to a temporary name and renamed when complete.
//! - [`JsonLinesSink`]: one JSON object per flow and line, flushed per line.
//! - [`SummarySink`]: a plain-text summary for people.
//! - [`ParquetTables`]: `dns.parquet`, `sip.parquet` and `findings.parquet` beside it.
//! - [`RotatingParquet`]: all four files of `--out DIR`, one set per period of capture time
//!   (`flows-20261124T130500Z.parquet`, ...), optionally in Hive-style partition folders.
//!
//! Every sink sees the same flat [`FlowRow`]; its columns are those of `flow_schema()`.

mod columns;
mod columns_writer;
mod error;
mod jsonl;
mod parquet_sink;
mod rotating;
mod row;
mod stats;
mod summary;
mod table_file;
mod tables;
mod time;

pub use columns::{TableRow, Value};
pub use error::Error;
pub use jsonl::JsonLinesSink;
pub use parquet_sink::{BATCH_ROWS, ParquetSink, flow_schema};
pub use rotating::{OutputLayout, Partition, RotatingParquet};
pub use row::FlowRow;
pub use stats::{InputStats, MAX_TIME_JUMP_NANOS, RunStats};
pub use summary::SummarySink;
pub use tables::{DnsRow, FindingRow, ParquetTables, SipDialogRow};
pub use time::{civil_from_days, format_rfc3339_nanos};

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
    /// Called once after the last flow, before the run's last DNS, SIP and finding rows and
    /// [`finish`](Self::finish): a sink can complete its flows output while those are made.
    fn flows_done(&mut self) -> Result<(), Error> {
        Ok(())
    }
    /// Called once after the last row of every kind, before the run's counters are gathered
    /// for [`finish`](Self::finish): a sink can complete its outputs while they are made.
    fn rows_done(&mut self) -> Result<(), Error> {
        Ok(())
    }
    /// Called once per DNS lookup, when it is answered or given up on.
    fn dns(&mut self, row: &DnsRow) -> Result<(), Error> {
        let _ = row;
        Ok(())
    }
    /// Called once per SIP dialog, when it has ended (or at the end of the run).
    fn sip_dialog(&mut self, row: &SipDialogRow) -> Result<(), Error> {
        let _ = row;
        Ok(())
    }
    /// Called as capture time advances (about once per second of capture time, after the rows
    /// that ended by then): a sink that rotates its files by capture time does it here, so the
    /// rows handed to it later go to the next file.
    fn tick(&mut self, now_nanos: i64) -> Result<(), Error> {
        let _ = now_nanos;
        Ok(())
    }
    /// Called once per finding, after the flow it is about.
    fn finding(&mut self, row: &FindingRow) -> Result<(), Error> {
        let _ = row;
        Ok(())
    }
    /// Called once at the end; completes the output (renames files, prints the summary).
    fn finish(&mut self, stats: &RunStats) -> Result<(), Error>;
    /// Whether [`finish`](Self::finish) reads [`RunStats::signin_paths`]: the sign-in lines
    /// take milliseconds to make at the end of a run, and are made only when a sink shows them.
    fn shows_signin_paths(&self) -> bool {
        false
    }
}
