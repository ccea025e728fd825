//! Ethernet II / 802.3, VLAN-like tags, MPLS, PPPoE, PPP, 802.2 LLC/SNAP, 802.1ah, FabricPath.

use super::ip::{ipv4, ipv6};
use super::{Ctx, MAX_MPLS_LABELS, MAX_VLAN_TAGS, Out, be16, enter, mal, not_ip};
use crate::types::{Malformed, Tunnel};

/// Ethertypes the decoder follows.
pub(crate) mod et {
    pub(crate) const IPV4: u16 = 0x0800;
    pub(crate) const IPV6: u16 = 0x86dd;
    pub(crate) const VLAN: u16 = 0x8100;
    pub(crate) const QINQ: u16 = 0x88a8;
    pub(crate) const QINQ_OLD1: u16 = 0x9100;
    pub(crate) const QINQ_OLD2: u16 = 0x9200;
    pub(crate) const QINQ_OLD3: u16 = 0x9300;
    pub(crate) const MPLS: u16 = 0x8847;
    pub(crate) const MPLS_MC: u16 = 0x8848;
    pub(crate) const PPPOE_SESSION: u16 = 0x8864;
    pub(crate) const PBB: u16 = 0x88e7;
    pub(crate) const VNTAG: u16 = 0x8926;
    pub(crate) const FABRICPATH: u16 = 0x8903;
    pub(crate) const CISCO_METADATA: u16 = 0x8909;
    pub(crate) const NSH: u16 = 0x894f;
    pub(crate) const TEB: u16 = 0x6558;
    pub(crate) const ERSPAN_II: u16 = 0x88be;
    pub(crate) const ERSPAN_III: u16 = 0x22eb;
    pub(crate) const PPP: u16 = 0x880b;
    pub(crate) const WCCP: u16 = 0x883e;
}

/// An Ethernet II / 802.3 frame starting at the destination MAC.
#[inline]
pub(crate) fn ethernet<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let Some((h, rest)) = data.split_first_chunk::<14>() else {
        return mal(Malformed::TruncatedEthernet);
    };
    ethertype(be16(h[12], h[13]), rest, ctx)
}

/// The payload of an Ethernet header (or anything naming its payload by ethertype), following
/// VLAN-like tags. Values below 0x0600 are 802.3 lengths: an LLC header follows.
#[inline]
pub(crate) fn ethertype<'a>(mut ty: u16, mut data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    let mut tags = 0usize;
    loop {
        match ty {
            et::IPV4 => return ipv4(data, ctx),
            et::IPV6 => return ipv6(data, ctx),
            et::VLAN | et::QINQ | et::QINQ_OLD1 | et::QINQ_OLD2 | et::QINQ_OLD3 => {
                tags += 1;
                if tags > MAX_VLAN_TAGS {
                    return mal(Malformed::TooManyLayers);
                }
                let Some((t, rest)) = data.split_first_chunk::<4>() else {
                    return mal(Malformed::TruncatedVlan);
                };
                if ctx.vlan.is_none() {
                    ctx.vlan = Some(be16(t[0], t[1]) & 0x0fff);
                }
                ty = be16(t[2], t[3]);
                data = rest;
            }
            et::VNTAG => {
                // Cisco VN-tag: 4 bytes of tag, then the next ethertype.
                tags += 1;
                if tags > MAX_VLAN_TAGS {
                    return mal(Malformed::TooManyLayers);
                }
                let Some((t, rest)) = data.split_first_chunk::<6>() else {
                    return mal(Malformed::TruncatedVlan);
                };
                ty = be16(t[4], t[5]);
                data = rest;
            }
            et::CISCO_METADATA => {
                // Cisco metadata (SGT): version, length, option, SGT (6 bytes), next ethertype.
                tags += 1;
                if tags > MAX_VLAN_TAGS {
                    return mal(Malformed::TooManyLayers);
                }
                let Some((t, rest)) = data.split_first_chunk::<8>() else {
                    return mal(Malformed::TruncatedVlan);
                };
                ty = be16(t[6], t[7]);
                data = rest;
            }
            et::NSH => return nsh(data, ctx),
            et::MPLS | et::MPLS_MC => return mpls(data, ctx),
            et::PPPOE_SESSION => return pppoe(data, ctx),
            et::PBB => {
                // I-TAG (4 bytes), then the customer's Ethernet header.
                let Some((_, rest)) = data.split_first_chunk::<4>() else {
                    return mal(Malformed::TruncatedVlan);
                };
                ctx.tunnel(Tunnel::Pbb);
                return ethernet(rest, ctx);
            }
            et::FABRICPATH => {
                // FTag/TTL (2 bytes), then the classical Ethernet frame.
                let Some((_, rest)) = data.split_first_chunk::<2>() else {
                    return mal(Malformed::TruncatedVlan);
                };
                return ethernet(rest, ctx);
            }
            t if t < 0x0600 => return llc(data, ctx),
            t => return not_ip(t),
        }
    }
}

/// An 802.2 LLC header: SNAP (AA AA 03, OUI, ethertype) is followed, anything else is not IP.
pub(crate) fn llc<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let Some((h, rest)) = data.split_first_chunk::<3>() else {
        return mal(Malformed::TruncatedLlc);
    };
    if *h != [0xaa, 0xaa, 0x03] {
        return not_ip(0);
    }
    let Some((snap, rest)) = rest.split_first_chunk::<5>() else {
        return mal(Malformed::TruncatedLlc);
    };
    // The protocol id is an ethertype only under OUI 00-00-00 (RFC 1042) or 00-00-f8 (802.1H);
    // under another OUI it is that organisation's own number (Cisco CDP is 00-00-0c 0x2000).
    let ty = be16(snap[3], snap[4]);
    if snap[0] != 0 || snap[1] != 0 || !matches!(snap[2], 0x00 | 0xf8) || ty < 0x0600 {
        return not_ip(0);
    }
    ethertype(ty, rest, ctx)
}

/// An MPLS label stack: labels up to bottom-of-stack, then IPv4/IPv6 by the first nibble, or a
/// pseudowire control word (nibble 0) followed by Ethernet.
pub(crate) fn mpls<'a>(mut data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    for _ in 0..MAX_MPLS_LABELS {
        let Some((l, rest)) = data.split_first_chunk::<4>() else {
            return mal(Malformed::TruncatedMpls);
        };
        data = rest;
        if l[2] & 0x01 == 0 {
            continue;
        }
        let Some(&first) = data.first() else {
            return mal(Malformed::TruncatedMpls);
        };
        return match first >> 4 {
            4 => ipv4(data, ctx),
            6 => ipv6(data, ctx),
            0 => {
                let Some((_, rest)) = data.split_first_chunk::<4>() else {
                    return mal(Malformed::TruncatedMpls);
                };
                ctx.tunnel(Tunnel::MplsPw);
                ethernet(rest, ctx)
            }
            _ => not_ip(et::MPLS),
        };
    }
    mal(Malformed::TooManyLayers)
}

/// A network service header (RFC 8300): length in 4-byte words (at least 2), then IPv4 (next
/// protocol 1), IPv6 (2), Ethernet (3) or MPLS (5).
fn nsh<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let Some(h) = data.first_chunk::<8>() else {
        return mal(Malformed::TruncatedNsh);
    };
    let len = usize::from(h[1] & 0x3f) * 4;
    let Some(rest) = data.get(len..).filter(|_| len >= 8) else {
        return mal(Malformed::TruncatedNsh);
    };
    match h[3] {
        1 => ipv4(rest, ctx),
        2 => ipv6(rest, ctx),
        3 => ethernet(rest, ctx),
        5 => mpls(rest, ctx),
        _ => not_ip(et::NSH),
    }
}

/// A PPPoE session header (6 bytes) then PPP.
fn pppoe<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let Some((_, rest)) = data.split_first_chunk::<6>() else {
        return mal(Malformed::TruncatedPppoe);
    };
    ppp(rest, ctx).unwrap_or(not_ip(et::PPPOE_SESSION))
}

/// A PPP frame: optional `ff 03` address/control, then a 1- or 2-byte protocol. IPv4, IPv6 and
/// MPLS are followed; `None` for any other protocol.
pub(crate) fn ppp<'a>(data: &'a [u8], ctx: &mut Ctx) -> Option<Out<'a>> {
    if !ctx.enter() {
        return Some(mal(Malformed::TooManyLayers));
    }
    let data = match data {
        [0xff, 0x03, rest @ ..] => rest,
        d => d,
    };
    let (proto, rest) = match data {
        [p, rest @ ..] if p & 0x01 == 1 => (u16::from(*p), rest),
        [a, b, rest @ ..] => (be16(*a, *b), rest),
        _ => return Some(mal(Malformed::TruncatedPpp)),
    };
    match proto {
        0x0021 => Some(ipv4(rest, ctx)),
        0x0057 => Some(ipv6(rest, ctx)),
        0x0281 | 0x0283 => Some(mpls(rest, ctx)),
        _ => None,
    }
}
