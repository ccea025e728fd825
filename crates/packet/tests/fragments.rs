//! Fragment reassembly: IPv4 and IPv6, orderings, duplicates, overlaps, bounds, accounting.

mod common;

use common::rec;
use proptest::prelude::*;
use sfbflow_capture::LinkType;
use sfbflow_packet::{
    Addr, DecodeStats, Decoded, Decoder, DecoderConfig, IpProto, Malformed, Tunnel,
};

const SRC4: [u8; 4] = [10, 1, 1, 1];
const DST4: [u8; 4] = [10, 2, 2, 2];
const SRC6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11,
];
const DST6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22,
];

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    [&[0u8; 12][..], &ethertype.to_be_bytes(), payload].concat()
}

/// A UDP header and payload.
fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    [
        &sp.to_be_bytes()[..],
        &dp.to_be_bytes(),
        &len.to_be_bytes(),
        &[0, 0],
        payload,
    ]
    .concat()
}

/// A payload of `n` distinct-ish bytes.
fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// An IPv4 header (20 bytes) for `len` bytes of payload.
fn ipv4_hdr(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    off: usize,
    more: bool,
    len: usize,
) -> Vec<u8> {
    let total = (20 + len) as u16;
    let frag = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h
}

/// An Ethernet frame carrying an IPv4 fragment of `data` at `off`.
fn v4_frag(id: u16, proto: u8, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut ip = ipv4_hdr(SRC4, DST4, proto, id, off, more, data.len());
    ip.extend_from_slice(data);
    eth(0x0800, &ip)
}

/// An Ethernet frame carrying an IPv6 fragment of `data` at `off`.
fn v6_frag(id: u32, nh: u8, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[44, 64]);
    ip.extend_from_slice(&SRC6);
    ip.extend_from_slice(&DST6);
    ip.extend_from_slice(&[nh, 0]);
    ip.extend_from_slice(&((off as u16) | u16::from(more)).to_be_bytes());
    ip.extend_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(data);
    eth(0x86dd, &ip)
}

/// Split `len` bytes into pieces of `size` (multiple of 8): (offset, length, more).
fn split(len: usize, size: usize) -> Vec<(usize, usize, bool)> {
    let mut v = Vec::new();
    let mut off = 0;
    while off < len {
        let n = size.min(len - off);
        v.push((off, n, off + n < len));
        off += n;
    }
    v
}

/// IPv4 fragment frames of `datagram` (the IP payload) cut in pieces of `size`.
fn v4_frames(id: u16, proto: u8, datagram: &[u8], size: usize) -> Vec<Vec<u8>> {
    split(datagram.len(), size)
        .into_iter()
        .map(|(o, n, m)| v4_frag(id, proto, o, m, &datagram[o..o + n]))
        .collect()
}

fn v6_frames(id: u32, nh: u8, datagram: &[u8], size: usize) -> Vec<Vec<u8>> {
    split(datagram.len(), size)
        .into_iter()
        .map(|(o, n, m)| v6_frag(id, nh, o, m, &datagram[o..o + n]))
        .collect()
}

/// What one decode gave, owned.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    Packet {
        sport: u16,
        dport: u16,
        payload: Vec<u8>,
        payload_len: u32,
        frames: u32,
        wire_len: u64,
        tunnel: Tunnel,
    },
    Other(Decoded<'static>),
}

fn feed(dec: &mut Decoder, frame: &[u8], ts: i64) -> Got {
    let r = rec(LinkType::ETHERNET, frame, ts);
    match dec.decode(&r) {
        Decoded::Packet(p) => Got::Packet {
            sport: p.src_port,
            dport: p.dst_port,
            payload: p.payload.to_vec(),
            payload_len: p.payload_len,
            frames: p.frames,
            wire_len: p.wire_len,
            tunnel: p.tunnel,
        },
        Decoded::OtherIp { src, dst, proto } => Got::Other(Decoded::OtherIp { src, dst, proto }),
        Decoded::NotIp { ethertype } => Got::Other(Decoded::NotIp { ethertype }),
        Decoded::FragmentHeld => Got::Other(Decoded::FragmentHeld),
        Decoded::Malformed(m) => Got::Other(Decoded::Malformed(m)),
        Decoded::UnsupportedLinkType(l) => Got::Other(Decoded::UnsupportedLinkType(l)),
    }
}

const HELD: Got = Got::Other(Decoded::FragmentHeld);

fn mal(m: Malformed) -> Got {
    Got::Other(Decoded::Malformed(m))
}

/// The accounting invariant of `DecodeStats`.
#[track_caller]
fn assert_accounting(s: &DecodeStats) {
    assert_eq!(
        s.fragments_held,
        s.fragments_reassembled - s.datagrams_reassembled
            + s.fragments_expired
            + s.fragments_evicted
            + s.fragments_discarded
            + s.fragments_pending,
        "{s:?}"
    );
}

#[track_caller]
fn assert_udp(got: &Got, payload: &[u8], frames: u32, wire_len: u64) {
    match got {
        Got::Packet {
            sport,
            dport,
            payload: p,
            payload_len,
            frames: f,
            wire_len: w,
            ..
        } => {
            assert_eq!((*sport, *dport), (4000, 5000));
            assert_eq!(p, payload);
            assert_eq!(*payload_len as usize, payload.len());
            assert_eq!((*f, *w), (frames, wire_len));
        }
        other => panic!("expected a packet, got {other:?}"),
    }
}

fn wire(frames: &[Vec<u8>]) -> u64 {
    frames.iter().map(|f| f.len() as u64).sum()
}

#[test]
fn v4_in_order_reversed_and_shuffled() {
    let payload = bytes(2000, 1);
    let dgram = udp(4000, 5000, &payload);
    let frames = v4_frames(77, 17, &dgram, 800);
    assert_eq!(frames.len(), 3);
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
        let mut dec = Decoder::default();
        assert_eq!(feed(&mut dec, &frames[order[0]], 0), HELD);
        assert_eq!(feed(&mut dec, &frames[order[1]], 1), HELD);
        let got = feed(&mut dec, &frames[order[2]], 2);
        assert_udp(&got, &payload, 3, wire(&frames));
        let s = *dec.stats();
        assert_eq!(
            (
                s.fragments_held,
                s.fragments_reassembled,
                s.datagrams_reassembled
            ),
            (2, 3, 1)
        );
        assert_eq!(
            (
                s.fragments_pending,
                s.datagrams_pending,
                s.fragment_bytes_pending
            ),
            (0, 0, 0)
        );
        assert!(s.fragment_bytes_peak >= 1600);
        assert_accounting(&s);
    }
}

#[test]
fn v6_in_order_and_reversed() {
    let payload = bytes(3000, 2);
    let dgram = udp(4000, 5000, &payload);
    let frames = v6_frames(0xdead_beef, 17, &dgram, 1232);
    assert_eq!(frames.len(), 3);
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &frames[0], 0), HELD);
    assert_eq!(feed(&mut dec, &frames[1], 0), HELD);
    assert_udp(&feed(&mut dec, &frames[2], 0), &payload, 3, wire(&frames));
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &frames[2], 0), HELD);
    assert_eq!(feed(&mut dec, &frames[1], 0), HELD);
    assert_udp(&feed(&mut dec, &frames[0], 0), &payload, 3, wire(&frames));
}

#[test]
fn v6_extension_headers_in_fragmentable_part() {
    // destination options (8 bytes) then UDP, fragmented
    let payload = bytes(100, 3);
    let dgram = [&[17u8, 0, 0, 0, 0, 0, 0, 0][..], &udp(4000, 5000, &payload)].concat();
    let frames = v6_frames(5, 60, &dgram, 64);
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &frames[1], 0), HELD);
    assert_udp(&feed(&mut dec, &frames[0], 0), &payload, 2, wire(&frames));
}

#[test]
fn interleaved_datagrams_and_plain_packets() {
    let pa = bytes(1500, 4);
    let pb = bytes(1500, 5);
    let fa = v4_frames(1, 17, &udp(4000, 5000, &pa), 504);
    let fb = v4_frames(2, 17, &udp(4000, 5000, &pb), 504);
    let plain = eth(
        0x0800,
        &[ipv4_hdr(SRC4, DST4, 17, 3, 0, false, 10), udp(1, 2, b"xy")].concat(),
    );
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &fa[0], 0), HELD);
    assert_eq!(feed(&mut dec, &fb[2], 0), HELD);
    assert!(matches!(
        feed(&mut dec, &plain, 0),
        Got::Packet { frames: 1, .. }
    ));
    assert_eq!(feed(&mut dec, &fb[0], 0), HELD);
    assert_eq!(feed(&mut dec, &fa[2], 0), HELD);
    assert_eq!(
        feed(&mut dec, &fa[1], 0),
        Got::Packet {
            sport: 4000,
            dport: 5000,
            payload: pa.clone(),
            payload_len: 1500,
            frames: 3,
            wire_len: wire(&fa),
            tunnel: Tunnel::None,
        }
    );
    assert_udp(&feed(&mut dec, &fb[1], 0), &pb, 3, wire(&fb));
    assert_accounting(dec.stats());
}

#[test]
fn same_id_different_protocol_or_address_are_different_datagrams() {
    let p = bytes(64, 6);
    let d = udp(4000, 5000, &p);
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &v4_frag(9, 17, 0, true, &d[..40]), 0), HELD);
    // same id, protocol 6: another datagram
    assert_eq!(feed(&mut dec, &v4_frag(9, 6, 40, false, &d[40..]), 0), HELD);
    assert_eq!(dec.stats().datagrams_pending, 2);
    let first = v4_frag(9, 17, 0, true, &d[..40]);
    let last = v4_frag(9, 17, 40, false, &d[40..]);
    let wire = (first.len() + last.len()) as u64;
    assert_udp(&feed(&mut dec, &last, 0), &p, 2, wire);
    // the protocol-6 fragment is still pending
    assert_eq!(dec.stats().datagrams_pending, 1);
}

#[test]
fn duplicates_are_accepted_and_counted() {
    let payload = bytes(1000, 7);
    let frames = v4_frames(3, 17, &udp(4000, 5000, &payload), 512);
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &frames[0], 0), HELD);
    assert_eq!(feed(&mut dec, &frames[0], 0), HELD);
    let got = feed(&mut dec, &frames[1], 0);
    assert_udp(&got, &payload, 3, wire(&frames) + frames[0].len() as u64);
    assert_accounting(dec.stats());
}

#[test]
fn overlaps_with_equal_bytes_are_accepted() {
    let payload = bytes(200, 8);
    let d = udp(4000, 5000, &payload);
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &v4_frag(4, 17, 0, true, &d[..120]), 0), HELD);
    assert_eq!(
        feed(&mut dec, &v4_frag(4, 17, 64, true, &d[64..160]), 0),
        HELD
    );
    assert!(matches!(
        feed(&mut dec, &v4_frag(4, 17, 160, false, &d[160..]), 0),
        Got::Packet { frames: 3, .. }
    ));
}

#[test]
fn overlaps_with_different_bytes_drop_the_datagram() {
    let d = udp(4000, 5000, &bytes(200, 9));
    let mut other = d.clone();
    other[100] ^= 0xff;
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &v4_frag(5, 17, 0, true, &d[..120]), 0), HELD);
    assert_eq!(
        feed(&mut dec, &v4_frag(5, 17, 64, true, &other[64..160]), 0),
        mal(Malformed::FragmentOverlap)
    );
    let s = *dec.stats();
    assert_eq!(
        (
            s.fragments_discarded,
            s.fragments_pending,
            s.datagrams_pending
        ),
        (1, 0, 0)
    );
    assert_accounting(&s);
    // The datagram is gone: the rest is held as a new, incomplete one.
    assert_eq!(
        feed(&mut dec, &v4_frag(5, 17, 160, false, &d[160..]), 0),
        HELD
    );
}

#[test]
fn inconsistent_lengths_and_bad_fragments() {
    let d = udp(4000, 5000, &bytes(200, 10));
    let mut dec = Decoder::default();
    // two last fragments ending differently
    assert_eq!(
        feed(&mut dec, &v4_frag(6, 17, 160, false, &d[160..]), 0),
        HELD
    );
    assert_eq!(
        feed(&mut dec, &v4_frag(6, 17, 160, false, &d[160..200]), 0),
        mal(Malformed::FragmentInconsistentLength)
    );
    // data past the last fragment
    assert_eq!(
        feed(&mut dec, &v4_frag(7, 17, 64, false, &d[64..128]), 0),
        HELD
    );
    assert_eq!(
        feed(&mut dec, &v4_frag(7, 17, 128, true, &d[128..192]), 0),
        mal(Malformed::FragmentInconsistentLength)
    );
    // last fragment before data already held
    assert_eq!(
        feed(&mut dec, &v4_frag(8, 17, 128, true, &d[128..192]), 0),
        HELD
    );
    assert_eq!(
        feed(&mut dec, &v4_frag(8, 17, 64, false, &d[64..128]), 0),
        mal(Malformed::FragmentInconsistentLength)
    );
    // non-last fragment not a multiple of 8, or empty
    assert_eq!(
        feed(&mut dec, &v4_frag(9, 17, 0, true, &d[..12]), 0),
        mal(Malformed::BadFragmentLength)
    );
    assert_eq!(
        feed(&mut dec, &v4_frag(9, 17, 8, true, &[]), 0),
        mal(Malformed::BadFragmentLength)
    );
    // past the largest datagram
    assert_eq!(
        feed(&mut dec, &v4_frag(10, 17, 65512, false, &[0; 16]), 0),
        mal(Malformed::FragmentTooLong)
    );
    assert_eq!(
        feed(&mut dec, &v6_frag(10, 17, 65528, false, &[0; 16]), 0),
        mal(Malformed::FragmentTooLong)
    );
    let s = *dec.stats();
    assert_eq!(s.fragments_discarded, 3);
    assert_accounting(&s);
}

#[test]
fn timeout_expires_lazily_on_capture_time() {
    let frames = v4_frames(11, 17, &udp(4000, 5000, &bytes(1000, 11)), 512);
    let cfg = DecoderConfig {
        frag_timeout_nanos: 1_000,
        ..DecoderConfig::default()
    };
    let mut dec = Decoder::new(cfg);
    assert_eq!(feed(&mut dec, &frames[0], 0), HELD);
    // within the timeout: completes
    assert!(matches!(
        feed(&mut dec, &frames[1], 1_000),
        Got::Packet { frames: 2, .. }
    ));
    // past the timeout: the first fragment expired, the second starts a new datagram
    assert_eq!(feed(&mut dec, &frames[0], 10_000), HELD);
    assert_eq!(feed(&mut dec, &frames[1], 11_001), HELD);
    let s = *dec.stats();
    assert_eq!((s.fragments_expired, s.fragments_pending), (1, 1));
    // a non-fragment frame also triggers the expiry
    let plain = eth(0x0806, &[0; 28]);
    assert_eq!(
        feed(&mut dec, &plain, 20_000),
        Got::Other(Decoded::NotIp { ethertype: 0x0806 })
    );
    let s = *dec.stats();
    assert_eq!(
        (
            s.fragments_expired,
            s.fragments_pending,
            s.datagrams_pending
        ),
        (2, 0, 0)
    );
    assert_accounting(&s);
    // time going backwards does not expire anything
    assert_eq!(feed(&mut dec, &frames[0], 50_000), HELD);
    assert_eq!(
        feed(&mut dec, &plain, 0),
        Got::Other(Decoded::NotIp { ethertype: 0x0806 })
    );
    assert_eq!(dec.stats().fragments_pending, 1);
    dec.flush();
    assert_eq!(dec.stats().fragments_expired, 3);
    assert_accounting(dec.stats());
}

#[test]
fn datagram_count_bound_evicts_the_oldest() {
    let cfg = DecoderConfig {
        frag_max_datagrams: 2,
        ..DecoderConfig::default()
    };
    let mut dec = Decoder::new(cfg);
    let d = udp(4000, 5000, &bytes(100, 12));
    for id in 1..=3u16 {
        assert_eq!(feed(&mut dec, &v4_frag(id, 17, 0, true, &d[..64]), 0), HELD);
    }
    let s = *dec.stats();
    assert_eq!((s.fragments_evicted, s.datagrams_pending), (1, 2));
    // datagram 1 was evicted: its end starts a new one (evicting 2); 3 completes.
    assert_eq!(
        feed(&mut dec, &v4_frag(1, 17, 64, false, &d[64..]), 0),
        HELD
    );
    assert!(matches!(
        feed(&mut dec, &v4_frag(3, 17, 64, false, &d[64..]), 0),
        Got::Packet { frames: 2, .. }
    ));
    assert_eq!(dec.stats().fragments_evicted, 2);
    assert_accounting(dec.stats());
    // 0 datagrams: reassembly disabled, every fragment evicted at once
    let mut dec = Decoder::new(DecoderConfig {
        frag_max_datagrams: 0,
        ..DecoderConfig::default()
    });
    assert_eq!(feed(&mut dec, &v4_frag(1, 17, 0, true, &d[..64]), 0), HELD);
    assert_eq!(
        feed(&mut dec, &v4_frag(1, 17, 64, false, &d[64..]), 0),
        HELD
    );
    assert_eq!(
        (dec.stats().fragments_evicted, dec.stats().datagrams_pending),
        (2, 0)
    );
    assert_accounting(dec.stats());
}

#[test]
fn memory_bound_evicts_the_oldest() {
    let cfg = DecoderConfig {
        frag_max_bytes: 3000,
        ..DecoderConfig::default()
    };
    let mut dec = Decoder::new(cfg);
    let d = udp(4000, 5000, &bytes(3000, 13));
    // datagram 1 holds 1000 bytes, datagram 2 holds 1600
    assert_eq!(
        feed(&mut dec, &v4_frag(1, 17, 0, true, &d[..1000]), 0),
        HELD
    );
    assert_eq!(
        feed(&mut dec, &v4_frag(2, 17, 0, true, &d[..1600]), 0),
        HELD
    );
    assert_eq!(dec.stats().fragment_bytes_pending, 2600);
    // datagram 3 needs 800 more: datagram 1 is evicted
    assert_eq!(feed(&mut dec, &v4_frag(3, 17, 0, true, &d[..800]), 0), HELD);
    let s = *dec.stats();
    assert_eq!((s.fragments_evicted, s.fragment_bytes_pending), (1, 2400));
    // a fragment reaching past the bound by itself: dropped with its datagram
    assert_eq!(
        feed(&mut dec, &v4_frag(4, 17, 2400, true, &d[..800]), 0),
        HELD
    );
    let s = *dec.stats();
    assert_eq!(s.fragments_evicted, 4); // datagrams 2 and 3 made room in vain, then 4 itself
    assert_eq!((s.datagrams_pending, s.fragment_bytes_pending), (0, 0));
    assert!(s.fragment_bytes_peak <= 3000);
    assert_accounting(&s);
}

#[test]
fn snaplen_cut_fragments_reassemble_with_declared_lengths() {
    let payload = bytes(1000, 14);
    let frames = v4_frames(12, 17, &udp(4000, 5000, &payload), 512);
    let cut0 = &frames[0][..14 + 20 + 8 + 30]; // UDP header and 30 bytes captured
    let cut1 = &frames[1][..14 + 20 + 10];
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, cut1, 0), HELD);
    match feed(&mut dec, cut0, 0) {
        Got::Packet {
            payload: p,
            payload_len,
            frames,
            ..
        } => {
            assert_eq!(p, &payload[..30]);
            assert_eq!((payload_len, frames), (1000, 2));
        }
        other => panic!("{other:?}"),
    }
    // the first fragment cut inside the UDP header: truncated once complete
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &frames[1], 0), HELD);
    assert_eq!(
        feed(&mut dec, &frames[0][..14 + 20 + 4], 0),
        mal(Malformed::TruncatedUdp)
    );
    assert_accounting(dec.stats());
}

#[test]
fn reassembled_datagrams_decode_tunnels() {
    // outer IPv4 fragments carry GRE / IPv4 / UDP
    let inner_payload = bytes(1200, 15);
    let inner = [
        ipv4_hdr([192, 168, 1, 1], [192, 168, 1, 2], 17, 1, 0, false, 1208),
        udp(4000, 5000, &inner_payload),
    ]
    .concat();
    let gre = [&[0u8, 0, 0x08, 0x00][..], &inner].concat();
    let frames = v4_frames(13, 47, &gre, 800);
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &frames[1], 0), HELD);
    match feed(&mut dec, &frames[0], 0) {
        Got::Packet {
            tunnel,
            payload,
            frames,
            ..
        } => {
            assert_eq!((tunnel, frames), (Tunnel::Gre, 2));
            assert_eq!(payload, inner_payload);
        }
        other => panic!("{other:?}"),
    }
    // fragments carrying ICMP: other IP once complete
    let icmp = bytes(1000, 16);
    let frames = v4_frames(14, 1, &icmp, 504);
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &frames[0], 0), HELD);
    assert_eq!(
        feed(&mut dec, &frames[1], 0),
        Got::Other(Decoded::OtherIp {
            src: Addr::from_v4(SRC4),
            dst: Addr::from_v4(DST4),
            proto: IpProto::ICMP
        })
    );
    assert_eq!(
        (
            dec.stats().fragments_reassembled,
            dec.stats().datagrams_reassembled
        ),
        (2, 1)
    );
}

#[test]
fn fragments_inside_reassembled_datagrams_are_malformed() {
    // outer fragments carry IP-in-IP whose inner header is itself a fragment
    let inner = [
        ipv4_hdr([192, 168, 1, 1], [192, 168, 1, 2], 17, 1, 0, true, 800),
        bytes(800, 17),
    ]
    .concat();
    let frames = v4_frames(15, 4, &inner, 416);
    let mut dec = Decoder::default();
    assert_eq!(feed(&mut dec, &frames[0], 0), HELD);
    assert_eq!(
        feed(&mut dec, &frames[1], 0),
        mal(Malformed::NestedFragment)
    );
}

#[test]
fn fragment_inside_a_tunnel_keeps_the_tunnel() {
    // VXLAN carrying an inner IPv4 fragment pair
    let payload = bytes(600, 18);
    let dgram = udp(4000, 5000, &payload);
    let mut dec = Decoder::default();
    let mut last = HELD;
    for (o, n, m) in split(dgram.len(), 304) {
        let inner_ip = [
            ipv4_hdr([192, 168, 1, 1], [192, 168, 1, 2], 17, 99, o, m, n),
            dgram[o..o + n].to_vec(),
        ]
        .concat();
        let inner_eth = eth(0x0800, &inner_ip);
        let vx = [&[0x08u8, 0, 0, 0, 0, 0, 1, 0][..], &inner_eth].concat();
        let outer = [
            ipv4_hdr(SRC4, DST4, 17, 1, 0, false, 8 + vx.len()),
            udp(1234, 4789, &vx),
        ]
        .concat();
        last = feed(&mut dec, &eth(0x0800, &outer), 0);
    }
    match last {
        Got::Packet {
            tunnel,
            payload: p,
            frames,
            ..
        } => {
            assert_eq!((tunnel, frames), (Tunnel::Vxlan, 2));
            assert_eq!(p, payload);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn too_many_fragments_drop_the_datagram() {
    let d = vec![0u8; 8];
    let mut dec = Decoder::default();
    // 2048 duplicates of the same 8-byte fragment, then one more
    for _ in 0..2048 {
        assert_eq!(feed(&mut dec, &v4_frag(16, 17, 0, true, &d), 0), HELD);
    }
    assert_eq!(
        feed(&mut dec, &v4_frag(16, 17, 0, true, &d), 0),
        mal(Malformed::TooManyFragments)
    );
    assert_eq!(dec.stats().fragments_discarded, 2048);
    assert_accounting(dec.stats());
}

proptest! {
    /// Any split into 8-byte multiples, in any order, with duplicates, reassembles to the
    /// original; the datagram completes exactly with the last missing piece.
    #[test]
    fn any_split_and_permutation_reassembles(
        len in 1usize..4000,
        size8 in 1usize..200,
        v6 in any::<bool>(),
        perm_seed in any::<u64>(),
        dups in proptest::collection::vec(0usize..64, 0..4),
    ) {
        let payload = bytes(len, (perm_seed % 251) as u8);
        let dgram = udp(4000, 5000, &payload);
        let pieces = split(dgram.len(), size8 * 8);
        let mut order: Vec<usize> = (0..pieces.len()).collect();
        // Fisher-Yates with a small LCG
        let mut x = perm_seed | 1;
        for i in (1..order.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (x >> 33) as usize % (i + 1));
        }
        for d in &dups {
            let at = d % order.len();
            let dup = order[at];
            order.insert(at, dup); // a duplicate before the original
        }
        let frames: Vec<Vec<u8>> = order
            .iter()
            .map(|&i| {
                let (o, n, m) = pieces[i];
                if v6 { v6_frag(42, 17, o, m, &dgram[o..o + n]) } else { v4_frag(42, 17, o, m, &dgram[o..o + n]) }
            })
            .collect();
        // index at which every piece has been seen
        let mut seen = vec![false; pieces.len()];
        let mut complete_at = 0;
        for (k, &i) in order.iter().enumerate() {
            seen[i] = true;
            if seen.iter().all(|&s| s) { complete_at = k; break; }
        }
        let mut dec = Decoder::default();
        for (k, f) in frames.iter().enumerate().take(complete_at + 1) {
            let got = feed(&mut dec, f, 0);
            if pieces.len() == 1 {
                // not a fragment at all
                let single = matches!(got, Got::Packet { frames: 1, .. });
                prop_assert!(single);
            } else if k < complete_at {
                prop_assert_eq!(got, HELD);
            } else {
                let wire: u64 = frames[..=complete_at].iter().map(|f| f.len() as u64).sum();
                match got {
                    Got::Packet { payload: p, payload_len, frames: n, wire_len, sport, dport, .. } => {
                        prop_assert_eq!(p, payload.clone());
                        prop_assert_eq!(payload_len as usize, len);
                        prop_assert_eq!(n as usize, complete_at + 1);
                        prop_assert_eq!(wire_len, wire);
                        prop_assert_eq!((sport, dport), (4000, 5000));
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
        }
        assert_accounting(dec.stats());
    }

    /// Random fragment soup from a few datagrams, with small bounds and a moving clock: the
    /// accounting invariant holds after every frame, and the bounds are never exceeded.
    #[test]
    fn accounting_invariant_holds(
        ops in proptest::collection::vec((0u16..6, 0usize..40, any::<bool>(), 1usize..40, 0i64..400, any::<u8>()), 1..200),
        max_datagrams in 0usize..5,
        max_bytes in 0usize..2000,
    ) {
        let cfg = DecoderConfig { frag_timeout_nanos: 1000, frag_max_datagrams: max_datagrams, frag_max_bytes: max_bytes };
        let mut dec = Decoder::new(cfg);
        let mut ts = 0i64;
        for (id, off8, more, len8, dt, fill) in ops {
            ts += dt;
            let data = vec![fill; len8 * 8];
            let frame = if id % 2 == 0 { v4_frag(id, 17, off8 * 8, more, &data) } else { v6_frag(u32::from(id), 17, off8 * 8, more, &data) };
            let _ = feed(&mut dec, &frame, ts);
            let s = *dec.stats();
            assert_accounting(&s);
            prop_assert!(s.datagrams_pending as usize <= max_datagrams);
            prop_assert!(s.fragment_bytes_pending as usize <= max_bytes);
        }
        dec.flush();
        let s = *dec.stats();
        assert_accounting(&s);
        prop_assert_eq!((s.fragments_pending, s.datagrams_pending, s.fragment_bytes_pending), (0, 0, 0));
    }
}
