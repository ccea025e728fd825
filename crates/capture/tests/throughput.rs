//! Informal throughput measurement (no timing asserts):
//! `cargo test --release -p sfbflow-capture --test throughput -- --ignored --nocapture`.
//! Builds a ~1 GiB capture in memory and reads it through `&[u8]` and `Cursor`.

use std::hint::black_box;
use std::io::{Cursor, Read};
use std::time::Instant;

use sfbflow_capture::CaptureReader;

/// Frame sizes cycled through (average ~570 bytes, like mixed real traffic).
const SIZES: [usize; 8] = [60, 1514, 74, 590, 1514, 66, 200, 540];

fn pcap_file(target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + 2000);
    out.extend_from_slice(&0xA1B2_C3D4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let mut i = 0usize;
    while out.len() < target {
        let size = SIZES[i % SIZES.len()];
        out.extend_from_slice(&(1_700_000_000 + (i / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&((i % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(size as u32).to_le_bytes());
        out.extend_from_slice(&(size as u32).to_le_bytes());
        out.resize(out.len() + size, (i & 0xFF) as u8);
        i += 1;
    }
    out
}

fn pcapng_file(target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + 2000);
    let block = |out: &mut Vec<u8>, t: u32, body: &[u8]| {
        let padded = body.len().next_multiple_of(4);
        let len = (12 + padded) as u32;
        out.extend_from_slice(&t.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend_from_slice(&len.to_le_bytes());
    };
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut out, 0x0A0D_0D0A, &shb);
    block(&mut out, 1, &[1, 0, 0, 0, 0, 0, 0, 0]);
    let mut body = Vec::new();
    let mut i = 0usize;
    while out.len() < target {
        let size = SIZES[i % SIZES.len()];
        body.clear();
        body.extend_from_slice(&0u32.to_le_bytes());
        let ts = 1_700_000_000_000_000u64 + i as u64;
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts as u32).to_le_bytes());
        body.extend_from_slice(&(size as u32).to_le_bytes());
        body.extend_from_slice(&(size as u32).to_le_bytes());
        body.resize(body.len() + size, (i & 0xFF) as u8);
        block(&mut out, 6, &body);
        i += 1;
    }
    out
}

fn run<R: Read>(name: &str, input: R, len: usize) {
    let start = Instant::now();
    let mut reader = CaptureReader::new(input).expect("valid capture");
    let (mut records, mut bytes, mut ts) = (0u64, 0u64, 0i64);
    while let Some(r) = reader.next_record().expect("no error") {
        records += 1;
        bytes += u64::from(r.caplen);
        ts ^= r.ts_nanos;
        black_box(r.data.first());
    }
    let secs = start.elapsed().as_secs_f64();
    black_box((bytes, ts));
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{name}: {records} records, {:.2} GB in {secs:.3} s = {:.2} GB/s, {:.1} M records/s",
            len as f64 / 1e9,
            len as f64 / 1e9 / secs,
            records as f64 / 1e6 / secs
        );
    }
}

#[test]
#[ignore = "manual benchmark"]
fn throughput_1gib() {
    let pcap = pcap_file(1 << 30);
    for _ in 0..3 {
        run("pcap &[u8]", pcap.as_slice(), pcap.len());
        run("pcap Cursor", Cursor::new(pcap.as_slice()), pcap.len());
    }
    drop(pcap);
    let ng = pcapng_file(1 << 30);
    for _ in 0..2 {
        run("pcapng &[u8]", ng.as_slice(), ng.len());
    }
}

#[test]
#[ignore = "manual benchmark"]
fn baseline_memcpy() {
    let pcap = pcap_file(1 << 30);
    for bufsize in [64 << 10, 256 << 10, 1 << 20, 4 << 20] {
        let start = Instant::now();
        let mut buf = vec![0u8; bufsize];
        let mut src = pcap.as_slice();
        let mut total = 0usize;
        loop {
            let n = src.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            total += n;
            black_box(&buf);
        }
        let secs = start.elapsed().as_secs_f64();
        #[allow(clippy::print_stdout)]
        {
            println!("memcpy {bufsize}: {:.2} GB/s", total as f64 / 1e9 / secs);
        }
    }
    for cap in [64 << 10, 256 << 10, 4 << 20] {
        let start = Instant::now();
        let mut reader = CaptureReader::with_capacity(pcap.as_slice(), cap).expect("valid");
        let mut n = 0u64;
        while let Some(r) = reader.next_record().expect("ok") {
            n += u64::from(r.caplen);
        }
        black_box(n);
        let secs = start.elapsed().as_secs_f64();
        #[allow(clippy::print_stdout)]
        {
            println!(
                "reader cap {cap}: {:.2} GB/s",
                pcap.len() as f64 / 1e9 / secs
            );
        }
    }
}
