//! Packets built with etherparse's PacketBuilder (Ethernet II, VLAN, double VLAN, IPv4/IPv6,
//! TCP/UDP with payloads): our view agrees with etherparse's SlicedPacket.

mod common;

use std::net::IpAddr;

use common::rec;
use etherparse::{
    LinkExtSlice, NetSlice, PacketBuilder, SlicedPacket, TcpHeader, TransportSlice, VlanId,
};
use proptest::prelude::*;
use sfbflow_capture::LinkType;
use sfbflow_packet::{Addr, Decoded, Decoder, IpProto, TcpFlags, Tunnel};

#[derive(Debug, Clone)]
enum Ip {
    V4([u8; 4], [u8; 4]),
    V6([u8; 16], [u8; 16]),
}

#[derive(Debug, Clone)]
enum L4 {
    Udp(u16, u16),
    Tcp(TcpHeader),
}

#[derive(Debug, Clone)]
enum Vlan {
    None,
    Single(u16),
    Double(u16, u16),
}

macro_rules! finish {
    ($step:expr, $ip:expr, $l4:expr, $payload:expr) => {{
        let step = match $ip {
            Ip::V4(s, d) => $step.ipv4(*s, *d, 64),
            Ip::V6(s, d) => $step.ipv6(*s, *d, 64),
        };
        let mut out = Vec::new();
        match $l4 {
            L4::Udp(sp, dp) => step
                .udp(*sp, *dp)
                .write(&mut out, $payload)
                .expect("test input"),
            L4::Tcp(h) => step
                .tcp_header(h.clone())
                .write(&mut out, $payload)
                .expect("test input"),
        }
        out
    }};
}

fn build(vlan: &Vlan, ip: &Ip, l4: &L4, payload: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]);
    match vlan {
        Vlan::None => finish!(eth, ip, l4, payload),
        Vlan::Single(v) => finish!(
            eth.single_vlan(VlanId::try_new(*v).expect("test input")),
            ip,
            l4,
            payload
        ),
        Vlan::Double(o, i) => finish!(
            eth.double_vlan(
                VlanId::try_new(*o).expect("test input"),
                VlanId::try_new(*i).expect("test input")
            ),
            ip,
            l4,
            payload
        ),
    }
}

/// Check our decode of `frame` against etherparse's.
fn cross_check(frame: &[u8]) -> Result<(), TestCaseError> {
    let theirs = SlicedPacket::from_ethernet(frame).expect("etherparse parses its own packets");
    let mut dec = Decoder::default();
    let r = rec(LinkType::ETHERNET, frame, 0);
    let Decoded::Packet(p) = dec.decode(&r) else {
        return Err(TestCaseError::fail("not a packet"));
    };
    let (src, dst) = match theirs.net.as_ref().expect("test input") {
        NetSlice::Ipv4(s) => (
            IpAddr::V4(s.header().source_addr()),
            IpAddr::V4(s.header().destination_addr()),
        ),
        NetSlice::Ipv6(s) => (
            IpAddr::V6(s.header().source_addr()),
            IpAddr::V6(s.header().destination_addr()),
        ),
        NetSlice::Arp(_) => return Err(TestCaseError::fail("arp")),
    };
    prop_assert_eq!(p.src, Addr::from(src));
    prop_assert_eq!(p.dst, Addr::from(dst));
    prop_assert_eq!(p.src.to_ip(), src);
    let vlan = theirs.link_exts.first().and_then(|e| match e {
        LinkExtSlice::Vlan(v) => Some(v.vlan_identifier().value()),
        _ => None,
    });
    prop_assert_eq!(p.vlan, vlan);
    prop_assert_eq!(p.tunnel, Tunnel::None);
    prop_assert_eq!((p.frames, p.wire_len), (1, frame.len() as u64));
    match theirs.transport.as_ref().expect("test input") {
        TransportSlice::Tcp(t) => {
            prop_assert_eq!(p.proto, IpProto::TCP);
            prop_assert_eq!(
                (p.src_port, p.dst_port),
                (t.source_port(), t.destination_port())
            );
            prop_assert_eq!(
                (p.tcp_seq, p.tcp_ack),
                (t.sequence_number(), t.acknowledgment_number())
            );
            let f = p.tcp_flags;
            prop_assert_eq!(f.contains(TcpFlags::FIN), t.fin());
            prop_assert_eq!(f.contains(TcpFlags::SYN), t.syn());
            prop_assert_eq!(f.contains(TcpFlags::RST), t.rst());
            prop_assert_eq!(f.contains(TcpFlags::PSH), t.psh());
            prop_assert_eq!(f.contains(TcpFlags::ACK), t.ack());
            prop_assert_eq!(f.contains(TcpFlags::URG), t.urg());
            prop_assert_eq!(f.contains(TcpFlags::ECE), t.ece());
            prop_assert_eq!(f.contains(TcpFlags::CWR), t.cwr());
            prop_assert_eq!(p.payload, t.payload());
        }
        TransportSlice::Udp(u) => {
            prop_assert_eq!(p.proto, IpProto::UDP);
            prop_assert_eq!(
                (p.src_port, p.dst_port),
                (u.source_port(), u.destination_port())
            );
            prop_assert_eq!((p.tcp_flags, p.tcp_seq, p.tcp_ack), (TcpFlags(0), 0, 0));
            prop_assert_eq!(p.payload, u.payload());
        }
        other => return Err(TestCaseError::fail(format!("{other:?}"))),
    }
    prop_assert_eq!(p.payload_len as usize, p.payload.len());
    Ok(())
}

/// Ports that are not tunnel ports (a random UDP payload there would be tried as a tunnel).
fn port() -> impl Strategy<Value = u16> {
    any::<u16>().prop_filter("not a tunnel port", |p| {
        !matches!(p, 2152 | 3544 | 4754 | 4789 | 4790 | 6081)
    })
}

fn vlan() -> impl Strategy<Value = Vlan> {
    prop_oneof![
        Just(Vlan::None),
        (0u16..4096).prop_map(Vlan::Single),
        (0u16..4096, 0u16..4096).prop_map(|(o, i)| Vlan::Double(o, i)),
    ]
}

fn ip() -> impl Strategy<Value = Ip> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(s, d)| Ip::V4(s, d)),
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(s, d)| Ip::V6(s, d)),
    ]
}

fn l4() -> impl Strategy<Value = L4> {
    prop_oneof![
        (port(), port()).prop_map(|(s, d)| L4::Udp(s, d)),
        (
            port(),
            port(),
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            0usize..5
        )
            .prop_map(|(s, d, seq, ack, flags, win, nops)| {
                let mut h = TcpHeader::new(s, d, seq, win);
                h.acknowledgment_number = ack;
                h.fin = flags & 0x01 != 0;
                h.syn = flags & 0x02 != 0;
                h.rst = flags & 0x04 != 0;
                h.psh = flags & 0x08 != 0;
                h.ack = flags & 0x10 != 0;
                h.urg = flags & 0x20 != 0;
                h.ece = flags & 0x40 != 0;
                h.cwr = flags & 0x80 != 0;
                h.set_options_raw(&vec![1u8; nops * 4]).expect("test input");
                L4::Tcp(h)
            }),
    ]
}

proptest! {
    #[test]
    fn agrees_with_etherparse(
        vlan in vlan(),
        ip in ip(),
        l4 in l4(),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let frame = build(&vlan, &ip, &l4, &payload);
        cross_check(&frame)?;
    }

    /// Cut anywhere: never a panic; a packet's payload is a prefix of the full payload.
    #[test]
    fn truncations_are_consistent(
        vlan in vlan(),
        ip in ip(),
        l4 in l4(),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
        cut in any::<prop::sample::Index>(),
    ) {
        let frame = build(&vlan, &ip, &l4, &payload);
        let cut = cut.index(frame.len() + 1);
        let mut dec = Decoder::default();
        let r = rec(LinkType::ETHERNET, &frame[..cut], 0);
        match dec.decode(&r) {
            Decoded::Packet(p) => {
                prop_assert!(payload.starts_with(p.payload));
                prop_assert_eq!(p.payload_len as usize, payload.len());
            }
            Decoded::Malformed(_) => prop_assert!(cut < frame.len() - payload.len()),
            other => prop_assert!(false, "{:?}", other),
        }
    }
}

#[test]
fn fixed_examples() {
    let mut h = TcpHeader::new(5061, 49152, 0xdead_beef, 1024);
    h.syn = true;
    h.ack = true;
    h.acknowledgment_number = 7;
    for vlan in [Vlan::None, Vlan::Single(100), Vlan::Double(10, 20)] {
        for ip in [
            Ip::V4([10, 0, 0, 1], [10, 0, 0, 2]),
            Ip::V6([0x20; 16], [0xfe; 16]),
        ] {
            for l4 in [L4::Udp(3478, 50000), L4::Tcp(h.clone())] {
                cross_check(&build(&vlan, &ip, &l4, b"hello")).expect("test input");
            }
        }
    }
}
