//! IPv4, IPv6 (extension header chain, fragments), TCP and UDP.

use super::tunnel::{gre, udp_tunnel};
use super::{Ctx, FragPiece, MAX_EXT_HEADERS, Out, be16, enter, mal};
use crate::frag::FragKey;
use crate::types::{Addr, Decoded, IpProto, Malformed, PacketView, TcpFlags, Tunnel};

/// IPv4 or IPv6 according to the version nibble.
#[inline]
pub(crate) fn ip_auto<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    match data.first() {
        Some(b) if b >> 4 == 4 => ipv4(data, ctx),
        Some(b) if b >> 4 == 6 => ipv6(data, ctx),
        Some(_) => mal(Malformed::BadIpVersion),
        None => mal(Malformed::TruncatedIp),
    }
}

/// An IPv4 header and what it carries.
///
/// Total length below the captured length trims the padding; above it, the snapshot length cut
/// the frame (the declared length still counts). A total length of 0 (TCP segmentation offload
/// captures) stands for "as captured".
#[inline]
pub(crate) fn ipv4<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let Some(h) = data.first_chunk::<20>() else {
        return mal(Malformed::TruncatedIpv4);
    };
    if h[0] >> 4 != 4 {
        return mal(Malformed::BadIpVersion);
    }
    let hl = usize::from(h[0] & 0x0f) * 4;
    if hl < 20 {
        return mal(Malformed::BadIpv4HeaderLength);
    }
    let total = match usize::from(be16(h[2], h[3])) {
        0 => data.len(),
        t => t,
    };
    if total < hl {
        return mal(Malformed::Ipv4TotalLengthBelowHeader);
    }
    let Some(payload) = data.get(hl..total.min(data.len())) else {
        return mal(Malformed::TruncatedIpv4);
    };
    let declared = total - hl;
    let src = Addr::from_v4([h[12], h[13], h[14], h[15]]);
    let dst = Addr::from_v4([h[16], h[17], h[18], h[19]]);
    let proto = h[9];
    let frag = be16(h[6], h[7]);
    if frag & 0x3fff != 0 {
        // MF set or offset non-zero.
        if ctx.reassembled {
            return mal(Malformed::NestedFragment);
        }
        return Out::Frag(FragPiece {
            key: FragKey::v4(src, dst, be16(h[4], h[5]), proto),
            offset: u32::from(frag & 0x1fff) * 8,
            more: frag & 0x2000 != 0,
            data: payload,
            len: u32::try_from(declared).unwrap_or(u32::MAX),
            next_header: proto,
            ctx: *ctx,
        });
    }
    ip_payload(proto, src, dst, payload, declared, ctx)
}

/// An IPv6 header and what it carries. A payload length of 0 (jumbogram, or segmentation
/// offload) stands for "as captured".
#[inline]
pub(crate) fn ipv6<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let Some((h, rest)) = data.split_first_chunk::<40>() else {
        return mal(Malformed::TruncatedIpv6);
    };
    if h[0] >> 4 != 6 {
        return mal(Malformed::BadIpVersion);
    }
    let (payload, declared) = match usize::from(be16(h[4], h[5])) {
        0 => (rest, rest.len()),
        plen => (rest.get(..plen).unwrap_or(rest), plen),
    };
    let mut s = [0u8; 16];
    let mut d = [0u8; 16];
    if let (Some(a), Some(b)) = (h.get(8..24), h.get(24..40)) {
        s.copy_from_slice(a);
        d.copy_from_slice(b);
    }
    ipv6_ext(
        h[6],
        Addr::from_v6(s),
        Addr::from_v6(d),
        payload,
        declared,
        ctx,
    )
}

/// The IPv6 extension header chain starting with next header `nh`, then the upper layer.
pub(crate) fn ipv6_ext<'a>(
    mut nh: u8,
    src: Addr,
    dst: Addr,
    mut data: &'a [u8],
    mut declared: usize,
    ctx: &mut Ctx,
) -> Out<'a> {
    for _ in 0..MAX_EXT_HEADERS {
        match nh {
            // hop-by-hop, routing, destination options, mobility, HIP, shim6, AH
            0 | 43 | 60 | 135 | 139 | 140 | 51 => {
                let Some(e) = data.first_chunk::<2>() else {
                    return mal(if declared < 2 {
                        Malformed::Ipv6ExtensionHeaderBeyondPayload
                    } else {
                        Malformed::TruncatedIpv6ExtensionHeader
                    });
                };
                let len = if nh == 51 {
                    (usize::from(e[1]) + 2) * 4
                } else {
                    (usize::from(e[1]) + 1) * 8
                };
                if len > declared {
                    return mal(Malformed::Ipv6ExtensionHeaderBeyondPayload);
                }
                let Some(rest) = data.get(len..) else {
                    return mal(Malformed::TruncatedIpv6ExtensionHeader);
                };
                nh = e[0];
                data = rest;
                declared -= len;
            }
            44 => {
                if declared < 8 {
                    return mal(Malformed::Ipv6ExtensionHeaderBeyondPayload);
                }
                let Some((f, rest)) = data.split_first_chunk::<8>() else {
                    return mal(Malformed::TruncatedIpv6ExtensionHeader);
                };
                declared -= 8;
                let off = be16(f[2], f[3]);
                let more = off & 0x0001 != 0;
                let offset = u32::from(off & 0xfff8);
                if offset == 0 && !more {
                    // Atomic fragment (RFC 6946): not a fragment.
                    nh = f[0];
                    data = rest;
                    continue;
                }
                if ctx.reassembled {
                    return mal(Malformed::NestedFragment);
                }
                return Out::Frag(FragPiece {
                    key: FragKey::v6(src, dst, u32::from_be_bytes([f[4], f[5], f[6], f[7]])),
                    offset,
                    more,
                    data: rest,
                    len: u32::try_from(declared).unwrap_or(u32::MAX),
                    next_header: f[0],
                    ctx: *ctx,
                });
            }
            _ => return ip_payload(nh, src, dst, data, declared, ctx),
        }
    }
    mal(Malformed::TooManyExtensionHeaders)
}

/// The upper layer of an IP packet: `data` is the payload as captured (at most `declared`
/// bytes), `declared` its length according to the IP header.
#[inline]
pub(crate) fn ip_payload<'a>(
    proto: u8,
    src: Addr,
    dst: Addr,
    data: &'a [u8],
    declared: usize,
    ctx: &mut Ctx,
) -> Out<'a> {
    match proto {
        17 => udp(src, dst, data, declared, ctx),
        6 => tcp(src, dst, data, declared, ctx),
        47 => gre(data, ctx).unwrap_or(Out::Done(Decoded::OtherIp {
            src,
            dst,
            proto: IpProto::GRE,
        })),
        4 => {
            ctx.tunnel(Tunnel::IpInIp);
            ipv4(data, ctx)
        }
        41 => {
            ctx.tunnel(Tunnel::IpInIp);
            ipv6(data, ctx)
        }
        // IPsec AH over IPv4 (IPv6 walks it as an extension header): skip it.
        51 => {
            enter!(ctx);
            let Some(e) = data.first_chunk::<2>() else {
                return mal(Malformed::TruncatedAh);
            };
            let len = (usize::from(e[1]) + 2) * 4;
            let Some(rest) = data.get(len..).filter(|_| len <= declared) else {
                return mal(Malformed::TruncatedAh);
            };
            ip_payload(e[0], src, dst, rest, declared - len, ctx)
        }
        p => Out::Done(Decoded::OtherIp {
            src,
            dst,
            proto: IpProto(p),
        }),
    }
}

/// A TCP header: the fixed 20 bytes must be captured; the data offset must be at least 5 and
/// within the IP payload (options cut by the capture are fine: the captured payload is empty).
#[inline]
fn tcp<'a>(src: Addr, dst: Addr, data: &'a [u8], declared: usize, ctx: &Ctx) -> Out<'a> {
    if declared < 20 {
        return mal(Malformed::TruncatedTcp);
    }
    let Some(h) = data.first_chunk::<20>() else {
        return mal(Malformed::TruncatedTcp);
    };
    let hl = usize::from(h[12] >> 4) * 4;
    if hl < 20 || hl > declared {
        return mal(Malformed::BadTcpDataOffset);
    }
    // Options cut by the capture: the fixed header has all we need; nothing of the payload.
    let payload = data.get(hl.min(data.len())..).unwrap_or_default();
    Out::Done(Decoded::Packet(PacketView {
        src,
        dst,
        proto: IpProto::TCP,
        src_port: be16(h[0], h[1]),
        dst_port: be16(h[2], h[3]),
        tcp_flags: TcpFlags(h[13]),
        tcp_seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        tcp_ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        payload,
        payload_len: u32::try_from(declared - hl).unwrap_or(u32::MAX),
        frames: ctx.frames,
        wire_len: ctx.wire_len,
        vlan: ctx.vlan,
        tunnel: ctx.tunnel,
    }))
}

/// A UDP header. The payload length is the UDP length minus 8 when it is consistent with the IP
/// length (8 <= UDP length <= IP payload length), else the IP payload length minus 8 (UDP length
/// 0 of IPv6 jumbograms, bogus lengths). Datagrams on tunnel ports are tried as the tunnel first
/// and fall back to plain UDP when the tunnel does not decode.
#[inline]
fn udp<'a>(src: Addr, dst: Addr, data: &'a [u8], declared: usize, ctx: &mut Ctx) -> Out<'a> {
    let Some((h, rest)) = data.split_first_chunk::<8>() else {
        return mal(Malformed::TruncatedUdp);
    };
    if declared < 8 {
        return mal(Malformed::TruncatedUdp);
    }
    let ulen = usize::from(be16(h[4], h[5]));
    let plen = if ulen >= 8 && ulen <= declared {
        ulen - 8
    } else {
        declared - 8
    };
    let payload = rest.get(..plen).unwrap_or(rest);
    let src_port = be16(h[0], h[1]);
    let dst_port = be16(h[2], h[3]);
    if super::tunnel::is_tunnel_port(src_port, dst_port) {
        let saved = *ctx;
        match udp_tunnel(src_port, dst_port, payload, plen, ctx) {
            Some(Out::Done(Decoded::Malformed(_))) | None => *ctx = saved,
            Some(out) => return out,
        }
    }
    Out::Done(Decoded::Packet(PacketView {
        src,
        dst,
        proto: IpProto::UDP,
        src_port,
        dst_port,
        tcp_flags: TcpFlags(0),
        tcp_seq: 0,
        tcp_ack: 0,
        payload,
        payload_len: u32::try_from(plen).unwrap_or(u32::MAX),
        frames: ctx.frames,
        wire_len: ctx.wire_len,
        vlan: ctx.vlan,
        tunnel: ctx.tunnel,
    }))
}
