//! Criterion benchmarks, one group per stage plus the whole pipeline, all with
//! `Throughput::Bytes` of capture input.
//!
//! Input: the bundled `captures/sfb-sample/input.pcap` (a Skype-for-Business-like mix of SIP/TLS,
//! HTTPS, DNS, STUN and RTP), its records repeated with shifted timestamps into an ~8 MiB
//! in-memory capture, so flows live long enough for the table to see hits as in real traffic.
//! Whole-process figures against the peers come from `bench/anchors.sh` (see BENCHMARKS.md).

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sfbflow::capture::{CaptureReader, ReadAhead};
use sfbflow::flow::{FlowConfig, FlowTable};
use sfbflow::packet::{Decoded, Decoder, DecoderConfig};
use sfbflow::pipeline::{Pipeline, PipelineConfig};

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
    // The path of files and stdin: chunks read on a thread and handed to the reader as its
    // buffer (no second copy).
    let shared: Arc<[u8]> = Arc::from(&data[..]);
    g.bench_function("read_records_read_ahead", |b| {
        b.iter(|| {
            let src = ReadAhead::new(Cursor::new(Arc::clone(&shared))).ok();
            let mut r = src.and_then(|s| CaptureReader::new(s).ok());
            let mut n = 0u64;
            while let Some(Ok(Some(rec))) = r.as_mut().map(|r| r.next_record()) {
                n += u64::from(rec.caplen);
            }
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
