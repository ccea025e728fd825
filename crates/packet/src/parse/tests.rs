//! Layer-by-layer tests on small annotated byte arrays (valid, truncated, malformed).

use sfbflow_capture::{LinkType, Record};

use crate::{Addr, Decoded, Decoder, IpProto, Malformed, PacketView, TcpFlags, Tunnel};

// ---------------------------------------------------------------------------------------------
// Builders

fn rec(lt: LinkType, data: &[u8]) -> Record<'_> {
    Record {
        ts_nanos: 0,
        linktype: lt,
        interface: 0,
        caplen: data.len() as u32,
        origlen: data.len() as u32,
        data,
        offset: 0,
    }
}

/// Decode one frame with a fresh decoder (decoder and bytes leaked: tests only).
fn dec(lt: LinkType, data: &[u8]) -> Decoded<'static> {
    let d: &'static mut Decoder = Box::leak(Box::default());
    let data: &'static [u8] = Box::leak(data.to_vec().into_boxed_slice());
    d.decode(&rec(lt, data))
}

fn eth_dec(data: &[u8]) -> Decoded<'static> {
    dec(LinkType::ETHERNET, data)
}

#[track_caller]
fn pkt(d: Decoded<'_>) -> PacketView<'_> {
    match d {
        Decoded::Packet(p) => p,
        other => panic!("expected a packet, got {other:?}"),
    }
}

#[track_caller]
fn malformed(d: Decoded<'_>) -> Malformed {
    match d {
        Decoded::Malformed(m) => m,
        other => panic!("expected malformed, got {other:?}"),
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const MACS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const V4_SRC: [u8; 4] = [10, 0, 0, 1];
const V4_DST: [u8; 4] = [10, 0, 0, 2];
const V6_SRC: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    cat(&[&MACS, &ethertype.to_be_bytes(), payload])
}

fn ip4_with(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(payload);
    h
}

fn ip4(proto: u8, payload: &[u8]) -> Vec<u8> {
    ip4_with(V4_SRC, V4_DST, proto, 1, 0, payload)
}

fn ip6(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[nh, 64]);
    h.extend_from_slice(&V6_SRC);
    h.extend_from_slice(&V6_DST);
    h.extend_from_slice(payload);
    h
}

fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    cat(&[
        &sp.to_be_bytes(),
        &dp.to_be_bytes(),
        &len.to_be_bytes(),
        &[0, 0],
        payload,
    ])
}

fn tcp(sp: u16, dp: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    cat(&[
        &sp.to_be_bytes(),
        &dp.to_be_bytes(),
        &seq.to_be_bytes(),
        &ack.to_be_bytes(),
        &[0x50, flags, 0xff, 0xff, 0, 0, 0, 0],
        payload,
    ])
}

/// An inner Ethernet/IPv4(192.168.0.1 -> 192.168.0.2)/UDP 1000 -> 2000 "in".
fn inner_eth_udp() -> Vec<u8> {
    eth(
        0x0800,
        &ip4_with(
            [192, 168, 0, 1],
            [192, 168, 0, 2],
            17,
            7,
            0,
            &udp(1000, 2000, b"in"),
        ),
    )
}

#[track_caller]
fn assert_inner(p: &PacketView<'_>, tunnel: Tunnel) {
    assert_eq!(p.src, Addr::from_v4([192, 168, 0, 1]));
    assert_eq!(p.dst, Addr::from_v4([192, 168, 0, 2]));
    assert_eq!((p.src_port, p.dst_port), (1000, 2000));
    assert_eq!(p.payload, b"in");
    assert_eq!(p.tunnel, tunnel);
}

// ---------------------------------------------------------------------------------------------
// Annotated frames

/// Ethernet / IPv4 10.0.0.1 -> 10.0.0.2 / UDP 5060 -> 5061 / "hi", plus 2 bytes of padding.
const ETH_IPV4_UDP: [u8; 46] = [
    0, 1, 2, 3, 4, 5, // 0: dst MAC
    6, 7, 8, 9, 10, 11, // 6: src MAC
    0x08, 0x00, // 12: ethertype IPv4
    0x45, 0x00, // 14: version 4, IHL 5, TOS
    0x00, 30, // 16: total length 30
    0x12, 0x34, 0x40, 0x00, // 18: id, DF
    64, 17, 0, 0, // 22: TTL, proto UDP, checksum
    10, 0, 0, 1, // 26: src
    10, 0, 0, 2, // 30: dst
    0x13, 0xc4, 0x13, 0xc5, // 34: ports 5060 -> 5061
    0x00, 10, 0, 0, // 38: UDP length 10, checksum
    b'h', b'i', // 42: payload
    0xee, 0xee, // 44: Ethernet padding
];

/// Ethernet / IPv4 / TCP with 4 bytes of options, SYN|ACK, seq 0x01020304, ack 0x0a0b0c0d,
/// 3-byte payload.
const ETH_IPV4_TCP: [u8; 61] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, // 0: Ethernet
    0x45, 0x00, 0x00, 47, 0, 1, 0, 0, 64, 6, 0, 0, // 14: IPv4, total 47, proto TCP
    10, 0, 0, 1, 10, 0, 0, 2, // 26: addresses
    0x04, 0xd2, 0x00, 0x50, // 34: ports 1234 -> 80
    0x01, 0x02, 0x03, 0x04, // 38: seq
    0x0a, 0x0b, 0x0c, 0x0d, // 42: ack
    0x60, 0x12, 0xff, 0xff, // 46: data offset 6, flags SYN|ACK, window
    0, 0, 0, 0, // 50: checksum, urgent
    1, 1, 1, 0, // 54: options (NOP NOP NOP EOL)
    b'a', b'b', b'c', // 58: payload
];

#[test]
fn ethernet_ipv4_udp() {
    let p = pkt(eth_dec(&ETH_IPV4_UDP));
    assert_eq!(p.src, Addr::from_v4(V4_SRC));
    assert_eq!(p.dst, Addr::from_v4(V4_DST));
    assert_eq!(p.proto, IpProto::UDP);
    assert_eq!((p.src_port, p.dst_port), (5060, 5061));
    assert_eq!(p.tcp_flags, TcpFlags(0));
    assert_eq!((p.tcp_seq, p.tcp_ack), (0, 0));
    assert_eq!(p.payload, b"hi"); // padding trimmed by the IPv4 total length
    assert_eq!(p.payload_len, 2);
    assert_eq!((p.frames, p.wire_len), (1, 46));
    assert_eq!((p.vlan, p.tunnel), (None, Tunnel::None));
}

#[test]
fn ethernet_ipv4_udp_truncated_at_every_offset() {
    for cut in 0..ETH_IPV4_UDP.len() {
        let d = eth_dec(&ETH_IPV4_UDP[..cut]);
        match cut {
            0..14 => assert_eq!(malformed(d), Malformed::TruncatedEthernet, "cut {cut}"),
            14..34 => assert_eq!(malformed(d), Malformed::TruncatedIpv4, "cut {cut}"),
            34..42 => assert_eq!(malformed(d), Malformed::TruncatedUdp, "cut {cut}"),
            _ => {
                let p = pkt(d);
                assert_eq!(p.payload, &ETH_IPV4_UDP[42..cut.min(44)]);
                assert_eq!(p.payload_len, 2);
            }
        }
    }
}

#[test]
fn ethernet_ipv4_tcp() {
    let p = pkt(eth_dec(&ETH_IPV4_TCP));
    assert_eq!(p.proto, IpProto::TCP);
    assert_eq!((p.src_port, p.dst_port), (1234, 80));
    assert_eq!(p.tcp_seq, 0x0102_0304);
    assert_eq!(p.tcp_ack, 0x0a0b_0c0d);
    assert!(p.tcp_flags.contains(TcpFlags::SYN));
    assert!(p.tcp_flags.contains(TcpFlags::ACK));
    assert!(!p.tcp_flags.contains(TcpFlags::FIN));
    assert_eq!(p.payload, b"abc");
    assert_eq!(p.payload_len, 3);
}

#[test]
fn ethernet_ipv4_tcp_truncated_at_every_offset() {
    for cut in 0..ETH_IPV4_TCP.len() {
        let d = eth_dec(&ETH_IPV4_TCP[..cut]);
        match cut {
            0..14 => assert_eq!(malformed(d), Malformed::TruncatedEthernet),
            14..34 => assert_eq!(malformed(d), Malformed::TruncatedIpv4),
            // cut in the fixed header
            34..54 => assert_eq!(malformed(d), Malformed::TruncatedTcp, "cut {cut}"),
            // cut in the options: the packet, nothing of its payload
            54..58 => {
                let p = pkt(d);
                assert_eq!(
                    (p.payload, p.payload_len, p.tcp_seq),
                    (&[][..], 3, 0x0102_0304)
                );
            }
            _ => {
                let p = pkt(d);
                assert_eq!(p.payload, &ETH_IPV4_TCP[58..cut]);
                assert_eq!(p.payload_len, 3);
            }
        }
    }
}

#[test]
fn tcp_bad_data_offset() {
    let mut f = ETH_IPV4_TCP;
    f[46] = 0x40; // data offset 4
    assert_eq!(malformed(eth_dec(&f)), Malformed::BadTcpDataOffset);
    f[46] = 0xf0; // 60 bytes: past the 27-byte IP payload
    assert_eq!(malformed(eth_dec(&f)), Malformed::BadTcpDataOffset);
    // IP payload shorter than a TCP header
    let mut f = ETH_IPV4_TCP;
    f[17] = 20 + 19;
    assert_eq!(malformed(eth_dec(&f)), Malformed::TruncatedTcp);
}

#[test]
fn ipv4_header_checks() {
    let mut f = ETH_IPV4_UDP;
    f[14] = 0x44; // IHL 4
    assert_eq!(malformed(eth_dec(&f)), Malformed::BadIpv4HeaderLength);
    f[14] = 0x65; // version 6 under ethertype IPv4
    assert_eq!(malformed(eth_dec(&f)), Malformed::BadIpVersion);
    let mut f = ETH_IPV4_UDP;
    f[17] = 19; // total length below header
    assert_eq!(
        malformed(eth_dec(&f)),
        Malformed::Ipv4TotalLengthBelowHeader
    );
    let mut f = ETH_IPV4_UDP;
    f[14] = 0x4f; // IHL 15: 60-byte header, past the capture
    f[16] = 0;
    f[17] = 80;
    assert_eq!(malformed(eth_dec(&f)), Malformed::TruncatedIpv4);
}

#[test]
fn ipv4_options_skipped() {
    let mut h = ip4(17, &udp(1, 2, b"xyz"));
    h[0] = 0x46;
    h.splice(20..20, [1, 1, 1, 0]);
    h[3] += 4;
    let p = pkt(eth_dec(&eth(0x0800, &h)));
    assert_eq!((p.src_port, p.dst_port, p.payload), (1, 2, &b"xyz"[..]));
}

#[test]
fn ipv4_snaplen_cut_uses_header_lengths() {
    let f = eth(0x0800, &ip4(17, &udp(1, 2, &[7; 100])));
    let cut = &f[..14 + 20 + 8 + 10];
    let p = pkt(eth_dec(cut));
    assert_eq!(p.payload, &[7; 10]);
    assert_eq!(p.payload_len, 100);
}

#[test]
fn ipv4_total_length_zero_means_as_captured() {
    let mut h = ip4(6, &tcp(1, 2, 3, 4, 0x10, &[9; 50]));
    h[2] = 0;
    h[3] = 0;
    let p = pkt(eth_dec(&eth(0x0800, &h)));
    assert_eq!(p.payload_len, 50);
}

#[test]
fn udp_length_inconsistencies() {
    // UDP length larger than the IP payload: use the IP length.
    let mut u = udp(1, 2, b"abcd");
    u[5] = 200;
    let p = pkt(eth_dec(&eth(0x0800, &ip4(17, &u))));
    assert_eq!((p.payload_len, p.payload), (4, &b"abcd"[..]));
    // UDP length below 8: use the IP length.
    u[5] = 3;
    assert_eq!(pkt(eth_dec(&eth(0x0800, &ip4(17, &u)))).payload_len, 4);
    // UDP length 0 (jumbo): use the IP length.
    u[5] = 0;
    assert_eq!(pkt(eth_dec(&eth(0x0800, &ip4(17, &u)))).payload_len, 4);
    // UDP length shorter than the IP payload: trailing bytes are not UDP payload.
    u[5] = 10;
    let p = pkt(eth_dec(&eth(0x0800, &ip4(17, &u))));
    assert_eq!((p.payload_len, p.payload), (2, &b"ab"[..]));
    // IP payload shorter than a UDP header.
    let mut f = eth(0x0800, &ip4(17, &udp(1, 2, b"")));
    f[17] = 27;
    assert_eq!(malformed(eth_dec(&f)), Malformed::TruncatedUdp);
}

#[test]
fn other_ip_and_not_ip() {
    let d = eth_dec(&eth(0x0800, &ip4(1, &[8, 0, 0, 0])));
    assert_eq!(
        d,
        Decoded::OtherIp {
            src: Addr::from_v4(V4_SRC),
            dst: Addr::from_v4(V4_DST),
            proto: IpProto::ICMP
        }
    );
    assert_eq!(
        eth_dec(&eth(0x0806, &[0; 28])),
        Decoded::NotIp { ethertype: 0x0806 }
    );
    assert_eq!(
        eth_dec(&eth(0x88cc, &[0; 28])),
        Decoded::NotIp { ethertype: 0x88cc }
    );
}

// ---------------------------------------------------------------------------------------------
// IPv6

#[test]
fn ipv6_udp_and_tcp() {
    let p = pkt(eth_dec(&eth(0x86dd, &ip6(17, &udp(53, 5353, b"q")))));
    assert_eq!(p.src, Addr::from_v6(V6_SRC));
    assert_eq!(p.dst.to_string(), "2001:db8::2");
    assert_eq!((p.src_port, p.dst_port, p.payload_len), (53, 5353, 1));
    let p = pkt(eth_dec(&eth(0x86dd, &ip6(6, &tcp(1, 2, 3, 4, 0x02, b"")))));
    assert_eq!(
        (p.proto, p.tcp_seq, p.tcp_flags),
        (IpProto::TCP, 3, TcpFlags::SYN)
    );
}

#[test]
fn ipv6_truncated_and_bad_version() {
    let f = eth(0x86dd, &ip6(17, &udp(1, 2, b"x")));
    for cut in 14..54 {
        assert_eq!(malformed(eth_dec(&f[..cut])), Malformed::TruncatedIpv6);
    }
    for cut in 54..62 {
        assert_eq!(malformed(eth_dec(&f[..cut])), Malformed::TruncatedUdp);
    }
    let mut g = f.clone();
    g[14] = 0x40;
    assert_eq!(malformed(eth_dec(&g)), Malformed::BadIpVersion);
}

/// An extension header of `len8` 8-byte units with next header `nh`.
fn ext(nh: u8, len8: u8) -> Vec<u8> {
    let mut e = vec![0u8; (usize::from(len8) + 1) * 8];
    e[0] = nh;
    e[1] = len8;
    e
}

#[test]
fn ipv6_extension_chain() {
    // hop-by-hop -> routing -> destination options -> AH -> UDP
    let mut ah = vec![0u8; 12];
    ah[0] = 17;
    ah[1] = 1; // (1 + 2) * 4 = 12 bytes
    let chain = cat(&[
        &ext(43, 0),
        &ext(60, 1),
        &ext(51, 0),
        &ah,
        &udp(7, 8, b"zz"),
    ]);
    let p = pkt(eth_dec(&eth(0x86dd, &ip6(0, &chain))));
    assert_eq!((p.src_port, p.dst_port, p.payload), (7, 8, &b"zz"[..]));
    // Atomic fragment (offset 0, M clear) is not a fragment.
    let frag = [17, 0, 0, 0, 0, 0, 0, 9];
    let p = pkt(eth_dec(&eth(
        0x86dd,
        &ip6(44, &cat(&[&frag, &udp(1, 2, b"a")])),
    )));
    assert_eq!(p.payload, b"a");
    // ESP and no-next-header are other IP.
    for nh in [50u8, 59] {
        match eth_dec(&eth(0x86dd, &ip6(60, &cat(&[&ext(nh, 0), &[0; 8]])))) {
            Decoded::OtherIp { proto, .. } => assert_eq!(proto, IpProto(nh)),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn ipv6_extension_errors() {
    // Chain cut by the capture.
    let f = eth(0x86dd, &ip6(0, &cat(&[&ext(17, 1), &udp(1, 2, b"")])));
    for cut in 54..70 {
        assert_eq!(
            malformed(eth_dec(&f[..cut])),
            Malformed::TruncatedIpv6ExtensionHeader
        );
    }
    // Header longer than the payload length.
    let mut h = ip6(0, &ext(59, 0));
    h[41] = 4; // (4 + 1) * 8 = 40 > 8
    h.extend_from_slice(&[0; 40]);
    assert_eq!(
        malformed(eth_dec(&eth(0x86dd, &h))),
        Malformed::Ipv6ExtensionHeaderBeyondPayload
    );
    // 129 destination-options headers: too many.
    let mut chain = Vec::new();
    for _ in 0..129 {
        chain.extend_from_slice(&ext(60, 0));
    }
    chain.extend_from_slice(&udp(1, 2, b""));
    let f = eth(0x86dd, &ip6(60, &chain));
    assert_eq!(malformed(eth_dec(&f)), Malformed::TooManyExtensionHeaders);
    // 100 of them are fine.
    let mut chain = Vec::new();
    for _ in 0..99 {
        chain.extend_from_slice(&ext(60, 0));
    }
    chain.extend_from_slice(&ext(17, 0));
    chain.extend_from_slice(&udp(1, 2, b"ok"));
    assert_eq!(pkt(eth_dec(&eth(0x86dd, &ip6(60, &chain)))).payload, b"ok");
}

// ---------------------------------------------------------------------------------------------
// Ethernet encapsulations

#[test]
fn vlan_tags() {
    let inner = ip4(17, &udp(1, 2, b"v"));
    // single 802.1Q, VLAN 100 (PCP 5 set to check masking)
    let f = eth(0x8100, &cat(&[&[0xa0, 100, 0x08, 0x00], &inner]));
    assert_eq!(pkt(eth_dec(&f)).vlan, Some(100));
    // 802.1ad outer 10, 802.1Q inner 20: the outermost is reported
    let f = eth(
        0x88a8,
        &cat(&[&[0, 10, 0x81, 0x00], &[0, 20, 0x08, 0x00], &inner]),
    );
    assert_eq!(pkt(eth_dec(&f)).vlan, Some(10));
    // old QinQ 0x9100
    let f = eth(
        0x9100,
        &cat(&[&[0x0f, 0xff, 0x81, 0x00], &[0, 20, 0x08, 0x00], &inner]),
    );
    assert_eq!(pkt(eth_dec(&f)).vlan, Some(4095));
    // 8 tags fine, 9 too many
    let mut tags = Vec::new();
    for i in 0..8u8 {
        tags.extend_from_slice(&[0, i + 1, 0x81, 0x00]);
    }
    let n = tags.len();
    tags[n - 2..].copy_from_slice(&[0x08, 0x00]);
    assert_eq!(
        pkt(eth_dec(&eth(0x8100, &cat(&[&tags, &inner])))).vlan,
        Some(1)
    );
    let mut nine = vec![0, 9, 0x81, 0x00];
    nine.extend_from_slice(&tags);
    assert_eq!(
        malformed(eth_dec(&eth(0x8100, &cat(&[&nine, &inner])))),
        Malformed::TooManyLayers
    );
    // truncated tag
    for cut in 14..18 {
        assert_eq!(malformed(eth_dec(&f[..cut])), Malformed::TruncatedVlan);
    }
}

#[test]
fn vntag_is_skipped_without_vlan() {
    let f = eth(
        0x8926,
        &cat(&[&[0, 0, 0, 0, 0x08, 0x00], &ip4(17, &udp(1, 2, b""))]),
    );
    assert_eq!(pkt(eth_dec(&f)).vlan, None);
}

#[test]
fn mpls_stacks() {
    let inner = ip4(17, &udp(1, 2, b"m"));
    // one label, bottom of stack
    let f = eth(0x8847, &cat(&[&[0, 0x01, 0x01, 64], &inner]));
    assert_eq!(pkt(eth_dec(&f)).payload, b"m");
    // two labels then IPv6
    let f = eth(
        0x8847,
        &cat(&[
            &[0, 0x01, 0x00, 64],
            &[0, 0x02, 0x01, 64],
            &ip6(17, &udp(1, 2, b"6")),
        ]),
    );
    assert_eq!(pkt(eth_dec(&f)).payload, b"6");
    // pseudowire control word then Ethernet
    let f = eth(
        0x8847,
        &cat(&[&[0, 0x01, 0x01, 64], &[0, 0, 0, 0], &inner_eth_udp()]),
    );
    assert_inner(&pkt(eth_dec(&f)), Tunnel::MplsPw);
    // not IP after the stack
    let f = eth(0x8847, &cat(&[&[0, 0x01, 0x01, 64], &[0x10, 0, 0, 0]]));
    assert_eq!(eth_dec(&f), Decoded::NotIp { ethertype: 0x8847 });
    // truncated: inside the label, or nothing after bottom of stack
    for cut in 14..19 {
        assert_eq!(malformed(eth_dec(&f[..cut])), Malformed::TruncatedMpls);
    }
    // 17 labels without bottom of stack
    let mut labels = Vec::new();
    for _ in 0..17 {
        labels.extend_from_slice(&[0, 1, 0, 64]);
    }
    assert_eq!(
        malformed(eth_dec(&eth(0x8847, &labels))),
        Malformed::TooManyLayers
    );
}

#[test]
fn pppoe_session() {
    let hdr = [0x11, 0x00, 0x12, 0x34, 0x00, 0x20];
    let f = eth(
        0x8864,
        &cat(&[&hdr, &[0x00, 0x21], &ip4(17, &udp(1, 2, b"p"))]),
    );
    assert_eq!(pkt(eth_dec(&f)).payload, b"p");
    let f = eth(
        0x8864,
        &cat(&[&hdr, &[0x00, 0x57], &ip6(17, &udp(1, 2, b"q"))]),
    );
    assert_eq!(pkt(eth_dec(&f)).payload, b"q");
    let f = eth(0x8864, &cat(&[&hdr, &[0xc0, 0x21], &[1, 2, 3, 4]]));
    assert_eq!(eth_dec(&f), Decoded::NotIp { ethertype: 0x8864 });
    for cut in 14..20 {
        assert_eq!(malformed(eth_dec(&f[..cut])), Malformed::TruncatedPppoe);
    }
    assert_eq!(malformed(eth_dec(&f[..21])), Malformed::TruncatedPpp);
}

#[test]
fn llc_snap() {
    let inner = ip4(17, &udp(1, 2, b"s"));
    let body = cat(&[&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], &inner]);
    let f = eth(body.len() as u16, &body);
    assert_eq!(pkt(eth_dec(&f)).payload, b"s");
    // spanning tree (DSAP 0x42) is not IP
    let f = eth(38, &[0x42, 0x42, 0x03, 0, 0, 0]);
    assert_eq!(eth_dec(&f), Decoded::NotIp { ethertype: 0 });
    for cut in 14..17 {
        assert_eq!(malformed(eth_dec(&f[..cut])), Malformed::TruncatedLlc);
    }
    let g = eth(50, &[0xaa, 0xaa, 0x03, 0, 0]);
    assert_eq!(malformed(eth_dec(&g)), Malformed::TruncatedLlc);
}

#[test]
fn pbb_and_fabricpath() {
    let f = eth(0x88e7, &cat(&[&[0, 0, 0, 1], &inner_eth_udp()]));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Pbb);
    let f = eth(0x8903, &cat(&[&[0, 0], &inner_eth_udp()]));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::None);
}

// ---------------------------------------------------------------------------------------------
// Link types

#[test]
fn linux_sll_and_sll2() {
    let ip = ip4(6, &tcp(1, 2, 3, 4, 0x11, b""));
    let sll = cat(&[&[0, 0, 0, 1, 0, 6], &[0; 8], &[0x08, 0x00], &ip]);
    assert_eq!(
        pkt(dec(LinkType::LINUX_SLL, &sll)).tcp_flags,
        TcpFlags(0x11)
    );
    for cut in 0..16 {
        assert_eq!(
            malformed(dec(LinkType::LINUX_SLL, &sll[..cut])),
            Malformed::TruncatedLinkHeader
        );
    }
    // protocol 0x0004: 802.2 LLC frame
    let llc = cat(&[
        &[0, 0, 0, 1, 0, 6],
        &[0; 8],
        &[0x00, 0x04],
        &[0x42, 0x42, 0x03],
    ]);
    assert_eq!(
        dec(LinkType::LINUX_SLL, &llc),
        Decoded::NotIp { ethertype: 0 }
    );
    // netlink
    let nl = cat(&[&[0, 0, 0x03, 0x38, 0, 0], &[0; 8], &[0x00, 0x00], &[0; 16]]);
    assert_eq!(
        dec(LinkType::LINUX_SLL, &nl),
        Decoded::NotIp { ethertype: 0 }
    );
    let sll2 = cat(&[
        &[0x86, 0xdd, 0, 0],
        &[0, 0, 0, 2],
        &[0, 1, 0, 6],
        &[0; 8],
        &ip6(17, &udp(5, 6, b"")),
    ]);
    assert_eq!(pkt(dec(LinkType::LINUX_SLL2, &sll2)).src_port, 5);
    for cut in 0..20 {
        assert_eq!(
            malformed(dec(LinkType::LINUX_SLL2, &sll2[..cut])),
            Malformed::TruncatedLinkHeader
        );
    }
}

#[test]
fn null_and_loop() {
    let v4 = ip4(17, &udp(1, 2, b"n"));
    let v6 = ip6(17, &udp(1, 2, b"6"));
    for fam in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
        assert_eq!(pkt(dec(LinkType::NULL, &cat(&[&fam, &v4]))).payload, b"n");
    }
    for fam in [24u32, 28, 30] {
        for bytes in [fam.to_le_bytes(), fam.to_be_bytes()] {
            assert_eq!(pkt(dec(LinkType::NULL, &cat(&[&bytes, &v6]))).payload, b"6");
        }
    }
    assert_eq!(
        dec(LinkType::NULL, &cat(&[&7u32.to_le_bytes(), &v4])),
        Decoded::NotIp { ethertype: 0 }
    );
    assert_eq!(
        pkt(dec(LinkType::LOOP, &cat(&[&2u32.to_be_bytes(), &v4]))).payload,
        b"n"
    );
    assert_eq!(
        pkt(dec(LinkType::LOOP, &cat(&[&30u32.to_be_bytes(), &v6]))).payload,
        b"6"
    );
    for cut in 0..4 {
        assert_eq!(
            malformed(dec(LinkType::NULL, &v4[..cut])),
            Malformed::TruncatedLinkHeader
        );
        assert_eq!(
            malformed(dec(LinkType::LOOP, &v4[..cut])),
            Malformed::TruncatedLinkHeader
        );
    }
}

#[test]
fn raw_ip_link_types() {
    let v4 = ip4(17, &udp(1, 2, b"4"));
    let v6 = ip6(17, &udp(1, 2, b"6"));
    for lt in [
        LinkType::RAW,
        LinkType::RAW_12,
        LinkType::RAW_14,
        LinkType::IPV4,
        LinkType::IPV6,
    ] {
        assert_eq!(pkt(dec(lt, &v4)).payload, b"4");
        assert_eq!(pkt(dec(lt, &v6)).payload, b"6");
        assert_eq!(malformed(dec(lt, &[])), Malformed::TruncatedIp);
        assert_eq!(malformed(dec(lt, &[0x50; 40])), Malformed::BadIpVersion);
    }
}

#[test]
fn ppp_link_types() {
    let v4 = ip4(17, &udp(1, 2, b"p"));
    assert_eq!(
        pkt(dec(LinkType::PPP, &cat(&[&[0x00, 0x21], &v4]))).payload,
        b"p"
    );
    assert_eq!(pkt(dec(LinkType::PPP, &cat(&[&[0x21], &v4]))).payload, b"p"); // compressed
    assert_eq!(
        pkt(dec(LinkType::PPP, &cat(&[&[0xff, 0x03, 0x00, 0x21], &v4]))).payload,
        b"p"
    );
    assert_eq!(
        pkt(dec(
            LinkType::PPP_HDLC,
            &cat(&[&[0xff, 0x03, 0x00, 0x21], &v4])
        ))
        .payload,
        b"p"
    );
    // Cisco HDLC
    assert_eq!(
        pkt(dec(
            LinkType::PPP_HDLC,
            &cat(&[&[0x0f, 0x00, 0x08, 0x00], &v4])
        ))
        .payload,
        b"p"
    );
    assert_eq!(
        dec(LinkType::PPP, &[0xc0, 0x21, 1]),
        Decoded::NotIp { ethertype: 0 }
    );
    assert_eq!(malformed(dec(LinkType::PPP, &[])), Malformed::TruncatedPpp);
}

#[test]
fn nflog() {
    let v4 = ip4(17, &udp(1, 2, b"nf"));
    let mut f = vec![2, 0, 0, 0]; // AF_INET, version 0, resource id
    // a prefix TLV of 5 bytes (padded to 8), then the payload TLV
    f.extend_from_slice(&[5, 0, 10, 0, b'x', 0, 0, 0]);
    f.extend_from_slice(&((v4.len() + 4) as u16).to_le_bytes());
    f.extend_from_slice(&9u16.to_le_bytes());
    f.extend_from_slice(&v4);
    assert_eq!(pkt(dec(LinkType::NFLOG, &f)).payload, b"nf");
    assert_eq!(
        dec(LinkType::NFLOG, &f[..12]),
        Decoded::NotIp { ethertype: 0 }
    );
    assert_eq!(
        malformed(dec(LinkType::NFLOG, &[2, 0, 0, 0, 2, 0, 9, 0])),
        Malformed::BadNflogTlv
    );
    assert_eq!(
        malformed(dec(LinkType::NFLOG, &[2, 0])),
        Malformed::TruncatedLinkHeader
    );
}

fn wifi_qos_data(payload: &[u8]) -> Vec<u8> {
    // QoS data (type 2, subtype 8), to-DS, 3 addresses, QoS control
    let mut f = vec![0x88, 0x01, 0, 0];
    f.extend_from_slice(&[0; 18]); // 3 addresses
    f.extend_from_slice(&[0, 0]); // sequence control
    f.extend_from_slice(&[0, 0]); // QoS control
    f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
    f.extend_from_slice(payload);
    f
}

#[test]
fn ieee80211_and_radiotap_and_ppi() {
    let v4 = ip4(17, &udp(1, 2, b"w"));
    let w = wifi_qos_data(&v4);
    assert_eq!(pkt(dec(LinkType::IEEE802_11, &w)).payload, b"w");
    for cut in 0..26 {
        assert_eq!(
            malformed(dec(LinkType::IEEE802_11, &w[..cut])),
            Malformed::TruncatedIeee80211,
            "{cut}"
        );
    }
    // beacon (management) and protected frames are not IP
    assert_eq!(
        dec(LinkType::IEEE802_11, &[0x80, 0, 0, 0]),
        Decoded::NotIp { ethertype: 0 }
    );
    let mut prot = w.clone();
    prot[1] |= 0x40;
    assert_eq!(
        dec(LinkType::IEEE802_11, &prot),
        Decoded::NotIp { ethertype: 0 }
    );
    // radiotap of 8 bytes
    let rt = cat(&[&[0, 0, 8, 0, 0, 0, 0, 0], &w]);
    assert_eq!(pkt(dec(LinkType::IEEE802_11_RADIOTAP, &rt)).payload, b"w");
    assert_eq!(
        malformed(dec(LinkType::IEEE802_11_RADIOTAP, &rt[..3])),
        Malformed::TruncatedLinkHeader
    );
    // PPI carrying 802.11
    let ppi = cat(&[&[0, 0, 8, 0], &105u32.to_le_bytes(), &w]);
    assert_eq!(pkt(dec(LinkType::PPI, &ppi)).payload, b"w");
    assert_eq!(
        malformed(dec(LinkType::PPI, &ppi[..7])),
        Malformed::TruncatedLinkHeader
    );
    // PKTAP carrying Ethernet
    let mut pk = vec![0u8; 108];
    pk[0..4].copy_from_slice(&108u32.to_le_bytes());
    pk[4..8].copy_from_slice(&1u32.to_le_bytes());
    pk.extend_from_slice(&eth(0x0800, &v4));
    assert_eq!(pkt(dec(LinkType::PKTAP, &pk)).payload, b"w");
    assert_eq!(
        malformed(dec(LinkType::PKTAP, &pk[..50])),
        Malformed::TruncatedLinkHeader
    );
    // PPI inside PPI inside ... is bounded
    let mut nested = w.clone();
    for _ in 0..40 {
        nested = cat(&[&[0, 0, 8, 0], &192u32.to_le_bytes(), &nested]);
    }
    assert_eq!(
        malformed(dec(LinkType::PPI, &nested)),
        Malformed::TooManyLayers
    );
}

#[test]
fn unsupported_link_type() {
    assert_eq!(
        dec(LinkType(147), &[1, 2, 3]),
        Decoded::UnsupportedLinkType(LinkType(147))
    );
}

// ---------------------------------------------------------------------------------------------
// Tunnels

fn gre(flags: u16, proto: u16, extra: &[u8], payload: &[u8]) -> Vec<u8> {
    cat(&[&flags.to_be_bytes(), &proto.to_be_bytes(), extra, payload])
}

fn over_ip(proto: u8, payload: &[u8]) -> Vec<u8> {
    eth(
        0x0800,
        &ip4_with([1, 1, 1, 1], [2, 2, 2, 2], proto, 9, 0, payload),
    )
}

fn inner_ip_udp() -> Vec<u8> {
    ip4_with(
        [192, 168, 0, 1],
        [192, 168, 0, 2],
        17,
        7,
        0,
        &udp(1000, 2000, b"in"),
    )
}

#[test]
fn gre_variants() {
    // plain GRE carrying IPv4
    let f = over_ip(47, &gre(0, 0x0800, &[], &inner_ip_udp()));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Gre);
    // checksum + key + sequence
    let f = over_ip(47, &gre(0xb000, 0x0800, &[0; 12], &inner_ip_udp()));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Gre);
    // routing present (RFC 1701): checksum/offset word, one SRE, null SRE
    let sres = [0, 0, 0, 0, 0x08, 0x00, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0];
    let f = over_ip(47, &gre(0x4000, 0x0800, &sres, &inner_ip_udp()));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Gre);
    // transparent Ethernet bridging (NVGRE-like with key)
    let f = over_ip(47, &gre(0x2000, 0x6558, &[0; 4], &inner_eth_udp()));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Gre);
    // MPLS over GRE
    let f = over_ip(47, &gre(0, 0x8847, &[0, 1, 1, 64], &inner_ip_udp()));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Gre);
    // IPv6 over GRE
    let f = over_ip(47, &gre(0, 0x86dd, &[], &ip6(17, &udp(1000, 2000, b"in"))));
    assert_eq!(pkt(eth_dec(&f)).tunnel, Tunnel::Gre);
    // WCCP v2 redirect header
    let f = over_ip(47, &gre(0, 0x883e, &[0, 0, 0, 0], &inner_ip_udp()));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Gre);
    // unknown protocol type, unknown version: the GRE packet itself
    for g in [
        gre(0, 0x1234, &[], b"zz"),
        gre(0x0002, 0x0800, &[], &inner_ip_udp()),
    ] {
        assert_eq!(
            eth_dec(&over_ip(47, &g)),
            Decoded::OtherIp {
                src: Addr::from_v4([1, 1, 1, 1]),
                dst: Addr::from_v4([2, 2, 2, 2]),
                proto: IpProto::GRE
            }
        );
    }
    // truncated GRE header / options
    let f = over_ip(47, &gre(0xb000, 0x0800, &[0; 12], &[]));
    let ip_end = 14 + 20;
    for cut in ip_end..ip_end + 16 {
        let mut g = f[..cut].to_vec();
        let total = (cut - 14) as u16;
        g[16..18].copy_from_slice(&total.to_be_bytes());
        assert_eq!(malformed(eth_dec(&g)), Malformed::TruncatedGre, "cut {cut}");
    }
}

#[test]
fn pptp_enhanced_gre() {
    // version 1, K and S set: key (payload length, call id), sequence; PPP ff 03 0021
    let ppp = cat(&[&[0xff, 0x03, 0x00, 0x21], &inner_ip_udp()]);
    let f = over_ip(47, &gre(0x3001, 0x880b, &[0, 0, 0, 1, 0, 0, 0, 5], &ppp));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Pptp);
    // with ack bit
    let f = over_ip(47, &gre(0x3081, 0x880b, &[0; 12], &ppp));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Pptp);
    // compressed (encrypted, protocol 0xfd) PPP: other IP
    let f = over_ip(47, &gre(0x2001, 0x880b, &[0; 4], &[0xfd, 1, 2, 3]));
    assert!(matches!(
        eth_dec(&f),
        Decoded::OtherIp {
            proto: IpProto::GRE,
            ..
        }
    ));
}

#[test]
fn erspan_types() {
    // type I: S bit clear, Ethernet directly
    let f = over_ip(47, &gre(0, 0x88be, &[], &inner_eth_udp()));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Erspan);
    // type II: S bit set, sequence, 8-byte ERSPAN header
    let f = over_ip(
        47,
        &gre(
            0x1000,
            0x88be,
            &[0, 0, 0, 1],
            &cat(&[&[0x10, 0, 0, 1, 0, 0, 0, 0], &inner_eth_udp()]),
        ),
    );
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Erspan);
    // type III without and with the platform subheader
    let e3 = [0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let f = over_ip(
        47,
        &gre(
            0x1000,
            0x22eb,
            &[0, 0, 0, 1],
            &cat(&[&e3, &inner_eth_udp()]),
        ),
    );
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Erspan);
    let mut e3o = e3;
    e3o[11] = 1;
    let f = over_ip(
        47,
        &gre(
            0x1000,
            0x22eb,
            &[0, 0, 0, 1],
            &cat(&[&e3o, &[0; 8], &inner_eth_udp()]),
        ),
    );
    assert_inner(&pkt(eth_dec(&f)), Tunnel::Erspan);
    let f = over_ip(47, &gre(0x1000, 0x22eb, &[0, 0, 0, 1], &e3o));
    assert_eq!(malformed(eth_dec(&f)), Malformed::TruncatedErspan);
    let f = over_ip(47, &gre(0x1000, 0x88be, &[0, 0, 0, 1], &[0x10, 0]));
    assert_eq!(malformed(eth_dec(&f)), Malformed::TruncatedErspan);
}

#[test]
fn udp_tunnels() {
    let outer = |sp: u16, dp: u16, payload: &[u8]| over_ip(17, &udp(sp, dp, payload));
    // VXLAN, either port
    let vx = cat(&[&[0x08, 0, 0, 0, 0, 0, 42, 0], &inner_eth_udp()]);
    assert_inner(&pkt(eth_dec(&outer(5000, 4789, &vx))), Tunnel::Vxlan);
    assert_inner(&pkt(eth_dec(&outer(4789, 5000, &vx))), Tunnel::Vxlan);
    // VXLAN-GPE carrying IPv4 directly
    let gpe = cat(&[&[0x0c, 0, 0, 1, 0, 0, 42, 0], &inner_ip_udp()]);
    assert_inner(&pkt(eth_dec(&outer(5000, 4790, &gpe))), Tunnel::Vxlan);
    // Geneve with 8 bytes of options, Ethernet; and carrying IPv4
    let gn = cat(&[
        &[0x02, 0, 0x65, 0x58, 0, 0, 1, 0],
        &[0; 8],
        &inner_eth_udp(),
    ]);
    assert_inner(&pkt(eth_dec(&outer(5000, 6081, &gn))), Tunnel::Geneve);
    let gn4 = cat(&[&[0x00, 0, 0x08, 0x00, 0, 0, 1, 0], &inner_ip_udp()]);
    assert_inner(&pkt(eth_dec(&outer(5000, 6081, &gn4))), Tunnel::Geneve);
    // GRE in UDP
    let gu = gre(0, 0x0800, &[], &inner_ip_udp());
    assert_inner(&pkt(eth_dec(&outer(5000, 4754, &gu))), Tunnel::GreUdp);
    // GTP-U G-PDU, plain and with sequence number + one extension header
    let gtp = cat(&[
        &[0x30, 0xff],
        &(inner_ip_udp().len() as u16).to_be_bytes(),
        &[0, 0, 0, 1],
        &inner_ip_udp(),
    ]);
    assert_inner(&pkt(eth_dec(&outer(2152, 2152, &gtp))), Tunnel::Gtp);
    let body = cat(&[&[0, 1, 0, 0x85], &[1, 0, 0, 0], &inner_ip_udp()]);
    let gtp = cat(&[
        &[0x36, 0xff],
        &(body.len() as u16).to_be_bytes(),
        &[0, 0, 0, 1],
        &body,
    ]);
    assert_inner(&pkt(eth_dec(&outer(2152, 2152, &gtp))), Tunnel::Gtp);
}

#[test]
fn udp_tunnel_ports_fall_back_to_plain_udp() {
    let outer = |sp: u16, dp: u16, payload: &[u8]| over_ip(17, &udp(sp, dp, payload));
    let cases: Vec<(u16, u16, Vec<u8>)> = vec![
        (5000, 4789, vec![0; 30]), // VXLAN without I flag
        (5000, 4789, vec![0x08, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3]), // inner Ethernet truncated
        (5000, 4789, vec![0x08, 0]), // header truncated
        (5000, 6081, vec![0x40, 0, 0x65, 0x58, 0, 0, 0, 0]), // Geneve version 1
        (5000, 6081, vec![0x00, 0, 0x12, 0x34, 0, 0, 0, 0]), // unknown protocol
        (5000, 6081, vec![0x3f, 0, 0x65, 0x58, 0, 0, 0, 0]), // options past the end
        (5000, 4754, vec![0, 0, 0x12, 0x34]), // GRE unknown protocol
        (3544, 5000, vec![0x60, 0, 0, 0, 0, 0, 17, 64]), // Teredo: short IPv6
        (5000, 3544, vec![0x45; 60]), // Teredo: not IPv6
        (2152, 2152, vec![0x32, 0x01, 0, 0, 0, 0, 0, 0]), // GTP echo request
        (
            5000,
            4789,
            cat(&[&[0x08, 0, 0, 0, 0, 0, 1, 0], &eth(0x0800, &[0x45; 10])]),
        ), // inner IPv4 truncated
    ];
    for (sp, dp, payload) in cases {
        let f = outer(sp, dp, &payload);
        let p = pkt(eth_dec(&f));
        assert_eq!((p.src_port, p.dst_port), (sp, dp));
        assert_eq!(p.payload, &payload[..]);
        assert_eq!(p.tunnel, Tunnel::None);
        assert_eq!(p.src, Addr::from_v4([1, 1, 1, 1]));
    }
    // inner VLAN of a failed tunnel is not reported
    let vx = cat(&[
        &[0x08, 0, 0, 0, 0, 0, 1, 0],
        &eth(0x8100, &[0, 5, 0x08, 0x00, 0x45]),
    ]);
    assert_eq!(pkt(eth_dec(&outer(1, 4789, &vx))).vlan, None);
}

#[test]
fn teredo() {
    let v6 = ip6(17, &udp(1000, 2000, b"t"));
    let f = over_ip(17, &udp(3544, 40000, &v6));
    let p = pkt(eth_dec(&f));
    assert_eq!(
        (p.src_port, p.dst_port, p.tunnel),
        (1000, 2000, Tunnel::Teredo)
    );
    assert_eq!(p.src, Addr::from_v6(V6_SRC));
    // origin indication
    let f = over_ip(
        17,
        &udp(3544, 40000, &cat(&[&[0, 0, 1, 2, 3, 4, 5, 6], &v6])),
    );
    assert_eq!(pkt(eth_dec(&f)).tunnel, Tunnel::Teredo);
    // authentication header (no id, no auth value) then origin indication
    let auth = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let f = over_ip(
        17,
        &udp(40000, 3544, &cat(&[&auth, &[0, 0, 1, 2, 3, 4, 5, 6], &v6])),
    );
    assert_eq!(pkt(eth_dec(&f)).tunnel, Tunnel::Teredo);
}

#[test]
fn ip_in_ip_all_combinations() {
    let in4 = inner_ip_udp();
    let in6 = ip6(17, &udp(1000, 2000, b"in"));
    let f = over_ip(4, &in4);
    assert_inner(&pkt(eth_dec(&f)), Tunnel::IpInIp);
    let f = over_ip(41, &in6);
    assert_eq!(pkt(eth_dec(&f)).tunnel, Tunnel::IpInIp);
    let f = eth(0x86dd, &ip6(4, &in4));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::IpInIp);
    let f = eth(0x86dd, &ip6(41, &in6));
    assert_eq!(pkt(eth_dec(&f)).src, Addr::from_v6(V6_SRC));
    // protocol 4 carrying IPv6 is malformed
    assert_eq!(
        malformed(eth_dec(&over_ip(4, &in6))),
        Malformed::BadIpVersion
    );
}

#[test]
fn nesting_depth_is_bounded() {
    let mut p = inner_ip_udp();
    for _ in 0..14 {
        p = ip4_with([1, 1, 1, 1], [2, 2, 2, 2], 4, 0, 0, &p);
    }
    // Ethernet + 15 IPv4 headers = 16 layers: fine
    assert_inner(&pkt(eth_dec(&eth(0x0800, &p))), Tunnel::IpInIp);
    p = ip4_with([1, 1, 1, 1], [2, 2, 2, 2], 4, 0, 0, &p);
    assert_eq!(
        malformed(eth_dec(&eth(0x0800, &p))),
        Malformed::TooManyLayers
    );
}

#[test]
fn outermost_tunnel_and_vlan_win() {
    // VLAN 7 / GRE / Ethernet VLAN 9 / IPv4 / UDP 4789 VXLAN / Ethernet / IPv4 / UDP
    let vx = cat(&[&[0x08, 0, 0, 0, 0, 0, 1, 0], &inner_eth_udp()]);
    let mid = eth(
        0x8100,
        &cat(&[&[0, 9, 0x08, 0x00], &ip4(17, &udp(5, 4789, &vx))]),
    );
    let outer = ip4_with(
        [1, 1, 1, 1],
        [2, 2, 2, 2],
        47,
        0,
        0,
        &gre(0, 0x6558, &[], &mid),
    );
    let f = eth(0x8100, &cat(&[&[0, 7, 0x08, 0x00], &outer]));
    let p = pkt(eth_dec(&f));
    assert_inner(&p, Tunnel::Gre);
    assert_eq!(p.vlan, Some(7));
}

#[test]
fn fragments_are_held_and_nested_ones_malformed() {
    // A first fragment alone is held.
    let f = eth(
        0x0800,
        &ip4_with(V4_SRC, V4_DST, 17, 5, 0x2000, &udp(1, 2, &[0; 8])),
    );
    assert_eq!(eth_dec(&f), Decoded::FragmentHeld);
    // An IPv6 fragment too.
    let frag = [17, 0, 0, 1, 0, 0, 0, 9];
    let f = eth(0x86dd, &ip6(44, &cat(&[&frag, &udp(1, 2, &[0; 8])])));
    assert_eq!(eth_dec(&f), Decoded::FragmentHeld);
}

#[test]
fn addr_helpers() {
    let a = Addr::from_v4([10, 0, 0, 1]);
    assert!(a.is_v4());
    assert_eq!(a.to_string(), "10.0.0.1");
    assert_eq!(format!("{a:?}"), "10.0.0.1");
    let b = Addr::from_v6(V6_SRC);
    assert!(!b.is_v4());
    assert_eq!(b.to_string(), "2001:db8::1");
    assert_eq!(Addr::from(a.to_ip()), a);
    assert_eq!(Addr::from(b.to_ip()), b);
    assert!(a < b || b < a);
}

#[test]
fn names_are_unique_snake_case() {
    let mut seen = std::collections::HashSet::new();
    for m in Malformed::ALL {
        let s = m.as_str();
        assert!(
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{s}"
        );
        assert!(seen.insert(s), "duplicate {s}");
        assert_eq!(m.to_string(), s);
    }
    let mut seen = std::collections::HashSet::new();
    for t in Tunnel::ALL {
        assert!(seen.insert(t.as_str()));
    }
    assert_eq!(Malformed::TruncatedEthernet.as_str(), "truncated_ethernet");
    assert_eq!(
        Malformed::Ipv4TotalLengthBelowHeader.as_str(),
        "ipv4_total_length_below_header"
    );
}

// ---------------------------------------------------------------------------------------------
// Fast path equivalence

mod fast_path {
    use proptest::prelude::*;
    use sfbflow_capture::LinkType;

    use sfbflow_capture::Record;

    use super::{cat, eth, ip4, ip6, tcp, udp};
    use crate::parse::{Ctx, Out, fast, link, predecode};
    use crate::{Decoder, DecoderConfig};

    fn frame() -> impl Strategy<Value = Vec<u8>> {
        let ports = prop_oneof![
            any::<u16>(),
            prop::sample::select(vec![53u16, 2152, 3544, 4754, 4789, 4790, 6081, 5060])
        ];
        (
            any::<bool>(),
            any::<bool>(),
            prop::sample::select(vec![6u8, 17, 1, 47, 4]),
            ports.clone(),
            ports,
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec((0usize..100, any::<u8>()), 0..4),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(vlan, v6, proto, sp, dp, payload, muts, cut)| {
                let l4 = match proto {
                    6 => tcp(sp, dp, 1, 2, 0x18, &payload),
                    17 => udp(sp, dp, &payload),
                    _ => payload,
                };
                let ip = if v6 { ip6(proto, &l4) } else { ip4(proto, &l4) };
                let mut f = if vlan {
                    eth(
                        0x8100,
                        &cat(&[
                            &[0, 42],
                            &(if v6 { 0x86ddu16 } else { 0x0800 }).to_be_bytes(),
                            &ip,
                        ]),
                    )
                } else {
                    eth(if v6 { 0x86dd } else { 0x0800 }, &ip)
                };
                for (at, b) in muts {
                    if let Some(x) = f.get_mut(at) {
                        *x = b;
                    }
                }
                let keep = cut
                    .index(f.len() + 1)
                    .max(f.len() * usize::from(cut.index(4) != 0));
                f.truncate(keep);
                f
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

        /// Whatever the fast path accepts, the general path decodes identically.
        #[test]
        fn fast_path_agrees_with_general_path(f in frame()) {
            let origlen = f.len() as u32 + 3;
            if let Some(fast_d) = fast(LinkType::ETHERNET, &f, origlen) {
                let mut ctx = Ctx::new(origlen);
                match link(LinkType::ETHERNET, &f, &mut ctx) {
                    Out::Done(general) => prop_assert_eq!(fast_d, general),
                    Out::Frag(_) => prop_assert!(false, "fast path accepted a fragment"),
                }
            }
        }

        /// Predecoded elsewhere, then handed to the decoder: the same answer as decoding the
        /// frame, whichever path takes it; the fast path's frames are marked as such.
        #[test]
        fn predecoded_frames_decode_alike(f in frame(), raw in any::<bool>()) {
            let lt = if raw { LinkType::RAW } else { LinkType::ETHERNET };
            let origlen = f.len() as u32 + 3;
            let rec = Record { ts_nanos: 1, linktype: lt, interface: 0, caplen: f.len() as u32,
                               origlen, data: &f, offset: 0 };
            let pre = predecode(lt, &f);
            prop_assert_eq!(pre.is_packet(), fast(lt, &f, origlen).is_some());
            let mut plain = Decoder::new(DecoderConfig::default());
            let mut ahead = Decoder::new(DecoderConfig::default());
            prop_assert_eq!(ahead.decode_predecoded(&rec, &pre), plain.decode(&rec));
        }
    }

    #[test]
    fn fast_path_takes_the_common_frames() {
        for f in [
            eth(0x0800, &ip4(17, &udp(1, 2, b"x"))),
            eth(0x0800, &ip4(6, &tcp(1, 2, 3, 4, 0x10, b"x"))),
            eth(0x86dd, &ip6(17, &udp(1, 2, b"x"))),
            eth(
                0x8100,
                &cat(&[&[0, 42, 0x08, 0x00], &ip4(17, &udp(1, 2, b"x"))]),
            ),
        ] {
            assert!(fast(LinkType::ETHERNET, &f, 0).is_some());
        }
        // tunnel ports, fragments, other link types: general path
        assert!(
            fast(
                LinkType::ETHERNET,
                &eth(0x0800, &ip4(17, &udp(1, 4789, b"x"))),
                0
            )
            .is_none()
        );
        assert!(fast(LinkType::RAW, &ip4(17, &udp(1, 2, b"x")), 0).is_none());
    }
}

#[test]
fn nsh_cisco_metadata_and_ipv4_ah() {
    // NSH: 6 words of header, next protocol IPv4
    let nsh = [0x0f, 0xc6, 0x01, 0x01, 0, 0, 0, 0x45];
    let f = eth(0x894f, &cat(&[&nsh, &[0; 16], &inner_ip_udp()]));
    assert_inner(&pkt(eth_dec(&f)), Tunnel::None);
    let f = eth(
        0x894f,
        &cat(&[&[0x0f, 0xc2, 0x01, 0x03], &[0; 4], &inner_eth_udp()]),
    );
    assert_inner(&pkt(eth_dec(&f)), Tunnel::None);
    let f = eth(0x894f, &[0x0f, 0xc6, 0x01, 0x01, 0, 0, 0]);
    assert_eq!(malformed(eth_dec(&f)), Malformed::TruncatedNsh);
    let f = eth(0x894f, &[0x0f, 0xc1, 0x01, 0x01, 0, 0, 0, 0]); // length 1 word
    assert_eq!(malformed(eth_dec(&f)), Malformed::TruncatedNsh);
    let f = eth(0x894f, &[0x0f, 0xc2, 0x01, 0x09, 0, 0, 0, 0]);
    assert_eq!(eth_dec(&f), Decoded::NotIp { ethertype: 0x894f });
    // Cisco metadata: 6 bytes then the ethertype
    let f = eth(
        0x8909,
        &cat(&[&[1, 1, 0, 1, 0, 5, 0x08, 0x00], &inner_ip_udp()]),
    );
    assert_inner(&pkt(eth_dec(&f)), Tunnel::None);
    assert_eq!(malformed(eth_dec(&f[..20])), Malformed::TruncatedVlan);
    // IPv4 AH (12 bytes) then UDP
    let ah = [17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
    let p = pkt(eth_dec(&eth(
        0x0800,
        &ip4(51, &cat(&[&ah, &udp(7, 8, b"ah")])),
    )));
    assert_eq!((p.src_port, p.dst_port, p.payload), (7, 8, &b"ah"[..]));
    assert_eq!(
        malformed(eth_dec(&eth(0x0800, &ip4(51, &ah[..6])))),
        Malformed::TruncatedAh
    );
    assert_eq!(
        malformed(eth_dec(&eth(0x0800, &ip4(51, &[17])))),
        Malformed::TruncatedAh
    );
}

#[test]
fn tunnel_ports_on_either_side() {
    let outer = |sp: u16, dp: u16, payload: &[u8]| over_ip(17, &udp(sp, dp, payload));
    // VXLAN-GPE port: next protocol IPv4 even without the P flag (as tshark decodes it)
    let gpe = cat(&[&[0x08, 0, 0, 1, 0, 0, 42, 0], &inner_ip_udp()]);
    assert_inner(&pkt(eth_dec(&outer(4790, 40000, &gpe))), Tunnel::Vxlan);
    assert_inner(&pkt(eth_dec(&outer(40000, 4790, &gpe))), Tunnel::Vxlan);
    // GRE in UDP from the GRE port
    let gu = gre(0, 0x0800, &[], &inner_ip_udp());
    assert_inner(&pkt(eth_dec(&outer(4754, 40000, &gu))), Tunnel::GreUdp);
    // Geneve from the Geneve port
    let gn4 = cat(&[&[0x00, 0, 0x08, 0x00, 0, 0, 1, 0], &inner_ip_udp()]);
    assert_inner(&pkt(eth_dec(&outer(6081, 40000, &gn4))), Tunnel::Geneve);
    // DNS on port 53 passes the bit prefilter (53 = 4789 mod 64) but is plain UDP
    let p = pkt(eth_dec(&outer(53, 40000, b"dns")));
    assert_eq!((p.src_port, p.tunnel), (53, Tunnel::None));
}

#[test]
fn value_sizes_stay_small() {
    // The decode result is returned by value on the hot path.
    assert!(
        std::mem::size_of::<Decoded<'_>>() <= 96,
        "{}",
        std::mem::size_of::<Decoded<'_>>()
    );
    assert!(std::mem::size_of::<Option<Decoded<'_>>>() <= 96);
}
