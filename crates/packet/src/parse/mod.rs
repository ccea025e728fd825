//! The layer parsers. Each takes the bytes of its layer (as captured, already trimmed to the
//! length the enclosing layer declares) and a [`Ctx`] carrying what outer layers established.
//! They only read through checked accessors (`split_first_chunk`, `get`), so no input can make
//! them panic; recursion is bounded by [`MAX_LAYERS`].

mod ether;
mod fast;
mod ip;
mod link;
mod tunnel;

#[cfg(test)]
mod tests;

use crate::frag::FragKey;
use crate::types::{Decoded, Malformed, Tunnel};

pub(crate) use fast::fast;
pub use fast::{Predecoded, predecode};
pub(crate) use ip::{ip_payload, ipv6_ext};
pub(crate) use link::link;

/// Maximum number of encapsulation layers (Ethernet, IP, GRE, MPLS stacks, PPP/PPPoE, LLC, link
/// headers wrapping link headers) decoded in one frame.
pub(crate) const MAX_LAYERS: u8 = 16;
/// Maximum number of VLAN-like tags per Ethernet header.
pub(crate) const MAX_VLAN_TAGS: usize = 8;
/// Maximum number of MPLS labels per label stack.
pub(crate) const MAX_MPLS_LABELS: usize = 16;
/// Maximum number of IPv6 extension headers per IPv6 header (generous: each one is at least 8
/// bytes, so the walk is bounded by the packet anyway; real chains are short, but test suites
/// carry chains of 100).
pub(crate) const MAX_EXT_HEADERS: usize = 128;

/// What outer layers established, copied into the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ctx {
    /// Frames accounted by the view (1, or the fragment count of a reassembled datagram).
    pub(crate) frames: u32,
    /// Wire length summed over those frames.
    pub(crate) wire_len: u64,
    /// Outermost VLAN id seen.
    pub(crate) vlan: Option<u16>,
    /// Outermost tunnel crossed.
    pub(crate) tunnel: Tunnel,
    /// Encapsulation layers entered so far.
    pub(crate) layers: u8,
    /// Decoding the inside of a reassembled datagram: further fragments are malformed.
    pub(crate) reassembled: bool,
}

impl Ctx {
    /// Context for one frame of `origlen` wire bytes.
    #[inline]
    pub(crate) fn new(origlen: u32) -> Self {
        Ctx {
            frames: 1,
            wire_len: u64::from(origlen),
            vlan: None,
            tunnel: Tunnel::None,
            layers: 0,
            reassembled: false,
        }
    }

    /// Count one more layer; false once the bound is exceeded.
    #[inline]
    fn enter(&mut self) -> bool {
        self.layers = self.layers.saturating_add(1);
        self.layers <= MAX_LAYERS
    }

    /// Record `t` as the tunnel unless an outer one was already recorded.
    #[inline]
    fn tunnel(&mut self, t: Tunnel) {
        if self.tunnel == Tunnel::None {
            self.tunnel = t;
        }
    }
}

/// One fragment found by the parsers, to be handed to the reassembly table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FragPiece<'a> {
    /// Datagram identity.
    pub(crate) key: FragKey,
    /// Byte offset of this fragment's data in the datagram's fragmentable part.
    pub(crate) offset: u32,
    /// More fragments follow (MF / M flag).
    pub(crate) more: bool,
    /// The fragment's data as captured (at most `len` bytes).
    pub(crate) data: &'a [u8],
    /// The fragment's data length according to the IP header.
    pub(crate) len: u32,
    /// Protocol of the fragmentable part (IPv4 protocol; IPv6 fragment header's next header).
    pub(crate) next_header: u8,
    /// Context of the frame, used to decode the completed datagram.
    pub(crate) ctx: Ctx,
}

/// Result of the layer parsers.
#[derive(Debug)]
pub(crate) enum Out<'a> {
    /// Final answer for the frame.
    Done(Decoded<'a>),
    /// A fragment to reassemble.
    Frag(FragPiece<'a>),
}

/// A final malformed answer.
#[inline]
pub(crate) fn mal<'a>(m: Malformed) -> Out<'a> {
    Out::Done(Decoded::Malformed(m))
}

/// A final not-IP answer.
#[inline]
pub(crate) fn not_ip<'a>(ethertype: u16) -> Out<'a> {
    Out::Done(Decoded::NotIp { ethertype })
}

/// Big-endian u16 from two bytes.
#[inline(always)]
pub(crate) fn be16(a: u8, b: u8) -> u16 {
    u16::from_be_bytes([a, b])
}

/// Little-endian u16 at `off`, if present.
#[inline]
pub(crate) fn le16_at(d: &[u8], off: usize) -> Option<u16> {
    d.get(off..)?
        .first_chunk::<2>()
        .map(|b| u16::from_le_bytes(*b))
}

/// Little-endian u32 at `off`, if present.
#[inline]
pub(crate) fn le32_at(d: &[u8], off: usize) -> Option<u32> {
    d.get(off..)?
        .first_chunk::<4>()
        .map(|b| u32::from_le_bytes(*b))
}

/// Count a layer in `$ctx`, returning `TooManyLayers` from the enclosing function past the bound.
macro_rules! enter {
    ($ctx:expr) => {
        if !$ctx.enter() {
            return $crate::parse::mal($crate::types::Malformed::TooManyLayers);
        }
    };
}
pub(crate) use enter;
