//! Zero-copy packet decoding for sfbflow: from one captured frame ([`sfbflow_capture::Record`]) to
//! the innermost TCP or UDP packet it carries ([`PacketView`]), through link layers (Ethernet,
//! Linux cooked v1/v2, BSD loopback, raw IP, PPP, NFLOG, 802.11, radiotap, PPI, PKTAP), VLAN tags,
//! MPLS, PPPoE, IPv4/IPv6 (with extension headers) and tunnels (GRE, PPTP, ERSPAN I/II/III, VXLAN,
//! Geneve, IP-in-IP, GRE-in-UDP, Teredo, GTP-U, 802.1ah), plus IPv4/IPv6 fragment reassembly.
//!
//! The decoder is hand-written: a plain Ethernet/IPv4/UDP frame costs a handful of bounds checks
//! and byte loads, with no allocation, no hashing and no dynamic dispatch. The only allocation is
//! the copy of fragments held for reassembly, bounded by [`DecoderConfig`].
//!
//! Every byte of input is read through checked accessors: bad input yields
//! [`Decoded::Malformed`] with a reason, never a panic. Nesting is bounded (16 encapsulations,
//! 8 VLAN tags, 16 MPLS labels, 128 IPv6 extension headers).
//!
//! # Decisions worth knowing
//! - **Tunnels** are classified by their inner flow; [`PacketView::tunnel`] names the outermost
//!   one crossed. UDP tunnels are recognised by port, on either side, the destination first
//!   (VXLAN 4789, VXLAN-GPE 4790, Geneve 6081, GRE-in-UDP 4754, Teredo 3544, GTP-U 2152); a
//!   datagram on such a port whose payload does not decode as the tunnel (bad header, or a
//!   malformed inner packet) is returned as the plain UDP packet.
//! - **TCP** needs its fixed 20-byte header captured ([`Malformed::TruncatedTcp`] otherwise);
//!   options cut by the snapshot length are fine (the captured payload is then empty), as tshark
//!   and Zeek do: a 68-byte snapshot of a SYN with 20 bytes of options still counts.
//! - **IPv4 lengths**: a total length below the captured length trims the link padding; above it,
//!   the snapshot length cut the frame and the header lengths still give `payload_len`. A total
//!   length of 0 (segmentation offload captures) stands for "as captured"; so does an IPv6
//!   payload length of 0 (jumbograms).
//! - **UDP length** inconsistent with the IP length (below 8 or above the IP payload) is ignored
//!   in favour of the IP length.
//! - **Fragments** (IPv4 and IPv6) are reassembled: each fragment frame answers
//!   [`Decoded::FragmentHeld`] until the one completing the datagram, which answers the decoded
//!   datagram (tunnels inside included) with `frames` = the fragment frames (duplicates
//!   included) and `wire_len` their summed original lengths. Duplicate fragments, and overlaps
//!   whose common bytes agree, are accepted. Overlaps whose bytes differ
//!   ([`Malformed::FragmentOverlap`]), conflicting lengths, non-last fragments that are empty or
//!   not a multiple of 8 bytes, and datagrams past 65535 bytes drop the whole datagram: the
//!   offending frame answers `Malformed`, the frames already held are counted in
//!   [`DecodeStats::fragments_discarded`]. A fragment inside a reassembled datagram is
//!   [`Malformed::NestedFragment`]. Fragments cut by the snapshot length still reassemble: the
//!   view exposes the captured prefix and the declared lengths. Datagrams expire
//!   [`DecoderConfig::frag_timeout_nanos`] of capture time after their first fragment (checked
//!   lazily, oldest first); the oldest are evicted past the count and memory bounds; every held
//!   frame is accounted exactly once (see [`DecodeStats`]).
//!
//! ```
//! use sfbflow_capture::{LinkType, Record};
//! use sfbflow_packet::{Decoded, Decoder, DecoderConfig};
//!
//! // Ethernet / IPv4 10.0.0.1 -> 10.0.0.2 / UDP 5060 -> 5061, 2-byte payload.
//! let frame: [u8; 44] = [
//!     0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, // Ethernet, IPv4
//!     0x45, 0, 0, 30, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
//!     0x13, 0xc4, 0x13, 0xc5, 0, 10, 0, 0, // UDP
//!     b'h', b'i',
//! ];
//! let rec = Record { ts_nanos: 0, linktype: LinkType::ETHERNET, interface: 0,
//!                    caplen: 44, origlen: 44, data: &frame, offset: 0 };
//! let mut decoder = Decoder::new(DecoderConfig::default());
//! match decoder.decode(&rec) {
//!     Decoded::Packet(p) => {
//!         assert_eq!(p.src.to_string(), "10.0.0.1");
//!         assert_eq!((p.src_port, p.dst_port), (5060, 5061));
//!         assert_eq!(p.payload, b"hi");
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

mod decoder;
mod frag;
mod parse;
mod types;

pub use decoder::{DecodeStats, Decoder, DecoderConfig};
pub use parse::{Predecoded, predecode};
pub use types::{Addr, Decoded, IpProto, Malformed, PacketView, TcpFlags, Tunnel};

/// Errors of this crate (the per-packet outcome is [`Decoded`], not an error).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A [`DecoderConfig`] field has a value outside its domain.
    #[error("invalid decoder configuration: {field} = {value}")]
    InvalidConfig {
        /// Name of the offending field.
        field: &'static str,
        /// The rejected value.
        value: i64,
    },
}
