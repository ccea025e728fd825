//! Finding the tables of `classify --out` runs and reading them into compact rows.
//!
//! Columns are looked up by name and cast to the type the report uses, so files of different
//! runs (and tables written by other tools with the same column names) read alike. A file that
//! is not Parquet, or lacks a required column, is an [`Error`] that names it.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::Error;

/// The table files to read: `flows*.parquet` and the other tables of the same runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableFiles {
    /// `flows.parquet`, `flows-<period>.parquet`, or files named on the command line.
    pub flows: Vec<PathBuf>,
    /// `findings*.parquet`.
    pub findings: Vec<PathBuf>,
    /// `dns*.parquet`.
    pub dns: Vec<PathBuf>,
    /// `sip*.parquet`.
    pub sip: Vec<PathBuf>,
}

const TABLES: [&str; 4] = ["flows", "findings", "dns", "sip"];

/// Which table a file name is (`flows.parquet`, `dns-20261124T130500Z.parquet`), if any.
/// Hidden files (`.flows.parquet.partial`) are none.
fn table_of(name: &str) -> Option<usize> {
    if name.starts_with('.') || !name.ends_with(".parquet") {
        return None;
    }
    let stem = name.strip_suffix(".parquet")?;
    TABLES.iter().position(|t| {
        stem == *t
            || stem
                .strip_prefix(t)
                .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('_'))
    })
}

/// The tables to read for the command line's `paths`: a folder is searched recursively for
/// `flows*.parquet`, `findings*.parquet`, `dns*.parquet` and `sip*.parquet`; a file is a flows
/// table, and the other tables of its run are taken from beside it when they exist
/// (`flows-X.parquet` → `findings-X.parquet`, ...).
pub fn find_tables(paths: &[PathBuf]) -> Result<TableFiles, Error> {
    let mut sets: [BTreeSet<PathBuf>; 4] = Default::default();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let before = sets[0].len();
            walk(path, &mut sets, 0)?;
            if sets[0].len() == before {
                return Err(Error::NoFlows {
                    path: path.clone(),
                    reason: "no flows*.parquet in this folder or below it",
                });
            }
        } else if meta.is_file() {
            sets[0].insert(path.clone());
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if let Some(rest) = name.strip_prefix("flows") {
                for (i, table) in TABLES.iter().enumerate().skip(1) {
                    let sibling = path.with_file_name(format!("{table}{rest}"));
                    if sibling.is_file() {
                        sets[i].insert(sibling);
                    }
                }
            }
        } else {
            return Err(Error::NoFlows {
                path: path.clone(),
                reason: "neither a file nor a folder",
            });
        }
    }
    let [flows, findings, dns, sip] = sets.map(|s| s.into_iter().collect());
    Ok(TableFiles {
        flows,
        findings,
        dns,
        sip,
    })
}

/// Folders deeper than this are not searched (a loop of symbolic links ends here too).
const MAX_DEPTH: usize = 16;

fn walk(dir: &Path, sets: &mut [BTreeSet<PathBuf>; 4], depth: usize) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, sets, depth + 1)?;
        } else if let Some(t) = table_of(name) {
            sets[t].insert(path);
        }
    }
    Ok(())
}

/// A shared string: the same role, protocol or address appears in many rows.
pub(crate) type Str = Arc<str>;

/// Hands out one [`Str`] per distinct value.
#[derive(Default)]
struct Interner(HashMap<Box<str>, Str>);

impl Interner {
    fn get(&mut self, s: &str) -> Str {
        if let Some(v) = self.0.get(s) {
            return v.clone();
        }
        let v: Str = Arc::from(s);
        self.0.insert(Box::from(s), v.clone());
        v
    }
}

/// One flow, as much of it as the report shows.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub(crate) flow_id: Option<u64>,
    pub(crate) first_ns: i64,
    pub(crate) last_ns: i64,
    pub(crate) transport: Str,
    pub(crate) initiator_ip: Str,
    pub(crate) responder_ip: Str,
    pub(crate) responder_port: u16,
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    pub(crate) initiator_role: Option<Str>,
    pub(crate) responder_role: Option<Str>,
    pub(crate) app_protocol: Str,
    pub(crate) workload: Option<Str>,
    pub(crate) rule_id: Option<Str>,
    pub(crate) documented: bool,
    pub(crate) finding: Option<Str>,
    pub(crate) tls_sni: Option<Str>,
    pub(crate) sip_user_agent: Option<Str>,
    pub(crate) stun_seen: Option<Str>,
    pub(crate) stun_method: Option<Str>,
}

/// One row of `findings.parquet`.
#[derive(Debug, Clone)]
pub(crate) struct FindingRec {
    pub(crate) flow_id: Option<u64>,
    pub(crate) first_ns: i64,
    pub(crate) last_ns: i64,
    pub(crate) kind: Str,
    pub(crate) code: Str,
    pub(crate) detail: Option<Str>,
    pub(crate) transport: Str,
    pub(crate) initiator_ip: Str,
    pub(crate) responder_ip: Str,
    pub(crate) responder_port: u16,
    pub(crate) initiator_role: Option<Str>,
    pub(crate) responder_role: Option<Str>,
    pub(crate) app_protocol: Option<Str>,
    pub(crate) tls_sni: Option<Str>,
    pub(crate) sip_user_agent: Option<Str>,
    pub(crate) stun_seen: Option<Str>,
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
}

/// One row of `dns.parquet`.
#[derive(Debug, Clone)]
pub(crate) struct DnsRec {
    pub(crate) ts_ns: i64,
    pub(crate) client_ip: Str,
    pub(crate) client_role: Option<Str>,
    pub(crate) name: Str,
    pub(crate) qtype: Str,
    pub(crate) rcode: Option<Str>,
    pub(crate) answers: Option<Str>,
    pub(crate) answer_count: u64,
    pub(crate) signin_step: Option<Str>,
}

/// One row of `sip.parquet`.
#[derive(Debug, Clone)]
pub(crate) struct SipRec {
    pub(crate) first_ns: i64,
    pub(crate) call_id: Str,
    pub(crate) client_ip: Str,
    pub(crate) server_ip: Str,
    pub(crate) server_port: u16,
    pub(crate) first_request: Option<Str>,
    pub(crate) final_status: Option<u64>,
    pub(crate) state: Str,
    pub(crate) user_agent: Option<Str>,
    pub(crate) messages: u64,
    pub(crate) media_flows: u64,
}

/// Everything read.
#[derive(Debug, Default)]
pub(crate) struct Data {
    pub(crate) flows: Vec<Flow>,
    pub(crate) findings: Vec<FindingRec>,
    pub(crate) dns: Vec<DnsRec>,
    pub(crate) sip: Vec<SipRec>,
    /// Whether any findings table was read (else findings come from the flows' `finding`).
    pub(crate) have_findings: bool,
    /// Whether any sip table was read.
    pub(crate) have_sip: bool,
    /// Number of files read.
    pub(crate) files: usize,
}

const FLOW_COLUMNS: [&str; 16] = [
    "first_ts",
    "last_ts",
    "transport",
    "initiator_ip",
    "responder_ip",
    "responder_port",
    "initiator_packets",
    "responder_packets",
    "initiator_bytes",
    "responder_bytes",
    "initiator_role",
    "responder_role",
    "app_protocol",
    "workload",
    "documented",
    "finding",
];

const FINDING_COLUMNS: [&str; 8] = [
    "first_ts",
    "last_ts",
    "code",
    "transport",
    "initiator_ip",
    "responder_ip",
    "responder_port",
    "bytes",
];

const DNS_COLUMNS: [&str; 5] = ["query_ts", "client_ip", "name", "qtype", "rcode"];

const SIP_COLUMNS: [&str; 6] = [
    "call_id",
    "first_ts",
    "last_ts",
    "client_ip",
    "server_ip",
    "state",
];

/// Reads every table of `files`.
pub(crate) fn read_all(files: &TableFiles) -> Result<Data, Error> {
    let mut data = Data::default();
    let mut strings = Interner::default();
    for path in &files.flows {
        read_file(path, &FLOW_COLUMNS, |b| {
            read_flows(b, &mut strings, &mut data.flows)
        })?;
    }
    for path in &files.findings {
        read_file(path, &FINDING_COLUMNS, |b| {
            read_findings(b, &mut strings, &mut data.findings)
        })?;
    }
    for path in &files.dns {
        read_file(path, &DNS_COLUMNS, |b| {
            read_dns(b, &mut strings, &mut data.dns)
        })?;
    }
    for path in &files.sip {
        read_file(path, &SIP_COLUMNS, |b| {
            read_sip(b, &mut strings, &mut data.sip)
        })?;
    }
    data.have_findings = !files.findings.is_empty();
    data.have_sip = !files.sip.is_empty();
    data.files = files.flows.len() + files.findings.len() + files.dns.len() + files.sip.len();
    Ok(data)
}

/// Opens `path` as Parquet, checks that it has the `required` columns, and hands each batch to
/// `each`.
fn read_file(
    path: &Path,
    required: &[&str],
    mut each: impl FnMut(&Columns<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let pq = |source| Error::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
    let schema = builder.schema().clone();
    let missing: Vec<String> = required
        .iter()
        .filter(|c| schema.column_with_name(c).is_none())
        .map(|c| (*c).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingColumns {
            path: path.to_path_buf(),
            columns: missing,
        });
    }
    let reader = builder.with_batch_size(16_384).build().map_err(pq)?;
    for batch in reader {
        let batch = batch.map_err(|e| Error::Parquet {
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        each(&Columns {
            batch: &batch,
            path,
        })?;
    }
    Ok(())
}

/// The columns of one batch, cast to the types the report reads.
struct Columns<'a> {
    batch: &'a RecordBatch,
    path: &'a Path,
}

/// A column read as the report's type; absent columns read as all nulls.
struct Col<A>(Option<A>);

impl Col<StringArray> {
    fn get(&self, i: usize, strings: &mut Interner) -> Option<Str> {
        let a = self.0.as_ref()?;
        (!a.is_null(i)).then(|| strings.get(a.value(i)))
    }
    fn or_empty(&self, i: usize, strings: &mut Interner) -> Str {
        self.get(i, strings).unwrap_or_else(|| strings.get(""))
    }
}

impl Col<UInt64Array> {
    fn get(&self, i: usize) -> Option<u64> {
        let a = self.0.as_ref()?;
        (!a.is_null(i)).then(|| a.value(i))
    }
    fn or_zero(&self, i: usize) -> u64 {
        self.get(i).unwrap_or(0)
    }
    fn port(&self, i: usize) -> u16 {
        u16::try_from(self.or_zero(i)).unwrap_or(0)
    }
}

impl Col<Int64Array> {
    fn get(&self, i: usize) -> Option<i64> {
        let a = self.0.as_ref()?;
        (!a.is_null(i)).then(|| a.value(i))
    }
}

impl Col<BooleanArray> {
    fn get(&self, i: usize) -> Option<bool> {
        let a = self.0.as_ref()?;
        (!a.is_null(i)).then(|| a.value(i))
    }
}

impl Columns<'_> {
    fn len(&self) -> usize {
        self.batch.num_rows()
    }

    fn cast(&self, name: &str, to: &DataType) -> Result<Option<ArrayRef>, Error> {
        let Some(col) = self.batch.column_by_name(name) else {
            return Ok(None);
        };
        let err = |source| Error::ColumnType {
            path: self.path.to_path_buf(),
            column: name.to_owned(),
            source,
        };
        let col = match (col.data_type(), to) {
            (DataType::Timestamp(_, _), DataType::Int64) => cast(
                &cast(col, &DataType::Timestamp(TimeUnit::Nanosecond, None)).map_err(err)?,
                to,
            ),
            _ => cast(col, to),
        }
        .map_err(err)?;
        Ok(Some(col))
    }

    fn typed<A: Array + Clone + 'static>(&self, name: &str, to: DataType) -> Result<Col<A>, Error> {
        let Some(col) = self.cast(name, &to)? else {
            return Ok(Col(None));
        };
        match col.as_any().downcast_ref::<A>() {
            Some(a) => Ok(Col(Some(a.clone()))),
            None => Err(Error::ColumnType {
                path: self.path.to_path_buf(),
                column: name.to_owned(),
                source: arrow::error::ArrowError::CastError(format!("not readable as {to}")),
            }),
        }
    }

    fn str(&self, name: &str) -> Result<Col<StringArray>, Error> {
        self.typed(name, DataType::Utf8)
    }
    fn u64(&self, name: &str) -> Result<Col<UInt64Array>, Error> {
        self.typed(name, DataType::UInt64)
    }
    fn ts(&self, name: &str) -> Result<Col<Int64Array>, Error> {
        self.typed(name, DataType::Int64)
    }
    fn bool(&self, name: &str) -> Result<Col<BooleanArray>, Error> {
        self.typed(name, DataType::Boolean)
    }
}

fn read_flows(b: &Columns<'_>, s: &mut Interner, out: &mut Vec<Flow>) -> Result<(), Error> {
    let flow_id = b.u64("flow_id")?;
    let first = b.ts("first_ts")?;
    let last = b.ts("last_ts")?;
    let transport = b.str("transport")?;
    let iip = b.str("initiator_ip")?;
    let rip = b.str("responder_ip")?;
    let rport = b.u64("responder_port")?;
    let ipk = b.u64("initiator_packets")?;
    let rpk = b.u64("responder_packets")?;
    let ib = b.u64("initiator_bytes")?;
    let rb = b.u64("responder_bytes")?;
    let irole = b.str("initiator_role")?;
    let rrole = b.str("responder_role")?;
    let app = b.str("app_protocol")?;
    let workload = b.str("workload")?;
    let rule = b.str("rule_id")?;
    let documented = b.bool("documented")?;
    let finding = b.str("finding")?;
    let sni = b.str("tls_sni")?;
    let ua = b.str("sip_user_agent")?;
    let stun = b.str("stun_seen")?;
    let stun_method = b.str("stun_method")?;
    out.reserve(b.len());
    for i in 0..b.len() {
        let first_ns = first.get(i).unwrap_or(0);
        out.push(Flow {
            flow_id: flow_id.get(i),
            first_ns,
            last_ns: last.get(i).unwrap_or(first_ns).max(first_ns),
            transport: transport.or_empty(i, s),
            initiator_ip: iip.or_empty(i, s),
            responder_ip: rip.or_empty(i, s),
            responder_port: rport.port(i),
            packets: ipk.or_zero(i).saturating_add(rpk.or_zero(i)),
            bytes: ib.or_zero(i).saturating_add(rb.or_zero(i)),
            initiator_role: irole.get(i, s),
            responder_role: rrole.get(i, s),
            app_protocol: app.get(i, s).unwrap_or_else(|| s.get("unknown")),
            workload: workload.get(i, s),
            rule_id: rule.get(i, s),
            documented: documented.get(i).unwrap_or(false),
            finding: finding.get(i, s),
            tls_sni: sni.get(i, s),
            sip_user_agent: ua.get(i, s),
            stun_seen: stun.get(i, s),
            stun_method: stun_method.get(i, s),
        });
    }
    Ok(())
}

fn read_findings(
    b: &Columns<'_>,
    s: &mut Interner,
    out: &mut Vec<FindingRec>,
) -> Result<(), Error> {
    let flow_id = b.u64("flow_id")?;
    let first = b.ts("first_ts")?;
    let last = b.ts("last_ts")?;
    let kind = b.str("kind")?;
    let code = b.str("code")?;
    let detail = b.str("detail")?;
    let transport = b.str("transport")?;
    let iip = b.str("initiator_ip")?;
    let rip = b.str("responder_ip")?;
    let rport = b.u64("responder_port")?;
    let irole = b.str("initiator_role")?;
    let rrole = b.str("responder_role")?;
    let app = b.str("app_protocol")?;
    let sni = b.str("tls_sni")?;
    let ua = b.str("sip_user_agent")?;
    let stun = b.str("stun_seen")?;
    let packets = b.u64("packets")?;
    let bytes = b.u64("bytes")?;
    for i in 0..b.len() {
        let first_ns = first.get(i).unwrap_or(0);
        out.push(FindingRec {
            flow_id: flow_id.get(i),
            first_ns,
            last_ns: last.get(i).unwrap_or(first_ns).max(first_ns),
            kind: kind.get(i, s).unwrap_or_else(|| s.get("flow")),
            code: code.or_empty(i, s),
            detail: detail.get(i, s),
            transport: transport.or_empty(i, s),
            initiator_ip: iip.or_empty(i, s),
            responder_ip: rip.or_empty(i, s),
            responder_port: rport.port(i),
            initiator_role: irole.get(i, s),
            responder_role: rrole.get(i, s),
            app_protocol: app.get(i, s),
            tls_sni: sni.get(i, s),
            sip_user_agent: ua.get(i, s),
            stun_seen: stun.get(i, s),
            packets: packets.or_zero(i),
            bytes: bytes.or_zero(i),
        });
    }
    Ok(())
}

fn read_dns(b: &Columns<'_>, s: &mut Interner, out: &mut Vec<DnsRec>) -> Result<(), Error> {
    let qts = b.ts("query_ts")?;
    let rts = b.ts("response_ts")?;
    let client = b.str("client_ip")?;
    let role = b.str("client_role")?;
    let name = b.str("name")?;
    let qtype = b.str("qtype")?;
    let rcode = b.str("rcode")?;
    let answers = b.str("answers")?;
    let count = b.u64("answer_count")?;
    let step = b.str("signin_step")?;
    for i in 0..b.len() {
        out.push(DnsRec {
            ts_ns: qts.get(i).or_else(|| rts.get(i)).unwrap_or(0),
            client_ip: client.or_empty(i, s),
            client_role: role.get(i, s),
            name: name.or_empty(i, s),
            qtype: qtype.or_empty(i, s),
            rcode: rcode.get(i, s),
            answers: answers.get(i, s),
            answer_count: count.or_zero(i),
            signin_step: step.get(i, s),
        });
    }
    Ok(())
}

fn read_sip(b: &Columns<'_>, s: &mut Interner, out: &mut Vec<SipRec>) -> Result<(), Error> {
    let first = b.ts("first_ts")?;
    let call_id = b.str("call_id")?;
    let client = b.str("client_ip")?;
    let server = b.str("server_ip")?;
    let sport = b.u64("server_port")?;
    let req = b.str("first_request")?;
    let status = b.u64("final_status")?;
    let state = b.str("state")?;
    let ua = b.str("user_agent")?;
    let messages = b.u64("messages")?;
    let media = b.u64("media_flows")?;
    for i in 0..b.len() {
        out.push(SipRec {
            first_ns: first.get(i).unwrap_or(0),
            call_id: call_id.or_empty(i, s),
            client_ip: client.or_empty(i, s),
            server_ip: server.or_empty(i, s),
            server_port: sport.port(i),
            first_request: req.get(i, s),
            final_status: status.get(i),
            state: state.or_empty(i, s),
            user_agent: ua.get(i, s),
            messages: messages.or_zero(i),
            media_flows: media.or_zero(i),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert_eq!(table_of("flows.parquet"), Some(0));
        assert_eq!(table_of("flows-20261124T130500Z.parquet"), Some(0));
        assert_eq!(table_of("findings.parquet"), Some(1));
        assert_eq!(table_of("dns-20261124T130500Z.parquet"), Some(2));
        assert_eq!(table_of("sip.parquet"), Some(3));
        assert_eq!(table_of(".flows.parquet.partial"), None);
        assert_eq!(table_of(".flows-1.parquet"), None);
        assert_eq!(table_of("flowsx.parquet"), None);
        assert_eq!(table_of("flows.csv"), None);
    }
}
