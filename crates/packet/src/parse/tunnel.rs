//! Tunnels: GRE (versions 0 and 1), ERSPAN I/II/III, WCCP, and the UDP tunnels VXLAN, Geneve,
//! GRE-in-UDP, Teredo and GTP-U.

use super::ether::{et, ethernet, mpls, ppp};
use super::ip::{ip_auto, ipv4, ipv6};
use super::{Ctx, Out, be16, mal};
use crate::types::{Malformed, Tunnel};

/// VXLAN port.
pub(crate) const PORT_VXLAN: u16 = 4789;
/// VXLAN-GPE port.
pub(crate) const PORT_VXLAN_GPE: u16 = 4790;
/// Geneve port.
pub(crate) const PORT_GENEVE: u16 = 6081;
/// GRE-in-UDP port.
pub(crate) const PORT_GRE_UDP: u16 = 4754;
/// Teredo port.
pub(crate) const PORT_TEREDO: u16 = 3544;
/// GTP-U port.
pub(crate) const PORT_GTPU: u16 = 2152;

/// Maximum number of GRE source route entries followed.
const MAX_GRE_SRE: usize = 16;
/// Maximum number of GTP-U extension headers followed.
const MAX_GTP_EXT: usize = 8;

/// A GRE header and its payload. `None` when this is a GRE packet the decoder does not follow
/// (unknown version or protocol type, PPTP carrying non-IP PPP).
pub(crate) fn gre<'a>(data: &'a [u8], ctx: &mut Ctx) -> Option<Out<'a>> {
    if !ctx.enter() {
        return Some(mal(Malformed::TooManyLayers));
    }
    let Some((h, rest)) = data.split_first_chunk::<4>() else {
        return Some(mal(Malformed::TruncatedGre));
    };
    let flags = be16(h[0], h[1]);
    let proto = be16(h[2], h[3]);
    let version = flags & 0x0007;
    let has_c = flags & 0x8000 != 0;
    let has_r = flags & 0x4000 != 0;
    let has_k = flags & 0x2000 != 0;
    let has_s = flags & 0x1000 != 0;
    let opt = match version {
        0 => usize::from(has_c || has_r) * 4 + usize::from(has_k) * 4 + usize::from(has_s) * 4,
        // Enhanced GRE (PPTP, RFC 2637): key (payload length + call id) mandatory, optional
        // sequence and acknowledgement numbers.
        1 if has_k && proto == et::PPP => {
            4 + usize::from(has_s) * 4 + usize::from(flags & 0x0080 != 0) * 4
        }
        _ => return None,
    };
    let Some(mut rest) = rest.get(opt..) else {
        return Some(mal(Malformed::TruncatedGre));
    };
    if version == 0 && has_r {
        // RFC 1701 source route entries, up to the null entry.
        let mut ended = false;
        for _ in 0..MAX_GRE_SRE {
            let Some(sre) = rest.first_chunk::<4>() else {
                return Some(mal(Malformed::TruncatedGre));
            };
            let len = usize::from(sre[3]);
            let Some(r) = rest.get(4 + len..) else {
                return Some(mal(Malformed::TruncatedGre));
            };
            rest = r;
            if len == 0 && sre[0] == 0 && sre[1] == 0 {
                ended = true;
                break;
            }
        }
        if !ended {
            return Some(mal(Malformed::TooManyLayers));
        }
    }
    if version == 1 {
        ctx.tunnel(Tunnel::Pptp);
        return ppp(rest, ctx);
    }
    match proto {
        et::IPV4 => {
            ctx.tunnel(Tunnel::Gre);
            Some(ipv4(rest, ctx))
        }
        et::IPV6 => {
            ctx.tunnel(Tunnel::Gre);
            Some(ipv6(rest, ctx))
        }
        et::TEB => {
            ctx.tunnel(Tunnel::Gre);
            Some(ethernet(rest, ctx))
        }
        et::MPLS | et::MPLS_MC => {
            ctx.tunnel(Tunnel::Gre);
            Some(mpls(rest, ctx))
        }
        et::ERSPAN_II => {
            ctx.tunnel(Tunnel::Erspan);
            // Type II has the sequence-number bit set and an 8-byte ERSPAN header; type I has
            // neither and Ethernet follows the GRE header directly.
            let inner = if has_s {
                let Some((_, r)) = rest.split_first_chunk::<8>() else {
                    return Some(mal(Malformed::TruncatedErspan));
                };
                r
            } else {
                rest
            };
            Some(ethernet(inner, ctx))
        }
        et::ERSPAN_III => {
            ctx.tunnel(Tunnel::Erspan);
            let Some((e, r)) = rest.split_first_chunk::<12>() else {
                return Some(mal(Malformed::TruncatedErspan));
            };
            // O bit: an 8-byte platform-specific subheader follows.
            let inner = if e[11] & 0x01 != 0 {
                let Some((_, r)) = r.split_first_chunk::<8>() else {
                    return Some(mal(Malformed::TruncatedErspan));
                };
                r
            } else {
                r
            };
            Some(ethernet(inner, ctx))
        }
        et::WCCP => {
            ctx.tunnel(Tunnel::Gre);
            // WCCPv2 has a 4-byte redirect header; WCCPv1 carries IPv4 directly.
            let inner = match rest.first() {
                Some(b) if b >> 4 == 4 => rest,
                _ => match rest.split_first_chunk::<4>() {
                    Some((_, r)) => r,
                    None => return Some(mal(Malformed::TruncatedGre)),
                },
            };
            Some(ipv4(inner, ctx))
        }
        _ => None,
    }
}

/// Bit `p % 64` is set for every tunnel port `p`: a cheap superset test.
const TUNNEL_PORT_BITS: u64 = {
    let ports = [
        PORT_VXLAN,
        PORT_VXLAN_GPE,
        PORT_GENEVE,
        PORT_GRE_UDP,
        PORT_TEREDO,
        PORT_GTPU,
    ];
    let mut bits = 0u64;
    let mut i = 0;
    while i < ports.len() {
        bits |= 1 << (ports[i] % 64);
        i += 1;
    }
    bits
};

/// True when a UDP datagram with these ports may be a tunnel the decoder follows.
#[inline(always)]
pub(crate) fn is_tunnel_port(src: u16, dst: u16) -> bool {
    // Most ports fail the one-instruction bit test; the exact test runs for the others.
    ((TUNNEL_PORT_BITS >> (src % 64)) | (TUNNEL_PORT_BITS >> (dst % 64))) & 1 != 0
        && is_tunnel_port_exact(src, dst)
}

/// True for a tunnel port.
#[inline]
fn tunnel_port(p: u16) -> bool {
    matches!(
        p,
        PORT_VXLAN | PORT_VXLAN_GPE | PORT_GENEVE | PORT_GRE_UDP | PORT_TEREDO | PORT_GTPU
    )
}

/// The exact tunnel port test.
#[inline]
fn is_tunnel_port_exact(src: u16, dst: u16) -> bool {
    tunnel_port(dst) || tunnel_port(src)
}

/// The payload of a UDP datagram on a tunnel port (`data` as captured, `declared` its length
/// according to the headers). Ports are matched on either side, the destination first. `None`
/// (or a malformed answer) means "not this tunnel": the caller returns the plain UDP packet.
pub(crate) fn udp_tunnel<'a>(
    src: u16,
    dst: u16,
    data: &'a [u8],
    declared: usize,
    ctx: &mut Ctx,
) -> Option<Out<'a>> {
    let port = if tunnel_port(dst) { dst } else { src };
    match port {
        PORT_VXLAN => vxlan(data, false, ctx),
        PORT_VXLAN_GPE => vxlan(data, true, ctx),
        PORT_GENEVE => geneve(data, ctx),
        PORT_GRE_UDP => {
            ctx.tunnel(Tunnel::GreUdp);
            gre(data, ctx)
        }
        PORT_TEREDO => teredo(data, declared, ctx),
        PORT_GTPU => gtpu(data, declared, ctx),
        _ => None,
    }
}

/// VXLAN (RFC 7348): 8-byte header with the I flag, then Ethernet. VXLAN-GPE (`gpe`, or the P
/// flag on the VXLAN port): the next-protocol byte says what follows: IPv4 (1), IPv6 (2) or
/// Ethernet (3).
fn vxlan<'a>(data: &'a [u8], gpe: bool, ctx: &mut Ctx) -> Option<Out<'a>> {
    let (h, rest) = data.split_first_chunk::<8>()?;
    if h[0] & 0x08 == 0 {
        return None;
    }
    let next = if gpe || h[0] & 0x04 != 0 { h[3] } else { 3 };
    if !matches!(next, 1..=3) {
        return None;
    }
    ctx.tunnel(Tunnel::Vxlan);
    Some(match next {
        1 => ipv4(rest, ctx),
        2 => ipv6(rest, ctx),
        _ => ethernet(rest, ctx),
    })
}

/// Geneve (RFC 8926): version 0, 8 bytes plus options, then Ethernet or IP.
fn geneve<'a>(data: &'a [u8], ctx: &mut Ctx) -> Option<Out<'a>> {
    let (h, rest) = data.split_first_chunk::<8>()?;
    if h[0] >> 6 != 0 {
        return None;
    }
    let rest = rest.get(usize::from(h[0] & 0x3f) * 4..)?;
    let proto = be16(h[2], h[3]);
    if !matches!(proto, et::TEB | et::IPV4 | et::IPV6) {
        return None;
    }
    ctx.tunnel(Tunnel::Geneve);
    Some(match proto {
        et::TEB => ethernet(rest, ctx),
        et::IPV4 => ipv4(rest, ctx),
        _ => ipv6(rest, ctx),
    })
}

/// Teredo (RFC 4380): optional authentication and origin indication, then an IPv6 header whose
/// payload length matches the rest of the datagram.
fn teredo<'a>(data: &'a [u8], declared: usize, ctx: &mut Ctx) -> Option<Out<'a>> {
    let mut d = data;
    let mut skipped = 0usize;
    if let [0x00, 0x01, id_len, au_len, ..] = *d {
        let n = 4 + usize::from(id_len) + usize::from(au_len) + 9;
        d = d.get(n..)?;
        skipped += n;
    }
    if let [0x00, 0x00, ..] = *d {
        d = d.get(8..)?;
        skipped += 8;
    }
    let h = d.first_chunk::<40>()?;
    if h[0] >> 4 != 6 || 40 + usize::from(be16(h[4], h[5])) != declared.checked_sub(skipped)? {
        return None;
    }
    ctx.tunnel(Tunnel::Teredo);
    Some(ipv6(d, ctx))
}

/// GTP-U (3GPP TS 29.281) G-PDU: version 1, protocol type GTP, message type 255, optional
/// sequence/N-PDU/extension headers, then IPv4 or IPv6.
fn gtpu<'a>(data: &'a [u8], declared: usize, ctx: &mut Ctx) -> Option<Out<'a>> {
    let (h, mut rest) = data.split_first_chunk::<8>()?;
    if h[0] & 0xf0 != 0x30 || h[1] != 0xff {
        return None;
    }
    if 8 + usize::from(be16(h[2], h[3])) > declared {
        return None;
    }
    if h[0] & 0x07 != 0 {
        let (opt, r) = rest.split_first_chunk::<4>()?;
        rest = r;
        let mut next = opt[3];
        let mut n = 0;
        while next != 0 {
            n += 1;
            if n > MAX_GTP_EXT {
                return None;
            }
            let len = usize::from(*rest.first()?) * 4;
            if len == 0 {
                return None;
            }
            next = *rest.get(len - 1)?;
            rest = rest.get(len..)?;
        }
    }
    if !matches!(rest.first(), Some(b) if b >> 4 == 4 || b >> 4 == 6) {
        return None;
    }
    ctx.tunnel(Tunnel::Gtp);
    Some(ip_auto(rest, ctx))
}
