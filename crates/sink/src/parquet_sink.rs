//! `flows.parquet`: Arrow builders flushed every [`BATCH_ROWS`] rows into a zstd Parquet file
//! that is written under a temporary name and renamed into place by [`Sink::finish`], so a
//! reader never sees half a file. Encoding and compression run on a thread of their own.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow::array::{
    ArrayRef, BooleanBuilder, RecordBatch, StringBuilder, TimestampNanosecondBuilder,
    UInt16Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::{CaptureMeta, Error, FlowRow, RunStats, Sink};

/// Rows per Arrow batch and per Parquet row group.
pub const BATCH_ROWS: usize = 65_536;

/// The schema of `flows.parquet`.
pub fn flow_schema() -> SchemaRef {
    let ts = || DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
    let s = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let u64f = |name: &str| Field::new(name, DataType::UInt64, false);
    Arc::new(Schema::new(vec![
        u64f("flow_id"),
        Field::new("first_ts", ts(), false),
        Field::new("last_ts", ts(), false),
        s("transport", false),
        s("initiator_ip", false),
        Field::new("initiator_port", DataType::UInt16, false),
        s("responder_ip", false),
        Field::new("responder_port", DataType::UInt16, false),
        u64f("initiator_packets"),
        u64f("responder_packets"),
        u64f("initiator_bytes"),
        u64f("responder_bytes"),
        u64f("initiator_payload_bytes"),
        u64f("responder_payload_bytes"),
        s("direction_basis", false),
        s("initiator_role", true),
        s("responder_role", true),
        s("app_protocol", false),
        s("tls_sni", true),
        s("sip_call_id", true),
        s("workload", true),
        s("service", true),
        s("rule_id", true),
        s("basis", false),
        Field::new("documented", DataType::Boolean, false),
        s("finding", true),
        s("end_reason", false),
        Field::new("vlan", DataType::UInt16, true),
        s("tunnel", true),
    ]))
}

/// Column builders for one batch of rows.
struct Columns {
    flow_id: UInt64Builder,
    first_ts: TimestampNanosecondBuilder,
    last_ts: TimestampNanosecondBuilder,
    transport: StringBuilder,
    initiator_ip: StringBuilder,
    initiator_port: UInt16Builder,
    responder_ip: StringBuilder,
    responder_port: UInt16Builder,
    counters: [UInt64Builder; 6],
    direction_basis: StringBuilder,
    initiator_role: StringBuilder,
    responder_role: StringBuilder,
    app_protocol: StringBuilder,
    tls_sni: StringBuilder,
    sip_call_id: StringBuilder,
    workload: StringBuilder,
    service: StringBuilder,
    rule_id: StringBuilder,
    basis: StringBuilder,
    documented: BooleanBuilder,
    finding: StringBuilder,
    end_reason: StringBuilder,
    vlan: UInt16Builder,
    tunnel: StringBuilder,
    rows: usize,
}

impl Columns {
    fn new() -> Self {
        let ts = || TimestampNanosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC");
        let st = || StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8);
        let u64b = || UInt64Builder::with_capacity(BATCH_ROWS);
        Columns {
            flow_id: u64b(),
            first_ts: ts(),
            last_ts: ts(),
            transport: st(),
            initiator_ip: st(),
            initiator_port: UInt16Builder::with_capacity(BATCH_ROWS),
            responder_ip: st(),
            responder_port: UInt16Builder::with_capacity(BATCH_ROWS),
            counters: [u64b(), u64b(), u64b(), u64b(), u64b(), u64b()],
            direction_basis: st(),
            initiator_role: st(),
            responder_role: st(),
            app_protocol: st(),
            tls_sni: st(),
            sip_call_id: st(),
            workload: st(),
            service: st(),
            rule_id: st(),
            basis: st(),
            documented: BooleanBuilder::with_capacity(BATCH_ROWS),
            finding: st(),
            end_reason: st(),
            vlan: UInt16Builder::with_capacity(BATCH_ROWS),
            tunnel: st(),
            rows: 0,
        }
    }

    fn append(&mut self, r: &FlowRow<'_>) {
        self.flow_id.append_value(r.flow_id);
        self.first_ts.append_value(r.first_ts_nanos);
        self.last_ts.append_value(r.last_ts_nanos);
        self.transport.append_value(r.transport);
        // StringBuilder is fmt::Write: the address is formatted straight into the column.
        let _ = write!(self.initiator_ip, "{}", r.initiator_ip);
        self.initiator_ip.append_value("");
        self.initiator_port.append_value(r.initiator_port);
        let _ = write!(self.responder_ip, "{}", r.responder_ip);
        self.responder_ip.append_value("");
        self.responder_port.append_value(r.responder_port);
        let values = [
            r.initiator_packets,
            r.responder_packets,
            r.initiator_bytes,
            r.responder_bytes,
            r.initiator_payload_bytes,
            r.responder_payload_bytes,
        ];
        for (b, v) in self.counters.iter_mut().zip(values) {
            b.append_value(v);
        }
        self.direction_basis.append_value(r.direction_basis);
        self.initiator_role.append_option(r.initiator_role);
        self.responder_role.append_option(r.responder_role);
        self.app_protocol.append_value(r.app_protocol);
        self.tls_sni.append_option(r.tls_sni);
        self.sip_call_id.append_option(r.sip_call_id);
        self.workload.append_option(r.workload);
        self.service.append_option(r.service);
        self.rule_id.append_option(r.rule_id);
        self.basis.append_value(r.basis);
        self.documented.append_value(r.documented);
        self.finding.append_option(r.finding);
        self.end_reason.append_value(r.end_reason);
        self.vlan.append_option(r.vlan);
        self.tunnel.append_option(r.tunnel);
        self.rows += 1;
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, arrow::error::ArrowError> {
        let [c0, c1, c2, c3, c4, c5] = &mut self.counters;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.flow_id.finish()),
            Arc::new(self.first_ts.finish()),
            Arc::new(self.last_ts.finish()),
            Arc::new(self.transport.finish()),
            Arc::new(self.initiator_ip.finish()),
            Arc::new(self.initiator_port.finish()),
            Arc::new(self.responder_ip.finish()),
            Arc::new(self.responder_port.finish()),
            Arc::new(c0.finish()),
            Arc::new(c1.finish()),
            Arc::new(c2.finish()),
            Arc::new(c3.finish()),
            Arc::new(c4.finish()),
            Arc::new(c5.finish()),
            Arc::new(self.direction_basis.finish()),
            Arc::new(self.initiator_role.finish()),
            Arc::new(self.responder_role.finish()),
            Arc::new(self.app_protocol.finish()),
            Arc::new(self.tls_sni.finish()),
            Arc::new(self.sip_call_id.finish()),
            Arc::new(self.workload.finish()),
            Arc::new(self.service.finish()),
            Arc::new(self.rule_id.finish()),
            Arc::new(self.basis.finish()),
            Arc::new(self.documented.finish()),
            Arc::new(self.finding.finish()),
            Arc::new(self.end_reason.finish()),
            Arc::new(self.vlan.finish()),
            Arc::new(self.tunnel.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(schema.clone(), cols)
    }
}

/// The encoding thread: it receives full Arrow batches and encodes, compresses and writes them,
/// so that the pipeline's thread only fills column builders.
struct Encoder {
    tx: Option<SyncSender<RecordBatch>>,
    thread: Option<JoinHandle<Result<File, ParquetError>>>,
}

impl Encoder {
    fn start(mut writer: ArrowWriter<File>) -> std::io::Result<Encoder> {
        // One batch queued while one is encoded: bounded memory, and the two threads overlap.
        let (tx, rx) = sync_channel::<RecordBatch>(1);
        let thread = std::thread::Builder::new()
            .name("sfbflow-parquet".into())
            .spawn(move || {
                for batch in rx {
                    writer.write(&batch)?;
                }
                writer.into_inner()
            })?;
        Ok(Encoder {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Waits for the thread and returns what it ended with.
    fn join(&mut self) -> Result<File, ParquetError> {
        self.tx = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(ParquetError::General(
                "the Parquet writer thread panicked".into(),
            )),
            None => Err(ParquetError::General(
                "the Parquet writer already finished".into(),
            )),
        }
    }

    /// Hands a batch to the thread; when the thread has stopped, returns its error.
    fn send(&mut self, batch: RecordBatch) -> Result<(), ParquetError> {
        match self.tx.as_ref().map(|tx| tx.send(batch)) {
            Some(Ok(())) => Ok(()),
            _ => self.join().and_then(|_| {
                Err(ParquetError::General(
                    "the Parquet writer stopped early".into(),
                ))
            }),
        }
    }
}

/// Writes `flows.parquet`.
pub struct ParquetSink {
    path: PathBuf,
    tmp_path: PathBuf,
    schema: SchemaRef,
    columns: Columns,
    encoder: Option<Encoder>,
    rows_written: u64,
}

impl std::fmt::Debug for ParquetSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("path", &self.path)
            .field("rows_written", &self.rows_written)
            .finish()
    }
}

impl ParquetSink {
    /// A sink that will write `path` (through a temporary file beside it).
    pub fn create(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let tmp_path = temp_name(&path);
        let file = File::create(&tmp_path).map_err(|source| Error::Io {
            path: tmp_path.clone(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(BATCH_ROWS))
            // Row-group statistics are what DuckDB, Spark and Trino prune with.
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_created_by(format!("sfbflow {}", env!("CARGO_PKG_VERSION")))
            .build();
        let schema = flow_schema();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|source| {
            Error::Parquet {
                path: path.clone(),
                source,
            }
        })?;
        let encoder = Encoder::start(writer).map_err(|source| Error::Io {
            path: tmp_path.clone(),
            source,
        })?;
        Ok(ParquetSink {
            path,
            tmp_path,
            schema,
            columns: Columns::new(),
            encoder: Some(encoder),
            rows_written: 0,
        })
    }

    /// The final path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows handed to the sink so far.
    pub fn rows(&self) -> u64 {
        self.rows_written
    }

    fn flush_batch(&mut self) -> Result<(), Error> {
        if self.columns.rows == 0 {
            return Ok(());
        }
        let batch = self
            .columns
            .finish(&self.schema)
            .map_err(|source| Error::Arrow {
                path: self.path.clone(),
                source,
            })?;
        if let Some(e) = self.encoder.as_mut() {
            e.send(batch).map_err(|source| Error::Parquet {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// `dir/flows.parquet` -> `dir/.flows.parquet.partial`
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

impl Sink for ParquetSink {
    fn begin(&mut self, _meta: &CaptureMeta) -> Result<(), Error> {
        Ok(())
    }

    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        self.columns.append(row);
        self.rows_written += 1;
        if self.columns.rows >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn finish(&mut self, _stats: &RunStats) -> Result<(), Error> {
        self.flush_batch()?;
        if let Some(mut e) = self.encoder.take() {
            let file = e.join().map_err(|source| Error::Parquet {
                path: self.path.clone(),
                source,
            })?;
            file.sync_all().map_err(|source| Error::Io {
                path: self.tmp_path.clone(),
                source,
            })?;
            std::fs::rename(&self.tmp_path, &self.path).map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

impl Drop for ParquetSink {
    fn drop(&mut self) {
        // Not finished (an error elsewhere ended the run): stop the thread and leave no partial
        // file behind.
        if let Some(mut e) = self.encoder.take() {
            let _ = e.join();
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}
