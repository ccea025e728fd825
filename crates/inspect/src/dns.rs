//! DNS messages (RFC 1035 §4): one message parsed into an owned summary.
//!
//! [`parse_dns`] takes one message: a UDP payload (port 53, or mDNS on 5353, RFC 6762 §18, which
//! has the same format), or a DNS-over-TCP message after the caller has removed the 2-byte length
//! prefix (RFC 1035 §4.2.2). It keeps the header fields, the questions and the answer section; the
//! authority and additional sections are not read.
//!
//! The parser reads the borrowed bytes through `get` only (an offset is at most the message length
//! plus a 16-bit field, so no sum of offsets can overflow): no input makes it panic, loop without
//! bound or allocate without bound. The bounds:
//!
//! - at most [`MAX_QUESTIONS`] questions and [`MAX_ANSWERS`] answers are decoded; further questions
//!   are stepped over to reach the answers, further answers are stepped over and counted in
//!   [`DnsMessage::more_answers`];
//! - a name follows at most [`MAX_POINTER_JUMPS`] compression pointers (RFC 1035 §4.1.4), so a
//!   pointer loop, or a pointer to itself, ends with the name rejected;
//! - a name is at most [`MAX_NAME_WIRE_LEN`] bytes in wire form (RFC 1035 §2.3.4), labels at most
//!   63 bytes (the length octets 0x40-0xbf are the reserved and extended label types of RFC 6891
//!   §5 and are rejected); a pointer past the end of the message is rejected;
//! - a TXT record keeps its first string only, cut at [`MAX_TXT_BYTES`].
//!
//! Names are given in presentation form (RFC 1035 §5.1, RFC 4343): ASCII letters in lower case, no
//! trailing dot (the root is `"."`), and a byte outside the printable ASCII range, a `.` inside a
//! label or a `\` escaped as `\DDD` (decimal), `\.` and `\\`, as `dig` writes them.

use crate::bytes::{be16, be32};

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Questions decoded at most; further questions are stepped over (lengths checked, not kept).
/// A unicast query has one (RFC 9619); mDNS queries ask several at once.
pub const MAX_QUESTIONS: usize = 16;
/// Answer records decoded at most; further answers are stepped over and counted in
/// [`DnsMessage::more_answers`].
pub const MAX_ANSWERS: usize = 32;
/// Compression pointers one name may follow at most: past this the name is taken for a pointer
/// loop and rejected. Real encoders chain a few at most.
pub const MAX_POINTER_JUMPS: usize = 32;
/// The longest name in wire form, length octets and the final zero included (RFC 1035 §2.3.4).
pub const MAX_NAME_WIRE_LEN: usize = 255;
/// The longest label (RFC 1035 §2.3.4): the six low bits of a length octet whose two high bits
/// are zero.
pub const MAX_LABEL_LEN: usize = 0x3f;
/// Bytes of a TXT record's first string kept at most; a longer string is cut and ends in `...`.
pub const MAX_TXT_BYTES: usize = 128;
/// The fixed header (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;

/// One DNS message, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    /// Transaction id.
    pub id: u16,
    /// QR: a response (true) or a query.
    pub response: bool,
    /// OPCODE (0 query, 4 notify, 5 update).
    pub opcode: u8,
    /// RCODE of the header: the 4 low bits only (the EDNS extension in the OPT record, which
    /// lives in the additional section, is not read).
    pub rcode: u8,
    /// TC: the message was truncated by its sender (the answer is incomplete, the client should
    /// retry over TCP).
    pub truncated: bool,
    /// The questions, at most [`MAX_QUESTIONS`].
    pub questions: Vec<DnsQuestion>,
    /// The answer section, at most [`MAX_ANSWERS`] records.
    pub answers: Vec<DnsRecord>,
    /// Answer records present beyond [`MAX_ANSWERS`]: stepped over (their lengths checked), not
    /// decoded.
    pub more_answers: u16,
    /// The question or answer section ended early: a record was cut off by the end of the bytes,
    /// or held a bad name (a pointer loop, a pointer past the end, a name or label too long), or
    /// the header claimed more records than there are. Everything read before it is kept.
    pub malformed: bool,
}

/// One question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuestion {
    /// The name asked for, in presentation form: lower-case, no trailing dot.
    pub name: String,
    /// QTYPE (see [`type_name`]).
    pub qtype: u16,
}

/// One answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// The owner name, in presentation form: lower-case, no trailing dot.
    pub name: String,
    /// TYPE (see [`type_name`]).
    pub rtype: u16,
    /// TTL in seconds, as sent.
    pub ttl: u32,
    /// The data: A/AAAA the textual address; CNAME/NS/PTR the target name; SRV
    /// `"priority weight port target"`; MX `"preference host"`; TXT the first string (printable
    /// ASCII and space as is, `\` as `\\`, other bytes as `\DDD`; cut at [`MAX_TXT_BYTES`]); any
    /// other type, or data that does not decode as its type says, `"<N bytes>"`.
    pub data: String,
}

/// Why a name could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameError {
    /// The bytes end inside the name.
    Truncated,
    /// A compression pointer points at or past the end of the message.
    PointerPastEnd,
    /// More than [`MAX_POINTER_JUMPS`] pointers: a loop.
    TooManyJumps,
    /// Longer than [`MAX_NAME_WIRE_LEN`] in wire form.
    TooLong,
    /// A length octet 0x40-0xbf: a label longer than 63 or an extended label type.
    BadLabel,
}

/// Appends one byte of a label in presentation form (RFC 1035 §5.1, RFC 4343 §2.1): printable
/// ASCII as is, letters in lower case, `.` and `\` after a backslash, anything else (space
/// included) as `\DDD`.
fn push_label_byte(out: &mut String, b: u8) {
    if b == b'.' || b == b'\\' {
        out.push('\\');
        out.push(char::from(b));
    } else if b.is_ascii_graphic() {
        out.push(char::from(b.to_ascii_lowercase()));
    } else {
        let _ = write!(out, "\\{b:03}");
    }
}

/// Appends one byte of a TXT string: printable ASCII and space as is, `\` after a backslash,
/// anything else as `\DDD`.
fn push_text_byte(out: &mut String, b: u8) {
    if b == b'\\' {
        out.push_str("\\\\");
    } else if b.is_ascii_graphic() || b == b' ' {
        out.push(char::from(b));
    } else {
        let _ = write!(out, "\\{b:03}");
    }
}

/// The capacity a name's text starts with: longer than most names seen in sign-in traffic
/// (`_sipinternaltls._tcp.contoso.com` is 32 bytes).
const NAME_CAPACITY: usize = 48;

/// Reads the name at `start` of `msg`, following compression pointers. Returns the name in
/// presentation form and the offset just past the name's bytes at `start` (past its first
/// pointer, or its final zero octet).
fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), NameError> {
    // Room for most names at once (they grow by doubling otherwise: 3-4 reallocations each).
    let mut out = String::with_capacity(NAME_CAPACITY);
    let mut pos = start;
    let mut end = None;
    let mut jumps = 0usize;
    // Wire length so far: length octets and label bytes, the final zero not yet counted.
    let mut wire = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(NameError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                let end = end.unwrap_or(pos + 1);
                if out.is_empty() {
                    out.push('.');
                }
                return Ok((out, end));
            }
            0x00 => {
                let n = usize::from(len);
                wire += 1 + n;
                if wire + 1 > MAX_NAME_WIRE_LEN {
                    return Err(NameError::TooLong);
                }
                let label = msg.get(pos + 1..pos + 1 + n).ok_or(NameError::Truncated)?;
                if !out.is_empty() {
                    out.push('.');
                }
                for &b in label {
                    push_label_byte(&mut out, b);
                }
                pos += 1 + n;
            }
            0xc0 => {
                let low = *msg.get(pos + 1).ok_or(NameError::Truncated)?;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return Err(NameError::TooManyJumps);
                }
                let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                if target >= msg.len() {
                    return Err(NameError::PointerPastEnd);
                }
                pos = target;
            }
            _ => return Err(NameError::BadLabel),
        }
    }
}

/// Steps over the name at `start` without following pointers: the offset just past it.
fn skip_name(msg: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    loop {
        let len = *msg.get(pos)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Some(pos + 1),
            0x00 => {
                pos += 1 + usize::from(len);
                if pos - start >= MAX_NAME_WIRE_LEN {
                    return None;
                }
            }
            0xc0 => return msg.get(pos + 1).map(|_| pos + 2),
            _ => return None,
        }
    }
}

/// The fixed part after a record's owner name: type, class, TTL, RDLENGTH.
struct RecordHead {
    rtype: u16,
    ttl: u32,
    rdata_start: usize,
    rdata_end: usize,
}

fn record_head(msg: &[u8], after_name: usize) -> Option<RecordHead> {
    let rtype = be16(msg, after_name)?;
    let ttl = be32(msg, after_name + 4)?;
    let rdlen = usize::from(be16(msg, after_name + 8)?);
    let rdata_start = after_name + 10;
    let rdata_end = rdata_start + rdlen;
    (rdata_end <= msg.len()).then_some(RecordHead {
        rtype,
        ttl,
        rdata_start,
        rdata_end,
    })
}

/// A name inside RDATA: its in-place bytes must end within the RDATA.
fn rdata_name(msg: &[u8], at: usize, rdata_end: usize) -> Option<String> {
    read_name(msg, at)
        .ok()
        .filter(|(_, end)| *end <= rdata_end)
        .map(|(n, _)| n)
}

/// The textual form of one record's data (see [`DnsRecord::data`]).
fn render_rdata(msg: &[u8], head: &RecordHead) -> String {
    let (start, end) = (head.rdata_start, head.rdata_end);
    let rdata = msg.get(start..end).unwrap_or_default();
    let decoded = match head.rtype {
        1 => <[u8; 4]>::try_from(rdata)
            .ok()
            .map(|a| Ipv4Addr::from(a).to_string()),
        28 => <[u8; 16]>::try_from(rdata)
            .ok()
            .map(|a| Ipv6Addr::from(a).to_string()),
        2 | 5 | 12 => rdata_name(msg, start, end),
        33 => srv_data(msg, head),
        15 => mx_data(msg, head),
        16 => txt_data(rdata),
        _ => None,
    };
    decoded.unwrap_or_else(|| format!("<{} bytes>", rdata.len()))
}

/// SRV (RFC 2782): priority, weight, port, target.
fn srv_data(msg: &[u8], head: &RecordHead) -> Option<String> {
    let at = head.rdata_start;
    let prio = be16(msg, at)?;
    let weight = be16(msg, at + 2)?;
    let port = be16(msg, at + 4)?;
    let target = rdata_name(msg, at + 6, head.rdata_end)?;
    Some(format!("{prio} {weight} {port} {target}"))
}

/// MX (RFC 1035 §3.3.9): preference, exchange.
fn mx_data(msg: &[u8], head: &RecordHead) -> Option<String> {
    let pref = be16(msg, head.rdata_start)?;
    let host = rdata_name(msg, head.rdata_start + 2, head.rdata_end)?;
    Some(format!("{pref} {host}"))
}

/// TXT (RFC 1035 §3.3.14): the first character-string, cut at [`MAX_TXT_BYTES`].
fn txt_data(rdata: &[u8]) -> Option<String> {
    let n = usize::from(*rdata.first()?);
    let s = rdata.get(1..1 + n)?;
    let mut out = String::new();
    for &b in s.iter().take(MAX_TXT_BYTES) {
        push_text_byte(&mut out, b);
    }
    if n > MAX_TXT_BYTES {
        out.push_str("...");
    }
    Some(out)
}

/// Parses one DNS message (see the module documentation for the bounds).
///
/// `None` when the bytes are shorter than the header, or when the message asks a question and the
/// first question cannot be read: then it is not DNS, or too little of it to say anything. A
/// message that goes wrong later is returned with what was read and
/// [`malformed`](DnsMessage::malformed) set.
pub fn parse_dns(p: &[u8]) -> Option<DnsMessage> {
    let id = be16(p, 0)?;
    let flags = be16(p, 2)?;
    let qdcount = usize::from(be16(p, 4)?);
    let ancount = usize::from(be16(p, 6)?);
    let _authority_and_additional = be32(p, 8)?;
    let mut msg = DnsMessage {
        id,
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0x0f) as u8,
        rcode: (flags & 0x0f) as u8,
        truncated: flags & 0x0200 != 0,
        questions: Vec::with_capacity(qdcount.min(MAX_QUESTIONS)),
        answers: Vec::new(),
        more_answers: 0,
        malformed: false,
    };
    let mut pos = HEADER_LEN;
    for i in 0..qdcount {
        let next = if i < MAX_QUESTIONS {
            read_question(p, pos).map(|(q, next)| {
                msg.questions.push(q);
                next
            })
        } else {
            skip_name(p, pos).map(|n| n + 4).filter(|n| *n <= p.len())
        };
        match next {
            Some(n) => pos = n,
            None if i == 0 => return None,
            None => {
                msg.malformed = true;
                return Some(msg);
            }
        }
    }
    msg.answers.reserve(ancount.min(MAX_ANSWERS));
    for i in 0..ancount {
        let next = if i < MAX_ANSWERS {
            read_record(p, pos).map(|(r, next)| {
                msg.answers.push(r);
                next
            })
        } else {
            let next = skip_name(p, pos)
                .and_then(|n| record_head(p, n))
                .map(|h| h.rdata_end);
            if next.is_some() {
                msg.more_answers = msg.more_answers.saturating_add(1);
            }
            next
        };
        match next {
            Some(n) => pos = n,
            None => {
                msg.malformed = true;
                break;
            }
        }
    }
    Some(msg)
}

fn read_question(p: &[u8], pos: usize) -> Option<(DnsQuestion, usize)> {
    let (name, end) = read_name(p, pos).ok()?;
    let qtype = be16(p, end)?;
    let _class = be16(p, end + 2)?;
    Some((DnsQuestion { name, qtype }, end + 4))
}

fn read_record(p: &[u8], pos: usize) -> Option<(DnsRecord, usize)> {
    let (name, end) = read_name(p, pos).ok()?;
    let head = record_head(p, end)?;
    let data = render_rdata(p, &head);
    Some((
        DnsRecord {
            name,
            rtype: head.rtype,
            ttl: head.ttl,
            data,
        },
        head.rdata_end,
    ))
}

/// The mnemonic of a record type (IANA "Resource Record (RR) TYPEs"), or `TYPEn` (RFC 3597 §5)
/// for a type not named here.
pub fn type_name(t: u16) -> Cow<'static, str> {
    let name = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        52 => "TLSA",
        99 => "SPF",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        _ => return Cow::Owned(format!("TYPE{t}")),
    };
    Cow::Borrowed(name)
}

/// The mnemonic of a header RCODE (RFC 1035 §4.1.1, RFC 2136 §2.2, RFC 8490 §10.2).
pub fn rcode_name(r: u8) -> &'static str {
    match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        12 => "RESERVED12",
        13 => "RESERVED13",
        14 => "RESERVED14",
        15 => "RESERVED15",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The real messages: (file, contents, TCP framing).
    const SAMPLES: &[(&str, &str, bool)] = &[
        (
            "suricata-srv.hex",
            include_str!("../tests/data/dns/suricata-srv.hex"),
            false,
        ),
        (
            "suricata-tcpdns.hex",
            include_str!("../tests/data/dns/suricata-tcpdns.hex"),
            true,
        ),
        (
            "arkime-wiresharkrepo.hex",
            include_str!("../tests/data/dns/arkime-wiresharkrepo.hex"),
            false,
        ),
        (
            "arkime-v6.hex",
            include_str!("../tests/data/dns/arkime-v6.hex"),
            false,
        ),
        (
            "peafowl-truncated-udp.hex",
            include_str!("../tests/data/dns/peafowl-truncated-udp.hex"),
            false,
        ),
        (
            "zeek-two-responses.hex",
            include_str!("../tests/data/dns/zeek-two-responses.hex"),
            false,
        ),
        (
            "zeek-dns53.hex",
            include_str!("../tests/data/dns/zeek-dns53.hex"),
            false,
        ),
        (
            "zeek-naptr.hex",
            include_str!("../tests/data/dns/zeek-naptr.hex"),
            false,
        ),
        (
            "zeek-svcb.hex",
            include_str!("../tests/data/dns/zeek-svcb.hex"),
            false,
        ),
        (
            "zeek-ipv6-fragmented.hex",
            include_str!("../tests/data/dns/zeek-ipv6-fragmented.hex"),
            false,
        ),
        (
            "arkime-synthetic-mdns.hex",
            include_str!("../tests/data/dns/arkime-synthetic-mdns.hex"),
            false,
        ),
        (
            "pcap-parser-mdns.hex",
            include_str!("../tests/data/dns/pcap-parser-mdns.hex"),
            false,
        ),
        (
            "tcpdump-dns-tcp.hex",
            include_str!("../tests/data/dns/tcpdump-dns-tcp.hex"),
            true,
        ),
        (
            "tcpdump-dns-uri.hex",
            include_str!("../tests/data/dns/tcpdump-dns-uri.hex"),
            false,
        ),
    ];

    const LAB: &str = include_str!("../tests/data/dns/lab-sfb-discovery.tsv");

    fn unhex(s: &str) -> Vec<u8> {
        let s = s.trim();
        assert!(s.len().is_multiple_of(2), "odd hex length");
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
            .collect()
    }

    /// (file, frame, message bytes, tshark's reading) for every sample message.
    fn samples() -> Vec<(&'static str, String, Vec<u8>, String)> {
        let mut out = Vec::new();
        for (file, text, tcp) in SAMPLES {
            let mut pending: Option<(String, Vec<u8>)> = None;
            for line in text
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                if let Some(expected) = line.strip_prefix("= ") {
                    let (frame, bytes) = pending.take().expect("a message before its reading");
                    out.push((*file, frame, bytes, expected.to_string()));
                } else {
                    let (frame, hex) = line.split_once(' ').expect("frame and hex");
                    let mut bytes = unhex(hex);
                    if *tcp {
                        // RFC 1035 §4.2.2: the 2-byte length covers exactly the rest.
                        let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
                        assert_eq!(
                            len + 2,
                            bytes.len(),
                            "{file} frame {frame}: one whole message"
                        );
                        bytes.drain(..2);
                    }
                    pending = Some((frame.to_string(), bytes));
                }
            }
            assert!(pending.is_none(), "{file}: a message without its reading");
        }
        out
    }

    /// The one-line form of the data files' `=` lines.
    fn canon(m: &DnsMessage) -> String {
        let mut s = format!(
            "{:04x} {} op{} {}",
            m.id,
            if m.response { "R" } else { "Q" },
            m.opcode,
            rcode_name(m.rcode)
        );
        if m.truncated {
            s.push_str(" TC");
        }
        for q in &m.questions {
            s.push_str(&format!(" q {} {}", q.name, type_name(q.qtype)));
        }
        for a in &m.answers {
            s.push_str(&format!(
                " | {} {} {} {}",
                a.name,
                type_name(a.rtype),
                a.ttl,
                a.data
            ));
        }
        s
    }

    #[test]
    fn real_messages_read_as_tshark_reads_them() {
        let all = samples();
        assert!(all.len() >= 100, "{} sample messages", all.len());
        for (file, frame, bytes, expected) in &all {
            let m = parse_dns(bytes).unwrap_or_else(|| panic!("{file} frame {frame}: not parsed"));
            assert!(!m.malformed, "{file} frame {frame}: malformed");
            assert_eq!(m.more_answers, 0, "{file} frame {frame}");
            assert_eq!(&canon(&m), expected, "{file} frame {frame}");
        }
    }

    fn sample(file: &str, frame: &str) -> DnsMessage {
        let (_, _, bytes, _) = samples()
            .into_iter()
            .find(|(f, fr, _, _)| *f == file && fr == frame)
            .expect("sample present");
        parse_dns(&bytes).expect("parses")
    }

    #[test]
    fn a_dot_inside_a_label_stays_escaped_at_the_end_of_a_name() {
        // The fuzz target `dns` (FUZZING.md): a question whose one label ends with a dot.
        // Unescaped it would read as a rooted name, and `lyncdiscover.contoso` + `com` could
        // pass for the three labels of a sign-in lookup.
        let msg = [
            32, 5, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 101, 93, 120, 97, 109, 112, 46, 0, 0, 0, 0, 0,
            0, 0, 29, 16, 0, 1,
        ];
        let m = parse_dns(&msg).expect("parses");
        assert_eq!(m.questions[0].name, "e]xamp\\.");
        let mut one = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        one.extend_from_slice(b"\x14lyncdiscover.contoso\x03com\x00\x00\x01\x00\x01");
        let m = parse_dns(&one).expect("parses");
        assert_eq!(m.questions[0].name, "lyncdiscover\\.contoso.com");
    }

    #[test]
    fn srv_answers_with_compressed_targets() {
        // suricata-verify dns-udp-eve-log-srv frame 2: the targets end in a pointer to the
        // question's `voice.google.com`.
        let m = sample("suricata-srv.hex", "2");
        assert!(m.response);
        assert_eq!(m.questions[0].qtype, 33);
        assert_eq!(m.answers.len(), 2);
        assert_eq!(
            m.answers[0].data,
            "20 1 5060 sip-anycast-2.voice.google.com"
        );
        assert_eq!(m.answers[1].ttl, 275);
    }

    #[test]
    fn dns_over_tcp_after_the_length_prefix() {
        // suricata-verify issue-4759.1 tcpdns.pcap frame 6: 11 A answers for google.com.
        let m = sample("suricata-tcpdns.hex", "6");
        assert_eq!(m.answers.len(), 11);
        assert!(m.answers.iter().all(|a| a.rtype == 1));
        assert_eq!(m.answers[0].data, "74.125.228.46");
    }

    #[test]
    fn types_seen_in_real_answers() {
        // Wireshark sample via arkime: TXT (frame 2), MX (4), PTR (8), AAAA (12), CNAME (16),
        // NXDOMAIN (22), NS (29).
        let w = "arkime-wiresharkrepo.hex";
        assert_eq!(sample(w, "2").answers[0].data, "v=spf1 ptr ?all");
        assert_eq!(sample(w, "4").answers[0].data, "40 smtp4.google.com");
        assert_eq!(
            sample(w, "8").answers[0].data,
            "66-192-9-104.gen.twtelecom.net"
        );
        assert_eq!(
            sample(w, "12").answers[0].data,
            "2001:4f8:4:7:2e0:81ff:fe52:9a6b"
        );
        assert_eq!(sample(w, "16").answers[0].data, "www.l.google.com");
        assert_eq!(rcode_name(sample(w, "22").rcode), "NXDOMAIN");
        assert_eq!(sample(w, "29").answers[3].data, "ns-ext.lga1.isc.org");
        // Names are lower-cased: the query asked for `GRIMM.utelsystems.local`.
        assert_eq!(sample(w, "35").questions[0].name, "grimm.utelsystems.local");
        // NAPTR and SVCB are not decoded: their length.
        assert_eq!(sample("zeek-naptr.hex", "2").answers[0].data, "<70 bytes>");
        assert_eq!(
            type_name(sample("zeek-svcb.hex", "2").answers[0].rtype),
            "TYPE64"
        );
    }

    #[test]
    fn mdns_parses_the_same() {
        // pcap-parser wireshark_samples-test.pcapng frame 82: four questions, the later ones
        // compressed against the first, QU bit set in the class (ignored).
        let m = sample("pcap-parser-mdns.hex", "82");
        let names: Vec<_> = m.questions.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "_raop._tcp.local",
                "_airplay._tcp.local",
                "_homekit._tcp.local",
                "_sleep-proxy._udp.local"
            ]
        );
        // Arkime's synthetic capture frame 349: an mDNS response with the cache-flush bit.
        let r = sample("arkime-synthetic-mdns.hex", "349");
        assert_eq!(r.answers[0].data, "10.1.13.200");
    }

    #[test]
    fn a_message_cut_short_keeps_what_was_read() {
        // zeek dns53.pcap frame 1 (8 A answers), cut after the fifth answer's first byte.
        let (_, _, bytes, _) = samples()
            .into_iter()
            .find(|(f, _, _, _)| *f == "zeek-dns53.hex")
            .expect("present");
        let full = parse_dns(&bytes).expect("parses");
        assert_eq!(full.answers.len(), 8);
        // Each A answer here is a 2-byte pointer + 10 + 4 bytes.
        let question_end = HEADER_LEN + "us.v27.distributed.net".len() + 2 + 4;
        let cut = &bytes[..question_end + 4 * 16 + 1];
        let m = parse_dns(cut).expect("header and question are whole");
        assert!(m.malformed);
        assert_eq!(m.answers, full.answers[..4]);
        // Every prefix: no panic, and never more than was there.
        for n in 0..bytes.len() {
            match parse_dns(&bytes[..n]) {
                None => assert!(n < question_end),
                Some(m) => {
                    assert!(m.answers.len() <= 8);
                    // Whole answers when not malformed (the authority section follows).
                    assert!(m.malformed || m.answers.len() == 8);
                }
            }
        }
    }

    #[test]
    fn every_prefix_of_every_sample_is_safe() {
        for (_, _, bytes, _) in samples() {
            for n in 0..bytes.len() {
                if let Some(m) = parse_dns(&bytes[..n]) {
                    assert!(m.questions.len() <= MAX_QUESTIONS);
                    assert!(m.answers.len() <= MAX_ANSWERS);
                }
            }
            assert!(parse_dns(&bytes[..HEADER_LEN - 1]).is_none());
        }
    }

    #[test]
    fn lab_discovery_lookups() {
        // The project's lab capture: frames 1-12 (internal order), 56-71 (external order).
        let mut seen = Vec::new();
        for line in LAB.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<_> = line.split('\t').collect();
            let m = parse_dns(&unhex(cols[6])).expect("parses");
            assert!(!m.malformed);
            assert_eq!(m.questions.len(), 1);
            seen.push((cols[0].to_string(), m));
        }
        assert_eq!(seen.len(), 28);
        let get = |f: &str| &seen.iter().find(|(fr, _)| fr == f).expect("frame").1;
        assert_eq!(
            get("1").questions[0].name,
            "lyncdiscoverinternal.contoso.com"
        );
        assert_eq!(get("2").answers[0].data, "127.0.1.10");
        assert_eq!(rcode_name(get("4").rcode), "NXDOMAIN");
        let srv = get("6");
        assert_eq!(srv.questions[0].qtype, 33);
        assert_eq!(srv.answers[0].data, "0 0 5061 pool.corp.contoso.com");
        let ext = get("65");
        assert_eq!(ext.questions[0].name, "_sip._tls.contoso.com");
        assert_eq!(ext.answers[0].data, "0 0 443 access.contoso.com");
        let answered = seen
            .iter()
            .filter(|(_, m)| m.response && !m.answers.is_empty())
            .count();
        assert_eq!(answered, 6);
    }

    // ---- hand-built messages (RFC 1035 §4.1) ----

    /// A header: id 0x1234, `flags`, the four counts.
    fn header(flags: u16, qd: u16, an: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34];
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&qd.to_be_bytes());
        m.extend_from_slice(&an.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]); // NSCOUNT, ARCOUNT
        m
    }

    /// A name in wire form, uncompressed.
    fn wire_name(name: &str) -> Vec<u8> {
        let mut w = Vec::new();
        for label in name.split('.').filter(|l| !l.is_empty()) {
            w.push(label.len() as u8);
            w.extend_from_slice(label.as_bytes());
        }
        w.push(0);
        w
    }

    /// QTYPE, QCLASS IN.
    fn qtail(qtype: u16) -> [u8; 4] {
        let t = qtype.to_be_bytes();
        [t[0], t[1], 0, 1]
    }

    /// An answer: pointer to the question name (offset 12), type, class IN, TTL 60, RDATA.
    fn answer(rtype: u16, rdata: &[u8]) -> Vec<u8> {
        let mut a = vec![0xc0, 0x0c];
        a.extend_from_slice(&rtype.to_be_bytes());
        a.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        a.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        a.extend_from_slice(rdata);
        a
    }

    /// A response (QR, RD, RA) with one question for `name`/A and `answers`.
    fn response(name: &str, answers: &[Vec<u8>], ancount: u16) -> Vec<u8> {
        let mut m = header(0x8180, 1, ancount);
        m.extend_from_slice(&wire_name(name));
        m.extend_from_slice(&qtail(1));
        for a in answers {
            m.extend_from_slice(a);
        }
        m
    }

    #[test]
    fn header_fields() {
        // Flags 0x8683: QR, opcode 0, AA, TC, RD, RCODE 3.
        let mut m = header(0x8683, 1, 0);
        m.extend_from_slice(&wire_name("Example.COM"));
        m.extend_from_slice(&qtail(28));
        let d = parse_dns(&m).expect("parses");
        assert_eq!(d.id, 0x1234);
        assert!(d.response && d.truncated);
        assert_eq!((d.opcode, d.rcode), (0, 3));
        assert_eq!(d.questions[0].name, "example.com");
        assert_eq!(d.questions[0].qtype, 28);
        // Opcode 5 (UPDATE, RFC 2136), a query.
        let u = parse_dns(&header(0x2800, 0, 0)).expect("parses");
        assert_eq!((u.response, u.opcode), (false, 5));
        assert!(parse_dns(&header(0, 0, 0)[..11]).is_none());
    }

    #[test]
    fn pointer_to_itself_is_a_loop() {
        // The question's name is a pointer to offset 12: itself.
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&[0xc0, 0x0c]);
        m.extend_from_slice(&qtail(1));
        assert_eq!(read_name(&m, 12), Err(NameError::TooManyJumps));
        assert!(parse_dns(&m).is_none());
    }

    #[test]
    fn two_pointer_loop() {
        // Offset 12: label "a", then a pointer to 17; offset 17: pointer back to 12.
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&[1, b'a', 0xc0, 17, 0, 0xc0, 12]);
        assert_eq!(read_name(&m, 12), Err(NameError::TooManyJumps));
        // A loop inside an answer's target: the answer's data falls back to its length, the
        // message stays readable.
        let mut r = response("x.example", &[], 1);
        let at = r.len();
        r.extend_from_slice(&answer(5, &[1, b'b', 0xc0, (at + 12) as u8]));
        let d = parse_dns(&r).expect("parses");
        assert_eq!(d.answers[0].data, "<4 bytes>");
        assert!(!d.malformed);
    }

    #[test]
    fn pointer_past_the_end() {
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&[0xc0, 0xff]);
        m.extend_from_slice(&qtail(1));
        assert_eq!(read_name(&m, 12), Err(NameError::PointerPastEnd));
        assert!(parse_dns(&m).is_none());
        // A pointer byte with its second half cut off.
        assert_eq!(read_name(&[0xc0], 0), Err(NameError::Truncated));
    }

    #[test]
    fn pointer_chains_up_to_the_bound() {
        // Offset 0: "a" + root; then pointers, each to the one before.
        let mut m = vec![1, b'a', 0];
        let mut prev = 0u16;
        let mut starts = Vec::new();
        for _ in 0..=MAX_POINTER_JUMPS {
            let here = m.len() as u16;
            m.extend_from_slice(&(0xc000 | prev).to_be_bytes());
            starts.push(here);
            prev = here;
        }
        let ok = usize::from(starts[MAX_POINTER_JUMPS - 1]);
        assert_eq!(read_name(&m, ok), Ok(("a".to_string(), ok + 2)));
        let too_far = usize::from(starts[MAX_POINTER_JUMPS]);
        assert_eq!(read_name(&m, too_far), Err(NameError::TooManyJumps));
    }

    #[test]
    fn name_length_limits() {
        // 63+63+63+61 bytes of labels: 4 length octets + 250 + the root octet = 255.
        let longest = [63, 63, 63, 61]
            .iter()
            .map(|n| "x".repeat(*n))
            .collect::<Vec<_>>()
            .join(".");
        let w = wire_name(&longest);
        assert_eq!(w.len(), MAX_NAME_WIRE_LEN);
        assert_eq!(read_name(&w, 0).map(|(n, _)| n), Ok(longest.clone()));
        // One byte more.
        let w = wire_name(&format!("{longest}x"));
        assert_eq!(read_name(&w, 0), Err(NameError::TooLong));
        // Too long only once a pointer is followed: 128 bytes of labels here, then a pointer to
        // a name of 129 bytes (two 63-byte labels and the root).
        let mut msg = wire_name(&["p".repeat(63), "q".repeat(63)].join("."));
        let second = msg.len();
        for fill in [b'r', b's'] {
            msg.push(63);
            msg.extend_from_slice(&[fill; 63]);
        }
        msg.extend_from_slice(&[0xc0, 0x00]);
        assert_eq!(read_name(&msg, second), Err(NameError::TooLong));
        assert!(read_name(&msg, 0).is_ok());
        // The longest label, then a label of 64 (length octet 0x40) and the reserved type 0x80.
        let w = wire_name(&"l".repeat(MAX_LABEL_LEN));
        assert_eq!(
            read_name(&w, 0),
            Ok(("l".repeat(MAX_LABEL_LEN), MAX_LABEL_LEN + 2))
        );
        assert_eq!(read_name(&[0x40, b'a', 0], 0), Err(NameError::BadLabel));
        assert_eq!(read_name(&[0x80, 0], 0), Err(NameError::BadLabel));
        // A label running past the end.
        assert_eq!(read_name(&[5, b'a', b'b'], 0), Err(NameError::Truncated));
        // The root name.
        assert_eq!(read_name(&[0], 0), Ok((".".to_string(), 1)));
    }

    #[test]
    fn label_bytes_are_escaped() {
        let w = [
            7, b'A', b'.', b'\\', b' ', 0xff, 0x00, b'z', 3, b'c', b'O', b'm', 0,
        ];
        let (n, end) = read_name(&w, 0).expect("reads");
        assert_eq!(n, "a\\.\\\\\\032\\255\\000z.com");
        assert_eq!(end, w.len());
    }

    #[test]
    fn counts_claiming_65535_records() {
        // 65535 questions claimed, one present: the question is kept, the rest is malformed.
        let mut m = header(0x0100, u16::MAX, 0);
        m.extend_from_slice(&wire_name("one.example"));
        m.extend_from_slice(&qtail(1));
        let d = parse_dns(&m).expect("parses");
        assert_eq!(d.questions.len(), 1);
        assert!(d.malformed);
        // 65535 answers claimed, 40 present: MAX_ANSWERS decoded, the 8 others counted.
        let a = answer(1, &[192, 0, 2, 1]);
        let r = response("many.example", &vec![a.clone(); 40], u16::MAX);
        let d = parse_dns(&r).expect("parses");
        assert_eq!(d.answers.len(), MAX_ANSWERS);
        assert_eq!(usize::from(d.more_answers), 40 - MAX_ANSWERS);
        assert!(d.malformed);
        // 100 answers claimed and present: bounded, not malformed.
        let r = response("many.example", &vec![a; 100], 100);
        let d = parse_dns(&r).expect("parses");
        assert_eq!(d.answers.len(), MAX_ANSWERS);
        assert_eq!(usize::from(d.more_answers), 100 - MAX_ANSWERS);
        assert!(!d.malformed);
    }

    #[test]
    fn questions_beyond_the_bound_are_stepped_over() {
        let n = MAX_QUESTIONS + 4;
        let mut m = header(0x8000, n as u16, 1);
        for i in 0..n {
            m.extend_from_slice(&wire_name(&format!("q{i}.example")));
            m.extend_from_slice(&qtail(1));
        }
        m.extend_from_slice(&answer(1, &[198, 51, 100, 7]));
        let d = parse_dns(&m).expect("parses");
        assert_eq!(d.questions.len(), MAX_QUESTIONS);
        assert_eq!(d.answers[0].data, "198.51.100.7");
        assert_eq!(d.answers[0].name, "q0.example");
        assert!(!d.malformed);
    }

    #[test]
    fn record_data_forms() {
        let srv = [0, 10, 0, 20, 0x13, 0xc5]
            .iter()
            .copied()
            .chain(wire_name("Pool.Corp.contoso.com"))
            .collect::<Vec<_>>();
        let mut mx = vec![0, 5];
        mx.extend_from_slice(&[0xc0, 0x0c]);
        let mut txt = vec![200];
        txt.extend_from_slice(&[b'k'; 200]);
        txt.extend_from_slice(&[3, b'x', b'y', b'z']);
        let answers = [
            answer(1, &[10, 1, 3, 10]),
            answer(
                28,
                &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            ),
            answer(33, &srv),
            answer(15, &mx),
            answer(16, &txt),
            answer(16, &[4, b'a', b'\\', 0x07, b' ']),
            answer(1, &[10, 1, 3]),       // A with 3 bytes
            answer(5, &[3, b'w', b'w']),  // CNAME cut inside its RDATA
            answer(12, &[0xc0, 0x0c, 0]), // PTR: a pointer, then a stray byte (fine)
            answer(6, &[0; 22]),          // SOA: not decoded
            answer(16, &[9, b'a']),       // TXT string longer than its RDATA
        ];
        let r = response("d.example", &answers, answers.len() as u16);
        let d = parse_dns(&r).expect("parses");
        assert!(!d.malformed);
        let data: Vec<_> = d.answers.iter().map(|a| a.data.as_str()).collect();
        let long_txt = format!("{}...", "k".repeat(MAX_TXT_BYTES));
        assert_eq!(
            data,
            [
                "10.1.3.10",
                "2001:db8::1",
                "10 20 5061 pool.corp.contoso.com",
                "5 d.example",
                long_txt.as_str(),
                "a\\\\\\007 ",
                "<3 bytes>",
                "<3 bytes>",
                "d.example",
                "<22 bytes>",
                "<2 bytes>",
            ]
        );
        assert!(
            d.answers
                .iter()
                .all(|a| a.ttl == 60 && a.name == "d.example")
        );
    }

    #[test]
    fn a_record_past_the_end_is_malformed() {
        // RDLENGTH 200 with 4 bytes present.
        let mut a = answer(1, &[1, 2, 3, 4]);
        let n = a.len();
        a[n - 6..n - 4].copy_from_slice(&200u16.to_be_bytes());
        let d = parse_dns(&response("e.example", &[a], 1)).expect("parses");
        assert!(d.answers.is_empty());
        assert!(d.malformed);
    }

    #[test]
    fn type_and_rcode_names() {
        assert_eq!(type_name(1), "A");
        assert_eq!(type_name(28), "AAAA");
        assert_eq!(type_name(33), "SRV");
        assert_eq!(type_name(255), "ANY");
        assert_eq!(type_name(65), "TYPE65");
        assert_eq!(type_name(65535), "TYPE65535");
        assert_eq!(rcode_name(0), "NOERROR");
        assert_eq!(rcode_name(2), "SERVFAIL");
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(rcode_name(5), "REFUSED");
        assert_eq!(rcode_name(14), "RESERVED14");
        assert_eq!(rcode_name(200), "UNKNOWN");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Some(m) = parse_dns(&bytes) {
                prop_assert!(m.questions.len() <= MAX_QUESTIONS);
                prop_assert!(m.answers.len() <= MAX_ANSWERS);
                for q in &m.questions {
                    // 255 wire bytes, each at most 4 characters escaped.
                    prop_assert!(q.name.len() <= 4 * MAX_NAME_WIRE_LEN);
                }
            }
        }

        #[test]
        fn mutated_samples_never_panic(
            pick in 0usize..150,
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let all = samples();
            let (_, _, mut bytes, _) = all[pick % all.len()].clone();
            for (at, v) in flips {
                let n = bytes.len();
                bytes[at % n] = v;
            }
            if let Some(m) = parse_dns(&bytes) {
                prop_assert!(m.answers.len() <= MAX_ANSWERS);
            }
        }
    }
}
