//! Link-layer headers: Ethernet, Linux cooked capture v1/v2, BSD loopback (NULL, LOOP), raw IP,
//! PPP, PPP in HDLC framing, NFLOG, IEEE 802.11 (plain, radiotap), PPI and PKTAP.

use sfbflow_capture::LinkType;

use super::ether::{ethernet, ethertype, llc, ppp};
use super::ip::{ip_auto, ipv4, ipv6};
use super::{Ctx, Out, be16, enter, le16_at, le32_at, mal, not_ip};
use crate::types::{Decoded, Malformed};

/// ARPHRD_NETLINK: the SLL protocol field is a netlink family.
const ARPHRD_NETLINK: u16 = 824;
/// SLL protocol value for 802.2 LLC frames.
const SLL_P_802_2: u16 = 0x0004;
/// NFLOG TLV type carrying the packet.
const NFULA_PAYLOAD: u16 = 9;

/// Decode a frame of link type `lt`.
#[inline]
pub(crate) fn link<'a>(lt: LinkType, data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    match lt {
        LinkType::ETHERNET => ethernet(data, ctx),
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 | LinkType::IPV4 | LinkType::IPV6 => {
            ip_auto(data, ctx)
        }
        LinkType::LINUX_SLL => match data.split_first_chunk::<16>() {
            Some((h, rest)) => sll_protocol(be16(h[2], h[3]), be16(h[14], h[15]), rest, ctx),
            None => mal(Malformed::TruncatedLinkHeader),
        },
        LinkType::LINUX_SLL2 => match data.split_first_chunk::<20>() {
            Some((h, rest)) => sll_protocol(be16(h[8], h[9]), be16(h[0], h[1]), rest, ctx),
            None => mal(Malformed::TruncatedLinkHeader),
        },
        LinkType::NULL => match data.split_first_chunk::<4>() {
            // Host byte order of the capturing machine: try both.
            Some((h, rest)) => {
                let le = u32::from_le_bytes(*h);
                let family = if matches!(le, 2 | 24 | 28 | 30) {
                    le
                } else {
                    u32::from_be_bytes(*h)
                };
                loopback(family, rest, ctx)
            }
            None => mal(Malformed::TruncatedLinkHeader),
        },
        LinkType::LOOP => match data.split_first_chunk::<4>() {
            Some((h, rest)) => loopback(u32::from_be_bytes(*h), rest, ctx),
            None => mal(Malformed::TruncatedLinkHeader),
        },
        LinkType::PPP => ppp(data, ctx).unwrap_or(not_ip(0)),
        LinkType::PPP_HDLC => ppp_hdlc(data, ctx),
        LinkType::NFLOG => nflog(data, ctx),
        LinkType::IEEE802_11 => ieee80211(data, ctx),
        LinkType::IEEE802_11_RADIOTAP => {
            enter!(ctx);
            match le16_at(data, 2).and_then(|n| data.get(usize::from(n)..)) {
                Some(rest) => ieee80211(rest, ctx),
                None => mal(Malformed::TruncatedLinkHeader),
            }
        }
        LinkType::PPI => ppi(data, ctx),
        LinkType::PKTAP => pktap(data, ctx),
        lt => Out::Done(Decoded::UnsupportedLinkType(lt)),
    }
}

/// PPI: header length (LE u16 at 2) and inner DLT (LE u32 at 4), then the inner frame.
#[inline(never)]
fn ppi<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let inner = le16_at(data, 2)
        .zip(le32_at(data, 4))
        .and_then(|(n, dlt)| Some((data.get(usize::from(n).max(8)..)?, dlt)));
    match inner {
        Some((rest, dlt)) => link(LinkType(dlt), rest, ctx),
        None => mal(Malformed::TruncatedLinkHeader),
    }
}

/// PKTAP: header length (LE u32 at 0, at least 8) and inner DLT (LE u32 at 4), then the inner
/// frame.
#[inline(never)]
fn pktap<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let inner = le32_at(data, 0)
        .zip(le32_at(data, 4))
        .and_then(|(n, dlt)| Some((data.get(usize::try_from(n).ok()?.max(8)..)?, dlt)));
    match inner {
        Some((rest, dlt)) => link(pktap_dlt(dlt), rest, ctx),
        None => mal(Malformed::TruncatedLinkHeader),
    }
}

/// PKTAP names its inner link type by DLT value; map the ones that differ from LINKTYPE values.
fn pktap_dlt(dlt: u32) -> LinkType {
    match dlt {
        12 => LinkType::RAW, // DLT_RAW on Darwin
        d => LinkType(d),
    }
}

/// Linux cooked capture: protocol field (an ethertype, or a special value below 0x0600).
fn sll_protocol<'a>(hatype: u16, proto: u16, rest: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    if hatype == ARPHRD_NETLINK {
        return not_ip(0);
    }
    match proto {
        SLL_P_802_2 => llc(rest, ctx),
        p if p < 0x0600 => not_ip(0),
        p => ethertype(p, rest, ctx),
    }
}

/// BSD loopback address family: 2 is IPv4; 24, 28 and 30 are IPv6 (NetBSD/OpenBSD, FreeBSD,
/// Darwin).
fn loopback<'a>(family: u32, rest: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    match family {
        2 => ipv4(rest, ctx),
        24 | 28 | 30 => ipv6(rest, ctx),
        _ => not_ip(0),
    }
}

/// PPP in HDLC-like framing (`ff 03` then protocol), or Cisco HDLC (address 0x0f/0x8f, control
/// 0, then an ethertype), both seen under this link type.
fn ppp_hdlc<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    match data {
        [0x0f | 0x8f, 0x00, a, b, rest @ ..] => {
            enter!(ctx);
            ethertype(be16(*a, *b), rest, ctx)
        }
        _ => ppp(data, ctx).unwrap_or(not_ip(0)),
    }
}

/// NFLOG: 4-byte header, then TLVs (little-endian length including the 4-byte TLV header, type,
/// value padded to 4 bytes); the payload TLV holds the IP packet.
fn nflog<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let Some((_, mut rest)) = data.split_first_chunk::<4>() else {
        return mal(Malformed::TruncatedLinkHeader);
    };
    while let Some(tlv) = rest.first_chunk::<4>() {
        let len = usize::from(u16::from_le_bytes([tlv[0], tlv[1]]));
        let ty = u16::from_le_bytes([tlv[2], tlv[3]]) & 0x3fff;
        if len < 4 {
            return mal(Malformed::BadNflogTlv);
        }
        if ty == NFULA_PAYLOAD {
            let value = rest
                .get(4..len)
                .unwrap_or(rest.get(4..).unwrap_or_default());
            return ip_auto(value, ctx);
        }
        let Some(r) = rest.get((len + 3) & !3..) else {
            return mal(Malformed::TruncatedLinkHeader);
        };
        rest = r;
    }
    not_ip(0)
}

/// IEEE 802.11 data frames: header length from the QoS, 4-address and HT-control bits, then LLC.
/// Management, control, null-data, protected and A-MSDU frames are not IP.
fn ieee80211<'a>(data: &'a [u8], ctx: &mut Ctx) -> Out<'a> {
    enter!(ctx);
    let Some(fc) = data.first_chunk::<2>() else {
        return mal(Malformed::TruncatedIeee80211);
    };
    let (fc0, fc1) = (fc[0], fc[1]);
    let ftype = (fc0 >> 2) & 0x03;
    let subtype = fc0 >> 4;
    if fc0 & 0x03 != 0 || ftype != 2 || subtype & 0x04 != 0 || fc1 & 0x40 != 0 {
        return not_ip(0);
    }
    let mut hl = 24;
    if fc1 & 0x03 == 0x03 {
        hl += 6;
    }
    if subtype & 0x08 != 0 {
        // QoS control; bit 7 of its first byte flags an A-MSDU.
        match data.get(hl) {
            Some(q) if q & 0x80 != 0 => return not_ip(0),
            Some(_) => {}
            None => return mal(Malformed::TruncatedIeee80211),
        }
        hl += 2;
        if fc1 & 0x80 != 0 {
            hl += 4;
        }
    }
    match data.get(hl..) {
        Some(rest) => llc(rest, ctx),
        None => mal(Malformed::TruncatedIeee80211),
    }
}
