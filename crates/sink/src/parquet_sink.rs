//! `flows.parquet`: Arrow builders flushed every [`BATCH_ROWS`] rows into a zstd Parquet file
//! ([`TableFile`]: written under a temporary name and renamed into place by [`Sink::finish`], so
//! a reader never sees half a file; encoding and compression run on a thread of their own).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, RecordBatch, StringBuilder, TimestampNanosecondBuilder,
    UInt16Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::table_file::{Batches, TableFile};
use crate::{CaptureMeta, Error, FlowRow, RunStats, Sink};

/// The optional evidence columns at the end of `flows.parquet` (`tls_version` .. `dns_query`).
const EVIDENCE_COLUMNS: usize = 10;

/// Rows per Parquet row group.
pub const BATCH_ROWS: usize = 65_536;

/// Rows per Arrow batch handed to the encoding thread: a sixteenth of a row group, so that the
/// column builders and the batch in flight stay small (the writer gathers batches into row
/// groups of [`BATCH_ROWS`]), and the encoding goes on while the run's last flows are written.
const HANDOFF_ROWS: usize = 4_096;

/// Appends `ip` to a string column as `Display` writes it: IPv4 digit by digit (several times
/// faster than `core::fmt`, and most addresses are IPv4), IPv6 through `Display` (its `::`
/// shortening rules are not worth a second copy).
fn append_ip(b: &mut StringBuilder, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut text = [0u8; 15];
            let mut n = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    text[n] = b'.';
                    n += 1;
                }
                let (h, t, o) = (octet / 100, octet / 10 % 10, octet % 10);
                if h > 0 {
                    text[n] = b'0' + h;
                    n += 1;
                }
                if h > 0 || t > 0 {
                    text[n] = b'0' + t;
                    n += 1;
                }
                text[n] = b'0' + o;
                n += 1;
            }
            b.append_value(std::str::from_utf8(&text[..n]).unwrap_or_default());
        }
        IpAddr::V6(_) => {
            // StringBuilder is fmt::Write: the address is formatted straight into the column.
            let _ = write!(b, "{ip}");
            b.append_value("");
        }
    }
}

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
        s("tls_version", true),
        s("tls_cert_subject", true),
        s("tls_cert_sans", true),
        s("cert_problem", true),
        s("sip_method", true),
        s("sip_user_agent", true),
        s("stun_seen", true),
        s("stun_method", true),
        s("rtp_codec", true),
        s("dns_query", true),
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
    /// The optional evidence columns after `tunnel`, in schema order.
    evidence: [StringBuilder; EVIDENCE_COLUMNS],
    rows: usize,
}

impl Columns {
    fn new() -> Self {
        let ts = || TimestampNanosecondBuilder::with_capacity(HANDOFF_ROWS).with_timezone("UTC");
        let st = || StringBuilder::with_capacity(HANDOFF_ROWS, HANDOFF_ROWS * 8);
        let u64b = || UInt64Builder::with_capacity(HANDOFF_ROWS);
        Columns {
            flow_id: u64b(),
            first_ts: ts(),
            last_ts: ts(),
            transport: st(),
            initiator_ip: st(),
            initiator_port: UInt16Builder::with_capacity(HANDOFF_ROWS),
            responder_ip: st(),
            responder_port: UInt16Builder::with_capacity(HANDOFF_ROWS),
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
            documented: BooleanBuilder::with_capacity(HANDOFF_ROWS),
            finding: st(),
            end_reason: st(),
            vlan: UInt16Builder::with_capacity(HANDOFF_ROWS),
            tunnel: st(),
            evidence: std::array::from_fn(|_| StringBuilder::new()),
            rows: 0,
        }
    }

    fn append(&mut self, r: &FlowRow<'_>) {
        self.flow_id.append_value(r.flow_id);
        self.first_ts.append_value(r.first_ts_nanos);
        self.last_ts.append_value(r.last_ts_nanos);
        self.transport.append_value(r.transport);
        append_ip(&mut self.initiator_ip, r.initiator_ip);
        self.initiator_port.append_value(r.initiator_port);
        append_ip(&mut self.responder_ip, r.responder_ip);
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
        let evidence = [
            r.tls_version,
            r.tls_cert_subject,
            r.tls_cert_sans,
            r.cert_problem,
            r.sip_method,
            r.sip_user_agent,
            r.stun_seen,
            r.stun_method,
            r.rtp_codec,
            r.dns_query,
        ];
        for (b, v) in self.evidence.iter_mut().zip(evidence) {
            b.append_option(v);
        }
        self.rows += 1;
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch, arrow::error::ArrowError> {
        let [c0, c1, c2, c3, c4, c5] = &mut self.counters;
        let mut cols: Vec<ArrayRef> = vec![
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
        for b in &mut self.evidence {
            cols.push(Arc::new(b.finish()));
        }
        self.rows = 0;
        RecordBatch::try_new(schema.clone(), cols)
    }
}

/// Writes `flows.parquet`.
pub struct ParquetSink {
    file: TableFile<Batches>,
    schema: SchemaRef,
    columns: Columns,
    rows_written: u64,
}

impl std::fmt::Debug for ParquetSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("path", &self.file.path())
            .field("rows_written", &self.rows_written)
            .finish()
    }
}

impl ParquetSink {
    /// A sink that will write `path` (through a temporary file beside it).
    pub fn create(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let schema = flow_schema();
        let file = TableFile::create(path.into(), schema.clone(), Batches)?;
        Ok(ParquetSink {
            file,
            schema,
            columns: Columns::new(),
            rows_written: 0,
        })
    }

    /// The final path of the file.
    pub fn path(&self) -> &Path {
        self.file.path()
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
                path: self.file.path().to_path_buf(),
                source,
            })?;
        self.file.write(batch)
    }
}

impl Sink for ParquetSink {
    fn begin(&mut self, _meta: &CaptureMeta) -> Result<(), Error> {
        Ok(())
    }

    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        self.columns.append(row);
        self.rows_written += 1;
        if self.columns.rows >= HANDOFF_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flows_done(&mut self) -> Result<(), Error> {
        self.end_input()
    }

    fn finish(&mut self, _stats: &RunStats) -> Result<(), Error> {
        self.end_input()?;
        self.file.finish()
    }
}

impl ParquetSink {
    /// Hands the last rows to the encoding thread and tells it that nothing more comes, without
    /// waiting for it ([`Sink::finish`] does).
    pub(crate) fn end_input(&mut self) -> Result<(), Error> {
        self.flush_batch()?;
        self.file.end_input();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;
    use proptest::prelude::*;

    proptest! {
        /// The hand-written IPv4 text is `Display`'s, for every address (and IPv6 goes through
        /// `Display` itself).
        #[test]
        fn ip_text_is_display(v4 in any::<u32>(), v6 in any::<u128>()) {
            let ips = [
                IpAddr::from(std::net::Ipv4Addr::from(v4)),
                IpAddr::from(std::net::Ipv6Addr::from(v6)),
            ];
            let mut b = StringBuilder::new();
            for ip in ips {
                append_ip(&mut b, ip);
            }
            let col = b.finish();
            prop_assert_eq!(col.len(), 2);
            for (i, ip) in ips.iter().enumerate() {
                prop_assert_eq!(col.value(i), ip.to_string());
            }
        }
    }

    #[test]
    fn ip_text_edges() {
        let mut b = StringBuilder::new();
        for ip in ["0.0.0.0", "10.0.100.9", "255.255.255.255", "1.20.3.199"] {
            append_ip(&mut b, ip.parse().expect("an address"));
        }
        let col = b.finish();
        let got: Vec<&str> = (0..col.len()).map(|i| col.value(i)).collect();
        assert_eq!(
            got,
            ["0.0.0.0", "10.0.100.9", "255.255.255.255", "1.20.3.199"]
        );
    }
}
