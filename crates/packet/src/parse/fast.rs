//! The fast path for the common frame: Ethernet, at most one 802.1Q tag, IPv4 (not a fragment)
//! or IPv6 (no extension header), TCP or UDP not on a tunnel port, all lengths consistent. It is
//! a straight line of bounds checks and byte loads building the view directly. Anything else
//! (or anything wrong) answers `None` and the general path decodes the frame; for what the fast
//! path accepts, both give the same answer (tested).

use sfbflow_capture::LinkType;

use super::be16;
use super::tunnel::is_tunnel_port;
use crate::types::{Addr, Decoded, IpProto, PacketView, TcpFlags, Tunnel};

/// The fast path; `None` means "take the general path".
#[inline(always)]
pub(crate) fn fast(lt: LinkType, data: &[u8], origlen: u32) -> Option<Decoded<'_>> {
    if lt != LinkType::ETHERNET {
        return None;
    }
    let (h, mut rest) = data.split_first_chunk::<14>()?;
    let mut et = be16(h[12], h[13]);
    let mut vlan = None;
    if et == 0x8100 {
        let (t, r) = rest.split_first_chunk::<4>()?;
        vlan = Some(be16(t[0], t[1]) & 0x0fff);
        et = be16(t[2], t[3]);
        rest = r;
    }
    match et {
        0x0800 => v4(rest, vlan, origlen),
        0x86dd => v6(rest, vlan, origlen),
        _ => None,
    }
}

#[inline(always)]
fn v4(ip: &[u8], vlan: Option<u16>, origlen: u32) -> Option<Decoded<'_>> {
    // Version 4, no options, not a fragment (DF allowed).
    let (h, rest) = ip.split_first_chunk::<20>()?;
    let total = usize::from(be16(h[2], h[3]));
    if h[0] != 0x45 || total < 20 || (h[6] & 0x3f) | h[7] != 0 {
        return None;
    }
    let l4 = rest.get(..total - 20).unwrap_or(rest);
    let src = Addr::from_v4([h[12], h[13], h[14], h[15]]);
    let dst = Addr::from_v4([h[16], h[17], h[18], h[19]]);
    transport(h[9], src, dst, l4, total - 20, vlan, origlen)
}

#[inline(always)]
fn v6(ip: &[u8], vlan: Option<u16>, origlen: u32) -> Option<Decoded<'_>> {
    let (h, rest) = ip.split_first_chunk::<40>()?;
    let plen = usize::from(be16(h[4], h[5]));
    if h[0] >> 4 != 6 || plen == 0 {
        return None;
    }
    let l4 = rest.get(..plen).unwrap_or(rest);
    let (a, b) = (h.get(8..24)?, h.get(24..40)?);
    let src = Addr::from_v6(<[u8; 16]>::try_from(a).ok()?);
    let dst = Addr::from_v6(<[u8; 16]>::try_from(b).ok()?);
    transport(h[6], src, dst, l4, plen, vlan, origlen)
}

#[inline(always)]
fn transport<'a>(
    proto: u8,
    src: Addr,
    dst: Addr,
    l4: &'a [u8],
    declared: usize,
    vlan: Option<u16>,
    origlen: u32,
) -> Option<Decoded<'a>> {
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
            Some(Decoded::Packet(PacketView {
                src,
                dst,
                proto: IpProto::UDP,
                src_port,
                dst_port,
                tcp_flags: TcpFlags(0),
                tcp_seq: 0,
                tcp_ack: 0,
                payload: rest.get(..plen).unwrap_or(rest),
                payload_len: plen as u32,
                frames: 1,
                wire_len: u64::from(origlen),
                vlan,
                tunnel: Tunnel::None,
            }))
        }
        6 => {
            let t = l4.first_chunk::<20>()?;
            let hl = usize::from(t[12] >> 4) * 4;
            if hl < 20 || hl > declared {
                return None;
            }
            Some(Decoded::Packet(PacketView {
                src,
                dst,
                proto: IpProto::TCP,
                src_port: be16(t[0], t[1]),
                dst_port: be16(t[2], t[3]),
                tcp_flags: TcpFlags(t[13]),
                tcp_seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
                tcp_ack: u32::from_be_bytes([t[8], t[9], t[10], t[11]]),
                payload: l4.get(hl.min(l4.len())..).unwrap_or_default(),
                payload_len: (declared - hl) as u32,
                frames: 1,
                wire_len: u64::from(origlen),
                vlan,
                tunnel: Tunnel::None,
            }))
        }
        _ => None,
    }
}
