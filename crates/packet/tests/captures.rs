//! Real captures from /captures: every frame decodes to what tshark shows for its innermost
//! layer (tests/expected/<case>.txt, generated with tshark; deviations are commented there).

mod common;

use common::{capture, read_pcap, summary};
use sfbflow_packet::{Decoded, Decoder, DecoderConfig, Tunnel};

/// Decode every frame of a case; return (summary, tunnel of packets, frames, wire_len).
fn decode_case(case: &str) -> Vec<(String, Option<Tunnel>, u32, u64)> {
    let recs = read_pcap(&capture(case));
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut out = Vec::new();
    for r in &recs {
        let rec = r.record();
        let d = dec.decode(&rec);
        let (t, frames, wire) = match &d {
            Decoded::Packet(p) => (Some(p.tunnel), p.frames, p.wire_len),
            _ => (None, 0, 0),
        };
        out.push((summary(&d), t, frames, wire));
    }
    dec.flush();
    out
}

fn expected(case: &str) -> Vec<String> {
    let path = format!("{}/tests/expected/{case}.txt", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Compare a case with its expectation; every packet must have come through `tunnel`.
fn check(case: &str, tunnel: Tunnel) {
    let got = decode_case(case);
    let want = expected(case);
    assert_eq!(got.len(), want.len(), "{case}: frame count");
    for (i, ((g, t, _, _), w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "{case}: frame {}", i + 1);
        if let Some(t) = t {
            assert_eq!(*t, tunnel, "{case}: frame {} tunnel", i + 1);
        }
    }
}

#[test]
fn vxlan() {
    check("vxlan", Tunnel::Vxlan);
}

#[test]
fn geneve() {
    check("geneve", Tunnel::Geneve);
}

#[test]
fn erspan_i() {
    check("erspan-i", Tunnel::Erspan);
}

#[test]
fn erspan_ii() {
    check("erspan-ii", Tunnel::Erspan);
}

#[test]
fn erspan_iii() {
    check("erspan-iii", Tunnel::Erspan);
}

#[test]
fn gre_erspan_vxlan() {
    // GRE / ERSPAN II / Ethernet / IPv4 / UDP 4789 -> 4790 VXLAN-GPE / Ethernet / IPv4 / TCP
    check("gre-erspan-vxlan", Tunnel::Erspan);
}

#[test]
fn mpls() {
    check("mpls", Tunnel::None);
}

#[test]
fn mpls_in_vlan() {
    check("mpls-in-vlan", Tunnel::None);
}

#[test]
fn qinq() {
    check("qinq", Tunnel::None);
}

#[test]
fn vlan_qinqinq() {
    check("vlan-qinqinq", Tunnel::None);
}

#[test]
fn sll2() {
    check("sll2", Tunnel::None);
}

#[test]
fn nanosecond_sll() {
    check("nanosecond-sll", Tunnel::None);
}

#[test]
fn null_loopback() {
    check("null-loopback", Tunnel::None);
}

#[test]
fn raw_ipv4() {
    check("raw-ipv4", Tunnel::None);
}

#[test]
fn raw_ipv6() {
    check("raw-ipv6", Tunnel::None);
}

#[test]
fn ipv6_ext_headers() {
    // hop-by-hop then 33 x (routing, atomic fragment, destination options), then UDP
    check("ipv6-ext-headers", Tunnel::None);
}

#[test]
fn gre_sample() {
    check("gre-sample", Tunnel::Gre);
}

#[test]
fn ipv4_fragments() {
    check("ipv4-fragments", Tunnel::None);
}

#[test]
fn ipv6_fragmented_dns() {
    check("ipv6-fragmented-dns", Tunnel::None);
    // Frame 4 is the last fragment of datagram 1, whose other fragments were not captured; frames
    // 6, 7, 8 make datagram 2 (3238 bytes of UDP), completed by frame 8.
    let got = decode_case("ipv6-fragmented-dns");
    let recs = read_pcap(&capture("ipv6-fragmented-dns"));
    let wire: u64 = [5usize, 6, 7].iter().map(|&i| u64::from(recs[i].origlen)).sum();
    assert_eq!((got[7].2, got[7].3), (3, wire));
    assert_eq!((got[0].2, got[0].3), (1, u64::from(recs[0].origlen)));

    let mut dec = Decoder::new(DecoderConfig::default());
    for r in &recs {
        let rec = r.record();
        if let Decoded::Packet(p) = dec.decode(&rec)
            && p.frames == 3
        {
            // The reassembled payload is the DNS response: 3230 bytes, all captured.
            assert_eq!(p.payload.len(), 3230);
            assert_eq!(p.payload_len, 3230);
        }
    }
    let s = *dec.stats();
    assert_eq!((s.fragments_held, s.fragments_reassembled, s.datagrams_reassembled), (3, 3, 1));
    assert_eq!((s.fragments_pending, s.datagrams_pending), (1, 1));
    dec.flush();
    let s = *dec.stats();
    assert_eq!((s.fragments_expired, s.fragments_pending, s.fragment_bytes_pending), (1, 0, 0));
}
