//! SIP messages (RFC 3261) to a small owned summary: the start line, the dialog identifiers
//! (Call-ID, From/To URIs and tags, CSeq), who sent it (User-Agent, else Server), Microsoft's
//! `ms-*` headers, and the media endpoints of an SDP body (also inside `multipart/alternative`
//! and `multipart/mixed`, the way Lync offers SDP).
//!
//! Two entry points: [`parse_datagram`] for UDP (one datagram is one message) and
//! [`parse_stream`] for the in-order bytes of a TCP stream (one message at the start of the
//! buffer, framed by the blank line and Content-Length).
//!
//! How a message is read:
//!
//! 1. A cheap check of the start line (`METHOD uri SIP/2.0` or `SIP/2.0 code reason`) rejects
//!    anything else before any allocation. Unknown methods are accepted (Microsoft's `SERVICE`,
//!    `NEGOTIATE`, `BENOTIFY`).
//! 2. The message is parsed with `rsip`, when the header block has the shape it accepts (CRLF
//!    line ends, no folded lines, at most [`MAX_HEADERS`] lines).
//! 3. When `rsip` refuses the message (an unknown method, a header it cannot tokenize, bare LF
//!    line ends, folded lines, non-UTF-8 bytes), an own tolerant scan of the header lines finds
//!    the same fields: case-insensitive names, the compact forms of the headers it reads (`i`,
//!    `f`, `t`, `c`, `l`; RFC 3261 §7.3.3), folded lines, display names and parameters.
//!
//! Both paths feed the same field extraction, so they agree on every message both accept. The
//! request URI and the reason phrase are always taken verbatim from the start line.
//!
//! Every size is bounded by a `pub const` below; nothing here can panic, and the work is linear
//! in the bytes looked at.

use std::borrow::Cow;

use crate::sdp::{self, MediaEndpoint};

/// The header section (start line, header lines and the blank line that ends them) is at most
/// this long. A longer one is [`StreamParse::TooLarge`] on a stream and `None` in a datagram.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// A body longer than this (by Content-Length) makes a stream message
/// [`StreamParse::TooLarge`]; in a datagram such a body is not looked at (no media).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Header lines (after unfolding) looked at per message, and per MIME part; later ones are
/// ignored, and a message with more is not handed to `rsip`.
pub const MAX_HEADERS: usize = 256;
/// Each kept string (method, URIs, tags, Call-ID, CSeq method, User-Agent, reason, content
/// type) is cut to at most this many bytes, at a character boundary.
pub const MAX_VALUE_BYTES: usize = 1024;
/// `ms-*` / `x-ms-*` headers kept per message at most; later ones are dropped.
pub const MAX_MS_HEADERS: usize = 16;
/// Each kept `ms-*` header name and value is cut to at most this many bytes.
pub const MAX_MS_HEADER_VALUE: usize = 256;
/// Nesting levels of `multipart/*` bodies looked into: Lync's deepest form is
/// multipart/mixed > multipart/alternative > application/sdp ([MS-SIPRE] §3.15.4.1).
pub const MAX_MULTIPART_DEPTH: usize = 3;
/// MIME parts looked at per multipart level at most.
pub const MAX_MULTIPART_PARTS: usize = 16;
/// A MIME boundary longer than this is not searched for (RFC 2046 allows 70 characters).
const MAX_BOUNDARY: usize = 200;
/// Methods are tokens of at most this many characters.
const MAX_METHOD: usize = 32;

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SipStart {
    /// A request line.
    Request {
        /// The method as sent (`INVITE`, `REGISTER`, Microsoft's `SERVICE`, ...).
        method: String,
        /// The Request-URI as sent.
        uri: String,
    },
    /// A status line.
    Response {
        /// The status code, 100-699.
        code: u16,
        /// The reason phrase as sent (may be empty).
        reason: String,
    },
}

/// What one SIP message says, owned and bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    /// Request or response line.
    pub start: SipStart,
    /// Call-ID (`Call-ID` or compact `i`), trimmed.
    pub call_id: Option<String>,
    /// The From URI, without display name, URI parameters or header parameters
    /// (`"Alice" <sip:alice@contoso.com;transport=tls>;tag=1;epid=2` gives
    /// `sip:alice@contoso.com`).
    pub from_uri: Option<String>,
    /// The From `tag` parameter.
    pub from_tag: Option<String>,
    /// The To URI, as for `from_uri`.
    pub to_uri: Option<String>,
    /// The To `tag` parameter (set by the callee: present in-dialog).
    pub to_tag: Option<String>,
    /// CSeq number and method.
    pub cseq: Option<(u32, String)>,
    /// `User-Agent`, else `Server` (Lync and Skype for Business clients and servers announce
    /// themselves there: `UCCAPI/16.0... OC/16.0... (Skype for Business)`, `RTC/6.0`).
    pub user_agent: Option<String>,
    /// Microsoft's `ms-*` and `x-ms-*` headers (`ms-client-diagnostics`,
    /// `ms-endpoint-location-data`, `ms-keep-alive`, ...), name as sent and value, in order; at
    /// most [`MAX_MS_HEADERS`], each cut to [`MAX_MS_HEADER_VALUE`] bytes.
    pub ms_headers: Vec<(String, String)>,
    /// The media type of the body (`Content-Type` or compact `c`), lower-cased, without
    /// parameters: `application/sdp`, `multipart/alternative`.
    pub content_type: Option<String>,
    /// Media endpoints of an `application/sdp` body, also inside multipart bodies; at most
    /// [`sdp::MAX_ENDPOINTS`], deduplicated.
    pub media: Vec<MediaEndpoint>,
}

impl SipMessage {
    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, SipStart::Request { .. })
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            SipStart::Response { code, .. } => Some(code),
            SipStart::Request { .. } => None,
        }
    }

    /// The method: a request's own, or for a response the method of its CSeq.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            SipStart::Request { method, .. } => Some(method),
            SipStart::Response { .. } => self.cseq.as_ref().map(|(_, m)| m.as_str()),
        }
    }
}

/// The outcome of [`parse_stream`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "made once per message and moved out at once; boxing would only add an allocation"
)]
pub enum StreamParse {
    /// A whole message: the first `len` bytes of the buffer.
    Complete {
        /// The message.
        msg: SipMessage,
        /// Its length in the stream (start line to the end of the body).
        len: usize,
    },
    /// The buffer starts with `len` bytes of CR and LF: the RFC 5626 §3.5.1 keep-alives
    /// (`"\r\n\r\n"` ping, `"\r\n"` pong) that Lync and Skype for Business clients send between
    /// messages, or stray line ends (RFC 3261 §7.5). Drop them and call again.
    KeepAlive {
        /// Bytes to drop.
        len: usize,
    },
    /// The start of a message, or nothing yet: call again with more bytes.
    Incomplete,
    /// The buffer does not start with a SIP start line, or the message cannot be framed (its
    /// Content-Length is not a number). The stream cannot be followed from here.
    NotSip,
    /// Over the limits: the header section is longer than [`MAX_HEADER_BYTES`] (`skip` is
    /// `None`: the stream cannot be followed), or the body is longer than [`MAX_BODY_BYTES`]
    /// (`skip` is the whole message's length: the caller may drop that many bytes, as they
    /// arrive, and go on with the next message).
    TooLarge {
        /// Bytes to drop to reach the next message, when known.
        skip: Option<usize>,
    },
}

/// Parses the message at the start of `buf`, the in-order bytes of one direction of a TCP
/// stream. Leading CR/LF bytes are reported as [`StreamParse::KeepAlive`]. A message is
/// complete when its blank line and `Content-Length` bytes of body (a missing Content-Length
/// counts as 0) are in `buf`.
pub fn parse_stream(buf: &[u8]) -> StreamParse {
    let crlf = leading_line_ends(buf);
    if crlf > 0 {
        return StreamParse::KeepAlive { len: crlf };
    }
    if buf.is_empty() {
        return StreamParse::Incomplete;
    }
    let window = buf.get(..buf.len().min(MAX_HEADER_BYTES)).unwrap_or(buf);
    let Some(nl) = window.iter().position(|b| *b == b'\n') else {
        return if !plausible_prefix(window) {
            StreamParse::NotSip
        } else if buf.len() >= MAX_HEADER_BYTES {
            StreamParse::TooLarge { skip: None }
        } else {
            StreamParse::Incomplete
        };
    };
    let Some(start) = window.get(..nl).and_then(start_line) else {
        return StreamParse::NotSip;
    };
    let header_end = match find_header_end(buf, nl + 1) {
        HeaderEnd::Found(end) => end,
        HeaderEnd::NeedMore => return StreamParse::Incomplete,
        HeaderEnd::TooLong => return StreamParse::TooLarge { skip: None },
    };
    let headers = buf.get(nl + 1..header_end).unwrap_or_default();
    let body_len = match content_length(headers) {
        None => 0,
        Some(Some(n)) => n,
        Some(None) => return StreamParse::NotSip,
    };
    let Some(total) = header_end.checked_add(body_len) else {
        return StreamParse::TooLarge { skip: None };
    };
    if body_len > MAX_BODY_BYTES {
        return StreamParse::TooLarge { skip: Some(total) };
    }
    let (Some(msg), Some(body)) = (buf.get(..total), buf.get(header_end..total)) else {
        return StreamParse::Incomplete;
    };
    StreamParse::Complete {
        msg: build(start, msg, headers, body),
        len: total,
    }
}

/// Parses one UDP datagram as one SIP message. Leading CR/LF bytes are skipped (a datagram of
/// only those is a keep-alive: `None`). The header section may end without a blank line at the
/// end of the datagram. A Content-Length that is smaller than what follows the headers cuts
/// the body (RFC 3261 §18.3); a larger one (a capture cut the datagram) leaves the whole lines
/// that are there; a missing or malformed one leaves the rest of the datagram as the body.
/// `None` when it is not SIP, or the header section is longer than [`MAX_HEADER_BYTES`].
pub fn parse_datagram(p: &[u8]) -> Option<SipMessage> {
    let msg = p.get(leading_line_ends(p)..)?;
    if msg.is_empty() {
        return None;
    }
    let window = msg.get(..msg.len().min(MAX_HEADER_BYTES))?;
    let nl = window.iter().position(|b| *b == b'\n');
    if nl.is_none() && msg.len() > MAX_HEADER_BYTES {
        return None;
    }
    let line_end = nl.unwrap_or(msg.len());
    let start = start_line(msg.get(..line_end)?)?;
    let headers_from = line_end.saturating_add(1).min(msg.len());
    let header_end = match find_header_end(msg, headers_from) {
        HeaderEnd::Found(end) => end,
        HeaderEnd::NeedMore => msg.len(),
        HeaderEnd::TooLong => return None,
    };
    let headers = msg.get(headers_from..header_end)?;
    let rest = msg.get(header_end..)?;
    let body = match content_length(headers) {
        Some(Some(n)) if n <= rest.len() => rest.get(..n)?,
        // Shorter than announced: a capture cut the datagram. A cut last line would read as a
        // wrong value (a port missing digits): keep whole lines only.
        Some(Some(_)) => rest
            .iter()
            .rposition(|b| *b == b'\n')
            .and_then(|i| rest.get(..=i))
            .unwrap_or_default(),
        _ => rest,
    };
    let whole = msg.get(..header_end.checked_add(body.len())?)?;
    Some(build(start, whole, headers, body))
}

/// The start line, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RawStart<'a> {
    Request { method: &'a str, uri: &'a str },
    Response { code: u16, reason: &'a str },
}

/// The number of CR and LF bytes at the start of `p`.
fn leading_line_ends(p: &[u8]) -> usize {
    p.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count()
}

/// RFC 3261 `token` characters.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// No control characters (horizontal tab allowed).
fn is_text(s: &[u8]) -> bool {
    s.iter().all(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f))
}

const VERSION: &[u8] = b"SIP/2.0";

/// A complete start line (without its LF): `Method SP Request-URI SP SIP/2.0` or
/// `SIP/2.0 SP Status-Code SP Reason-Phrase` (RFC 3261 §7.1, §7.2). Tolerates a missing
/// reason phrase and runs of spaces; a reason phrase that is not UTF-8 is cut where it stops
/// being so.
fn start_line(line: &[u8]) -> Option<RawStart<'_>> {
    let line = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(line.get(..e.valid_up_to())?).ok()?,
    }
    .trim_end();
    if !is_text(line.as_bytes()) {
        return None;
    }
    let bytes = line.as_bytes();
    if bytes
        .get(..VERSION.len())
        .is_some_and(|v| v.eq_ignore_ascii_case(VERSION))
        && bytes.get(VERSION.len()) == Some(&b' ')
    {
        let rest = line.get(VERSION.len() + 1..)?.trim_start();
        let code_text = rest.get(..3)?;
        if !code_text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let code: u16 = code_text.parse().ok()?;
        let after = rest.get(3..)?;
        if !(100..=699).contains(&code) || !(after.is_empty() || after.starts_with(' ')) {
            return None;
        }
        return Some(RawStart::Response {
            code,
            reason: after.trim(),
        });
    }
    let mut parts = line.split_ascii_whitespace();
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let method_ok = method.len() <= MAX_METHOD
        && method
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_uppercase)
        && method.bytes().all(is_token);
    if !method_ok || !uri.contains(':') || !version.as_bytes().eq_ignore_ascii_case(VERSION) {
        return None;
    }
    Some(RawStart::Request { method, uri })
}

/// Whether `p` (no LF in it yet) can still grow into a start line.
fn plausible_prefix(p: &[u8]) -> bool {
    let p = p.strip_suffix(b"\r").unwrap_or(p);
    if !is_text(p) {
        return false;
    }
    // A status line: a prefix of "SIP/2.0 ", then up to three digits, then anything.
    let n = p.len().min(VERSION.len());
    let version_prefix = p
        .get(..n)
        .zip(VERSION.get(..n))
        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b));
    if version_prefix {
        match p.get(VERSION.len()..) {
            None | Some([]) => return true,
            Some([b' ', rest @ ..]) => {
                let rest = rest.trim_ascii_start();
                let code = rest.get(..rest.len().min(3)).unwrap_or_default();
                if code.iter().all(u8::is_ascii_digit) {
                    return true;
                }
            }
            Some(_) => {}
        }
    }
    // A request line: a method token, a URI, a prefix of the version (runs of white space
    // between them, as `start_line` accepts).
    if !p.first().is_some_and(u8::is_ascii_uppercase) {
        return false;
    }
    let mut tokens = p
        .split(|b| matches!(b, b' ' | b'\t'))
        .filter(|t| !t.is_empty());
    let (method, uri, version, extra) =
        (tokens.next(), tokens.next(), tokens.next(), tokens.next());
    let method_ok = method.is_some_and(|m| m.len() <= MAX_METHOD && m.iter().all(|b| is_token(*b)));
    let version_ok = version.is_none_or(|v| {
        let n = v.len().min(VERSION.len());
        v.len() <= VERSION.len()
            && v.get(..n)
                .zip(VERSION.get(..n))
                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
    });
    method_ok && version_ok && extra.is_none() && (uri.is_some() || version.is_none())
}

enum HeaderEnd {
    /// The index just past the blank line that ends the header section.
    Found(usize),
    /// No blank line yet, and still within the limit.
    NeedMore,
    /// No blank line within [`MAX_HEADER_BYTES`].
    TooLong,
}

/// Finds the blank line (CRLF CRLF, or bare LF) that ends the header section, looking at lines
/// from `from` and never past [`MAX_HEADER_BYTES`] of `msg`.
fn find_header_end(msg: &[u8], from: usize) -> HeaderEnd {
    let window = msg.get(..msg.len().min(MAX_HEADER_BYTES)).unwrap_or(msg);
    let mut pos = from;
    // A message with no header line at all: the start line's LF is followed by a blank line.
    while let Some(rest) = window.get(pos..) {
        let Some(i) = rest.iter().position(|b| *b == b'\n') else {
            break;
        };
        let line = rest.get(..i).unwrap_or_default();
        pos = pos.saturating_add(i + 1);
        if line.is_empty() || line == b"\r" {
            return HeaderEnd::Found(pos);
        }
    }
    if msg.len() >= MAX_HEADER_BYTES {
        HeaderEnd::TooLong
    } else {
        HeaderEnd::NeedMore
    }
}

/// One logical header line: the name and the raw value, which may span folded lines.
struct RawHeader<'a> {
    name: &'a str,
    value: &'a [u8],
}

/// The logical header lines of a header block (at most [`MAX_HEADERS`]); lines without a
/// colon or with a name that is not a token are skipped; the block ends at a blank line.
struct HeaderLines<'a> {
    rest: &'a [u8],
    yielded: usize,
}

impl<'a> HeaderLines<'a> {
    fn new(block: &'a [u8]) -> Self {
        HeaderLines {
            rest: block,
            yielded: 0,
        }
    }

    /// The next physical line, without its line end, and advances past it.
    fn physical(&mut self) -> &'a [u8] {
        let rest = self.rest;
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => {
                self.rest = rest.get(i + 1..).unwrap_or_default();
                let line = rest.get(..i).unwrap_or_default();
                line.strip_suffix(b"\r").unwrap_or(line)
            }
            None => {
                self.rest = &[];
                rest.strip_suffix(b"\r").unwrap_or(rest)
            }
        }
    }
}

impl<'a> Iterator for HeaderLines<'a> {
    type Item = RawHeader<'a>;

    fn next(&mut self) -> Option<RawHeader<'a>> {
        while !self.rest.is_empty() && self.yielded < MAX_HEADERS {
            let start = self.rest;
            let first = self.physical();
            if first.is_empty() {
                self.rest = &[];
                return None;
            }
            // Continuation lines (RFC 3261 §7.3.1 folding) belong to this header.
            while matches!(self.rest.first(), Some(b' ' | b'\t')) {
                self.physical();
            }
            let consumed = start.len().saturating_sub(self.rest.len());
            let logical = start.get(..consumed).unwrap_or_default();
            let Some(colon) = first.iter().position(|b| *b == b':') else {
                continue;
            };
            let name = first.get(..colon).unwrap_or_default().trim_ascii_end();
            if name.is_empty() || !name.iter().all(|b| is_token(*b)) {
                continue;
            }
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let value = logical.get(colon + 1..).unwrap_or_default();
            self.yielded += 1;
            return Some(RawHeader { name, value });
        }
        None
    }
}

/// A raw header value as text: folds (line end followed by white space) become one space,
/// surrounding white space is trimmed, invalid UTF-8 is replaced.
fn unfold(raw: &[u8]) -> Cow<'_, str> {
    let raw = raw.trim_ascii();
    if !raw.contains(&b'\n') {
        return String::from_utf8_lossy(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'\r' || b == b'\n' {
            // Skip the line end and the white space after it; write one space.
            while raw
                .get(i)
                .is_some_and(|c| matches!(c, b'\r' | b'\n' | b' ' | b'\t'))
            {
                i += 1;
            }
            while out.last().is_some_and(|c| matches!(c, b' ' | b'\t')) {
                out.pop();
            }
            out.push(b' ');
        } else {
            out.push(b);
            i += 1;
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The headers this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    CallId,
    From,
    To,
    CSeq,
    UserAgent,
    Server,
    ContentType,
    ContentLength,
    Microsoft,
}

/// A header name, long or compact (RFC 3261 §7.3.3), case-insensitive.
fn known(name: &str) -> Option<Known> {
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    Some(if is("call-id") || is("i") {
        Known::CallId
    } else if is("from") || is("f") {
        Known::From
    } else if is("to") || is("t") {
        Known::To
    } else if is("cseq") {
        Known::CSeq
    } else if is("user-agent") {
        Known::UserAgent
    } else if is("server") {
        Known::Server
    } else if is("content-type") || is("c") {
        Known::ContentType
    } else if is("content-length") || is("l") {
        Known::ContentLength
    } else if starts_with_ignore_case(name, "ms-") || starts_with_ignore_case(name, "x-ms-") {
        Known::Microsoft
    } else {
        return None;
    })
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// The first Content-Length of a header block: `None` when absent, `Some(None)` when it is not
/// a number.
fn content_length(block: &[u8]) -> Option<Option<usize>> {
    let h = HeaderLines::new(block).find(|h| known(h.name) == Some(Known::ContentLength))?;
    let v = unfold(h.value);
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(None);
    }
    // A number too large for usize is over every limit anyway.
    Some(Some(v.parse::<usize>().unwrap_or(usize::MAX)))
}

/// `s` cut to at most `max` bytes at a character boundary.
fn bounded(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}

/// The fields gathered from the header lines (first occurrence wins).
#[derive(Debug, Default, PartialEq, Eq)]
struct Fields {
    call_id: Option<String>,
    from: Option<NameAddr>,
    to: Option<NameAddr>,
    cseq: Option<(u32, String)>,
    user_agent: Option<String>,
    server: Option<String>,
    /// The whole Content-Type value (parameters kept for the multipart boundary).
    content_type: Option<String>,
    ms_headers: Vec<(String, String)>,
}

impl Fields {
    fn apply(&mut self, name: &str, value: &str) {
        let value = value.trim();
        let Some(k) = known(name) else {
            return;
        };
        let set = |slot: &mut Option<String>| {
            if slot.is_none() && !value.is_empty() {
                *slot = Some(bounded(value, MAX_VALUE_BYTES));
            }
        };
        match k {
            Known::CallId => set(&mut self.call_id),
            Known::UserAgent => set(&mut self.user_agent),
            Known::Server => set(&mut self.server),
            Known::ContentType => {
                // Kept whole (the boundary parameter), bounded by the header section.
                if self.content_type.is_none() && !value.is_empty() {
                    self.content_type = Some(value.to_owned());
                }
            }
            Known::From if self.from.is_none() => self.from = Some(name_addr(value)),
            Known::To if self.to.is_none() => self.to = Some(name_addr(value)),
            Known::CSeq if self.cseq.is_none() => self.cseq = cseq(value),
            Known::Microsoft if self.ms_headers.len() < MAX_MS_HEADERS => self.ms_headers.push((
                bounded(name, MAX_MS_HEADER_VALUE),
                bounded(value, MAX_MS_HEADER_VALUE),
            )),
            Known::From | Known::To | Known::CSeq | Known::Microsoft | Known::ContentLength => {}
        }
    }
}

/// The URI and tag of a From/To value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct NameAddr {
    uri: Option<String>,
    tag: Option<String>,
}

/// Reads `[display-name] <uri>;params` or `uri;params` (RFC 3261 §20.10, §25.1): the URI
/// without its own parameters and headers, and the `tag` parameter.
fn name_addr(value: &str) -> NameAddr {
    let value = value.trim();
    let (addr, params) = match angle_open(value) {
        Some(lt) => {
            let inner = value.get(lt + 1..).unwrap_or_default();
            match inner.find('>') {
                Some(gt) => (
                    inner.get(..gt).unwrap_or_default(),
                    inner.get(gt + 1..).unwrap_or_default(),
                ),
                None => (inner, ""),
            }
        }
        // addr-spec without angle brackets: parameters after it are header parameters.
        None => match value.find(';') {
            Some(i) => (
                value.get(..i).unwrap_or_default(),
                value.get(i..).unwrap_or_default(),
            ),
            None => (value, ""),
        },
    };
    let uri = strip_uri_params(addr.trim());
    let tag = params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("tag") && !v.trim().is_empty())
            .then(|| bounded(v.trim(), MAX_VALUE_BYTES))
    });
    NameAddr {
        uri: (!uri.is_empty()).then(|| bounded(uri, MAX_VALUE_BYTES)),
        tag,
    }
}

/// The index of the `<` that opens the URI: the first one outside a quoted display name, or
/// (an unbalanced or escaped quote) simply the first one.
fn angle_open(value: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => return Some(i),
            _ => {}
        }
    }
    value.find('<')
}

/// `sip:alice@contoso.com;transport=tls?x=y` to `sip:alice@contoso.com`: parameters and headers
/// are cut after the host part (after `@`, or after the scheme when there is no user part).
fn strip_uri_params(uri: &str) -> &str {
    let host_from = uri.find('@').or_else(|| uri.find(':')).map_or(0, |i| i + 1);
    let cut = uri
        .get(host_from..)
        .and_then(|h| h.find([';', '?']))
        .map_or(uri.len(), |i| host_from + i);
    uri.get(..cut).unwrap_or(uri).trim()
}

/// `CSeq: 101 INVITE`.
fn cseq(value: &str) -> Option<(u32, String)> {
    let mut it = value.split_ascii_whitespace();
    let number = it.next()?.parse().ok()?;
    let method = it.next().unwrap_or_default();
    Some((number, bounded(method, MAX_VALUE_BYTES)))
}

/// Whether the message has the shape `rsip` parses: a CRLF start line, CRLF header lines
/// without folding, at most [`MAX_HEADERS`] of them.
fn rsip_shape(msg: &[u8], headers: &[u8]) -> bool {
    let crlf_only = headers
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .all(|(i, _)| i > 0 && headers.get(i - 1) == Some(&b'\r'));
    let lines = headers.iter().filter(|b| **b == b'\n').count();
    let folded = headers
        .windows(2)
        .any(|w| w.first() == Some(&b'\n') && matches!(w.get(1), Some(b' ' | b'\t')));
    let start_crlf = msg
        .iter()
        .position(|b| *b == b'\n')
        .is_some_and(|i| i > 0 && msg.get(i - 1) == Some(&b'\r'));
    // rsip ends the header section at the first CRLF CRLF after the start line (else after
    // the first header line): at least one header line and our blank line make that ours.
    let ends_blank = headers.len() > 2 && headers.ends_with(b"\r\n\r\n");
    start_crlf && crlf_only && !folded && ends_blank && lines <= MAX_HEADERS
}

/// Reads the header fields with `rsip`; `None` when it refuses the message.
fn fields_rsip(msg: &[u8]) -> Option<Fields> {
    use rsip::Header;
    use rsip::headers::UntypedHeader;
    use rsip::message::HasHeaders;

    let parsed = rsip::SipMessage::try_from(msg).ok()?;
    let mut fields = Fields::default();
    for h in parsed.headers().iter() {
        let (name, value): (&str, &str) = match h {
            Header::CallId(v) => ("Call-ID", v.value()),
            Header::From(v) => ("From", v.value()),
            Header::To(v) => ("To", v.value()),
            Header::CSeq(v) => ("CSeq", v.value()),
            Header::UserAgent(v) => ("User-Agent", v.value()),
            Header::Server(v) => ("Server", v.value()),
            Header::ContentType(v) => ("Content-Type", v.value()),
            Header::Other(name, value) => (name.as_str(), value.as_str()),
            _ => continue,
        };
        fields.apply(name, value);
    }
    Some(fields)
}

/// Reads the header fields with the tolerant scan.
fn fields_scan(headers: &[u8]) -> Fields {
    let mut fields = Fields::default();
    for h in HeaderLines::new(headers) {
        if known(h.name).is_some() {
            fields.apply(h.name, &unfold(h.value));
        }
    }
    fields
}

/// The message summary from its framed bytes: `msg` is the whole message, `headers` the header
/// lines (after the start line), `body` the body.
fn build(start: RawStart<'_>, msg: &[u8], headers: &[u8], body: &[u8]) -> SipMessage {
    let fields = rsip_shape(msg, headers)
        .then(|| fields_rsip(msg))
        .flatten()
        .unwrap_or_else(|| fields_scan(headers));
    let mut media = Vec::new();
    if !body.is_empty() && body.len() <= MAX_BODY_BYTES {
        match fields.content_type.as_deref() {
            Some(ct) => body_media(ct, body, 0, &mut media),
            // No Content-Type (RFC 3261 requires one with a body): an SDP still says so.
            None if body.starts_with(b"v=0\r\n") || body.starts_with(b"v=0\n") => {
                sdp::media_endpoints(body, &mut media);
            }
            None => {}
        }
    }
    let start = match start {
        RawStart::Request { method, uri } => SipStart::Request {
            method: bounded(method, MAX_VALUE_BYTES),
            uri: bounded(uri, MAX_VALUE_BYTES),
        },
        RawStart::Response { code, reason } => SipStart::Response {
            code,
            reason: bounded(reason, MAX_VALUE_BYTES),
        },
    };
    let Fields {
        call_id,
        from,
        to,
        cseq,
        user_agent,
        server,
        content_type,
        ms_headers,
    } = fields;
    let from = from.unwrap_or_default();
    let to = to.unwrap_or_default();
    SipMessage {
        start,
        call_id,
        from_uri: from.uri,
        from_tag: from.tag,
        to_uri: to.uri,
        to_tag: to.tag,
        cseq,
        user_agent: user_agent.or(server),
        ms_headers,
        content_type: content_type
            .map(|ct| bounded(&media_type(&ct).to_ascii_lowercase(), MAX_VALUE_BYTES)),
        media,
    }
}

/// `type/subtype` of a Content-Type value, without parameters.
fn media_type(content_type: &str) -> &str {
    content_type
        .split(';')
        .next()
        .unwrap_or(content_type)
        .trim()
}

/// A parameter of a Content-Type value, unquoted.
fn content_param<'a>(content_type: &'a str, name: &str) -> Option<&'a str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
        })
    })
}

/// Media endpoints of a body of type `content_type`: SDP, or the SDP parts of a multipart body
/// (RFC 2046 §5.1), at most [`MAX_MULTIPART_DEPTH`] levels deep.
fn body_media(content_type: &str, body: &[u8], depth: usize, out: &mut Vec<MediaEndpoint>) {
    let mt = media_type(content_type);
    if mt.eq_ignore_ascii_case("application/sdp") {
        sdp::media_endpoints(body, out);
        return;
    }
    if !starts_with_ignore_case(mt, "multipart/") || depth >= MAX_MULTIPART_DEPTH {
        return;
    }
    let Some(boundary) = content_param(content_type, "boundary") else {
        return;
    };
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
        return;
    }
    let mut delimiter = Vec::with_capacity(boundary.len() + 2);
    delimiter.extend_from_slice(b"--");
    delimiter.extend_from_slice(boundary.as_bytes());
    for part in MimeParts::new(body, &delimiter).take(MAX_MULTIPART_PARTS) {
        // Part headers, a blank line, the part's body (RFC 2046 §5.1.1). No headers at all
        // means text/plain.
        let (part_headers, part_body) = split_part(part);
        let ct = HeaderLines::new(part_headers)
            .find(|h| h.name.eq_ignore_ascii_case("content-type"))
            .map(|h| unfold(h.value));
        if let Some(ct) = ct {
            body_media(&ct, part_body, depth + 1, out);
        }
    }
}

/// Splits a MIME part into its header block and its body.
fn split_part(part: &[u8]) -> (&[u8], &[u8]) {
    if part.starts_with(b"\r\n") || part.starts_with(b"\n") {
        return (
            &[],
            part.get(leading_one_line_end(part)..).unwrap_or_default(),
        );
    }
    match find_header_end(part, 0) {
        HeaderEnd::Found(end) => (
            part.get(..end).unwrap_or_default(),
            part.get(end..).unwrap_or_default(),
        ),
        HeaderEnd::NeedMore | HeaderEnd::TooLong => (part, &[]),
    }
}

fn leading_one_line_end(p: &[u8]) -> usize {
    if p.starts_with(b"\r\n") {
        2
    } else {
        usize::from(p.starts_with(b"\n"))
    }
}

/// The parts of a multipart body: the bytes between delimiter lines (a delimiter starts a
/// line; the line end before it belongs to it; the one with `--` after it closes the body).
struct MimeParts<'a> {
    body: &'a [u8],
    delimiter: &'a [u8],
    /// Where the next part starts; `None` when done.
    at: Option<usize>,
}

impl<'a> MimeParts<'a> {
    fn new(body: &'a [u8], delimiter: &'a [u8]) -> Self {
        let mut parts = MimeParts {
            body,
            delimiter,
            at: None,
        };
        // The preamble before the first delimiter is ignored.
        parts.at = parts
            .find_delimiter(0)
            .and_then(|d| parts.after_delimiter(d));
        parts
    }

    /// The next delimiter at the start of a line, at or after `from`.
    fn find_delimiter(&self, from: usize) -> Option<usize> {
        let mut pos = from;
        loop {
            let rest = self.body.get(pos..)?;
            let i = find(rest, self.delimiter)?;
            let at = pos + i;
            let line_start = at == 0 || self.body.get(at - 1) == Some(&b'\n');
            // The delimiter ends there: "--" (the close), padding, or the line end
            // (RFC 2046 §5.1.1); "--boundaryX" is text.
            let after = self
                .body
                .get(at + self.delimiter.len()..)
                .unwrap_or_default();
            let ends = matches!(
                after,
                [] | [b'\r' | b'\n' | b' ' | b'\t', ..] | [b'-', b'-', ..]
            );
            if line_start && ends {
                return Some(at);
            }
            pos = at + 1;
        }
    }

    /// Where the part after the delimiter at `d` starts; `None` for the closing delimiter.
    fn after_delimiter(&self, d: usize) -> Option<usize> {
        let end = d + self.delimiter.len();
        let rest = self.body.get(end..)?;
        if rest.starts_with(b"--") {
            return None;
        }
        // Transport padding, then the line end.
        let nl = rest.iter().position(|b| *b == b'\n')?;
        Some(end + nl + 1)
    }
}

impl<'a> Iterator for MimeParts<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.at.take()?;
        let (end, next) = match self.find_delimiter(start) {
            Some(d) => (d, self.after_delimiter(d)),
            // No closing delimiter (a cut body): the rest is the last part.
            None => (self.body.len(), None),
        };
        self.at = next;
        let part = self.body.get(start..end)?;
        // The line end before the delimiter is part of it.
        let part = part.strip_suffix(b"\n").unwrap_or(part);
        Some(part.strip_suffix(b"\r").unwrap_or(part))
    }
}

/// The first index of `needle` in `hay` (a short needle; linear in `hay` times its length).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut pos = 0;
    while let Some(rest) = hay.get(pos..) {
        let i = rest.iter().position(|b| *b == first)?;
        let at = pos + i;
        if hay.get(at..)?.starts_with(needle) {
            return Some(at);
        }
        pos = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::sdp::{EndpointSource, MediaKind};

    macro_rules! data {
        ($name:literal) => {
            include_bytes!(concat!("../tests/data/sip/", $name)).as_slice()
        };
    }

    /// Every captured message of `tests/data/sip` (see its README for provenance), one
    /// message per file except the `.c2s`/`.s2c` streams.
    const DATAGRAMS: [&[u8]; 14] = [
        data!("suricata-compact-form.sip"),
        data!("suricata-multi-value.sip"),
        data!("suricata-sdp-invite.sip"),
        data!("suricata-sdp-200.sip"),
        data!("cloudshark-invite.sip"),
        data!("cloudshark-200.sip"),
        data!("gtp-iphone-subscribe.sip"),
        data!("arkime-invite-no-length.sip"),
        data!("zeek-invalid-length-invite.sip"),
        data!("zeek-invalid-length-200.sip"),
        data!("zeek-junk-register.sip"),
        data!("zeek-wireshark-register.sip"),
        data!("zeek-wireshark-invite.sip"),
        data!("zeek-wireshark-100.sip"),
    ];
    const STREAMS: [&[u8]; 8] = [
        data!("suricata-body-large.c2s.sip"),
        data!("suricata-tcp-register.c2s.sip"),
        data!("suricata-tcp-register.s2c.sip"),
        data!("gtp-iphone-call.c2s.sip"),
        data!("gtp-iphone-call.s2c.sip"),
        data!("arkime-options-publish.c2s.sip"),
        data!("zeek-long-paths-options.sip"),
        data!("zeek-long-paths-200.sip"),
    ];

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(v4(0, 0, 0, 0))
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    fn request(method: &str, uri: &str) -> SipStart {
        SipStart::Request {
            method: method.to_owned(),
            uri: uri.to_owned(),
        }
    }

    fn response(code: u16, reason: &str) -> SipStart {
        SipStart::Response {
            code,
            reason: reason.to_owned(),
        }
    }

    fn endpoint(
        addr: IpAddr,
        port: u16,
        tcp: bool,
        media: MediaKind,
        source: EndpointSource,
    ) -> MediaEndpoint {
        MediaEndpoint {
            addr,
            port,
            tcp,
            media,
            source,
        }
    }

    /// Splits a stream into its messages; panics (test failure) on anything but messages and
    /// keep-alives that consume it exactly.
    fn messages(mut stream: &[u8]) -> Vec<(SipMessage, usize)> {
        let mut out = Vec::new();
        while !stream.is_empty() {
            match parse_stream(stream) {
                StreamParse::Complete { msg, len } => {
                    out.push((msg, len));
                    stream = stream.get(len..).unwrap_or_default();
                }
                StreamParse::KeepAlive { len } => stream = stream.get(len..).unwrap_or_default(),
                other => panic!("unexpected {other:?} with {} bytes left", stream.len()),
            }
        }
        out
    }

    fn datagram(p: &[u8]) -> SipMessage {
        match parse_datagram(p) {
            Some(m) => m,
            None => panic!(
                "not parsed: {:?}",
                String::from_utf8_lossy(p.get(..80).unwrap_or(p))
            ),
        }
    }

    /// The header block of a single message (after the start line, to the blank line).
    fn header_block(msg: &[u8]) -> &[u8] {
        let start = msg
            .iter()
            .position(|b| *b == b'\n')
            .map_or(msg.len(), |i| i + 1);
        match find_header_end(msg, start) {
            HeaderEnd::Found(end) => msg.get(start..end).unwrap_or_default(),
            _ => msg.get(start..).unwrap_or_default(),
        }
    }

    // ---- Real captures -------------------------------------------------------------------

    /// suricata-verify sip-compact-form (MIT), frame 1: compact `v`, `f`, `t`, `c`, `l`. Its
    /// `l: 272` is shorter than the 372 bytes after the headers: the body is cut there
    /// (RFC 3261 §18.3), before the `m=` line. tshark reads it the same way: connection
    /// address 192.168.1.2 and no media port.
    #[test]
    fn suricata_compact_form() {
        let m = datagram(data!("suricata-compact-form.sip"));
        assert_eq!(
            m.start,
            request("INVITE", "sip:97239287044@voip.brujula.net")
        );
        assert_eq!(m.call_id, some("105090259-446faf7a@192.168.1.2"));
        assert_eq!(m.from_uri, some("sip:816666@voip.brurjula.net"));
        assert_eq!(m.from_tag, some("6433ef9"));
        assert_eq!(m.to_uri, some("sip:97239287044@voip.brujula.net"));
        assert_eq!(m.to_tag, None);
        assert_eq!(m.cseq, Some((1, "INVITE".to_owned())));
        assert_eq!(m.user_agent, some("Nero SIPPS IP Phone Version 2.0.51.16"));
        assert_eq!(m.content_type, some("application/sdp"));
        assert!(m.media.is_empty());
        assert_eq!(m.method(), Some("INVITE"));
        assert!(m.is_request());
    }

    /// suricata-verify sip-header-multi-value (MIT), frame 1: `t:` and then `To:`; the first
    /// one is the To of the message.
    #[test]
    fn suricata_multi_value_first_wins() {
        let m = datagram(data!("suricata-multi-value.sip"));
        assert_eq!(m.to_uri, some("sip:97239287044@voip.brujula.net"));
        assert_eq!(m.from_uri, some("sip:816666@voip.brurjula.net"));
    }

    /// suricata-verify sip-sdp (MIT), frames 1 and 2: Content-Length 272 cuts both bodies
    /// before their `m=` lines (tshark: no sdp.media.port either). Without that cut the 200 OK
    /// would announce two audio ports.
    #[test]
    fn suricata_sdp_content_length_is_honoured() {
        for p in [
            data!("suricata-sdp-invite.sip"),
            data!("suricata-sdp-200.sip"),
        ] {
            let m = datagram(p);
            assert_eq!(m.call_id, some("105090259-446faf7a@192.168.1.2"));
            assert!(m.media.is_empty());
        }
        let m = datagram(data!("suricata-sdp-200.sip"));
        assert_eq!(m.start, response(200, "Ok"));
        let mut media = Vec::new();
        let body = data!("suricata-sdp-200.sip").get(519..).unwrap_or_default();
        sdp::media_endpoints(body, &mut media);
        assert_eq!(
            media,
            [
                endpoint(
                    v4(192, 168, 1, 2),
                    30000,
                    false,
                    MediaKind::Audio,
                    EndpointSource::Connection
                ),
                endpoint(
                    v4(192, 168, 1, 2),
                    20000,
                    false,
                    MediaKind::Audio,
                    EndpointSource::Connection
                ),
            ]
        );
    }

    /// suricata-verify sip-body-frames (cloudshark, MIT), frames 1 and 4: a From with URI
    /// parameters inside the angle brackets, `Content-Length:   229` with extra spaces,
    /// `Server:` as the user agent of a response; SDP media as tshark shows it
    /// (200.57.7.196:40376 and 200.57.7.204:8000).
    #[test]
    fn cloudshark_invite_and_answer() {
        let invite = datagram(data!("cloudshark-invite.sip"));
        assert_eq!(
            invite.start,
            request("INVITE", "sip:francisco@bestel.com:55060")
        );
        assert_eq!(invite.call_id, some("12013223@200.57.7.195"));
        assert_eq!(invite.from_uri, some("sip:200.57.7.195:55061"));
        assert_eq!(invite.from_tag, some("GR52RWG346-34"));
        assert_eq!(invite.to_uri, some("sip:francisco@bestel.com:55060"));
        assert_eq!(invite.user_agent, None);
        assert_eq!(
            invite.media,
            [endpoint(
                v4(200, 57, 7, 196),
                40376,
                false,
                MediaKind::Audio,
                EndpointSource::Connection
            )]
        );
        let ok = datagram(data!("cloudshark-200.sip"));
        assert_eq!(ok.start, response(200, "Ok"));
        assert_eq!(ok.status(), Some(200));
        assert_eq!(ok.method(), Some("INVITE"));
        assert_eq!(ok.to_tag, some("298852044"));
        assert_eq!(ok.user_agent, some("X-Lite release 1103m"));
        assert_eq!(
            ok.media,
            [endpoint(
                v4(200, 57, 7, 204),
                8000,
                false,
                MediaKind::Audio,
                EndpointSource::Connection
            )]
        );
        // As a stream, each is exactly one message.
        assert_eq!(messages(data!("cloudshark-invite.sip")).len(), 1);
    }

    /// zeek wireshark.pcap (BSD-3-Clause), frames 3, 19, 22: a quoted display name, a long
    /// reason phrase kept verbatim, `Server:` with parentheses.
    #[test]
    fn zeek_wireshark_trace() {
        let invite = datagram(data!("zeek-wireshark-invite.sip"));
        assert_eq!(invite.from_uri, some("sip:816666@voip.brurjula.net"));
        assert_eq!(invite.from_tag, some("6433ef9"));
        assert_eq!(
            invite.media,
            [endpoint(
                v4(192, 168, 1, 2),
                30000,
                false,
                MediaKind::Audio,
                EndpointSource::Connection
            )]
        );
        let trying = datagram(data!("zeek-wireshark-100.sip"));
        assert_eq!(
            trying.start,
            response(100, "trying -- your call is important to us")
        );
        assert_eq!(
            trying.user_agent,
            some("Sip EXpress router (0.8.12 (i386/linux))")
        );
        let register = datagram(data!("zeek-wireshark-register.sip"));
        assert_eq!(register.cseq, Some((69, "REGISTER".to_owned())));
        assert_eq!(register.from_tag, some("8e948b0"));
    }

    /// arkime gtp-iphone (Apache-2.0), inner TCP stream 2: an IMS call over IPv6 in both
    /// directions. The INVITE spans two TCP segments (1338 + 336 bytes); tel: URIs; the SDP
    /// uses `c=IN IP6`.
    #[test]
    fn gtp_iphone_call_streams() {
        let c2s = messages(data!("gtp-iphone-call.c2s.sip"));
        let starts: Vec<_> = c2s.iter().map(|(m, _)| m.start.clone()).collect();
        assert_eq!(
            starts,
            [
                request("INVITE", "tel:122"),
                request("ACK", "sip:[fd01::183]:5060"),
                response(200, "OK"),
            ]
        );
        assert_eq!(
            c2s.iter().map(|(_, len)| *len).collect::<Vec<_>>(),
            [1674, 662, 598]
        );
        let (invite, _) = &c2s[0];
        assert_eq!(invite.call_id, some("zTHDK1uOm6wLihi3m15pRfSR"));
        assert_eq!(invite.from_uri, some("tel:+88270006"));
        assert_eq!(invite.from_tag, some("XsO27IxvIu"));
        assert_eq!(invite.to_uri, some("tel:122"));
        assert_eq!(invite.user_agent, some("iOS/8.1 (12B411) iPhone"));
        assert_eq!(
            invite.media,
            [endpoint(
                ip("fd00:183:1:1:1886:9040:8605:32b8"),
                49120,
                false,
                MediaKind::Audio,
                EndpointSource::Connection
            )]
        );
        // The first segment alone is an incomplete message.
        let first_segment = data!("gtp-iphone-call.c2s.sip")
            .get(..1338)
            .unwrap_or_default();
        assert_eq!(parse_stream(first_segment), StreamParse::Incomplete);

        let s2c = messages(data!("gtp-iphone-call.s2c.sip"));
        let codes: Vec<_> = s2c.iter().map(|(m, _)| m.status()).collect();
        assert_eq!(codes, [Some(100), Some(180), Some(200), None]);
        let (ok, _) = &s2c[2];
        assert_eq!(ok.to_tag, some("206718171"));
        assert_eq!(ok.user_agent, some("YATE/5.4.1"));
        assert_eq!(
            ok.media,
            [endpoint(
                ip("fd01::183"),
                19956,
                false,
                MediaKind::Audio,
                EndpointSource::Connection
            )]
        );
        assert_eq!(s2c[3].0.method(), Some("BYE"));
    }

    /// arkime gtp-iphone (Apache-2.0), frame 31: SUBSCRIBE over UDP with tel: URIs and a
    /// Contact with feature parameters.
    #[test]
    fn gtp_iphone_subscribe() {
        let m = datagram(data!("gtp-iphone-subscribe.sip"));
        assert_eq!(m.start, request("SUBSCRIBE", "tel:+88270006"));
        assert_eq!(m.from_uri, some("tel:+88270006"));
        assert_eq!(m.to_uri, some("tel:+88270006"));
        assert_eq!(m.cseq, Some((1, "SUBSCRIBE".to_owned())));
    }

    /// suricata-verify sip-tcp-method (MIT): the REGISTER arrives in two segments (400 and 185
    /// bytes). Every shorter prefix is Incomplete; the whole is one message.
    #[test]
    fn suricata_tcp_register_in_two_segments() {
        let stream = data!("suricata-tcp-register.c2s.sip");
        for n in 0..stream.len() {
            assert_eq!(
                parse_stream(stream.get(..n).unwrap_or_default()),
                StreamParse::Incomplete,
                "prefix {n}"
            );
        }
        let all = messages(stream);
        assert_eq!(all.len(), 1);
        let (m, len) = &all[0];
        assert_eq!(*len, 585);
        assert_eq!(
            m.start,
            request("REGISTER", "sip:192.168.43.100;transport=TCP")
        );
        assert_eq!(m.user_agent, some("Zoiper rv2.10.3.2"));
        let ok = messages(data!("suricata-tcp-register.s2c.sip"));
        let (ok, _) = &ok[0];
        assert_eq!(ok.user_agent, some("kamailio (5.2.1 (x86_64/linux))"));
        assert_eq!(ok.from_uri, some("sip:987654@192.168.43.100"));
        assert_eq!(ok.to_tag, some("9dd61ff61e802d8e2bef5f14621ef3c2.5c1b"));
    }

    /// suricata-verify sip-body-large (MIT): a body of exactly MAX_BODY_BYTES (65 536) is
    /// parsed; one byte more (Content-Length edited) is TooLarge with the length to skip.
    #[test]
    fn suricata_body_large_at_the_limit() {
        let stream = data!("suricata-body-large.c2s.sip");
        let all = messages(stream);
        assert_eq!(all.len(), 1);
        let (m, len) = &all[0];
        assert_eq!(*len, 257 + MAX_BODY_BYTES);
        assert_eq!(m.call_id, some("test123@attacker.com"));
        assert_eq!(m.content_type, some("application/sdp"));
        assert!(m.media.is_empty());
        let edited = String::from_utf8_lossy(stream).replacen(
            "Content-Length: 65536",
            "Content-Length: 65537",
            1,
        );
        assert_eq!(
            parse_stream(edited.as_bytes()),
            StreamParse::TooLarge {
                skip: Some(257 + MAX_BODY_BYTES + 1)
            }
        );
        // Even before the body has arrived.
        assert_eq!(
            parse_stream(edited.as_bytes().get(..300).unwrap_or_default()),
            StreamParse::TooLarge {
                skip: Some(257 + MAX_BODY_BYTES + 1)
            }
        );
    }

    /// arkime_synthetic (Apache-2.0): an INVITE over UDP without Content-Length (frame 319),
    /// and OPTIONS then PUBLISH back to back on one TCP stream (frames 889, 891).
    #[test]
    fn arkime_synthetic_messages() {
        let m = datagram(data!("arkime-invite-no-length.sip"));
        assert_eq!(m.call_id, some("12345"));
        assert_eq!(m.cseq, Some((1, "INVITE".to_owned())));
        let all = messages(data!("arkime-options-publish.c2s.sip"));
        let methods: Vec<_> = all
            .iter()
            .map(|(m, len)| (m.method().map(str::to_owned), *len))
            .collect();
        assert_eq!(methods, [(some("OPTIONS"), 191), (some("PUBLISH"), 212)]);
        assert_eq!(all[1].0.call_id, some("pub1@edge.test"));
    }

    /// zeek invalid-content-length (BSD-3-Clause): `Content-Length: bad` cannot frame a stream
    /// (NotSip), but a datagram is still read.
    #[test]
    fn zeek_invalid_content_length() {
        for p in [
            data!("zeek-invalid-length-invite.sip"),
            data!("zeek-invalid-length-200.sip"),
        ] {
            assert_eq!(parse_stream(p), StreamParse::NotSip);
            let m = datagram(p);
            assert_eq!(m.call_id, some("a84b4c76e66710@10.0.0.1"));
            assert_eq!(m.from_tag, some("1928301774"));
        }
    }

    /// zeek sip-junk-before-request (BSD-3-Clause): four zero bytes are not SIP; the REGISTER
    /// after them has no Call-ID at all.
    #[test]
    fn zeek_junk_and_minimal_register() {
        assert_eq!(parse_datagram(data!("zeek-junk.bin")), None);
        assert_eq!(parse_stream(data!("zeek-junk.bin")), StreamParse::NotSip);
        let m = datagram(data!("zeek-junk-register.sip"));
        assert_eq!(m.start, request("REGISTER", "sip:1.1.1.1:5060"));
        assert_eq!(m.call_id, None);
        assert_eq!(m.cseq, None);
    }

    /// zeek sip-long-request-response-paths (BSD-3-Clause): 9.5 KB of Via headers, within
    /// MAX_HEADER_BYTES.
    #[test]
    fn zeek_long_paths_within_limits() {
        for p in [
            data!("zeek-long-paths-options.sip"),
            data!("zeek-long-paths-200.sip"),
        ] {
            assert!(p.len() > 9000 && p.len() < MAX_HEADER_BYTES);
            assert_eq!(datagram(p).call_id, some("path-growth@example.com"));
            assert_eq!(messages(p).len(), 1);
        }
    }

    /// peafowl ip_fragmentation/correct_1 (MIT): a 33 KB CANCEL whose CSeq line alone is 32 KB
    /// (tshark dissects it whole). Over MAX_HEADER_BYTES: refused, without reading past it.
    #[test]
    fn peafowl_huge_header_is_refused() {
        let p = data!("peafowl-fragmented-cancel.sip");
        assert!(p.len() > 2 * MAX_HEADER_BYTES);
        assert_eq!(parse_datagram(p), None);
        assert_eq!(parse_stream(p), StreamParse::TooLarge { skip: None });
    }

    /// rsip parses every captured message it can, and agrees with the tolerant scan on all of
    /// them; the ones it refuses are named.
    #[test]
    fn rsip_and_tolerant_scan_agree() {
        let mut refused = Vec::new();
        let mut checked = 0;
        let all_messages = DATAGRAMS
            .iter()
            .map(|p| p.to_vec())
            .chain(STREAMS.iter().flat_map(|s| {
                let mut out = Vec::new();
                let mut rest = *s;
                while let StreamParse::Complete { len, .. } = parse_stream(rest) {
                    out.push(rest.get(..len).unwrap_or_default().to_vec());
                    rest = rest.get(len..).unwrap_or_default();
                }
                out
            }));
        for msg in all_messages {
            let headers = header_block(&msg);
            assert!(rsip_shape(&msg, headers));
            match fields_rsip(&msg) {
                Some(f) => {
                    assert_eq!(f, fields_scan(headers), "{}", String::from_utf8_lossy(&msg));
                    checked += 1;
                }
                None => refused
                    .push(String::from_utf8_lossy(msg.get(..40).unwrap_or_default()).into_owned()),
            }
        }
        // rsip 0.4's URI parser refuses the IPv6 hosts and the `tel:+...` request URI of the
        // IMS messages; the tolerant scan reads those (gtp_iphone_* tests).
        assert_eq!(checked, 25, "refused: {refused:?}");
        let refused: Vec<_> = refused.iter().filter_map(|r| r.split(' ').next()).collect();
        assert_eq!(refused, ["SUBSCRIBE", "ACK", "BYE"]);
    }

    // ---- Lync / Skype for Business, built by hand from Microsoft's documents --------------

    /// An INVITE as a Lync 2013 / Skype for Business client sends it over TLS, built by hand:
    ///
    /// - body structure from [MS-SIPRE] §3.15.4.1 (2-level multipart/alternative: the ICE
    ///   version 6 SDP with the `ms-proxy-2007fallback` Content-Disposition parameter first,
    ///   the ICE version 19 SDP last);
    /// - part 1 candidates in the [MS-ICE] (draft-ietf-mmusic-ice-06) layout;
    /// - part 2 candidates in the [MS-ICE2] layout with `TCP-PASS`/`TCP-ACT`, and an IPv6
    ///   candidate in `a=x-candidate-ipv6` ([MS-SDPEXT] §3.1.5.21);
    /// - `From` with `;epid=` ([MS-SIPRE] endpoint identifier), `Ms-Keep-Alive`
    ///   ([MS-CONMGMT] §2.2.1), other `ms-` headers Lync sends, a folded `Supported` line;
    /// - addresses from the documentation ranges (RFC 5737, RFC 3849).
    const LYNC_INVITE: &str = "INVITE sip:bob@contoso.com SIP/2.0\r\n\
        Via: SIP/2.0/TLS 192.0.2.10:51234;branch=z9hG4bK7A1C2E3F;ms-received-port=51234;ms-received-cid=1A2B00\r\n\
        Max-Forwards: 70\r\n\
        From: \"Alice Example\" <sip:alice@contoso.com>;tag=9f3c2a1b7e;epid=5d7c1e9a02\r\n\
        To: <sip:bob@contoso.com>\r\n\
        Call-ID: 0f1e2d3c4b5a69788796a5b4c3d2e1f0\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:alice@contoso.com;opaque=user:epid:AbCdEfGhIjKlMnOpQrStUv;gruu>\r\n\
        User-Agent: UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)\r\n\
        Supported: ms-dialog-route-set-update, timer, histinfo,\r\n \
         ms-safe-transfer, ms-sender, ms-early-media, 100rel\r\n\
        Ms-Conversation-ID: AdAbCdEf0123456789abcdefABCDEF==\r\n\
        ms-keep-alive: UAC;hop-hop=yes\r\n\
        ms-subnet: 192.0.2.0\r\n\
        ms-endpoint-location-data: NetworkScope;ms-media-location-type=Intranet\r\n\
        Allow: INVITE, BYE, ACK, CANCEL, INFO, UPDATE, REFER, NOTIFY, BENOTIFY, OPTIONS\r\n\
        Content-Type: multipart/alternative;boundary=\"----=_NextPart_000_0001_01D9C0DE.5EED1234\"\r\n\
        Content-Length: 1169\r\n\
        \r\n\
        ------=_NextPart_000_0001_01D9C0DE.5EED1234\r\n\
        Content-Type: application/sdp\r\n\
        Content-Transfer-Encoding: 7bit\r\n\
        Content-ID: <4b7e9a0c1d2f3e4a5b6c7d8e9f0a1b2c@contoso.com>\r\n\
        Content-Disposition: session; handling=optional; ms-proxy-2007fallback\r\n\
        \r\n\
        v=0\r\n\
        o=- 0 0 IN IP4 192.0.2.10\r\n\
        s=session\r\n\
        c=IN IP4 192.0.2.10\r\n\
        b=CT:99980\r\n\
        t=0 0\r\n\
        m=audio 50010 RTP/SAVP 114 9 0 8 101\r\n\
        a=candidate:Q2sWzmPnC8UfZk1hXj0BqKYvLd7tEa3oRiN6cGuMw4A 1 bXt5Lq9ZsWk2YhGf8pDr0A UDP 0.830 198.51.100.20 53012 \r\n\
        a=candidate:H7cVb2NqXe5KsL0fPa9TjRw3yGm6UdZo1iCkE8hBn4Q 1 Zp3Rt6WvYc9Lm2Qs5Nx8Kg UDP 0.840 192.0.2.10 50010 \r\n\
        a=rtpmap:114 x-msrta/16000\r\n\
        \r\n\
        ------=_NextPart_000_0001_01D9C0DE.5EED1234\r\n\
        Content-Type: application/sdp\r\n\
        Content-Transfer-Encoding: 7bit\r\n\
        Content-ID: <9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49@contoso.com>\r\n\
        Content-Disposition: session; handling=optional\r\n\
        \r\n\
        v=0\r\n\
        o=- 0 1 IN IP4 192.0.2.10\r\n\
        s=session\r\n\
        c=IN IP4 192.0.2.10\r\n\
        b=CT:99980\r\n\
        t=0 0\r\n\
        m=audio 50020 RTP/SAVP 114 9 0 8 101\r\n\
        a=ice-ufrag:kd9R\r\n\
        a=ice-pwd:Wm3vPq8sLz1XcR6tYb0NfG2h\r\n\
        a=candidate:1 1 UDP 2130706431 192.0.2.10 50020 typ host \r\n\
        a=candidate:1 2 UDP 2130705918 192.0.2.10 50021 typ host \r\n\
        a=x-candidate-ipv6:2 1 UDP 33553407 2001:db8:10::5 50022 typ host \r\n\
        a=candidate:3 1 TCP-PASS 174455807 203.0.113.50 50040 typ relay raddr 192.0.2.10 rport 50020 \r\n\
        a=candidate:4 1 TCP-ACT 1684797951 192.0.2.10 50041 typ srflx raddr 192.0.2.10 rport 50041 \r\n\
        a=rtcp:50021\r\n\
        \r\n\
        ------=_NextPart_000_0001_01D9C0DE.5EED1234--\r\n";

    /// The body length of a hand-built message is computed, not counted by hand.
    fn with_length(msg: &str) -> String {
        let (head, body) = msg.split_once("\r\n\r\n").unwrap_or((msg, ""));
        let head: Vec<&str> = head
            .split("\r\n")
            .filter(|l| !l.to_ascii_lowercase().starts_with("content-length"))
            .collect();
        format!(
            "{}\r\nContent-Length: {}\r\n\r\n{body}",
            head.join("\r\n"),
            body.len()
        )
    }

    #[test]
    fn lync_invite_multipart_alternative() {
        let bytes = with_length(LYNC_INVITE);
        let all = messages(bytes.as_bytes());
        assert_eq!(all.len(), 1);
        let (m, len) = &all[0];
        assert_eq!(*len, bytes.len());
        assert_eq!(m.start, request("INVITE", "sip:bob@contoso.com"));
        assert_eq!(m.call_id, some("0f1e2d3c4b5a69788796a5b4c3d2e1f0"));
        assert_eq!(m.from_uri, some("sip:alice@contoso.com"));
        assert_eq!(m.from_tag, some("9f3c2a1b7e"));
        assert_eq!(m.to_uri, some("sip:bob@contoso.com"));
        assert_eq!(
            m.user_agent,
            some("UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)")
        );
        assert_eq!(m.content_type, some("multipart/alternative"));
        let ms: Vec<(&str, &str)> = m
            .ms_headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            ms,
            [
                ("Ms-Conversation-ID", "AdAbCdEf0123456789abcdefABCDEF=="),
                ("ms-keep-alive", "UAC;hop-hop=yes"),
                ("ms-subnet", "192.0.2.0"),
                (
                    "ms-endpoint-location-data",
                    "NetworkScope;ms-media-location-type=Intranet"
                ),
            ]
        );
        use EndpointSource::{Candidate, Connection, XCandidate};
        use MediaKind::Audio;
        assert_eq!(
            m.media,
            [
                endpoint(v4(192, 0, 2, 10), 50010, false, Audio, Connection),
                endpoint(v4(198, 51, 100, 20), 53012, false, Audio, XCandidate),
                endpoint(v4(192, 0, 2, 10), 50020, false, Audio, Connection),
                endpoint(v4(192, 0, 2, 10), 50021, false, Audio, Candidate),
                endpoint(ip("2001:db8:10::5"), 50022, false, Audio, XCandidate),
                endpoint(v4(203, 0, 113, 50), 50040, true, Audio, Candidate),
                endpoint(v4(192, 0, 2, 10), 50041, true, Audio, Candidate),
            ]
        );
        // The folded Supported line keeps rsip out; the tolerant scan read it all.
        let headers = header_block(bytes.as_bytes());
        assert!(!rsip_shape(bytes.as_bytes(), headers));
        // Unfolded, rsip reads the same fields.
        let unfolded = with_length(&LYNC_INVITE.replace(",\r\n ms-safe", ", ms-safe"));
        let headers = header_block(unfolded.as_bytes());
        assert!(rsip_shape(unfolded.as_bytes(), headers));
        assert_eq!(fields_rsip(unfolded.as_bytes()), Some(fields_scan(headers)));
        assert_eq!(datagram(unfolded.as_bytes()).media.len(), 7);
        // Over UDP the same bytes are one datagram.
        assert_eq!(&datagram(bytes.as_bytes()), m);
    }

    /// [MS-SIPRE] §3.15.4.1 3-level form: multipart/mixed holding the multipart/alternative
    /// of SDPs and a call context part.
    #[test]
    fn lync_three_level_multipart() {
        let msg = with_length(
            "INVITE sip:bob@contoso.com SIP/2.0\r\n\
             From: <sip:alice@contoso.com>;tag=1;epid=2\r\n\
             To: <sip:bob@contoso.com>\r\n\
             Call-ID: mixed-1\r\n\
             CSeq: 1 INVITE\r\n\
             Content-Type: multipart/mixed; boundary=outer\r\n\
             \r\n\
             --outer\r\n\
             Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
             \r\n\
             --inner\r\n\
             Content-Type: application/sdp\r\n\
             \r\n\
             v=0\r\nc=IN IP4 192.0.2.10\r\nm=audio 50010 RTP/SAVP 0\r\n\
             \r\n\
             --inner\r\n\
             Content-Type: application/sdp\r\n\
             \r\n\
             v=0\r\nc=IN IP4 192.0.2.10\r\nm=audio 50020 RTP/SAVP 0\r\n\
             --inner--\r\n\
             \r\n\
             --outer\r\n\
             Content-Type: application/ms-call-context+xml\r\n\
             \r\n\
             <callContext/>\r\n\
             --outer--\r\n",
        );
        let m = datagram(msg.as_bytes());
        let ports: Vec<u16> = m.media.iter().map(|e| e.port).collect();
        assert_eq!(ports, [50010, 50020]);
        assert_eq!(m.content_type, some("multipart/mixed"));
    }

    /// A 200 OK from a Skype for Business Server 2015 Front End (`Server: RTC/6.0`), with the
    /// `ms-client-diagnostics` header of [MS-OCER] and an answer SDP in the [MS-ICE2] layout.
    #[test]
    fn skype_server_answer() {
        let msg = with_length(
            "SIP/2.0 200 OK\r\n\
             Via: SIP/2.0/TLS 192.0.2.10:51234;branch=z9hG4bK7A1C2E3F;ms-received-port=51234;ms-received-cid=1A2B00\r\n\
             From: \"Alice Example\" <sip:alice@contoso.com>;tag=9f3c2a1b7e;epid=5d7c1e9a02\r\n\
             To: <sip:bob@contoso.com>;tag=4e5f6a7b8c;epid=0a1b2c3d4e\r\n\
             Call-ID: 0f1e2d3c4b5a69788796a5b4c3d2e1f0\r\n\
             CSeq: 1 INVITE\r\n\
             Server: RTC/6.0\r\n\
             ms-client-diagnostics: 51007;reason=\"Callee media connectivity diagnosis info\"\r\n\
             Content-Type: application/sdp\r\n\
             \r\n\
             v=0\r\n\
             o=- 0 0 IN IP4 198.51.100.40\r\n\
             s=session\r\n\
             c=IN IP4 198.51.100.40\r\n\
             t=0 0\r\n\
             m=audio 52000 RTP/SAVP 114 9 0 8 101\r\n\
             a=candidate:1 1 UDP 2130706431 198.51.100.40 52000 typ host \r\n\
             a=candidate:1 2 UDP 2130705918 198.51.100.40 52001 typ host \r\n",
        );
        let m = datagram(msg.as_bytes());
        assert_eq!(m.start, response(200, "OK"));
        assert_eq!(m.user_agent, some("RTC/6.0"));
        assert_eq!(m.to_tag, some("4e5f6a7b8c"));
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(
            m.ms_headers,
            [(
                "ms-client-diagnostics".to_owned(),
                "51007;reason=\"Callee media connectivity diagnosis info\"".to_owned()
            )]
        );
        let ports: Vec<u16> = m.media.iter().map(|e| e.port).collect();
        assert_eq!(ports, [52000, 52001]);
        // rsip reads this one.
        let headers = header_block(msg.as_bytes());
        assert!(fields_rsip(msg.as_bytes()).is_some());
        assert_eq!(fields_rsip(msg.as_bytes()), Some(fields_scan(headers)));
    }

    /// Microsoft's own methods (`SERVICE`, `BENOTIFY`, [MS-SIP] / [MS-PRES]) are unknown to
    /// rsip: the tolerant scan reads them, with compact and oddly cased header names.
    #[test]
    fn microsoft_methods_use_the_tolerant_scan() {
        let service = "SERVICE sip:alice@contoso.com;gruu;opaque=app:conf:focusfactory SIP/2.0\r\n\
                       i: svc-42@192.0.2.10\r\n\
                       f: <sip:alice@contoso.com>;tag=aa11;epid=5d7c1e9a02\r\n\
                       t: <sip:alice@contoso.com;gruu;opaque=app:conf:focusfactory>\r\n\
                       CSEQ: 3 SERVICE\r\n\
                       USER-AGENT: UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)\r\n\
                       c: application/cccp+xml\r\n\
                       l: 0\r\n\r\n";
        assert!(fields_rsip(service.as_bytes()).is_none());
        let m = datagram(service.as_bytes());
        assert_eq!(
            m.start,
            request(
                "SERVICE",
                "sip:alice@contoso.com;gruu;opaque=app:conf:focusfactory"
            )
        );
        assert_eq!(m.call_id, some("svc-42@192.0.2.10"));
        assert_eq!(m.from_tag, some("aa11"));
        assert_eq!(m.to_uri, some("sip:alice@contoso.com"));
        assert_eq!(m.cseq, Some((3, "SERVICE".to_owned())));
        assert_eq!(m.content_type, some("application/cccp+xml"));
        assert!(m.user_agent.is_some());

        let benotify = "BENOTIFY sip:192.0.2.10:51234;transport=tls;ms-opaque=d3470f2e1d;ms-received-cid=1A2B00;grid SIP/2.0\r\n\
                        Call-ID: roaming-7\r\nCSeq: 2 BENOTIFY\r\nFrom: <sip:alice@contoso.com>;tag=bb22\r\n\
                        To: <sip:alice@contoso.com>;tag=cc33;epid=5d7c1e9a02\r\nContent-Length: 0\r\n\r\n";
        let m = messages(benotify.as_bytes());
        assert_eq!(m[0].0.method(), Some("BENOTIFY"));
        assert_eq!(m[0].0.to_tag, some("cc33"));
    }

    /// Lync keeps its TCP/TLS connections up with CRLF keep-alives between messages
    /// (RFC 5626 §3.5.1 "\r\n\r\n" ping and "\r\n" pong).
    #[test]
    fn keep_alives_between_messages() {
        let options = data!("arkime-options-publish.c2s.sip")
            .get(..191)
            .unwrap_or_default();
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(options);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(options);
        assert_eq!(parse_stream(&stream), StreamParse::KeepAlive { len: 4 });
        assert_eq!(parse_stream(b"\r\n"), StreamParse::KeepAlive { len: 2 });
        assert_eq!(parse_stream(b"\r"), StreamParse::KeepAlive { len: 1 });
        assert_eq!(parse_stream(b""), StreamParse::Incomplete);
        assert_eq!(messages(&stream).len(), 2);
        assert_eq!(parse_datagram(b"\r\n\r\n"), None);
        // A datagram may start with line ends (RFC 3261 §7.5).
        let mut padded = b"\r\n".to_vec();
        padded.extend_from_slice(options);
        assert_eq!(datagram(&padded).call_id, some("opt1@edge.test"));
    }

    // ---- Header value forms ---------------------------------------------------------------

    #[test]
    fn name_addr_forms() {
        let cases: [(&str, Option<&str>, Option<&str>); 10] = [
            (
                "\"Alice\" <sip:alice@contoso.com>;tag=abc",
                Some("sip:alice@contoso.com"),
                Some("abc"),
            ),
            (
                "<sip:alice@contoso.com;transport=tls>",
                Some("sip:alice@contoso.com"),
                None,
            ),
            (
                "<sip:alice@contoso.com>;tag=9f3c;epid=5d7c",
                Some("sip:alice@contoso.com"),
                Some("9f3c"),
            ),
            (
                "<sip:alice@contoso.com>;epid=5d7c;TAG=9f3c",
                Some("sip:alice@contoso.com"),
                Some("9f3c"),
            ),
            (
                "sip:alice@contoso.com;tag=xyz",
                Some("sip:alice@contoso.com"),
                Some("xyz"),
            ),
            (
                "\"Smith, \\\"Bob\\\" <x>\" <sips:bob@[2001:db8::1]:5061;lr>;tag=t",
                Some("sips:bob@[2001:db8::1]:5061"),
                Some("t"),
            ),
            (
                "Bob <tel:+15551234567;phone-context=contoso.com>",
                Some("tel:+15551234567"),
                None,
            ),
            (
                "<sip:bob@contoso.com?subject=hi>",
                Some("sip:bob@contoso.com"),
                None,
            ),
            ("<sip:bob@contoso.com", Some("sip:bob@contoso.com"), None),
            ("", None, None),
        ];
        for (value, uri, tag) in cases {
            let na = name_addr(value);
            assert_eq!(na.uri.as_deref(), uri, "{value}");
            assert_eq!(na.tag.as_deref(), tag, "{value}");
        }
    }

    /// Without a blank line rsip would end the headers after the first one: such a datagram
    /// goes to the tolerant scan.
    #[test]
    fn datagram_without_blank_line() {
        let msg = b"BYE sip:bob@contoso.com SIP/2.0\r\nCall-ID: nb-1\r\nFrom: <sip:alice@contoso.com>;tag=a\r\nCSeq: 9 BYE\r\n";
        assert!(!rsip_shape(msg, header_block(msg)));
        let m = datagram(msg);
        assert_eq!(m.call_id, some("nb-1"));
        assert_eq!(m.from_tag, some("a"));
        assert_eq!(m.cseq, Some((9, "BYE".to_owned())));
        // A start line alone, with or without its line end.
        assert_eq!(
            datagram(b"OPTIONS sip:bob@contoso.com SIP/2.0").call_id,
            None
        );
        assert_eq!(datagram(b"SIP/2.0 200 OK\r\n").status(), Some(200));
    }

    #[test]
    fn folded_and_spaced_headers() {
        let msg = "OPTIONS sip:bob@contoso.com SIP/2.0\r\n\
                   Call-ID :  spaced-1 \r\n\
                   From:\r\n \"Alice\"\r\n\t<sip:alice@contoso.com>;tag=f1\r\n\
                   not a header line\r\n\
                   : no name\r\n\
                   cseq:\t7   OPTIONS\r\n\r\n";
        let m = datagram(msg.as_bytes());
        assert_eq!(m.call_id, some("spaced-1"));
        assert_eq!(m.from_uri, some("sip:alice@contoso.com"));
        assert_eq!(m.from_tag, some("f1"));
        assert_eq!(m.cseq, Some((7, "OPTIONS".to_owned())));
        assert_eq!(unfold(b" a\r\n  b \r\n\tc "), "a b c");
    }

    /// Bare LF line ends (some stacks send them): read by the tolerant scan, framed alike.
    #[test]
    fn bare_lf_messages() {
        let msg =
            b"MESSAGE sip:bob@contoso.com SIP/2.0\nCall-ID: lf-1\nc: text/plain\nl: 5\n\nhello";
        let m = datagram(msg);
        assert_eq!(m.call_id, some("lf-1"));
        assert_eq!(
            parse_stream(msg),
            StreamParse::Complete {
                msg: m,
                len: msg.len()
            }
        );
    }

    #[test]
    fn start_lines() {
        assert!(start_line(b"INVITE sip:a@b SIP/2.0\r").is_some());
        assert!(start_line(b"NEGOTIATE sip:a@b SIP/2.0").is_some());
        assert!(start_line(b"SIP/2.0 200").is_some());
        assert!(start_line(b"sip/2.0 486 Busy Here").is_some());
        assert!(start_line(b"SIP/2.0 999 Nope").is_none());
        assert!(start_line(b"SIP/2.0 20 OK").is_none());
        assert!(start_line(b"SIP/2.0 2000 OK").is_none());
        assert!(start_line(b"GET / HTTP/1.1").is_none());
        assert!(start_line(b"HTTP/1.1 200 OK").is_none());
        assert!(start_line(b"invite sip:a@b SIP/2.0").is_none());
        assert!(start_line(b"INVITE sip:a@b SIP/3.0").is_none());
        assert!(start_line(b"INVITE nouri SIP/2.0").is_none());
        assert!(start_line(b"INVITE sip:a@b SIP/2.0 extra").is_none());
        assert!(start_line(b"INVITE sip:a\x01b SIP/2.0").is_none());
        assert!(start_line(b"\xffNVITE sip:a@b SIP/2.0").is_none());
        assert!(start_line(b"INVITE sip:a@\xe9 SIP/2.0").is_none());
        assert_eq!(
            start_line(b"SIP/2.0 404 Non trouv\xe9"),
            Some(RawStart::Response {
                code: 404,
                reason: "Non trouv"
            })
        );
        assert!(start_line(b"SIP/2.0   180   Ringing").is_some());
        assert!(plausible_prefix(b"SIP/2.0   18"));
        for p in [
            &b""[..],
            b"I",
            b"INVITE",
            b"INVITE sip:",
            b"INVITE sip:a@b S",
            b"INVITE sip:a@b SIP/2.0\r",
            b"S",
            b"SIP/2",
            b"SIP/2.0 1",
            b"SIP/2.0 180 Ring",
        ] {
            assert!(plausible_prefix(p), "{:?}", String::from_utf8_lossy(p));
        }
        for p in [
            &b"i"[..],
            b"\x16\x03\x01",
            b"INVITE sip:a@b X",
            b"SIP/2.0 1x",
            b"GET / HTTP/1.1",
            b"INVITE sip:a@b SIP/2.0 x",
        ] {
            assert!(!plausible_prefix(p), "{:?}", String::from_utf8_lossy(p));
        }
    }

    // ---- Limits ---------------------------------------------------------------------------

    /// A header section that never ends: Incomplete until MAX_HEADER_BYTES, then TooLarge.
    #[test]
    fn header_that_never_ends() {
        let mut buf = b"INVITE sip:bob@contoso.com SIP/2.0\r\nX-Filler: ".to_vec();
        while buf.len() < MAX_HEADER_BYTES - 1 {
            buf.push(b'a');
            if buf.len().is_multiple_of(1000) {
                assert_eq!(parse_stream(&buf), StreamParse::Incomplete);
            }
        }
        assert_eq!(parse_stream(&buf), StreamParse::Incomplete);
        buf.push(b'a');
        assert_eq!(parse_stream(&buf), StreamParse::TooLarge { skip: None });
        buf.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_stream(&buf), StreamParse::TooLarge { skip: None });
        assert_eq!(parse_datagram(&buf), None);
        // A start line that never ends, likewise; binary bytes are NotSip at once.
        let mut line = b"INVITE sip:".to_vec();
        line.resize(MAX_HEADER_BYTES - 1, b'a');
        assert_eq!(parse_stream(&line), StreamParse::Incomplete);
        line.push(b'a');
        assert_eq!(parse_stream(&line), StreamParse::TooLarge { skip: None });
        assert_eq!(parse_datagram(&line), None);
        assert_eq!(
            parse_stream(&[0x16, 0x03, 0x01, 0x02, 0x00]),
            StreamParse::NotSip
        );
        assert_eq!(parse_stream(b"GET / HTTP/1.1\r\n\r\n"), StreamParse::NotSip);
        // The blank line exactly at the limit is still accepted.
        let mut exact = b"OPTIONS sip:bob@contoso.com SIP/2.0\r\nX: ".to_vec();
        exact.resize(MAX_HEADER_BYTES - 4, b'b');
        exact.extend_from_slice(b"\r\n\r\n");
        assert!(
            matches!(parse_stream(&exact), StreamParse::Complete { len, .. } if len == MAX_HEADER_BYTES)
        );
    }

    #[test]
    fn content_length_limits() {
        let head = "MESSAGE sip:bob@contoso.com SIP/2.0\r\nCall-ID: cl\r\nContent-Length: ";
        let huge = format!("{head}99999999999999999999999999\r\n\r\n");
        assert_eq!(
            parse_stream(huge.as_bytes()),
            StreamParse::TooLarge { skip: None }
        );
        let big = format!("{head}{}\r\n\r\n", MAX_BODY_BYTES + 1);
        assert_eq!(
            parse_stream(big.as_bytes()),
            StreamParse::TooLarge {
                skip: Some(big.len() + MAX_BODY_BYTES + 1)
            }
        );
        let negative = format!("{head}-1\r\n\r\n");
        assert_eq!(parse_stream(negative.as_bytes()), StreamParse::NotSip);
        // A datagram whose Content-Length exceeds what follows (cut capture) keeps its whole
        // lines: the cut `a=rtcp:400` (of 4001) is dropped, not read as port 400.
        let cut = format!(
            "{head}500\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:400"
        );
        let ports: Vec<u16> = datagram(cut.as_bytes())
            .media
            .iter()
            .map(|e| e.port)
            .collect();
        assert_eq!(ports, [4000]);
        // Without Content-Type an SDP body still says what it is.
        let bare = "INVITE sip:bob@contoso.com SIP/2.0\r\n\r\nv=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(datagram(bare.as_bytes()).media.len(), 1);
    }

    #[test]
    fn header_count_and_value_limits() {
        let mut msg = String::from("OPTIONS sip:bob@contoso.com SIP/2.0\r\n");
        for i in 0..MAX_HEADERS - 1 {
            msg.push_str(&format!("X-{i}: {i}\r\n"));
        }
        msg.push_str("Call-ID: last-counted\r\nCSeq: 1 OPTIONS\r\n\r\n");
        let m = datagram(msg.as_bytes());
        assert_eq!(m.call_id, some("last-counted"));
        assert_eq!(m.cseq, None, "past MAX_HEADERS");

        let mut msg = String::from("OPTIONS sip:bob@contoso.com SIP/2.0\r\n");
        for i in 0..2 * MAX_MS_HEADERS {
            msg.push_str(&format!("ms-x-{i}: {}\r\n", "v".repeat(300)));
        }
        msg.push_str(&format!(
            "Call-ID: {}\r\nUser-Agent: {}\r\n\r\n",
            "c".repeat(2000),
            "é".repeat(600)
        ));
        assert!(msg.len() < MAX_HEADER_BYTES);
        let m = datagram(msg.as_bytes());
        assert_eq!(m.ms_headers.len(), MAX_MS_HEADERS);
        assert!(
            m.ms_headers
                .iter()
                .all(|(_, v)| v.len() == MAX_MS_HEADER_VALUE)
        );
        assert_eq!(m.call_id.as_ref().map(String::len), Some(MAX_VALUE_BYTES));
        // Cut at a character boundary: 'é' is two bytes.
        assert_eq!(
            m.user_agent.as_ref().map(String::len),
            Some(MAX_VALUE_BYTES)
        );
    }

    /// Nesting past MAX_MULTIPART_DEPTH and parts past MAX_MULTIPART_PARTS are not read.
    #[test]
    fn multipart_limits() {
        let sdp = |port: u16| {
            format!(
                "Content-Type: application/sdp\r\n\r\nv=0\r\nc=IN IP4 192.0.2.1\r\nm=audio {port} RTP/AVP 0\r\n"
            )
        };
        let mut body = String::new();
        for i in 0..(MAX_MULTIPART_PARTS as u16 + 4) {
            body.push_str(&format!("--b\r\n{}\r\n", sdp(4000 + 2 * i)));
        }
        body.push_str("--b--\r\n");
        let msg = with_length(&format!(
            "INVITE sip:bob@contoso.com SIP/2.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n{body}"
        ));
        assert_eq!(datagram(msg.as_bytes()).media.len(), MAX_MULTIPART_PARTS);

        // Depth: level n holds level n+1; the SDP at depth MAX_MULTIPART_DEPTH is read, one
        // level deeper is not.
        let nest = |levels: usize| {
            let mut inner = sdp(5000);
            for l in 0..levels {
                inner = format!(
                    "Content-Type: multipart/mixed; boundary=l{l}\r\n\r\n--l{l}\r\n{inner}\r\n--l{l}--\r\n"
                );
            }
            inner
        };
        for (levels, expect) in [(MAX_MULTIPART_DEPTH, 1), (MAX_MULTIPART_DEPTH + 1, 0)] {
            let msg = with_length(&format!(
                "INVITE sip:bob@contoso.com SIP/2.0\r\n{}",
                nest(levels)
            ));
            assert_eq!(
                datagram(msg.as_bytes()).media.len(),
                expect,
                "{levels} levels"
            );
        }
        // A boundary that never appears, an empty one, a cut body: nothing, no harm.
        for ct in [
            "multipart/alternative; boundary=zz",
            "multipart/alternative; boundary=\"\"",
            "multipart/alternative",
        ] {
            let msg = with_length(&format!(
                "INVITE sip:bob@contoso.com SIP/2.0\r\nContent-Type: {ct}\r\n\r\n{body}"
            ));
            assert!(datagram(msg.as_bytes()).media.is_empty(), "{ct}");
        }
        // A body line that merely starts like the delimiter is text, not a delimiter.
        let lookalike = with_length(&format!(
            "INVITE sip:bob@contoso.com SIP/2.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
             --b\r\n{}--bx\r\n--b--\r\n",
            sdp(7000)
        ));
        let mut expect = Vec::new();
        sdp::media_endpoints(
            b"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 7000 RTP/AVP 0\r\n--bx",
            &mut expect,
        );
        assert_eq!(datagram(lookalike.as_bytes()).media, expect);
        let cut = format!(
            "INVITE sip:bob@contoso.com SIP/2.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n{}",
            sdp(6000)
        );
        assert_eq!(datagram(cut.as_bytes()).media.len(), 1);
    }

    /// 10 000 candidates in one INVITE: too large for a stream (skipped whole), and the SDP
    /// itself stays bounded.
    #[test]
    fn ten_thousand_candidates() {
        let mut sdp_text = String::from("v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 50000 RTP/AVP 0\r\n");
        for i in 0..10_000u32 {
            sdp_text.push_str(&format!(
                "a=candidate:{i} 1 UDP {i} 10.0.{}.{} {} typ host\r\n",
                i >> 8 & 0xff,
                i & 0xff,
                1024 + i
            ));
        }
        let msg = with_length(&format!(
            "INVITE sip:bob@contoso.com SIP/2.0\r\nContent-Type: application/sdp\r\n\r\n{sdp_text}"
        ));
        assert_eq!(
            parse_stream(msg.as_bytes()),
            StreamParse::TooLarge {
                skip: Some(msg.len())
            }
        );
        let m = datagram(msg.as_bytes());
        assert!(m.media.is_empty(), "a body over MAX_BODY_BYTES is not read");
        let small = with_length(&format!(
            "INVITE sip:bob@contoso.com SIP/2.0\r\nContent-Type: application/sdp\r\n\r\n{}",
            sdp_text.get(..60_000).unwrap_or_default()
        ));
        assert_eq!(datagram(small.as_bytes()).media.len(), sdp::MAX_ENDPOINTS);
    }

    /// Every prefix of every captured stream: never a message longer than the prefix, and a
    /// Complete prefix is exactly a message boundary.
    #[test]
    fn truncated_streams() {
        for stream in STREAMS.iter().filter(|s| s.len() < 4000) {
            let whole = messages(stream);
            let first = whole.first().map_or(0, |(_, len)| *len);
            for n in 0..=stream.len() {
                let prefix = stream.get(..n).unwrap_or_default();
                match parse_stream(prefix) {
                    StreamParse::Complete { len, .. } => assert!(len == first && n >= first),
                    StreamParse::Incomplete => assert!(n < first),
                    other => panic!("prefix {n}: {other:?}"),
                }
                let _ = parse_datagram(prefix);
            }
        }
    }

    proptest! {
        /// Any bytes: no panic; a stream answer never claims more than the buffer.
        #[test]
        fn any_bytes(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
            match parse_stream(&data) {
                StreamParse::Complete { len, .. } | StreamParse::KeepAlive { len } => {
                    prop_assert!(len > 0 && len <= data.len());
                }
                _ => {}
            }
            let _ = parse_datagram(&data);
        }

        /// The Lync INVITE (multipart, both candidate layouts) with bytes flipped, cut or
        /// inserted: no panic, bounded results.
        #[test]
        fn mutated_lync_invite(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8),
        ) {
            let mut msg = with_length(LYNC_INVITE).into_bytes();
            for (at, byte, op) in edits {
                let i = at.index(msg.len().max(1));
                match op {
                    0 if i < msg.len() => msg[i] = byte,
                    1 => msg.insert(i.min(msg.len()), byte),
                    _ => msg.truncate(i),
                }
            }
            if let StreamParse::Complete { len, msg: m } = parse_stream(&msg) {
                prop_assert!(len <= msg.len());
                prop_assert!(m.media.len() <= sdp::MAX_ENDPOINTS);
            }
            if let Some(m) = parse_datagram(&msg) {
                prop_assert!(m.media.len() <= sdp::MAX_ENDPOINTS);
            }
        }

        /// Real messages with bytes flipped, cut or inserted: no panic, bounded results.
        #[test]
        fn mutated_messages(
            which in 0..DATAGRAMS.len(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..12),
        ) {
            let mut msg = DATAGRAMS[which].to_vec();
            for (at, byte, op) in edits {
                let i = at.index(msg.len().max(1));
                match op {
                    0 if i < msg.len() => msg[i] = byte,
                    1 => msg.insert(i.min(msg.len()), byte),
                    _ => msg.truncate(i),
                }
            }
            if let StreamParse::Complete { len, msg: m } = parse_stream(&msg) {
                prop_assert!(len <= msg.len());
                prop_assert!(m.media.len() <= sdp::MAX_ENDPOINTS);
            }
            if let Some(m) = parse_datagram(&msg) {
                prop_assert!(m.ms_headers.len() <= MAX_MS_HEADERS);
                prop_assert!(m.call_id.as_ref().is_none_or(|c| c.len() <= MAX_VALUE_BYTES));
            }
        }
    }
}
