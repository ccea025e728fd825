//! Hostile input: each case of issue 6 answered with its documented limit, a counter in the
//! summary, the documented exit code and a message naming the file, the byte offset and what
//! was expected; the flows read before the damage are written, in complete files. The limits
//! are listed in FUZZING.md.

mod common;

use std::cell::RefCell;
use std::io::Cursor;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

use common::{ACK, Pcap, SYN, Shared, frame};
use sfbflow::flow::FlowConfig;
use sfbflow::packet::DecoderConfig;
use sfbflow::pipeline::{Pipeline, PipelineConfig};
use sfbflow::sink::{CaptureMeta, Error, FlowRow, JsonLinesSink, RunStats, Sink, SummarySink};

const BIN: &str = env!("CARGO_BIN_EXE_sfbflow");
const C: Ipv4Addr = Ipv4Addr::new(10, 20, 0, 5);
const S: Ipv4Addr = Ipv4Addr::new(10, 1, 3, 10);
const SEC: i64 = 1_000_000_000;

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("hostile", name)
}

/// Flows and packets seen by a sink.
#[derive(Clone, Default)]
struct Count(Rc<RefCell<(u64, u64)>>);

impl Sink for Count {
    fn begin(&mut self, _: &CaptureMeta) -> Result<(), Error> {
        Ok(())
    }
    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        assert!(row.first_ts_nanos <= row.last_ts_nanos);
        assert!(row.initiator_bytes >= row.initiator_payload_bytes);
        assert!(row.responder_bytes >= row.responder_payload_bytes);
        let mut c = self.0.borrow_mut();
        c.0 += 1;
        c.1 += row.initiator_packets + row.responder_packets;
        Ok(())
    }
    fn finish(&mut self, _: &RunStats) -> Result<(), Error> {
        Ok(())
    }
}

/// What an in-process run left: its counters, the summary text, the JSON lines, and the flows
/// and packets the sinks saw.
struct Run {
    stats: RunStats,
    summary: String,
    rows: Vec<serde_json::Value>,
    flows: u64,
    packets: u64,
}

fn run_with(bytes: &[u8], flow: FlowConfig, decoder: DecoderConfig) -> Run {
    let summary = Shared::default();
    let jsonl = Shared::default();
    let count = Count::default();
    let cfg = PipelineConfig {
        flow,
        decoder,
        ..PipelineConfig::default()
    };
    let sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(SummarySink::new(summary.clone(), "memory")),
        Box::new(JsonLinesSink::new(jsonl.clone(), "memory")),
        Box::new(count.clone()),
    ];
    let mut p = Pipeline::new(cfg, sinks);
    p.run_input("hostile", Cursor::new(bytes.to_vec()), |_| {})
        .expect("a capture");
    let stats = p.finish().expect("finish");
    let rows = jsonl
        .0
        .borrow()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("a JSON line"))
        .collect();
    let (flows, packets) = *count.0.borrow();
    // Nothing lost: every TCP/UDP frame is in a flow.
    assert_eq!(packets, stats.transport_packets, "frames in flows");
    Run {
        stats,
        summary: String::from_utf8(summary.0.borrow().clone()).expect("UTF-8 summary"),
        rows,
        flows,
        packets,
    }
}

fn run(bytes: &[u8]) -> Run {
    run_with(bytes, FlowConfig::default(), DecoderConfig::default())
}

/// Runs the binary; returns the exit code, the JSON rows on stdout and stderr.
fn cli(args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let out = Command::new(BIN).args(args).output().expect("run sfbflow");
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        rows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Rows of every `flows*.parquet` under `dir`, after checking no half-written file is left.
fn parquet_flow_rows(dir: &Path) -> u64 {
    let mut rows = 0;
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.contains("partial"), "half-written file left: {name}");
        if name.starts_with("flows") && name.ends_with(".parquet") {
            let file = std::fs::File::open(entry.path()).expect("open");
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .expect("a complete Parquet file")
                    .build()
                    .expect("reader");
            for batch in reader {
                rows += batch.expect("batch").num_rows() as u64;
            }
        }
    }
    rows
}

/// Three UDP exchanges (three flows, six frames).
fn three_flows() -> Pcap {
    let mut p = Pcap::new();
    for i in 0..3u16 {
        p.udp_exchange(C, 50_000 + i, S, 5060, b"hello", b"world");
    }
    p
}

fn cli_classify(path: &Path, out: &Path) -> (i32, Vec<serde_json::Value>, String) {
    cli(&[
        "classify",
        path.to_str().unwrap_or_default(),
        "--jsonl",
        "--out",
        out.to_str().unwrap_or_default(),
    ])
}

#[test]
fn a_record_claiming_gigabytes_ends_the_input_at_its_offset() {
    let dir = tmpdir("gigabytes");
    let mut p = three_flows();
    let at = p.bytes.len();
    // A record header claiming 4 GiB - 256 bytes, then a little data.
    p.bytes.extend_from_slice(&[0; 8]);
    p.bytes.extend_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    p.bytes.extend_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    p.bytes.extend_from_slice(&[0xAB; 100]);
    let path = dir.join("gigabytes.pcap");
    std::fs::write(&path, &p.bytes).expect("write");
    let out = dir.join("out");
    let (code, rows, err) = cli_classify(&path, &out);
    assert_eq!(code, 1, "problems, output written: {err}");
    assert!(
        err.contains(path.to_str().unwrap_or_default()),
        "names the file: {err}"
    );
    assert!(
        err.contains(&format!("byte {at}")),
        "names the offset {at}: {err}"
    );
    assert!(
        err.contains("limit 16777216"),
        "says what was expected: {err}"
    );
    assert!(!err.contains("panicked"));
    assert_eq!(rows.len(), 3, "the flows before the damage are written");
    assert_eq!(parquet_flow_rows(&out), 3, "and in a complete Parquet file");
    // The summary (on stderr beside --jsonl) says it too.
    assert!(err.contains("error: corrupt capture at byte"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// pcapng builder: little-endian blocks.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len().div_ceil(4) * 4) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.resize(len as usize - 4, 0);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

fn shb() -> Vec<u8> {
    let mut body = vec![0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0];
    body.extend_from_slice(&[0xFF; 8]);
    block(0x0A0D_0D0A, &body)
}

fn idb() -> Vec<u8> {
    idb_of(1)
}

/// An interface description of link type `linktype`.
fn idb_of(linktype: u16) -> Vec<u8> {
    let mut body = linktype.to_le_bytes().to_vec();
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&65535u32.to_le_bytes());
    block(1, &body)
}

fn epb(interface: u32, usec: u64, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&interface.to_le_bytes());
    body.extend_from_slice(&((usec >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(usec as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(data);
    block(6, &body)
}

fn udp(sport: u16, payload: &[u8]) -> Vec<u8> {
    frame(C, sport, S, 5060, true, 0, 0, payload)
}

#[test]
fn pcapng_block_lengths_of_0_4_or_pointing_backwards_end_the_input_at_their_offset() {
    let dir = tmpdir("pcapng-lengths");
    let usec = 1_704_067_200_000_000u64;
    let mut good = shb();
    good.extend(idb());
    good.extend(epb(0, usec, &udp(40_000, b"one")));
    good.extend(epb(0, usec + 1000, &udp(40_001, b"two")));
    let at = good.len();
    // (block length, what the message says was expected)
    let cases: [(u32, &str); 4] = [
        (0, "less than the minimum of 12"),
        (4, "less than the minimum of 12"),
        // A length of 8 would point into its own header: backwards.
        (8, "less than the minimum of 12"),
        (14, "not a multiple of 4"),
    ];
    for (len, expected) in cases {
        let mut bytes = good.clone();
        bytes.extend_from_slice(&6u32.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&[0; 40]);
        let path = dir.join(format!("len{len}.pcapng"));
        std::fs::write(&path, &bytes).expect("write");
        let out = dir.join(format!("out{len}"));
        let (code, rows, err) = cli_classify(&path, &out);
        assert_eq!(code, 1, "length {len}: {err}");
        assert!(err.contains(&format!("byte {at}")), "length {len}: {err}");
        assert!(err.contains(expected), "length {len}: {err}");
        assert!(err.contains(path.to_str().unwrap_or_default()), "{err}");
        assert_eq!(rows.len(), 2, "length {len}: flows before the damage");
        assert_eq!(parquet_flow_rows(&out), 2);
    }
    // A trailing length that disagrees with the leading one (a block whose end points back).
    let mut bytes = good.clone();
    let mut bad = epb(0, usec + 2000, &udp(40_002, b"three"));
    let n = bad.len();
    bad[n - 4..].copy_from_slice(&12u32.to_le_bytes());
    bytes.extend(bad);
    let path = dir.join("trailer.pcapng");
    std::fs::write(&path, &bytes).expect("write");
    let (code, rows, err) = cli_classify(&path, &dir.join("out-trailer"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("byte {at}")) && err.contains("differs"),
        "{err}"
    );
    assert_eq!(rows.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn frames_of_an_unsupported_link_type_are_counted_and_their_input_named() {
    let dir = tmpdir("linktype");
    let usec = 1_704_067_200_000_000u64;
    let mut bytes = shb();
    bytes.extend(idb());
    // Interface 1: LINKTYPE_USER0 (147), which no decoder takes.
    bytes.extend(idb_of(147));
    bytes.extend(epb(0, usec, &udp(40_000, b"kept")));
    for i in 0..3u16 {
        bytes.extend(epb(1, usec + 1000, &udp(41_000 + i, b"opaque")));
    }
    let path = dir.join("user0.pcapng");
    std::fs::write(&path, &bytes).expect("write");
    let name = path.to_str().unwrap_or_default();
    let (code, rows, err) = cli_classify(&path, &dir.join("out"));
    assert_eq!(code, 1, "{err}");
    assert_eq!(rows.len(), 1);
    assert!(
        err.contains(&format!(
            "warning: {name}: 3 frames of unsupported link type 147 skipped"
        )),
        "{err}"
    );
    // Under --each, each input's warning names it.
    let (code, _, err) = cli(&[
        "classify",
        "--each",
        "--quiet",
        name,
        "--out",
        dir.join("each").to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{name}: 3 frames of unsupported link type 147")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn packets_of_an_undescribed_interface_are_skipped_and_counted() {
    let dir = tmpdir("interface");
    let usec = 1_704_067_200_000_000u64;
    let mut bytes = shb();
    bytes.extend(idb());
    bytes.extend(epb(0, usec, &udp(40_000, b"kept")));
    let first_bad = bytes.len();
    for i in 0..5u16 {
        bytes.extend(epb(7, usec + 1000, &udp(41_000 + i, b"lost")));
    }
    bytes.extend(epb(0, usec + 2000, &udp(40_000, b"kept too")));
    let r = run(&bytes);
    assert_eq!(r.flows, 1);
    assert_eq!(r.packets, 2);
    let warnings = r.stats.inputs[0].warnings.join("\n");
    assert!(
        warnings.contains(&format!("byte {first_bad}")) && warnings.contains("interface 7"),
        "{warnings}"
    );
    assert!(warnings.contains("5 records referred to an undescribed interface"));
    assert!(
        r.summary
            .contains("5 records referred to an undescribed interface")
    );
    let path = dir.join("iface.pcapng");
    std::fs::write(&path, &bytes).expect("write");
    let (code, rows, err) = cli_classify(&path, &dir.join("out"));
    assert_eq!(code, 1, "{err}");
    assert_eq!(rows.len(), 1);
    assert!(err.contains("undescribed interface 7"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_flood_of_distinct_flows_stays_within_max_flows() {
    let mut p = Pcap::new();
    let n = 30_000u32;
    for i in 0..n {
        let src = Ipv4Addr::from(0x0A00_0000 + i);
        p.push(&frame(
            src,
            1024 + (i % 60_000) as u16,
            S,
            53,
            true,
            0,
            0,
            b"x",
        ));
    }
    let flow = FlowConfig {
        max_flows: 1000,
        ..FlowConfig::default()
    };
    let r = run_with(&p.bytes, flow, DecoderConfig::default());
    assert_eq!(r.flows, u64::from(n), "every flow is written");
    assert_eq!(r.packets, u64::from(n));
    assert!(r.stats.peak_live_flows <= 1000);
    assert_eq!(r.stats.flows_evicted, u64::from(n) - 1000);
    assert!(
        r.summary
            .contains("29000 flows ended early (table full, peak 1000 live)"),
        "{}",
        r.summary
    );
}

/// An Ethernet + IPv4 + UDP first fragment (more fragments follow, offset 0) of datagram `id`.
fn first_fragment(id: u16) -> Vec<u8> {
    let mut f = frame(C, 5000, S, 5060, true, 0, 0, &[0x55; 64]);
    // Identification, flags: MF set, offset 0; the total length as built.
    f[18..20].copy_from_slice(&id.to_be_bytes());
    f[20] = 0x20;
    f[21] = 0;
    f
}

#[test]
fn fragment_floods_that_never_complete_stay_within_their_bounds() {
    let mut p = Pcap::new();
    for id in 0..5000u16 {
        p.push(&first_fragment(id));
    }
    p.push(&udp(40_000, b"after the flood"));
    let r = run(&p.bytes);
    let d = DecoderConfig::default();
    assert_eq!(d.frag_max_datagrams, 1024);
    // At most 1024 datagrams held: the oldest are evicted, the rest dropped at the end.
    assert_eq!(r.stats.fragments_evicted, 5000 - 1024);
    assert_eq!(r.stats.fragments_expired, 1024);
    assert_eq!(r.stats.datagrams_reassembled, 0);
    assert_eq!(r.flows, 1, "the packet after the flood is a flow");
    assert!(
        r.summary.contains("3976 evicted (memory bound)") && r.summary.contains("1024 expired"),
        "{}",
        r.summary
    );
    // The memory bound: 8 MiB of fragment bytes at most, whatever the count bound.
    let tight = DecoderConfig {
        frag_max_datagrams: 100_000,
        frag_max_bytes: 64 * 1024,
        ..DecoderConfig::default()
    };
    let r = run_with(&p.bytes, FlowConfig::default(), tight);
    assert!(r.stats.fragments_evicted >= 4000, "{:?}", r.stats);
    assert_eq!(r.stats.fragments_evicted + r.stats.fragments_expired, 5000);
}

#[test]
fn a_sip_header_that_never_ends_is_given_up_at_its_bound() {
    let mut p = Pcap::new();
    let (cp, sp) = (50_123u16, 5060u16);
    p.push(&frame(C, cp, S, sp, false, SYN, 1000, &[]));
    p.push(&frame(S, sp, C, cp, false, SYN | ACK, 5000, &[]));
    let mut seq = 1001u32;
    let start = b"INVITE sip:bob@contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.20.0.5\r\n";
    p.push(&frame(C, cp, S, sp, false, ACK, seq, start));
    seq += start.len() as u32;
    let line = format!("X-Filler: {}\r\n", "a".repeat(1000));
    for _ in 0..100 {
        p.push(&frame(C, cp, S, sp, false, ACK, seq, line.as_bytes()));
        seq += line.len() as u32;
    }
    let r = run(&p.bytes);
    assert_eq!(r.flows, 1);
    assert_eq!(r.packets, 103);
    let named: Vec<_> = r.stats.inspection.clone();
    assert!(named.contains(&("SIP messages too large", 1)), "{named:?}");
    assert!(
        r.summary.contains("SIP messages too large 1"),
        "{}",
        r.summary
    );
    assert_eq!(r.rows[0]["app_protocol"], "SIP");
}

#[test]
fn sdp_with_thousands_of_candidates_keeps_its_bound() {
    let mut sdp = String::from(
        "v=0\r\no=- 1 1 IN IP4 10.20.0.5\r\ns=session\r\nc=IN IP4 10.20.0.5\r\nt=0 0\r\n\
         m=audio 50000 RTP/AVP 0\r\n",
    );
    for i in 0..900u32 {
        sdp.push_str(&format!(
            "a=candidate:{i} 1 UDP 2130706431 10.{}.{}.{} {} typ host\r\n",
            i / 65_536,
            (i / 256) % 256,
            i % 256,
            10_000 + i
        ));
    }
    let msg = format!(
        "INVITE sip:bob@contoso.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.20.0.5\r\n\
         Call-ID: many-candidates\r\nCSeq: 1 INVITE\r\nFrom: <sip:alice@contoso.com>;tag=1\r\n\
         To: <sip:bob@contoso.com>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    assert!(msg.len() > 50_000 && msg.len() < 65_000);
    let mut p = Pcap::new();
    p.push(&udp(5060, msg.as_bytes()));
    let r = run(&p.bytes);
    assert!(
        r.stats
            .inspection
            .contains(&("SDP endpoint lists at their bound", 1)),
        "{:?}",
        r.stats.inspection
    );
    assert!(
        r.summary.contains("SDP endpoint lists at their bound 1"),
        "{}",
        r.summary
    );
    assert_eq!(r.rows[0]["sip_call_id"], "many-candidates");
}

#[test]
fn dns_compression_loops_are_cut_short_and_counted() {
    // A response whose question name is a pointer to itself (offset 12).
    let mut dns = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    dns.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    // An answer whose name points at the next pointer, which points back.
    dns.extend_from_slice(&[
        0xC0, 20, 0xC0, 18, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1,
    ]);
    let mut query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x03sip\x07contoso\x03com\x00\x00\x01\x00\x01");
    let mut p = Pcap::new();
    p.push(&frame(C, 53_000, S, 53, true, 0, 0, &query));
    p.push(&frame(S, 53, C, 53_000, true, 0, 0, &dns));
    let r = run(&p.bytes);
    let cut = r
        .stats
        .inspection
        .iter()
        .filter(|(n, _)| *n == "DNS messages cut short" || *n == "DNS payloads malformed")
        .map(|(_, v)| v)
        .sum::<u64>();
    assert_eq!(cut, 1, "{:?}", r.stats.inspection);
    assert_eq!(r.flows, 1);
    assert!(r.summary.contains("DNS"), "{}", r.summary);
}

/// A classic pcap frame at an exact time.
fn push_at(p: &mut Pcap, nanos: i64, frame: &[u8]) {
    let usec = nanos / 1000;
    p.bytes
        .extend_from_slice(&((usec / 1_000_000) as u32).to_le_bytes());
    p.bytes
        .extend_from_slice(&((usec % 1_000_000) as u32).to_le_bytes());
    p.bytes
        .extend_from_slice(&(frame.len() as u32).to_le_bytes());
    p.bytes
        .extend_from_slice(&(frame.len() as u32).to_le_bytes());
    p.bytes.extend_from_slice(frame);
}

#[test]
fn timestamps_that_run_backwards_or_jump_decades_keep_timeouts_and_rotation() {
    let t0 = 1_704_067_200 * SEC;
    let decades = 40 * 365 * 86_400 * SEC;
    let mut p = Pcap::new();
    // Flow A on the normal clock, one frame 40 years ahead in the middle of it (a corrupt
    // timestamp), one going 10 s back.
    push_at(&mut p, t0, &udp(40_000, b"a1"));
    push_at(&mut p, t0 + decades, &udp(40_000, b"a2"));
    push_at(&mut p, t0 + SEC, &udp(40_000, b"a3"));
    push_at(&mut p, t0 - 10 * SEC, &udp(40_000, b"a4"));
    // Flow B starts, and is idle for 130 s: the UDP idle timeout (120 s) ends it before B2.
    push_at(&mut p, t0 + 2 * SEC, &udp(40_001, b"b1"));
    push_at(&mut p, t0 + 132 * SEC, &udp(40_001, b"b2"));
    // The clock set back 40 years for good: two frames agree, the clock moves there.
    push_at(&mut p, t0 - decades, &udp(40_002, b"c1"));
    push_at(&mut p, t0 - decades + SEC, &udp(40_002, b"c2"));
    // And idle timeouts still work on the new clock: C ends before C3.
    push_at(&mut p, t0 - decades + 200 * SEC, &udp(40_002, b"c3"));
    let r = run(&p.bytes);
    let s = &r.stats;
    assert_eq!(s.frames_off_clock, 2, "{s:?}");
    assert_eq!(s.clock_jumps, 1, "{s:?}");
    assert_eq!(s.packets_out_of_order, 1, "{s:?}");
    assert_eq!(r.packets, 9, "no frame lost");
    // A (4 frames, ended by the jump back), B twice (idle), C three times (ended by the
    // jump back that its second frame confirmed, then idle on the new clock).
    let b_flows = r
        .rows
        .iter()
        .filter(|f| f["initiator_port"] == 40_001)
        .count();
    assert_eq!(b_flows, 2, "B idled out between its frames");
    let c_flows = r
        .rows
        .iter()
        .filter(|f| f["initiator_port"] == 40_002)
        .count();
    assert_eq!(c_flows, 3, "C idled out on the new clock");
    let a = r
        .rows
        .iter()
        .find(|f| f["initiator_port"] == 40_000)
        .expect("flow A");
    assert_eq!(
        a["initiator_packets"], 4,
        "one flow, whatever its frames' times"
    );
    assert!(
        a["last_ts"]
            .as_str()
            .unwrap_or_default()
            .starts_with("2063-"),
        "the corrupt timestamp is shown as it was: {a}"
    );
    assert!(
        r.summary.contains("2 frames more than 30 days off"),
        "{}",
        r.summary
    );

    // With rotation: complete files, every flow in one of them, none overwritten.
    let dir = tmpdir("clock");
    let path = dir.join("clock.pcap");
    std::fs::write(&path, &p.bytes).expect("write");
    let out = dir.join("out");
    let (code, rows, err) = cli(&[
        "classify",
        path.to_str().unwrap_or_default(),
        "--jsonl",
        "--quiet",
        "--rotate",
        "60",
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows.len(), r.rows.len());
    assert_eq!(parquet_flow_rows(&out), rows.len() as u64);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn input_that_is_no_capture_says_what_was_expected() {
    let dir = tmpdir("not-capture");
    for (name, bytes) in [
        ("empty.pcap", &b""[..]),
        ("text.pcap", &b"hello, this is not a capture\n"[..]),
        ("short.pcap", &[0xD4, 0xC3, 0xB2, 0xA1, 2, 0][..]),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        let (code, rows, err) = cli(&["classify", path.to_str().unwrap_or_default(), "--jsonl"]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(rows.is_empty());
        assert!(err.contains(path.to_str().unwrap_or_default()), "{err}");
        assert!(
            err.contains("byte") && err.contains("expected"),
            "{name}: {err}"
        );
        assert_eq!(err.matches("expected").count(), 1, "said once: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The inputs the fuzz targets found (FUZZING.md), kept: each still runs through the whole
/// pipeline with the invariants of the `pipeline` target.
#[test]
fn fuzz_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/data/fuzz").flatten() {
        let bytes = std::fs::read(entry.path()).expect("read");
        // run() asserts that every frame is in a flow and every row is consistent.
        let opened = {
            let mut p = Pipeline::new(PipelineConfig::default(), vec![]);
            p.run_input("probe", Cursor::new(bytes.clone()), |_| {})
                .is_ok()
        };
        if opened {
            let r = run(&bytes);
            assert_eq!(r.flows as usize, r.rows.len());
        }
        n += 1;
    }
    assert!(n > 0);
}
