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
//! [`Decoded::Malformed`] with a reason, never a panic.
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
