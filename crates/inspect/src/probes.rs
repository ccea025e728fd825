//! The byte-level probes. Each reads a payload through `get`, never indexes it, and decides from
//! the first bytes only.

use crate::bytes::{be16, be32};

use crate::AppProtocol;

/// A TLS record header: handshake, application data, alert or change-cipher-spec, version 3.x.
fn is_tls(p: &[u8]) -> bool {
    let record = matches!(p.first(), Some(0x14..=0x17))
        && p.get(1) == Some(&0x03)
        && p.get(2).is_some_and(|v| *v <= 0x04)
        && be16(p, 3).is_some_and(|len| len > 0 && len <= 18432);
    record || is_sslv2_client_hello(p)
}

/// An SSL 2.0-compatible ClientHello (RFC 5246 Appendix E.2), which older clients (Skype among
/// them) open TLS 1.0 connections with: a 2-byte header with the top bit set and the length,
/// message type 1 (CLIENT-HELLO), version 3.x, and cipher-spec, session-id and challenge lengths
/// that add up to the record.
fn is_sslv2_client_hello(p: &[u8]) -> bool {
    let Some(header) = be16(p, 0) else {
        return false;
    };
    let len = usize::from(header & 0x7fff);
    let (Some(specs), Some(session), Some(challenge)) = (be16(p, 5), be16(p, 7), be16(p, 9)) else {
        return false;
    };
    header & 0x8000 != 0
        && p.get(2) == Some(&0x01)
        && p.get(3) == Some(&0x03)
        && p.get(4).is_some_and(|v| *v <= 0x03)
        && specs > 0
        && specs % 3 == 0
        && usize::from(specs) + usize::from(session) + usize::from(challenge) + 9 == len
}

const SIP_METHODS: [&[u8]; 17] = [
    b"INVITE ",
    b"ACK ",
    b"BYE ",
    b"CANCEL ",
    b"OPTIONS ",
    b"REGISTER ",
    b"PRACK ",
    b"SUBSCRIBE ",
    b"NOTIFY ",
    b"PUBLISH ",
    b"INFO ",
    b"REFER ",
    b"MESSAGE ",
    b"UPDATE ",
    // Microsoft's extensions ([MS-SIPRE], [MS-PRES]): Lync and Skype for Business send these.
    b"NEGOTIATE ",
    b"SERVICE ",
    b"BENOTIFY ",
];
const HTTP_METHODS: [&[u8]; 8] = [
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"PATCH ",
];

/// The first line of a text payload, at most 512 bytes, without its line ending.
fn first_line(p: &[u8]) -> &[u8] {
    let window = p.get(..p.len().min(512)).unwrap_or_default();
    let end = window
        .iter()
        .position(|b| *b == b'\r' || *b == b'\n')
        .unwrap_or(window.len());
    window.get(..end).unwrap_or_default()
}

/// Whether `p` can start a text protocol line at all: an upper-case ASCII letter. Binary
/// payloads (TLS continuation data, media) leave here without any scan.
fn starts_like_text(p: &[u8]) -> bool {
    p.first().is_some_and(u8::is_ascii_uppercase)
}

fn is_sip(p: &[u8]) -> bool {
    // Keep-alives (RFC 5626 §3.5.1: CRLF pings) may precede a message in the same segment.
    let start = p
        .iter()
        .take(8)
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(0);
    let p = p.get(start..).unwrap_or_default();
    if !starts_like_text(p) {
        return false;
    }
    if p.starts_with(b"SIP/2.0 ") {
        return true;
    }
    SIP_METHODS.iter().any(|m| p.starts_with(m)) && {
        let line = first_line(p);
        line.len() >= 8
            && line
                .get(line.len() - 8..)
                .is_some_and(|v| v.eq_ignore_ascii_case(b" SIP/2.0"))
    }
}

fn is_http(p: &[u8]) -> bool {
    if !starts_like_text(p) {
        return false;
    }
    if p.starts_with(b"HTTP/1.") {
        return true;
    }
    HTTP_METHODS.iter().any(|m| p.starts_with(m)) && {
        let line = first_line(p);
        line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0")
    }
}

fn is_xmpp(p: &[u8]) -> bool {
    p.starts_with(b"<?xml") || p.starts_with(b"<stream:stream")
}

/// What a STUN-like message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunKind {
    /// A STUN message (binding, ICE check), classic or RFC 5389.
    Stun,
    /// A TURN method or ChannelData.
    Turn,
    /// A message carrying Microsoft's MS-TURN attributes.
    MsTurn,
}

/// TURN methods of RFC 5766/8656 (the method bits of the message type).
const TURN_METHODS: [u16; 6] = [0x003, 0x004, 0x006, 0x007, 0x008, 0x009];
/// MS-TURN attributes: MAGIC-COOKIE (0x000F) and MS-VERSION (0x8008).
const MS_TURN_ATTRS: [u16; 2] = [0x000F, 0x8008];
/// Attributes walked at most.
const MAX_ATTRS: usize = 64;

/// Recognises one STUN, TURN or MS-TURN message (or TURN ChannelData) filling `p` exactly.
pub fn probe_stun(p: &[u8]) -> Option<StunKind> {
    let first = *p.first()?;
    // ChannelData: channel 0x4000-0x7FFF, length, data (padded to 4 on TCP).
    if (0x40..=0x7f).contains(&first) {
        let len = usize::from(be16(p, 2)?);
        let body = p.len().checked_sub(4)?;
        return (len == body || (len <= body && body - len < 4) && len > 0)
            .then_some(StunKind::Turn);
    }
    if first & 0xc0 != 0 || p.len() < 20 {
        return None;
    }
    let msg_type = be16(p, 0)?;
    let len = usize::from(be16(p, 2)?);
    if len % 4 != 0 || len + 20 != p.len() {
        return None;
    }
    let method = (msg_type & 0x000f) | ((msg_type & 0x00e0) >> 1) | ((msg_type & 0x3e00) >> 2);
    let cookie = be32(p, 4)? == 0x2112_A442;
    let classic = matches!(
        msg_type,
        0x0001 | 0x0101 | 0x0111 | 0x0002 | 0x0102 | 0x0112
    );
    if !cookie && !classic && !TURN_METHODS.contains(&method) {
        return None;
    }
    // Walk the attributes (bounded) for MS-TURN's markers; they must tile the body exactly.
    let mut at = 20usize;
    let mut ms = false;
    for _ in 0..MAX_ATTRS {
        if at >= p.len() {
            break;
        }
        let ty = be16(p, at)?;
        let alen = usize::from(be16(p, at + 2)?);
        ms |= MS_TURN_ATTRS.contains(&ty);
        at = at.checked_add(4 + alen.div_ceil(4) * 4)?;
    }
    if at != p.len() && at < p.len() {
        // More attributes than walked: still STUN by header, markers unknown beyond.
    } else if at > p.len() {
        return None;
    }
    Some(if ms {
        StunKind::MsTurn
    } else if TURN_METHODS.contains(&method) {
        StunKind::Turn
    } else {
        StunKind::Stun
    })
}

fn stun_kind(p: &[u8]) -> Option<AppProtocol> {
    probe_stun(p).map(kind_protocol)
}

/// A DNS header: QR/opcode sane, 1-16 questions (or, for a response such as an mDNS
/// announcement, none and at least one answer), counts small, room for a record.
fn is_dns(p: &[u8]) -> bool {
    let Some(flags) = be16(p, 2) else {
        return false;
    };
    let response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    let qd = be16(p, 4).unwrap_or(0);
    let an = be16(p, 6).unwrap_or(u16::MAX);
    let counts = (1..=16).contains(&qd) || (response && qd == 0 && (1..=256).contains(&an));
    p.len() >= 17 && opcode <= 5 && counts && an <= 256
}

/// Probes the first payload of a TCP segment.
pub(crate) fn probe_tcp(p: &[u8], dns_port: bool) -> Option<AppProtocol> {
    if is_tls(p) {
        return Some(AppProtocol::Tls);
    }
    if is_sip(p) {
        return Some(AppProtocol::Sip);
    }
    if is_http(p) {
        return Some(AppProtocol::Http);
    }
    if is_xmpp(p) {
        return Some(AppProtocol::Xmpp);
    }
    // RFC 4571 framing (STUN over TCP, DNS over TCP): a 2-byte length prefix. A DNS message
    // may go on in the next segment, or several may share this one.
    let framed = be16(p, 0).map(usize::from);
    let body = p.get(2..).unwrap_or_default();
    if dns_port && framed.is_some_and(|n| n >= 17) && is_dns(body) {
        return Some(AppProtocol::Dns);
    }
    if framed.is_some_and(|n| n + 2 == p.len())
        && let Some(k) = stun_kind(body)
    {
        return Some(k);
    }
    stun_kind(p).or_else(|| deep_stun_tcp(p))
}

/// The deeper STUN parse, for messages the header check refuses: MS-TURN's unpadded
/// attributes, its Data Indications without the magic cookie, its TCP framing and Multiplexed
/// TURN. Only called on payloads that start like one.
fn deep_stun(p: &[u8]) -> Option<AppProtocol> {
    if !matches!(p.first(), Some(0x00 | 0x01 | 0xff)) {
        return None;
    }
    crate::stun::parse_stun(p).map(|m| kind_protocol(m.kind))
}

fn deep_stun_tcp(p: &[u8]) -> Option<AppProtocol> {
    if !matches!(p.first(), Some(0x00..=0x03 | 0xff)) {
        return None;
    }
    match crate::stun::parse_stun_tcp(p) {
        crate::stun::TcpParse::Complete { msg, .. } => Some(kind_protocol(msg.kind)),
        _ => None,
    }
}

fn kind_protocol(k: StunKind) -> AppProtocol {
    match k {
        StunKind::Stun => AppProtocol::Stun,
        StunKind::Turn => AppProtocol::Turn,
        StunKind::MsTurn => AppProtocol::MsTurn,
    }
}

/// Probes one UDP datagram (RTP/RTCP are left to the multi-packet tracker).
pub(crate) fn probe_udp(p: &[u8], dns_port: bool) -> Option<AppProtocol> {
    if let Some(k) = stun_kind(p).or_else(|| deep_stun(p)) {
        return Some(k);
    }
    if dns_port && is_dns(p) {
        return Some(AppProtocol::Dns);
    }
    if is_sip(p) {
        return Some(AppProtocol::Sip);
    }
    if is_tls(p) && p.get(1..3) != Some(&[0x03, 0x00]) {
        // DTLS is 0xfeXX; a TLS record in UDP is rare but counted.
        return Some(AppProtocol::Tls);
    }
    None
}

/// What an RTP-looking datagram is.
pub(crate) enum RtpLike {
    /// An RTP header with its SSRC, sequence number and payload type.
    Rtp { ssrc: u32, seq: u16, pt: u8 },
    /// An RTCP packet (types 200-206) with a consistent length.
    Rtcp,
    /// A whole RTCP compound packet (RFC 3550 §6.1): it starts with a sender or receiver report
    /// and its packets, version 2 and types 200-206 each, tile the datagram exactly.
    RtcpCompound,
}

/// RTCP packets walked at most in a compound packet.
const MAX_RTCP_PACKETS: usize = 16;

/// Whether `p` is exactly a compound RTCP packet (RFC 3550 §6.1): SR or RR first, then
/// version-2 packets of types 200-206 whose lengths tile the datagram. An SRTCP datagram has
/// its authentication tag and index after the packets and does not tile: it counts per packet.
fn rtcp_compound(p: &[u8]) -> bool {
    if !matches!(p.get(1), Some(200 | 201)) {
        return false;
    }
    let mut at = 0usize;
    for _ in 0..MAX_RTCP_PACKETS {
        if at == p.len() {
            return true;
        }
        let (Some(b0), Some(pt), Some(words)) = (p.get(at), p.get(at + 1), be16(p, at + 2)) else {
            return false;
        };
        if b0 >> 6 != 2 || !(200..=206).contains(pt) {
            return false;
        }
        at += (usize::from(words) + 1) * 4;
    }
    at == p.len()
}

/// Version 2, a payload type outside the RTCP range, or an RTCP type with a length that fits.
pub(crate) fn rtp_header(p: &[u8]) -> Option<RtpLike> {
    let b0 = *p.first()?;
    if b0 >> 6 != 2 || p.len() < 12 {
        return None;
    }
    let b1 = *p.get(1)?;
    if (200..=206).contains(&b1) {
        let words = usize::from(be16(p, 2)?);
        if (words + 1) * 4 > p.len() {
            return None;
        }
        return Some(if rtcp_compound(p) {
            RtpLike::RtcpCompound
        } else {
            RtpLike::Rtcp
        });
    }
    let pt = b1 & 0x7f;
    if (72..=76).contains(&pt) {
        return None;
    }
    let csrc = usize::from(b0 & 0x0f);
    if 12 + 4 * csrc > p.len() {
        return None;
    }
    Some(RtpLike::Rtp {
        ssrc: be32(p, 8)?,
        seq: be16(p, 2)?,
        pt,
    })
}
