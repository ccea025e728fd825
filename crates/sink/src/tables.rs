//! The other tables of `--out DIR`, beside `flows.parquet`:
//!
//! - `dns.parquet`: one row per DNS lookup (a query paired with its answer, or alone), with the
//!   poster's sign-in discovery step where the name is one;
//! - `sip.parquet`: one row per SIP dialog (Call-ID), with its media flows;
//! - `findings.parquet`: one row per finding with its evidence: every flow the documentation
//!   does not account for, and every certificate that breaks the poster's rules.
//!
//! Rows are owned (these tables are small next to `flows.parquet`) and written by
//! [`ParquetTables`], each file through a temporary name like every output file.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};
use parquet::errors::ParquetError;

use crate::columns::{RowColumns, TableRow, Value, field, ts_type};
use crate::columns_writer::ColumnsWriter;
use crate::table_file::{Batcher, TableFile};
use crate::{BATCH_ROWS, CaptureMeta, Error, FlowRow, RunStats, Sink};

/// One DNS lookup: a query and its response, or one of them alone.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsRow {
    /// The flow the lookup travelled in.
    pub flow_id: u64,
    /// When the query was seen (none: only the response was captured).
    pub query_ts_nanos: Option<i64>,
    /// When the response was seen (none: no response was captured).
    pub response_ts_nanos: Option<i64>,
    /// `udp` or `tcp`.
    pub transport: &'static str,
    /// The asking side.
    pub client_ip: IpAddr,
    /// The asking side's port.
    pub client_port: u16,
    /// The answering side.
    pub server_ip: IpAddr,
    /// The answering side's port.
    pub server_port: u16,
    /// The client's role in the topology, if any.
    pub client_role: Option<&'static str>,
    /// The DNS message id.
    pub id: u16,
    /// The name asked for (lower case, no trailing dot).
    pub name: String,
    /// The query type (`A`, `AAAA`, `SRV`, ...).
    pub qtype: Cow<'static, str>,
    /// The response code (`NOERROR`, `NXDOMAIN`, ...); none without a response.
    pub rcode: Option<&'static str>,
    /// Answer records, `TYPE data` joined with `; `.
    pub answers: Option<String>,
    /// Number of answer records in the response.
    pub answer_count: u16,
    /// Response time in milliseconds.
    pub latency_ms: Option<f64>,
    /// The poster's sign-in discovery name this lookup is (`lyncdiscoverinternal`,
    /// `_sipinternaltls._tcp`, ...), if it is one.
    pub signin_step: Option<&'static str>,
    /// The domain part of a sign-in discovery name.
    pub signin_domain: Option<String>,
}

impl TableRow for DnsRow {
    fn schema() -> SchemaRef {
        let s = |n: &str, null: bool| field(n, DataType::Utf8, null);
        Arc::new(Schema::new(vec![
            field("flow_id", DataType::UInt64, false),
            field("query_ts", ts_type(), true),
            field("response_ts", ts_type(), true),
            s("transport", false),
            s("client_ip", false),
            field("client_port", DataType::UInt16, false),
            s("server_ip", false),
            field("server_port", DataType::UInt16, false),
            s("client_role", true),
            field("id", DataType::UInt16, false),
            s("name", false),
            s("qtype", false),
            s("rcode", true),
            s("answers", true),
            field("answer_count", DataType::UInt16, false),
            field("latency_ms", DataType::Float64, true),
            s("signin_step", true),
            s("signin_domain", true),
        ]))
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::U64(Some(self.flow_id)));
        out(Value::Ts(self.query_ts_nanos));
        out(Value::Ts(self.response_ts_nanos));
        out(Value::Str(Some(self.transport)));
        out(Value::Ip(self.client_ip));
        out(Value::U16(Some(self.client_port)));
        out(Value::Ip(self.server_ip));
        out(Value::U16(Some(self.server_port)));
        out(Value::Str(self.client_role));
        out(Value::U16(Some(self.id)));
        out(Value::Str(Some(&self.name)));
        out(Value::Str(Some(&self.qtype)));
        out(Value::Str(self.rcode));
        out(Value::Str(self.answers.as_deref()));
        out(Value::U16(Some(self.answer_count)));
        out(Value::F64(self.latency_ms));
        out(Value::Str(self.signin_step));
        out(Value::Str(self.signin_domain.as_deref()));
    }
}

/// One SIP dialog (all messages with one Call-ID).
#[derive(Debug, Clone, PartialEq)]
pub struct SipDialogRow {
    /// The Call-ID.
    pub call_id: String,
    /// First message.
    pub first_ts_nanos: i64,
    /// Last message.
    pub last_ts_nanos: i64,
    /// Transport of the first message (`udp`, `tcp`).
    pub transport: &'static str,
    /// Sender of the first request.
    pub client_ip: IpAddr,
    /// Its port.
    pub client_port: u16,
    /// Receiver of the first request.
    pub server_ip: IpAddr,
    /// Its port.
    pub server_port: u16,
    /// Method of the first request (`INVITE`, `REGISTER`, ...); none when only responses were seen.
    pub first_request: Option<String>,
    /// Request-URI of the first request.
    pub request_uri: Option<String>,
    /// From URI.
    pub from_uri: Option<String>,
    /// To URI.
    pub to_uri: Option<String>,
    /// Final response (>= 200) to the first request.
    pub final_status: Option<u16>,
    /// Its reason phrase.
    pub final_reason: Option<String>,
    /// `established`, `completed`, `failed`, `cancelled`, `ended` (BYE), `no_final_response`.
    pub state: &'static str,
    /// First User-Agent header (clients; Lync and Skype for Business name themselves here).
    pub user_agent: Option<String>,
    /// First Server header (servers: `RTC/6.0` is a Skype for Business Server).
    pub server: Option<String>,
    /// Microsoft's diagnostics (`ms-client-diagnostics`, `ms-diagnostics`) of the dialog, first seen.
    pub ms_diagnostics: Option<String>,
    /// Messages seen.
    pub messages: u32,
    /// Distinct flows that carried its messages.
    pub sip_flows: u32,
    /// Media endpoints its SDP announced.
    pub media_endpoints: u32,
    /// Flows linked to it through its SDP (RTP, RTCP, STUN).
    pub media_flows: u32,
    /// Bytes of those flows.
    pub media_bytes: u64,
}

impl Default for SipDialogRow {
    fn default() -> Self {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        SipDialogRow {
            call_id: String::new(),
            first_ts_nanos: 0,
            last_ts_nanos: 0,
            transport: "udp",
            client_ip: any,
            client_port: 0,
            server_ip: any,
            server_port: 0,
            first_request: None,
            request_uri: None,
            from_uri: None,
            to_uri: None,
            final_status: None,
            final_reason: None,
            state: "no_final_response",
            user_agent: None,
            server: None,
            ms_diagnostics: None,
            messages: 0,
            sip_flows: 0,
            media_endpoints: 0,
            media_flows: 0,
            media_bytes: 0,
        }
    }
}

impl TableRow for SipDialogRow {
    fn schema() -> SchemaRef {
        let s = |n: &str, null: bool| field(n, DataType::Utf8, null);
        Arc::new(Schema::new(vec![
            s("call_id", false),
            field("first_ts", ts_type(), false),
            field("last_ts", ts_type(), false),
            s("transport", false),
            s("client_ip", false),
            field("client_port", DataType::UInt16, false),
            s("server_ip", false),
            field("server_port", DataType::UInt16, false),
            s("first_request", true),
            s("request_uri", true),
            s("from_uri", true),
            s("to_uri", true),
            field("final_status", DataType::UInt16, true),
            s("final_reason", true),
            s("state", false),
            s("user_agent", true),
            s("server", true),
            s("ms_diagnostics", true),
            field("messages", DataType::UInt32, false),
            field("sip_flows", DataType::UInt32, false),
            field("media_endpoints", DataType::UInt32, false),
            field("media_flows", DataType::UInt32, false),
            field("media_bytes", DataType::UInt64, false),
        ]))
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::Str(Some(&self.call_id)));
        out(Value::Ts(Some(self.first_ts_nanos)));
        out(Value::Ts(Some(self.last_ts_nanos)));
        out(Value::Str(Some(self.transport)));
        out(Value::Ip(self.client_ip));
        out(Value::U16(Some(self.client_port)));
        out(Value::Ip(self.server_ip));
        out(Value::U16(Some(self.server_port)));
        out(Value::Str(self.first_request.as_deref()));
        out(Value::Str(self.request_uri.as_deref()));
        out(Value::Str(self.from_uri.as_deref()));
        out(Value::Str(self.to_uri.as_deref()));
        out(Value::U16(self.final_status));
        out(Value::Str(self.final_reason.as_deref()));
        out(Value::Str(Some(self.state)));
        out(Value::Str(self.user_agent.as_deref()));
        out(Value::Str(self.server.as_deref()));
        out(Value::Str(self.ms_diagnostics.as_deref()));
        out(Value::U32(Some(self.messages)));
        out(Value::U32(Some(self.sip_flows)));
        out(Value::U32(Some(self.media_endpoints)));
        out(Value::U32(Some(self.media_flows)));
        out(Value::U64(Some(self.media_bytes)));
    }
}

/// One finding with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    /// The flow it is about.
    pub flow_id: u64,
    /// The flow's first packet.
    pub first_ts_nanos: i64,
    /// The flow's last packet.
    pub last_ts_nanos: i64,
    /// `flow` (the flow is undocumented) or `certificate` (its server certificate breaks the
    /// poster's rules).
    pub kind: &'static str,
    /// The code: a finding code of `flows.parquet`, or a certificate problem code.
    pub code: String,
    /// What is wrong, for people.
    pub detail: String,
    /// `tcp` or `udp`.
    pub transport: &'static str,
    /// Initiator address.
    pub initiator_ip: IpAddr,
    /// Initiator port.
    pub initiator_port: u16,
    /// Responder address.
    pub responder_ip: IpAddr,
    /// Responder port.
    pub responder_port: u16,
    /// Initiator role.
    pub initiator_role: Option<String>,
    /// Responder role.
    pub responder_role: Option<String>,
    /// What the bytes are.
    pub app_protocol: String,
    /// The documented flow it was measured against, if any.
    pub rule_id: Option<String>,
    /// TLS server name.
    pub tls_sni: Option<String>,
    /// SIP User-Agent or Server.
    pub sip_user_agent: Option<String>,
    /// STUN family seen (`STUN`, `TURN`, `MS-TURN`).
    pub stun_seen: Option<String>,
    /// Frames both ways.
    pub packets: u64,
    /// Bytes both ways.
    pub bytes: u64,
}

impl FindingRow {
    /// The flow side of a finding row, from the flow's output row.
    pub fn for_flow(row: &FlowRow<'_>, kind: &'static str, code: &str, detail: String) -> Self {
        FindingRow {
            flow_id: row.flow_id,
            first_ts_nanos: row.first_ts_nanos,
            last_ts_nanos: row.last_ts_nanos,
            kind,
            code: code.to_string(),
            detail,
            transport: row.transport,
            initiator_ip: row.initiator_ip,
            initiator_port: row.initiator_port,
            responder_ip: row.responder_ip,
            responder_port: row.responder_port,
            initiator_role: row.initiator_role.map(str::to_string),
            responder_role: row.responder_role.map(str::to_string),
            app_protocol: row.app_protocol.to_string(),
            rule_id: row.rule_id.map(str::to_string),
            tls_sni: row.tls_sni.map(str::to_string),
            sip_user_agent: row.sip_user_agent.map(str::to_string),
            stun_seen: row.stun_seen.map(str::to_string),
            packets: row.initiator_packets + row.responder_packets,
            bytes: row.initiator_bytes + row.responder_bytes,
        }
    }
}

impl TableRow for FindingRow {
    fn schema() -> SchemaRef {
        let s = |n: &str, null: bool| field(n, DataType::Utf8, null);
        Arc::new(Schema::new(vec![
            field("flow_id", DataType::UInt64, false),
            field("first_ts", ts_type(), false),
            field("last_ts", ts_type(), false),
            s("kind", false),
            s("code", false),
            s("detail", false),
            s("transport", false),
            s("initiator_ip", false),
            field("initiator_port", DataType::UInt16, false),
            s("responder_ip", false),
            field("responder_port", DataType::UInt16, false),
            s("initiator_role", true),
            s("responder_role", true),
            s("app_protocol", false),
            s("rule_id", true),
            s("tls_sni", true),
            s("sip_user_agent", true),
            s("stun_seen", true),
            field("packets", DataType::UInt64, false),
            field("bytes", DataType::UInt64, false),
        ]))
    }

    fn values(&self, out: &mut dyn FnMut(Value<'_>)) {
        out(Value::U64(Some(self.flow_id)));
        out(Value::Ts(Some(self.first_ts_nanos)));
        out(Value::Ts(Some(self.last_ts_nanos)));
        out(Value::Str(Some(self.kind)));
        out(Value::Str(Some(&self.code)));
        out(Value::Str(Some(&self.detail)));
        out(Value::Str(Some(self.transport)));
        out(Value::Ip(self.initiator_ip));
        out(Value::U16(Some(self.initiator_port)));
        out(Value::Ip(self.responder_ip));
        out(Value::U16(Some(self.responder_port)));
        out(Value::Str(self.initiator_role.as_deref()));
        out(Value::Str(self.responder_role.as_deref()));
        out(Value::Str(Some(&self.app_protocol)));
        out(Value::Str(self.rule_id.as_deref()));
        out(Value::Str(self.tls_sni.as_deref()));
        out(Value::Str(self.sip_user_agent.as_deref()));
        out(Value::Str(self.stun_seen.as_deref()));
        out(Value::U64(Some(self.packets)));
        out(Value::U64(Some(self.bytes)));
    }
}

/// Rows the pipeline's thread gathers before handing them to the encoding thread.
const HANDOFF_ROWS: usize = 1024;

/// The encoding thread's side of a smaller table: rows into columns, columns into batches.
struct Rows {
    columns: RowColumns,
}

impl<T: TableRow + Send + 'static> Batcher for RowsOf<T> {
    type Item = Vec<T>;
    fn add(&mut self, rows: Vec<T>, w: &mut ColumnsWriter) -> Result<(), ParquetError> {
        for row in &rows {
            self.0.columns.append(row);
            if self.0.columns.rows() >= BATCH_ROWS {
                self.0.write(w)?;
            }
        }
        Ok(())
    }
    fn finish(&mut self, w: &mut ColumnsWriter) -> Result<(), ParquetError> {
        self.0.write(w)
    }
}

impl Rows {
    fn write(&mut self, w: &mut ColumnsWriter) -> Result<(), ParquetError> {
        if self.columns.rows() == 0 {
            return Ok(());
        }
        let batch = self
            .columns
            .finish()
            .map_err(|e| ParquetError::General(e.to_string()))?;
        w.write(&batch)
    }
}

/// [`Rows`] of one row type.
struct RowsOf<T>(Rows, std::marker::PhantomData<fn() -> T>);

/// One of the smaller tables being written: rows gathered here, columns built and encoded on
/// the file's thread.
struct Table<T: TableRow + Send + 'static> {
    file: TableFile<RowsOf<T>>,
    pending: Vec<T>,
}

impl<T: TableRow + Send + 'static> Table<T> {
    fn create(path: PathBuf) -> Result<Self, Error> {
        let schema = T::schema();
        let rows = RowsOf(
            Rows {
                columns: RowColumns::new(schema.clone()),
            },
            std::marker::PhantomData,
        );
        Ok(Table {
            file: TableFile::create(path, schema, rows)?,
            pending: Vec::new(),
        })
    }

    fn push(&mut self, row: &T) -> Result<(), Error>
    where
        T: Clone,
    {
        self.pending.push(row.clone());
        if self.pending.len() >= HANDOFF_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.pending, Vec::with_capacity(HANDOFF_ROWS));
        self.file.write(rows)
    }

    /// Hands the rows gathered here to the encoding thread and tells it that nothing more comes.
    fn end_input(&mut self) -> Result<(), Error> {
        self.flush()?;
        self.file.end_input();
        Ok(())
    }

    /// Waits for the encoding thread and renames the file into place (after
    /// [`Table::end_input`]).
    fn finish(&mut self) -> Result<(), Error> {
        self.file.finish()
    }
}

/// Writes `dns.parquet`, `sip.parquet` and `findings.parquet` into a directory. Every file is
/// written, empty or not, so that a dashboard's query over a folder always finds its tables.
pub struct ParquetTables {
    dns: Table<DnsRow>,
    sip: Table<SipDialogRow>,
    findings: Table<FindingRow>,
}

impl std::fmt::Debug for ParquetTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetTables")
            .field("dns", &self.dns.file.path())
            .finish()
    }
}

impl ParquetTables {
    /// Starts the three files in `dir`.
    pub fn create(dir: &Path) -> Result<Self, Error> {
        Self::create_with_suffix(dir, "")
    }

    /// Starts the three files in `dir`, with `suffix` after each table's name
    /// (`dns-20261124T130500Z.parquet` for the suffix `-20261124T130500Z`).
    pub(crate) fn create_with_suffix(dir: &Path, suffix: &str) -> Result<Self, Error> {
        let path = |table: &str| dir.join(format!("{table}{suffix}.parquet"));
        Ok(ParquetTables {
            dns: Table::create(path("dns"))?,
            sip: Table::create(path("sip"))?,
            findings: Table::create(path("findings"))?,
        })
    }
}

impl Sink for ParquetTables {
    fn begin(&mut self, _meta: &CaptureMeta) -> Result<(), Error> {
        Ok(())
    }

    fn flow(&mut self, _row: &FlowRow<'_>) -> Result<(), Error> {
        Ok(())
    }

    fn dns(&mut self, row: &DnsRow) -> Result<(), Error> {
        self.dns.push(row)
    }

    fn sip_dialog(&mut self, row: &SipDialogRow) -> Result<(), Error> {
        self.sip.push(row)
    }

    fn finding(&mut self, row: &FindingRow) -> Result<(), Error> {
        self.findings.push(row)
    }

    fn finish(&mut self, _stats: &RunStats) -> Result<(), Error> {
        // All three encode their last rows at once, then each is waited for.
        self.end_input()?;
        self.dns.finish()?;
        self.sip.finish()?;
        self.findings.finish()
    }
}

impl ParquetTables {
    /// Hands the last rows of the three files to their encoding threads and tells them that
    /// nothing more comes, without waiting ([`Sink::finish`] does).
    pub(crate) fn end_input(&mut self) -> Result<(), Error> {
        self.dns.end_input()?;
        self.sip.end_input()?;
        self.findings.end_input()
    }
}
