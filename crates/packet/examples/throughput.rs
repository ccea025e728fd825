//! Informal decode throughput on small frames, single core:
//! `cargo run -p sfbflow-packet --release --example throughput [frames]`.

#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use sfbflow_capture::{LinkType, Record};
use sfbflow_packet::{Decoded, Decoder};

/// Ethernet / IPv4 / UDP 5060 -> 5061 with 18 bytes of payload (60 bytes).
const UDP: [u8; 60] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, //
    0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, //
    0x13, 0xc4, 0x13, 0xc5, 0, 26, 0, 0, //
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
];

/// Ethernet / 802.1Q / IPv4 / TCP ACK, no payload (64 bytes with padding).
const TCP: [u8; 64] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0, 100, 0x08, 0x00, //
    0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, //
    0x04, 0xd2, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0, //
    0, 0, 0, 0, 0, 0,
];

/// Decode `n` frames cycling over 256 copies of `frame` with varied ports (as a reader would
/// hand them out from its buffer).
fn run(name: &str, frame: &[u8], port_at: usize, n: u64) {
    let mut buf = Vec::new();
    for i in 0..256u16 {
        let mut f = frame.to_vec();
        f[port_at..port_at + 2].copy_from_slice(&(10000 + i).to_be_bytes());
        buf.push(f);
    }
    let mut dec = Decoder::default();
    let start = Instant::now();
    let mut sum = 0u64;
    for i in 0..n {
        let data = black_box(&buf[(i & 255) as usize][..]);
        let rec = Record {
            ts_nanos: i as i64,
            linktype: LinkType::ETHERNET,
            interface: 0,
            caplen: data.len() as u32,
            origlen: data.len() as u32,
            data,
            offset: i,
        };
        if let Decoded::Packet(p) = dec.decode(&rec) {
            sum = sum.wrapping_add(u64::from(p.src_port) + u64::from(p.payload_len));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(sum);
    println!(
        "{name}: {:.1} M frames/s ({:.2} ns/frame)",
        n as f64 / secs / 1e6,
        secs * 1e9 / n as f64
    );
}

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000_000u64);
    run("ethernet/ipv4/udp", &UDP, 34, n);
    run("ethernet/vlan/ipv4/tcp", &TCP, 38, n);
}
