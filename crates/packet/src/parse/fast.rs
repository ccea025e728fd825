//! The fast path for the common frame: Ethernet, at most one 802.1Q tag, IPv4 (not a fragment)
//! or IPv6 (no extension header), TCP or UDP not on a tunnel port, all lengths consistent. It is
//! a straight line of bounds checks and byte loads. Anything else (or anything wrong) answers
//! `None` and the general path decodes the frame; for what the fast path accepts, both give the
//! same answer (tested).
//!
//! Its answer is a [`Predecoded`]: the view's fields with the payload as offsets into the frame,
//! so it can be computed where the frame was read (a parsing thread, [`predecode`]) and turned
//! into the [`PacketView`] later without reading the frame again.

use sfbflow_capture::LinkType;

use super::be16;
use super::tunnel::is_tunnel_port;
use crate::types::{Addr, Decoded, IpProto, PacketView, TcpFlags, Tunnel};

/// The fast path's answer for one frame, kept without borrowing it: what [`predecode`] returns
/// and [`Decoder::decode_predecoded`](crate::Decoder::decode_predecoded) takes. The default
/// value stands for "not a fast-path frame".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Predecoded {
    src: Addr,
    dst: Addr,
    tcp_seq: u32,
    tcp_ack: u32,
    payload_len: u32,
    payload_end: u32,
    payload_start: u16,
    src_port: u16,
    dst_port: u16,
    vlan: u16,
    has_vlan: bool,
    /// 6 or 17; 0 when the fast path declined the frame.
    proto: u8,
    tcp_flags: u8,
}

impl Predecoded {
    /// Whether the fast path took the frame.
    #[inline]
    pub fn is_packet(&self) -> bool {
        self.proto != 0
    }

    /// The view of `data` (the frame this was computed from) on the wire as `origlen` bytes.
    #[inline(always)]
    pub(crate) fn view(self, data: &[u8], origlen: u32) -> PacketView<'_> {
        let payload = data
            .get(usize::from(self.payload_start)..self.payload_end as usize)
            .unwrap_or_default();
        PacketView {
            src: self.src,
            dst: self.dst,
            proto: IpProto(self.proto),
            src_port: self.src_port,
            dst_port: self.dst_port,
            tcp_flags: TcpFlags(self.tcp_flags),
            tcp_seq: self.tcp_seq,
            tcp_ack: self.tcp_ack,
            payload,
            payload_len: self.payload_len,
            frames: 1,
            wire_len: u64::from(origlen),
            vlan: self.has_vlan.then_some(self.vlan),
            tunnel: Tunnel::None,
        }
    }
}

/// The fast path over one frame of link type `lt`: the default (declined) value for a frame it
/// does not take. A pure function of the frame's bytes, so it may run on another thread than
/// the decoder's.
#[inline]
pub fn predecode(lt: LinkType, data: &[u8]) -> Predecoded {
    parts(lt, data).unwrap_or_default()
}

/// The fast path; `None` means "take the general path".
#[inline(always)]
pub(crate) fn fast(lt: LinkType, data: &[u8], origlen: u32) -> Option<Decoded<'_>> {
    parts(lt, data).map(|p| Decoded::Packet(p.view(data, origlen)))
}

#[inline(always)]
fn parts(lt: LinkType, data: &[u8]) -> Option<Predecoded> {
    if lt != LinkType::ETHERNET {
        return None;
    }
    let (h, mut rest) = data.split_first_chunk::<14>()?;
    let mut et = be16(h[12], h[13]);
    let mut at = 14;
    let mut vlan = None;
    if et == 0x8100 {
        let (t, r) = rest.split_first_chunk::<4>()?;
        vlan = Some(be16(t[0], t[1]) & 0x0fff);
        et = be16(t[2], t[3]);
        rest = r;
        at = 18;
    }
    match et {
        0x0800 => v4(rest, at, vlan),
        0x86dd => v6(rest, at, vlan),
        _ => None,
    }
}

/// `ip`: the frame's bytes from offset `at` on.
#[inline(always)]
fn v4(ip: &[u8], at: usize, vlan: Option<u16>) -> Option<Predecoded> {
    // Version 4, no options, not a fragment (DF allowed).
    let (h, rest) = ip.split_first_chunk::<20>()?;
    let total = usize::from(be16(h[2], h[3]));
    if h[0] != 0x45 || total < 20 || (h[6] & 0x3f) | h[7] != 0 {
        return None;
    }
    let l4 = rest.get(..total - 20).unwrap_or(rest);
    let src = Addr::from_v4([h[12], h[13], h[14], h[15]]);
    let dst = Addr::from_v4([h[16], h[17], h[18], h[19]]);
    transport(h[9], src, dst, l4, at + 20, total - 20, vlan)
}

#[inline(always)]
fn v6(ip: &[u8], at: usize, vlan: Option<u16>) -> Option<Predecoded> {
    let (h, rest) = ip.split_first_chunk::<40>()?;
    let plen = usize::from(be16(h[4], h[5]));
    if h[0] >> 4 != 6 || plen == 0 {
        return None;
    }
    let l4 = rest.get(..plen).unwrap_or(rest);
    let (a, b) = (h.get(8..24)?, h.get(24..40)?);
    let src = Addr::from_v6(<[u8; 16]>::try_from(a).ok()?);
    let dst = Addr::from_v6(<[u8; 16]>::try_from(b).ok()?);
    transport(h[6], src, dst, l4, at + 40, plen, vlan)
}

/// `l4`: the transport header and payload as captured, starting at offset `at` of the frame;
/// `declared`: their length per the IP header.
#[inline(always)]
fn transport(
    proto: u8,
    src: Addr,
    dst: Addr,
    l4: &[u8],
    at: usize,
    declared: usize,
    vlan: Option<u16>,
) -> Option<Predecoded> {
    let view = Predecoded {
        src,
        dst,
        vlan: vlan.unwrap_or(0),
        has_vlan: vlan.is_some(),
        ..Predecoded::default()
    };
    // Offsets within a frame: the frame is at most MAX_RECORD_BYTES, the header part short.
    let start = u16::try_from(at).ok()?;
    match proto {
        17 => {
            let (u, rest) = l4.split_first_chunk::<8>()?;
            let (src_port, dst_port) = (be16(u[0], u[1]), be16(u[2], u[3]));
            let ulen = usize::from(be16(u[4], u[5]));
            if declared < 8 || is_tunnel_port(src_port, dst_port) {
                return None;
            }
            let plen = if ulen >= 8 && ulen <= declared {
                ulen - 8
            } else {
                declared - 8
            };
            let captured = plen.min(rest.len());
            Some(Predecoded {
                proto: 17,
                src_port,
                dst_port,
                payload_start: start.checked_add(8)?,
                payload_end: u32::try_from(at + 8 + captured).ok()?,
                payload_len: plen as u32,
                ..view
            })
        }
        6 => {
            let t = l4.first_chunk::<20>()?;
            let hl = usize::from(t[12] >> 4) * 4;
            if hl < 20 || hl > declared {
                return None;
            }
            Some(Predecoded {
                proto: 6,
                src_port: be16(t[0], t[1]),
                dst_port: be16(t[2], t[3]),
                tcp_flags: t[13],
                tcp_seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
                tcp_ack: u32::from_be_bytes([t[8], t[9], t[10], t[11]]),
                payload_start: u16::try_from(at + hl.min(l4.len())).ok()?,
                payload_end: u32::try_from(at + l4.len()).ok()?,
                payload_len: (declared - hl) as u32,
                ..view
            })
        }
        _ => None,
    }
}
