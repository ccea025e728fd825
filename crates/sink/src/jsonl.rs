//! JSON lines: one object per finished flow, flushed per line so `jq` and log shippers see it at
//! once, also on a pipe.

use std::io::Write;
use std::path::PathBuf;

use crate::{CaptureMeta, Error, FlowRow, RunStats, Sink};

/// Writes each flow as one JSON object per line.
#[derive(Debug)]
pub struct JsonLinesSink<W: Write> {
    out: W,
    name: PathBuf,
    line: Vec<u8>,
}

impl<W: Write> JsonLinesSink<W> {
    /// A sink writing to `out`; `name` names it in errors (`-` for standard output).
    pub fn new(out: W, name: impl Into<PathBuf>) -> Self {
        JsonLinesSink {
            out,
            name: name.into(),
            line: Vec::with_capacity(1024),
        }
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.name.clone(),
            source,
        }
    }
}

impl<W: Write> Sink for JsonLinesSink<W> {
    fn begin(&mut self, _meta: &CaptureMeta) -> Result<(), Error> {
        Ok(())
    }

    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, row)?;
        self.line.push(b'\n');
        let res = self
            .out
            .write_all(&self.line)
            .and_then(|()| self.out.flush());
        res.map_err(|e| self.io(e))
    }

    fn finish(&mut self, _stats: &RunStats) -> Result<(), Error> {
        let res = self.out.flush();
        res.map_err(|e| self.io(e))
    }
}
