//! Criterion benchmarks, one group per stage plus the whole pipeline, all with
//! `Throughput::Bytes` of capture input (the per-flow stages too: the bytes of the capture
//! their flows came from, so that every stage reads in the same unit and their shares of the
//! whole add up): reading records, decoding, the flow table, payload inspection, classification,
//! the sinks (Parquet and JSON lines), and the pipeline.
//!
//! Input: the bundled `captures/sfb-sample/input.pcap` (a Skype-for-Business-like mix of SIP/TLS,
//! HTTPS, DNS, STUN and RTP), its records repeated with shifted timestamps into an ~8 MiB
//! in-memory capture, so flows live long enough for the table to see hits as in real traffic.
//! Whole-process figures against the peers come from `bench/anchors.sh` (see BENCHMARKS.md).

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sfbflow::capture::{
    CaptureReader, ParseAhead, Queued, READ_AHEAD_CHUNK, READ_AHEAD_DEPTH, Records, end_of_inputs,
};
use sfbflow::catalogue::{Catalogue, Classification, Classifier};
use sfbflow::flow::{FlowConfig, FlowRecord, FlowTable, Transport};
use sfbflow::inspect::{FlowInspector, Outputs, Segment};
use sfbflow::packet::{Decoded, Decoder, DecoderConfig};
use sfbflow::pipeline::{Pipeline, PipelineConfig, flow_facts, flow_row};
use sfbflow::sink::{JsonLinesSink, ParquetSink, RunStats, Sink};

const REPEAT: usize = 30;

/// The sample capture's records, repeated `REPEAT` times, each round 10 s later.
fn input() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/captures/sfb-sample/input.pcap"
    );
    let data = std::fs::read(path).unwrap_or_default();
    let Some((header, records)) = data.split_at_checked(24) else {
        return Vec::new();
    };
    let mut out = header.to_vec();
    for round in 0..REPEAT {
        let mut rest = records;
        while let Some((hdr, tail)) = rest.split_at_checked(16) {
            let field = |i: usize| u32::from_le_bytes([hdr[i], hdr[i + 1], hdr[i + 2], hdr[i + 3]]);
            let caplen = field(8) as usize;
            let Some((body, tail)) = tail.split_at_checked(caplen) else {
                break;
            };
            let secs = field(0) + 10 * u32::try_from(round).unwrap_or(0);
            out.extend_from_slice(&secs.to_le_bytes());
            out.extend_from_slice(&hdr[4..]);
            out.extend_from_slice(body);
            rest = tail;
        }
    }
    out
}

/// `data` (a little-endian classic pcap) cut into `n` captures of about as many records each,
/// each with the file header: a rotated set of small files.
fn cut(data: &[u8], n: usize) -> Vec<Arc<[u8]>> {
    let Some((header, mut rest)) = data.split_at_checked(24) else {
        return Vec::new();
    };
    let mut records = Vec::new();
    while let Some(len) = rest.get(8..12) {
        let caplen = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some((record, tail)) = rest.split_at_checked(16 + caplen) else {
            break;
        };
        records.push(record);
        rest = tail;
    }
    records
        .chunks(records.len().div_ceil(n.max(1)).max(1))
        .map(|part| {
            let mut file = header.to_vec();
            part.iter().for_each(|r| file.extend_from_slice(r));
            Arc::from(file)
        })
        .collect()
}

/// One payload as the pipeline shows it to the flow's inspector (an owned copy, made once).
struct Seg {
    /// The flow's creation order (its index in [`Flows::records`]).
    flow: usize,
    transport: Transport,
    dir: usize,
    src_port: u16,
    dst_port: u16,
    seq: u32,
    payload: Vec<u8>,
    complete: bool,
}

/// The flows of the input, ended, and the payloads their packets carried.
struct Flows {
    /// In creation order.
    records: Vec<FlowRecord>,
    segments: Vec<Seg>,
}

fn flows_of(data: &[u8]) -> Flows {
    let mut r = CaptureReader::new(Cursor::new(data)).ok();
    let mut d = Decoder::new(DecoderConfig::default());
    let mut t = FlowTable::new(FlowConfig::default());
    let mut records = Vec::new();
    let mut segments = Vec::new();
    while let Some(Ok(Some(rec))) = r.as_mut().map(|r| r.next_record()) {
        if let Decoded::Packet(v) = d.decode(&rec)
            && let Some(res) = t.packet(&v, rec.ts_nanos)
            && res.wants_payload
            && !v.payload.is_empty()
            && let (Some(flow), Some(transport)) =
                (t.flow(res.slot), Transport::from_proto(v.proto))
        {
            segments.push(Seg {
                flow: usize::try_from(flow.seq).unwrap_or(usize::MAX),
                transport,
                dir: res.dir as usize,
                src_port: v.src_port,
                dst_port: v.dst_port,
                seq: v.tcp_seq,
                payload: v.payload.to_vec(),
                complete: v.payload.len() as u64 >= u64::from(v.payload_len),
            });
        }
        t.drain_ended(|f| records.push(f));
    }
    t.finish();
    t.drain_ended(|f| records.push(f));
    records.sort_by_key(|f| f.flow.seq);
    Flows { records, segments }
}

/// Every segment to its flow's inspector, while the inspector wants more.
fn inspect_all(flows: &Flows) -> Vec<FlowInspector> {
    let mut inspectors: Vec<FlowInspector> = Vec::new();
    inspectors.resize_with(flows.records.len(), FlowInspector::default);
    let mut out = Outputs::default();
    for s in &flows.segments {
        if let Some(i) = inspectors.get_mut(s.flow)
            && i.wants_more()
        {
            i.inspect(
                &Segment {
                    transport: s.transport,
                    dir: s.dir,
                    src_port: s.src_port,
                    dst_port: s.dst_port,
                    seq: s.seq,
                    payload: &s.payload,
                    complete: s.complete,
                },
                &mut out,
            );
            out.events.clear();
        }
    }
    inspectors
}

/// The app protocol of each flow, when its inspector saw payload (as the pipeline passes it).
fn apps(inspectors: &[FlowInspector]) -> Vec<(Option<&'static str>, &'static str)> {
    inspectors
        .iter()
        .map(|i| {
            let app = i.app_protocol().as_str();
            (i.payload_seen().then_some(app), app)
        })
        .collect()
}

fn classify_all<'c>(
    classifier: &Classifier<'c>,
    flows: &Flows,
    apps: &[(Option<&'static str>, &'static str)],
) -> Vec<Classification<'c>> {
    flows
        .records
        .iter()
        .zip(apps)
        .map(|(rec, (seen, _))| classifier.classify(&flow_facts(rec, *seen)))
        .collect()
}

fn benches(c: &mut Criterion) {
    let data = input();
    assert!(data.len() > 1 << 20, "bench input missing");
    let bytes = data.len() as u64;

    let mut g = c.benchmark_group("capture");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("read_records", |b| {
        b.iter(|| {
            let mut r = CaptureReader::new(Cursor::new(&data[..])).ok();
            let mut n = 0u64;
            while let Some(Ok(Some(rec))) = r.as_mut().map(|r| r.next_record()) {
                n += u64::from(rec.caplen);
            }
            black_box(n)
        })
    });
    // The path of files and stdin: chunks read and parsed on a thread, handed over with the
    // positions of their records (no second copy).
    let shared: Arc<[u8]> = Arc::from(&data[..]);
    g.bench_function("read_records_parse_ahead", |b| {
        b.iter(|| {
            let mut r = ParseAhead::new(Cursor::new(Arc::clone(&shared))).ok();
            let mut n = 0u64;
            while let Some(Ok(Some(rec))) = r.as_mut().map(|r| r.next_record()) {
                n += u64::from(rec.caplen);
            }
            black_box(n)
        })
    });
    // A rotated set of small files: the same records cut into 64 captures, read one after the
    // other, the next queued on the reading thread of the one before it (as `classify` reads a
    // folder): what each input costs besides its bytes.
    let parts = cut(&data, 64);
    assert_eq!(parts.len(), 64);
    g.bench_function("read_records_parse_ahead_64_inputs", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let mut queued: Option<Queued<()>> = None;
            for (i, part) in parts.iter().enumerate() {
                let input = match queued.take() {
                    Some(q) => q.start(),
                    None => ParseAhead::new(Cursor::new(Arc::clone(part))),
                };
                queued = parts.get(i + 1).and_then(|p| {
                    let next = Cursor::new(Arc::clone(p));
                    ParseAhead::queue(next, READ_AHEAD_CHUNK, READ_AHEAD_DEPTH, |_, _| ()).ok()
                });
                let mut r = input.ok();
                while let Some(Ok(Some(rec))) = r.as_mut().map(|r| r.next_record()) {
                    n += u64::from(rec.caplen);
                }
            }
            end_of_inputs();
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("records_to_views", |b| {
        b.iter(|| {
            let mut r = CaptureReader::new(Cursor::new(&data[..])).ok();
            let mut d = Decoder::new(DecoderConfig::default());
            let mut n = 0u64;
            while let Some(Ok(Some(rec))) = r.as_mut().map(|r| r.next_record()) {
                if let Decoded::Packet(v) = d.decode(&rec) {
                    n += u64::from(v.src_port);
                }
            }
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("flow_table");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("records_to_flows", |b| {
        b.iter(|| {
            let mut r = CaptureReader::new(Cursor::new(&data[..])).ok();
            let mut d = Decoder::new(DecoderConfig::default());
            let mut t = FlowTable::new(FlowConfig::default());
            while let Some(Ok(Some(rec))) = r.as_mut().map(|r| r.next_record()) {
                if let Decoded::Packet(v) = d.decode(&rec) {
                    t.packet(&v, rec.ts_nanos);
                }
                t.drain_ended(|f| {
                    black_box(f);
                });
            }
            t.finish();
            black_box(t.stats().flows_created)
        })
    });
    g.finish();

    // The per-flow stages, on the flows and payloads of the same input (gathered once).
    let flows = flows_of(&data);
    assert!(flows.records.len() > 100, "bench flows missing");
    let mut g = c.benchmark_group("inspect");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("payloads_to_evidence", |b| {
        b.iter(|| black_box(inspect_all(&flows).len()))
    });
    g.finish();

    let inspectors = inspect_all(&flows);
    let apps = apps(&inspectors);
    let catalogue = Catalogue::builtin();
    let classifier = Classifier::new(catalogue, None);
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("flows_to_verdicts", |b| {
        b.iter(|| black_box(classify_all(&classifier, &flows, &apps).len()))
    });
    g.finish();

    let verdicts = classify_all(&classifier, &flows, &apps);
    let dir = std::env::temp_dir().join(format!("sfbflow-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut g = c.benchmark_group("sinks");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("rows_to_parquet", |b| {
        b.iter(|| {
            let Ok(mut sink) = ParquetSink::create(dir.join("flows.parquet")) else {
                return;
            };
            for ((rec, v), (_, app)) in flows.records.iter().zip(&verdicts).zip(&apps) {
                let row = flow_row(rec, &v.verdict, v.swapped, app);
                black_box(sink.flow(&row).is_ok());
            }
            black_box(sink.finish(&RunStats::default()).is_ok());
        })
    });
    g.bench_function("rows_to_json_lines", |b| {
        b.iter(|| {
            let mut sink = JsonLinesSink::new(std::io::sink(), "-");
            for ((rec, v), (_, app)) in flows.records.iter().zip(&verdicts).zip(&apps) {
                let row = flow_row(rec, &v.verdict, v.swapped, app);
                black_box(sink.flow(&row).is_ok());
            }
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);

    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("classify_no_sinks", |b| {
        b.iter(|| {
            let mut p = Pipeline::new(PipelineConfig::default(), Vec::new());
            let res = p.run_input("bench", Cursor::new(&data[..]), |_| {});
            black_box(res.is_ok());
            black_box(p.finish().map(|s| s.packets).unwrap_or(0))
        })
    });
    g.finish();
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
