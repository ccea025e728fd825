//! Real captures from /captures: every frame decodes to what tshark shows for its innermost
//! layer (tests/expected/<case>.txt, generated with tshark; deviations are commented there).

mod common;

use common::{capture, read_pcap, summary};
use sfbflow_packet::{Decoded, Decoder, DecoderConfig};

/// Decode every frame of a case; return (summary, frames, wire_len).
fn decode_case(case: &str) -> Vec<(String, u32, u64)> {
    let recs = read_pcap(&capture(case));
    let mut dec = Decoder::new(DecoderConfig::default());
    let mut out = Vec::new();
    for r in &recs {
        let rec = r.record();
        let d = dec.decode(&rec);
        let (frames, wire) = match &d {
            Decoded::Packet(p) => (p.frames, p.wire_len),
            _ => (0, 0),
        };
        out.push((summary(&d), frames, wire));
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

/// Compare a case with its expectation, listing every mismatching frame.
fn check(case: &str) {
    let got = decode_case(case);
    let want = expected(case);
    assert_eq!(got.len(), want.len(), "{case}: frame count");
    let wrong: Vec<String> = got
        .iter()
        .zip(&want)
        .enumerate()
        .filter(|(_, ((g, _, _), w))| g != *w)
        .map(|(i, ((g, _, _), w))| format!("frame {}: got {g:?}, want {w:?}", i + 1))
        .collect();
    assert!(wrong.is_empty(), "{case}:\n{}", wrong.join("\n"));
}

macro_rules! cases {
    ($($name:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check($case);
            }
        )*
    };
}

cases! {
    vxlan => "vxlan",
    geneve => "geneve",
    erspan_i => "erspan-i",
    erspan_ii => "erspan-ii",
    erspan_iii => "erspan-iii",
    // GRE / ERSPAN II / Ethernet / IPv4 / UDP 4789 -> 4790 VXLAN-GPE / Ethernet / IPv4 / TCP
    gre_erspan_vxlan => "gre-erspan-vxlan",
    mpls => "mpls",
    mpls_in_vlan => "mpls-in-vlan",
    qinq => "qinq",
    vlan_qinqinq => "vlan-qinqinq",
    sll2 => "sll2",
    nanosecond_sll => "nanosecond-sll",
    null_loopback => "null-loopback",
    raw_ipv4 => "raw-ipv4",
    raw_ipv6 => "raw-ipv6",
    // hop-by-hop then 33 x (routing, atomic fragment, destination options), then UDP
    ipv6_ext_headers => "ipv6-ext-headers",
    gre_sample => "gre-sample",
    ipv4_fragments => "ipv4-fragments",
    bigendian => "bigendian",
    // SIP, STUN, TLS, DTLS, DNS, and one of everything: AH, ESP, GTP-U, Geneve, NSH, Cisco
    // metadata, MPLS, PPPoE, QinQ, VXLAN-GPE, IP-in-IPv6 after extension headers...
    mixed_synthetic => "mixed-synthetic",
    sip_tcp => "sip-tcp",
    sip_udp_rtp => "sip-udp-rtp",
    stun => "stun",
    tcp_truncated_header => "tcp-truncated-header",
    tls_split_client_hello => "tls-split-client-hello",
}

#[test]
fn ipv6_fragmented_dns() {
    check("ipv6-fragmented-dns");
    // Frame 4 is the last fragment of datagram 1, whose other fragments were not captured; frames
    // 6, 7, 8 make datagram 2 (3238 bytes of UDP), completed by frame 8.
    let got = decode_case("ipv6-fragmented-dns");
    let recs = read_pcap(&capture("ipv6-fragmented-dns"));
    let wire: u64 = [5usize, 6, 7]
        .iter()
        .map(|&i| u64::from(recs[i].origlen))
        .sum();
    assert_eq!((got[7].1, got[7].2), (3, wire));
    assert_eq!((got[0].1, got[0].2), (1, u64::from(recs[0].origlen)));

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
    assert_eq!(
        (
            s.fragments_held,
            s.fragments_reassembled,
            s.datagrams_reassembled
        ),
        (3, 3, 1)
    );
    assert_eq!((s.fragments_pending, s.datagrams_pending), (1, 1));
    dec.flush();
    let s = *dec.stats();
    assert_eq!(
        (
            s.fragments_expired,
            s.fragments_pending,
            s.fragment_bytes_pending
        ),
        (1, 0, 0)
    );
}
