//! Test helpers: a tiny classic-pcap walker (tests only; the product reader lives in
//! sfbflow-capture), record construction and a one-line summary of a decode result.

#![allow(dead_code, unreachable_pub)]

use sfbflow_capture::{LinkType, Record};
use sfbflow_packet::Decoded;

/// One record of a pcap file, owned.
#[derive(Debug, Clone)]
pub struct OwnedRecord {
    pub ts_nanos: i64,
    pub linktype: LinkType,
    pub origlen: u32,
    pub data: Vec<u8>,
}

impl OwnedRecord {
    pub fn record(&self) -> Record<'_> {
        Record {
            ts_nanos: self.ts_nanos,
            linktype: self.linktype,
            interface: 0,
            caplen: self.data.len() as u32,
            origlen: self.origlen,
            data: &self.data,
            offset: 0,
        }
    }
}

/// Read a classic pcap file (either byte order, micro- or nanosecond timestamps).
pub fn read_pcap(path: &str) -> Vec<OwnedRecord> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let magic: [u8; 4] = bytes[0..4].try_into().expect("test input");
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => panic!("{path}: not a classic pcap file"),
    };
    let u32_at = |off: usize| {
        let b: [u8; 4] = bytes[off..off + 4].try_into().expect("test input");
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let linktype = LinkType(u32_at(20) & 0x0fff_ffff);
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        let sec = i64::from(u32_at(off));
        let frac = i64::from(u32_at(off + 4));
        let incl = u32_at(off + 8) as usize;
        let orig = u32_at(off + 12);
        let data = bytes[off + 16..off + 16 + incl].to_vec();
        out.push(OwnedRecord {
            ts_nanos: sec * 1_000_000_000 + if nanos { frac } else { frac * 1000 },
            linktype,
            origlen: orig,
            data,
        });
        off += 16 + incl;
    }
    out
}

/// A record of `data` with linktype `lt` (caplen = origlen = data length).
pub fn rec(lt: LinkType, data: &[u8], ts_nanos: i64) -> Record<'_> {
    Record {
        ts_nanos,
        linktype: lt,
        interface: 0,
        caplen: data.len() as u32,
        origlen: data.len() as u32,
        data,
        offset: 0,
    }
}

/// One-line summary in the format of tests/expected/*.txt.
pub fn summary(d: &Decoded<'_>) -> String {
    match d {
        Decoded::Packet(p) => {
            let vlan = p.vlan.map_or("-".to_string(), |v| v.to_string());
            if p.proto.0 == 6 {
                format!(
                    "P tcp {} {} > {} {} len={} flags=0x{:04x} seq={} vlan={} tunnel={}",
                    p.src,
                    p.src_port,
                    p.dst,
                    p.dst_port,
                    p.payload_len,
                    p.tcp_flags.0,
                    p.tcp_seq,
                    vlan,
                    p.tunnel
                )
            } else {
                format!(
                    "P udp {} {} > {} {} len={} vlan={} tunnel={}",
                    p.src, p.src_port, p.dst, p.dst_port, p.payload_len, vlan, p.tunnel
                )
            }
        }
        Decoded::OtherIp { src, dst, proto } => format!("O {src} > {dst} proto={}", proto.0),
        Decoded::NotIp { ethertype } => format!("N 0x{ethertype:04x}"),
        Decoded::FragmentHeld => "F".to_string(),
        Decoded::Malformed(m) => format!("M {}", m.as_str()),
        Decoded::UnsupportedLinkType(lt) => format!("U {}", lt.0),
    }
}

/// Path of a capture of the repository.
pub fn capture(case: &str) -> String {
    format!(
        "{}/../../captures/{case}/input.pcap",
        env!("CARGO_MANIFEST_DIR")
    )
}
