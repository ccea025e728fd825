//! The whole pipeline, bytes to Parquet and JSON lines, with its invariants.

use std::cell::RefCell;
use std::fs::File;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sfbflow::catalogue::Topology;
use sfbflow::flow::FlowConfig;
use sfbflow::pipeline::{Pipeline, PipelineConfig};
use sfbflow::sink::{
    CaptureMeta, DnsRow, Error, FindingRow, FlowRow, JsonLinesSink, OutputLayout,
    RotatingParquet, RunStats, Sink, SipDialogRow, flow_schema,
};

/// A writer whose bytes the harness reads after the run.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the checking sink saw.
#[derive(Debug, Default)]
struct Seen {
    flows: u64,
    packets: u64,
    dns: u64,
    dialogs: u64,
    findings: u64,
    began: bool,
    finished: Option<RunStats>,
}

/// A sink asserting each row's own consistency and tallying what the run produced.
#[derive(Clone, Default)]
struct Check(Rc<RefCell<Seen>>);

impl Sink for Check {
    fn begin(&mut self, _: &CaptureMeta) -> Result<(), Error> {
        self.0.borrow_mut().began = true;
        Ok(())
    }
    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        assert!(row.first_ts_nanos <= row.last_ts_nanos, "a flow ends before it starts");
        let packets = row.initiator_packets + row.responder_packets;
        assert!(packets > 0, "a flow without packets");
        assert!(row.initiator_bytes >= row.initiator_payload_bytes, "payload over bytes");
        assert!(row.responder_bytes >= row.responder_payload_bytes, "payload over bytes");
        let mut s = self.0.borrow_mut();
        assert!(s.finished.is_none(), "a row after finish");
        s.flows += 1;
        s.packets += packets;
        Ok(())
    }
    fn dns(&mut self, _: &DnsRow) -> Result<(), Error> {
        self.0.borrow_mut().dns += 1;
        Ok(())
    }
    fn sip_dialog(&mut self, _: &SipDialogRow) -> Result<(), Error> {
        self.0.borrow_mut().dialogs += 1;
        Ok(())
    }
    fn finding(&mut self, _: &FindingRow) -> Result<(), Error> {
        self.0.borrow_mut().findings += 1;
        Ok(())
    }
    fn finish(&mut self, stats: &RunStats) -> Result<(), Error> {
        self.0.borrow_mut().finished = Some(stats.clone());
        Ok(())
    }
}

/// The topology of `captures/lab-sfb`, so that the roles and verdicts are exercised too.
const TOPOLOGY: &str = include_str!("../../captures/lab-sfb/topology.toml");

/// A folder of this process for the Parquet files, emptied before each run.
fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sfbflow-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary folder");
    dir
}

/// Rows of a Parquet file, after checking its schema (when `schema` is given).
fn parquet_rows(path: &Path, check_schema: bool) -> u64 {
    let file = File::open(path).expect("open the Parquet file");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("a Parquet file");
    if check_schema {
        let want = flow_schema();
        let got = builder.schema();
        assert_eq!(got.fields().len(), want.fields().len(), "flows schema");
        for (g, w) in got.fields().iter().zip(want.fields().iter()) {
            assert_eq!(g.name(), w.name());
            assert_eq!(g.data_type(), w.data_type(), "type of {}", w.name());
        }
    }
    let meta_rows = builder.metadata().file_metadata().num_rows();
    let reader = builder.build().expect("read the Parquet file");
    let mut rows = 0u64;
    for batch in reader {
        rows += batch.expect("a record batch").num_rows() as u64;
    }
    assert_eq!(rows, u64::try_from(meta_rows).unwrap_or(u64::MAX));
    rows
}

/// Runs `data` as a capture through the whole pipeline with a small flow bound (so that
/// eviction happens), every output written, and asserts the run's invariants.
pub fn check_pipeline(data: &[u8]) {
    let dir = out_dir();
    let jsonl = Shared::default();
    let check = Check::default();
    let topology = Topology::from_toml(TOPOLOGY).expect("the lab topology");
    let flow = FlowConfig {
        max_flows: 64,
        ..FlowConfig::default()
    };
    let cfg = PipelineConfig {
        flow,
        topology: Some(topology),
        ..PipelineConfig::default()
    };
    let parquet = RotatingParquet::create(&dir, OutputLayout::new(None, None)).expect("sink");
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(parquet),
        Box::new(JsonLinesSink::new(jsonl.clone(), "memory")),
        Box::new(check.clone()),
    ];
    let mut p = Pipeline::new(cfg, sinks);
    p.begin(&CaptureMeta {
        inputs: vec!["fuzz".into()],
    })
    .expect("begin");
    let opened = p.run_input("fuzz", Cursor::new(data), |_| {});
    let stats = p.finish().expect("finish");

    let direct = crate::read_capture(Cursor::new(data), 1 << 20);
    match opened {
        Ok(()) => {
            assert!(direct.open_error.is_none());
            assert_eq!(stats.inputs.len(), 1);
            let input = &stats.inputs[0];
            assert_eq!(input.records, direct.records.len() as u64);
            assert_eq!(input.error.is_some(), direct.error.is_some());
            assert!(input.bytes <= data.len() as u64);
        }
        Err(_) => {
            assert!(direct.open_error.is_some());
            assert!(stats.inputs.is_empty());
        }
    }
    assert_eq!(stats.packets, direct.records.len() as u64, "frames read");

    let seen = check.0.borrow();
    assert!(seen.began);
    assert_eq!(seen.finished.as_ref(), Some(&stats));
    // Every frame that made a TCP or UDP packet is in exactly one flow.
    assert_eq!(seen.packets, stats.transport_packets, "flows' packets vs frames");
    assert!(stats.transport_packets <= stats.packets);
    assert!(stats.peak_live_flows <= 64);

    // Every JSON line parses back, one per flow.
    let text = jsonl.0.borrow();
    let mut lines = 0u64;
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).expect("a JSON line");
        assert!(v.is_object());
        assert!(v.get("flow_id").is_some());
        lines += 1;
    }
    assert_eq!(lines, seen.flows, "JSON lines vs flows");

    // The Parquet files read back with every row; nothing is left half-written.
    let flows = dir.join("flows.parquet");
    if seen.flows > 0 || flows.exists() {
        assert_eq!(parquet_rows(&flows, true), seen.flows, "flows.parquet rows");
    }
    for (name, want) in [
        ("dns.parquet", seen.dns),
        ("sip.parquet", seen.dialogs),
        ("findings.parquet", seen.findings),
    ] {
        let path = dir.join(name);
        if want > 0 || path.exists() {
            assert_eq!(parquet_rows(&path, false), want, "{name} rows");
        }
    }
    for entry in std::fs::read_dir(&dir).expect("list").flatten() {
        let name = entry.file_name();
        assert!(
            !name.to_string_lossy().contains("partial"),
            "a partial file was left: {name:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
