//! Public value types of the decoder: addresses, wire-number newtypes, the decoded view and the
//! malformation reasons. All are plain `Copy` values; accessors cannot panic.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sfbflow_capture::LinkType;

/// An IP address, IPv4 stored v4-mapped (`::ffff:a.b.c.d`) so that both families share one
/// fixed-size, totally ordered, hashable key.
///
/// Note: an IPv6 packet whose address is itself v4-mapped is indistinguishable from IPv4 here.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Addr(pub [u8; 16]);

impl Addr {
    /// An IPv4 address, stored v4-mapped.
    #[inline]
    pub const fn from_v4(a: [u8; 4]) -> Self {
        Addr([
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a[0], a[1], a[2], a[3],
        ])
    }

    /// An IPv6 address.
    #[inline]
    pub const fn from_v6(a: [u8; 16]) -> Self {
        Addr(a)
    }

    /// True for a v4-mapped address (an IPv4 address).
    #[inline]
    pub fn is_v4(&self) -> bool {
        matches!(
            self.0,
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, _, _, _, _]
        )
    }

    /// The standard-library address: [`IpAddr::V4`] for v4-mapped addresses, else [`IpAddr::V6`].
    pub fn to_ip(&self) -> IpAddr {
        match self.0 {
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d] => {
                IpAddr::V4(Ipv4Addr::new(a, b, c, d))
            }
            v6 => IpAddr::V6(Ipv6Addr::from(v6)),
        }
    }
}

impl From<IpAddr> for Addr {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Addr::from_v4(v4.octets()),
            IpAddr::V6(v6) => Addr::from_v6(v6.octets()),
        }
    }
}

impl fmt::Display for Addr {
    /// `10.0.0.1` for IPv4, `2001:db8::1` for IPv6.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_ip(), f)
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_ip(), f)
    }
}

/// An IP protocol number (IPv4 protocol / IPv6 next header). Open newtype: any value can appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IpProto(pub u8);

impl IpProto {
    /// IPv6 hop-by-hop options.
    pub const HOPOPT: IpProto = IpProto(0);
    /// ICMP.
    pub const ICMP: IpProto = IpProto(1);
    /// IGMP.
    pub const IGMP: IpProto = IpProto(2);
    /// IPv4 encapsulated in IP (IP-in-IP).
    pub const IPV4: IpProto = IpProto(4);
    /// TCP.
    pub const TCP: IpProto = IpProto(6);
    /// UDP.
    pub const UDP: IpProto = IpProto(17);
    /// IPv6 encapsulated in IP (6in4 / 6in6).
    pub const IPV6: IpProto = IpProto(41);
    /// IPv6 routing header.
    pub const IPV6_ROUTE: IpProto = IpProto(43);
    /// IPv6 fragment header.
    pub const IPV6_FRAG: IpProto = IpProto(44);
    /// GRE.
    pub const GRE: IpProto = IpProto(47);
    /// IPsec ESP.
    pub const ESP: IpProto = IpProto(50);
    /// IPsec AH.
    pub const AH: IpProto = IpProto(51);
    /// ICMPv6.
    pub const ICMPV6: IpProto = IpProto(58);
    /// IPv6 "no next header".
    pub const IPV6_NONXT: IpProto = IpProto(59);
    /// IPv6 destination options.
    pub const IPV6_OPTS: IpProto = IpProto(60);
    /// OSPF.
    pub const OSPF: IpProto = IpProto(89);
    /// PIM.
    pub const PIM: IpProto = IpProto(103);
    /// VRRP.
    pub const VRRP: IpProto = IpProto(112);
    /// SCTP.
    pub const SCTP: IpProto = IpProto(132);
    /// Mobility header (IPv6).
    pub const MOBILITY: IpProto = IpProto(135);
    /// UDP-Lite.
    pub const UDPLITE: IpProto = IpProto(136);
    /// Host Identity Protocol.
    pub const HIP: IpProto = IpProto(139);
    /// Shim6.
    pub const SHIM6: IpProto = IpProto(140);
}

impl fmt::Display for IpProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The 8 TCP flag bits (byte 13 of the TCP header). Open newtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// SYN.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// RST.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// PSH.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// ACK.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// URG.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN echo.
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion window reduced.
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// True when every bit of `f` is set in `self`.
    #[inline]
    pub fn contains(self, f: TcpFlags) -> bool {
        self.0 & f.0 == f.0
    }
}

/// The outermost tunnel a frame's innermost packet was found through (our vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Tunnel {
    /// No tunnel.
    #[default]
    None,
    /// GRE (IP protocol 47), version 0, carrying IP, Ethernet, MPLS or WCCP.
    Gre,
    /// Enhanced GRE version 1 (PPTP) carrying PPP.
    Pptp,
    /// ERSPAN type I, II or III (in GRE).
    Erspan,
    /// VXLAN (UDP port 4789) or VXLAN-GPE (UDP port 4790).
    Vxlan,
    /// Geneve (UDP port 6081).
    Geneve,
    /// IP in IP (protocols 4 and 41, any combination of IPv4/IPv6).
    IpInIp,
    /// Teredo (IPv6 in UDP port 3544).
    Teredo,
    /// GRE in UDP (destination port 4754).
    GreUdp,
    /// GTP-U (UDP port 2152) G-PDU.
    Gtp,
    /// Ethernet pseudowire over MPLS (with control word).
    MplsPw,
    /// IEEE 802.1ah provider backbone bridging (MAC-in-MAC).
    Pbb,
}

impl Tunnel {
    /// Every variant, in declaration order.
    pub const ALL: &'static [Tunnel] = &[
        Tunnel::None,
        Tunnel::Gre,
        Tunnel::Pptp,
        Tunnel::Erspan,
        Tunnel::Vxlan,
        Tunnel::Geneve,
        Tunnel::IpInIp,
        Tunnel::Teredo,
        Tunnel::GreUdp,
        Tunnel::Gtp,
        Tunnel::MplsPw,
        Tunnel::Pbb,
    ];

    /// Snake-case name, for summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Tunnel::None => "none",
            Tunnel::Gre => "gre",
            Tunnel::Pptp => "pptp",
            Tunnel::Erspan => "erspan",
            Tunnel::Vxlan => "vxlan",
            Tunnel::Geneve => "geneve",
            Tunnel::IpInIp => "ip_in_ip",
            Tunnel::Teredo => "teredo",
            Tunnel::GreUdp => "gre_udp",
            Tunnel::Gtp => "gtp",
            Tunnel::MplsPw => "mpls_pw",
            Tunnel::Pbb => "pbb",
        }
    }
}

impl fmt::Display for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The innermost TCP or UDP packet of a frame (or of a reassembled datagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketView<'a> {
    /// Source address.
    pub src: Addr,
    /// Destination address.
    pub dst: Addr,
    /// [`IpProto::TCP`] or [`IpProto::UDP`].
    pub proto: IpProto,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// TCP flags; `TcpFlags(0)` for UDP.
    pub tcp_flags: TcpFlags,
    /// TCP sequence number; 0 for UDP.
    pub tcp_seq: u32,
    /// TCP acknowledgement number; 0 for UDP.
    pub tcp_ack: u32,
    /// L4 payload as captured: at most `payload_len` bytes, fewer when the snapshot length cut
    /// the frame.
    pub payload: &'a [u8],
    /// L4 payload length according to the IP/UDP headers.
    pub payload_len: u32,
    /// Wire frames this view accounts for: 1, or the fragment count of a reassembled datagram
    /// (duplicate fragments included).
    pub frames: u32,
    /// Original (on-the-wire) length summed over those frames.
    pub wire_len: u64,
    /// Outermost VLAN id (of any 802.1Q/802.1ad/QinQ tag, at any tunnel depth), if any.
    pub vlan: Option<u16>,
    /// Outermost tunnel crossed.
    pub tunnel: Tunnel,
}

/// The outcome of decoding one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A TCP or UDP packet.
    Packet(PacketView<'a>),
    /// IP, but not TCP/UDP (ICMP, ESP, OSPF, SCTP, non-IP GRE payloads, ...), with the innermost
    /// IP addresses and protocol reached.
    OtherIp {
        /// Source address.
        src: Addr,
        /// Destination address.
        dst: Addr,
        /// Protocol (for IPv6: the first header that is not an extension header).
        proto: IpProto,
    },
    /// Not IP (ARP, LLDP, STP, ...). `ethertype` is 0 when the frame has no ethertype (802.2 LLC
    /// without SNAP, a non-IP loopback family, a non-IP PPP protocol, non-data 802.11 frames...).
    NotIp {
        /// The ethertype of the first non-IP payload.
        ethertype: u16,
    },
    /// A fragment buffered for reassembly: its frame will be accounted in `frames`/`wire_len` of
    /// the completed datagram, or in the expired/evicted/discarded counters of [`crate::DecodeStats`].
    FragmentHeld,
    /// The frame is malformed; the caller counts it per reason.
    Malformed(Malformed),
    /// The frame's link type is not decoded.
    UnsupportedLinkType(LinkType),
}

macro_rules! malformed {
    ($($(#[$doc:meta])* $v:ident => $s:literal,)*) => {
        /// Why a frame could not be decoded.
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
        pub enum Malformed {
            $($(#[$doc])* #[error($s)] $v,)*
        }

        impl Malformed {
            /// Every reason, in declaration order.
            pub const ALL: &'static [Malformed] = &[$(Malformed::$v,)*];

            /// Snake-case reason name, for summaries.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Malformed::$v => $s,)*
                }
            }
        }
    };
}

malformed! {
    /// The link-layer header (SLL, SLL2, loopback, PPI, PKTAP, radiotap, NFLOG) is cut short.
    TruncatedLinkHeader => "truncated_link_header",
    /// The Ethernet header is cut short.
    TruncatedEthernet => "truncated_ethernet",
    /// A VLAN-like tag (802.1Q/802.1ad/QinQ, VN-tag, Cisco metadata, 802.1ah I-TAG,
    /// FabricPath) is cut short.
    TruncatedVlan => "truncated_vlan",
    /// An MPLS label stack (or pseudowire control word) is cut short.
    TruncatedMpls => "truncated_mpls",
    /// A PPPoE header is cut short.
    TruncatedPppoe => "truncated_pppoe",
    /// A PPP header is cut short.
    TruncatedPpp => "truncated_ppp",
    /// A network service header (NSH) is cut short or has a length below 8 bytes.
    TruncatedNsh => "truncated_nsh",
    /// An 802.2 LLC / SNAP header is cut short.
    TruncatedLlc => "truncated_llc",
    /// An IEEE 802.11 header is cut short.
    TruncatedIeee80211 => "truncated_ieee802_11",
    /// An NFLOG TLV has a length below its own header.
    BadNflogTlv => "bad_nflog_tlv",
    /// Raw IP with no byte at all.
    TruncatedIp => "truncated_ip",
    /// The IP version nibble does not match the encapsulation (or is neither 4 nor 6).
    BadIpVersion => "bad_ip_version",
    /// The IPv4 header is cut short.
    TruncatedIpv4 => "truncated_ipv4",
    /// IPv4 IHL below 5.
    BadIpv4HeaderLength => "bad_ipv4_header_length",
    /// IPv4 total length smaller than the header length.
    Ipv4TotalLengthBelowHeader => "ipv4_total_length_below_header",
    /// The fixed IPv6 header is cut short.
    TruncatedIpv6 => "truncated_ipv6",
    /// An IPv6 extension header is cut short by the capture.
    TruncatedIpv6ExtensionHeader => "truncated_ipv6_extension_header",
    /// An IPv6 extension header extends past the payload length.
    Ipv6ExtensionHeaderBeyondPayload => "ipv6_extension_header_beyond_payload",
    /// More IPv6 extension headers than the decoder follows (128).
    TooManyExtensionHeaders => "too_many_extension_headers",
    /// An IPv4 authentication header is cut short (by the capture or by the IP length).
    TruncatedAh => "truncated_ah",
    /// The fixed TCP header (20 bytes) is cut short, by the capture or by the IP length.
    TruncatedTcp => "truncated_tcp",
    /// TCP data offset below 5 or past the IP payload.
    BadTcpDataOffset => "bad_tcp_data_offset",
    /// The UDP header is cut short (by the capture or by the IP length).
    TruncatedUdp => "truncated_udp",
    /// A GRE header is cut short.
    TruncatedGre => "truncated_gre",
    /// An ERSPAN header is cut short.
    TruncatedErspan => "truncated_erspan",
    /// More nested layers than the decoder follows (16 encapsulations, 8 VLAN tags, 16 MPLS
    /// labels).
    TooManyLayers => "too_many_layers",
    /// Overlapping fragments disagree on the overlapping bytes: the datagram is dropped.
    FragmentOverlap => "fragment_overlap",
    /// Fragments disagree on the datagram's length (two different last fragments, or data past
    /// the last fragment): the datagram is dropped.
    FragmentInconsistentLength => "fragment_inconsistent_length",
    /// A fragment ends past the largest possible datagram (65515 bytes of IPv4 payload, 65535
    /// of IPv6 fragmentable part): the datagram is dropped.
    FragmentTooLong => "fragment_too_long",
    /// A fragment other than the last is empty or not a multiple of 8 bytes: the datagram is
    /// dropped.
    BadFragmentLength => "bad_fragment_length",
    /// A datagram made of more fragments than the decoder holds (2048): it is dropped.
    TooManyFragments => "too_many_fragments",
    /// A fragment inside an already reassembled datagram.
    NestedFragment => "nested_fragment",
}
