//! Builds the seed corpora of the fuzz targets from the project's own files:
//! `cargo run --example seeds -- ../captures corpus` (or `fuzz/seeds.sh`).
//!
//! - `capture_pcap`, `capture_pcapng`, `pipeline`: the capture files (and their first 4 KiB);
//! - `packet`: the first frames of each capture, in the packet target's piece format;
//! - `sip`, `sdp`, `stun`, `dns`, `tls`: payloads of the captures' flows (TCP directions joined);
//! - `inspector`: each flow's segments, in the inspector target's piece format;
//! - `topology`, `catalogue`: `captures/*/topology.toml`, the template, the built-in catalogue.
//!
//! Nothing here is committed: the corpora are made again from `captures/` whenever needed.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use sfbflow::capture::CaptureReader;
use sfbflow::packet::{Decoded, Decoder, DecoderConfig, IpProto};

/// Link types in the order of the packet target's table.
const LINKTYPES: [u32; 17] = [
    1, 0, 9, 12, 14, 50, 101, 105, 108, 113, 127, 192, 228, 229, 239, 258, 276,
];
/// The inspector target's server ports.
const PORTS: [u16; 8] = [5060, 5061, 443, 53, 5353, 3478, 50_000, 5062];
/// Seeds kept per target and capture at most.
const PER_CAPTURE: usize = 40;
/// Bytes of a joined TCP direction kept.
const STREAM_BYTES: usize = 64 * 1024;

struct Corpus {
    root: PathBuf,
    seen: HashSet<(String, Vec<u8>)>,
    counts: HashMap<(String, String), usize>,
}

impl Corpus {
    fn add(&mut self, target: &str, case: &str, bytes: &[u8]) {
        if bytes.is_empty() || !self.seen.insert((target.to_string(), bytes.to_vec())) {
            return;
        }
        let n = self
            .counts
            .entry((target.to_string(), case.to_string()))
            .or_default();
        if *n >= PER_CAPTURE {
            return;
        }
        *n += 1;
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("corpus folder");
        fs::write(dir.join(format!("{case}-{n}")), bytes).expect("seed file");
    }
}

/// One direction of a flow: its segments and the joined stream.
#[derive(Default)]
struct Flow {
    tcp: bool,
    server_port: u16,
    first_src: Option<(Vec<u8>, u16)>,
    segments: Vec<(u8, Vec<u8>)>,
    streams: [Vec<u8>; 2],
}

/// Appends `(tag, bytes)` pieces of at most 255 bytes each.
fn pieces(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    for chunk in bytes.chunks(255) {
        out.push(tag);
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
}

fn is_sip(p: &[u8]) -> bool {
    let head = &p[..p.len().min(256)];
    head.windows(7).any(|w| w == b"SIP/2.0")
}

fn seed_capture(corpus: &mut Corpus, case: &str, bytes: &[u8]) {
    let ng = bytes.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]);
    let target = if ng { "capture_pcapng" } else { "capture_pcap" };
    corpus.add(target, case, bytes);
    corpus.add(target, case, &bytes[..bytes.len().min(4096)]);
    corpus.add("pipeline", case, bytes);
    corpus.add("pipeline", case, &bytes[..bytes.len().min(4096)]);

    let Ok(mut reader) = CaptureReader::new(Cursor::new(bytes)) else {
        return;
    };
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut frames: Vec<u8> = Vec::new();
    let mut linktype = None;
    let mut flows: HashMap<(Vec<u8>, u16, Vec<u8>, u16, bool), Flow> = HashMap::new();
    let mut order = Vec::new();
    let mut n = 0;
    while let Ok(Some(rec)) = reader.next_record() {
        n += 1;
        if n <= 64 {
            let lt = *linktype.get_or_insert(rec.linktype.0);
            if lt == rec.linktype.0 {
                frames.push(1);
                let f = &rec.data[..rec.data.len().min(255)];
                frames.push(f.len() as u8);
                frames.extend_from_slice(f);
            }
        }
        let Decoded::Packet(v) = decoder.decode(&rec) else {
            continue;
        };
        let tcp = v.proto == IpProto::TCP;
        let a = (v.src.0.to_vec(), v.src_port);
        let b = (v.dst.0.to_vec(), v.dst_port);
        let (lo, hi) = if a <= b { (a.clone(), b) } else { (b, a.clone()) };
        let key = (lo.0, lo.1, hi.0, hi.1, tcp);
        let flow = flows.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Flow {
                tcp,
                server_port: v.dst_port,
                ..Flow::default()
            }
        });
        let first = flow.first_src.get_or_insert_with(|| a.clone());
        let dir = usize::from(*first != a);
        if !v.payload.is_empty() {
            flow.segments.push((dir as u8, v.payload.to_vec()));
            if tcp {
                let s = &mut flow.streams[dir];
                let room = STREAM_BYTES.saturating_sub(s.len());
                s.extend_from_slice(&v.payload[..v.payload.len().min(room)]);
            }
        }
    }
    if let Some(lt) = linktype {
        let idx = LINKTYPES.iter().position(|l| *l == lt).unwrap_or(0) as u8;
        let mut seed = vec![idx, 0xff];
        seed.extend_from_slice(&frames);
        corpus.add("packet", case, &seed);
    }

    for key in &order {
        let flow = &flows[key];
        let port_idx = PORTS
            .iter()
            .position(|p| *p == flow.server_port)
            .unwrap_or(6) as u8;
        let mut seed = vec![(port_idx << 1) | u8::from(!flow.tcp)];
        for (dir, p) in flow.segments.iter().take(64) {
            pieces(&mut seed, *dir, p);
        }
        if seed.len() > 1 {
            corpus.add("inspector", case, &seed);
        }
        let messages: Vec<&[u8]> = if flow.tcp {
            flow.streams.iter().map(Vec::as_slice).collect()
        } else {
            flow.segments.iter().map(|(_, p)| p.as_slice()).collect()
        };
        for m in messages {
            if m.is_empty() {
                continue;
            }
            let ports = [key.1, key.3];
            if is_sip(m) {
                corpus.add("sip", case, m);
                if let Some(at) = m.windows(4).position(|w| w == b"\r\n\r\n") {
                    let body = &m[at + 4..];
                    if body.starts_with(b"v=0") {
                        corpus.add("sdp", case, body);
                    }
                }
            } else if m.first() == Some(&0x16) {
                // The cut byte 0x84: the stream cut at a quarter and a half.
                let mut seed = vec![0x84];
                seed.extend_from_slice(m);
                corpus.add("tls", case, &seed);
            } else if ports.iter().any(|p| matches!(p, 53 | 5353)) {
                corpus.add("dns", case, if flow.tcp { &m[2.min(m.len())..] } else { m });
            } else if m.get(4..8) == Some(&[0x21, 0x12, 0xA4, 0x42])
                || ports.iter().any(|p| matches!(p, 3478 | 3479))
            {
                corpus.add("stun", case, m);
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let captures = PathBuf::from(args.get(1).map_or("../captures", String::as_str));
    let root = PathBuf::from(args.get(2).map_or("corpus", String::as_str));
    let mut corpus = Corpus {
        root,
        seen: HashSet::new(),
        counts: HashMap::new(),
    };
    let mut cases: Vec<PathBuf> = fs::read_dir(&captures)
        .expect("the captures folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    for dir in &cases {
        let case = dir.file_name().and_then(|n| n.to_str()).unwrap_or("case");
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                let bytes = fs::read(&path).expect("a capture");
                seed_capture(&mut corpus, case, &bytes);
            } else if name.ends_with(".toml") {
                let bytes = fs::read(&path).expect("a topology");
                corpus.add("topology", case, &bytes);
            }
        }
    }
    corpus.add(
        "topology",
        "template",
        sfbflow::catalogue::topology_template().as_bytes(),
    );
    let catalogue = captures.join("../catalogue/sfb2015.toml");
    if let Ok(bytes) = fs::read(&catalogue) {
        corpus.add("catalogue", "builtin", &bytes);
        // A few rules alone: small seeds mutate faster.
        let text = String::from_utf8_lossy(&bytes);
        for (i, rule) in text.split("[[rule]]").skip(1).take(12).enumerate() {
            corpus.add("catalogue", &format!("rule{i}"), format!("[[rule]]{rule}").as_bytes());
        }
    }
    let mut summary: Vec<(String, usize)> = Vec::new();
    for target in [
        "capture_pcap",
        "capture_pcapng",
        "packet",
        "sip",
        "sdp",
        "stun",
        "tls",
        "dns",
        "inspector",
        "topology",
        "catalogue",
        "pipeline",
    ] {
        let dir = corpus.root.join(target);
        fs::create_dir_all(&dir).expect("corpus folder");
        let n = fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        summary.push((target.to_string(), n));
    }
    for (t, n) in summary {
        println!("{t}: {n} seeds in {}", Path::new(&corpus.root).join(&t).display());
    }
}
