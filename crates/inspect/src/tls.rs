//! TLS handshake evidence: the server name, the versions, the ALPN offer and the server's leaf
//! certificate, read from the cleartext start of each direction of a TCP flow.
//!
//! The caller reassembles each direction of a flow in order into one contiguous buffer and calls
//! [`parse_client`] (initiator to responder) or [`parse_server`] (responder to initiator) with the
//! bytes from the start of that direction's stream, again each time the buffer has grown, until
//! the answer is [`Progress::Done`] or [`Progress::NotTls`]. Both directions fill one
//! [`TlsInfo`], which the caller keeps for the flow.
//!
//! Records are read with `tls-parser` from the start of the buffer; a handshake message that
//! spans several records (a ClientHello split by the sender's record layer, a certificate chain
//! longer than one record) is joined before it is parsed; a message that is still cut off by the
//! end of the buffer is not parsed at all, so a partial ClientHello never yields a server name.
//! The leaf certificate is read with `x509-parser`.
//!
//! # What each direction reads, and when it is done
//!
//! - Client: the ClientHello (SNI, `legacy_version`, the first ALPN protocol), then its second
//!   flight of TLS 1.2 and older, where a non-empty Certificate message means the client
//!   authenticated (MTLS). [`Progress::Done`] at the first ChangeCipherSpec, application-data or
//!   alert record: everything after it is encrypted.
//! - Server: the ServerHello (negotiated version: its `supported_versions` extension, else its
//!   version field), the Certificate (TLS 1.2 and older: in TLS 1.3 it is encrypted), a
//!   CertificateRequest (the server asks for a client certificate). [`Progress::Done`] at
//!   ServerHelloDone, or at the first ChangeCipherSpec, application-data or alert record
//!   (TLS 1.3, session resumption, refusal).
//!
//! A stream that does not begin with a TLS record carrying the direction's first message is
//! [`Progress::NotTls`]; so is an SSL 2.0-compatible ClientHello (RFC 5246 appendix E.2), which
//! has no extensions and so no server name. A malformed message after the first one ends the
//! direction ([`Progress::Done`]) with what was read so far.
//!
//! # Cost model
//!
//! The functions keep no state of their own: each call walks the record headers from the start
//! of the buffer again, which costs a few comparisons per record (a handshake has a handful).
//! What is expensive is done once per flow, because a call skips what `info` already holds:
//! the ClientHello is parsed only while [`TlsInfo::client_version`] is `None`, the ServerHello
//! only while [`TlsInfo::version`] is `None`, and the certificate only while [`TlsInfo::cert`] is
//! `None`. A skipped message is stepped over without being copied. A wanted message is parsed
//! only when it is complete; when it spans records it is first copied into one buffer (at most
//! the direction's limit). So a call costs O(records) plus, once, the parse of each message that
//! fills `info`; a certificate whose DER does not parse is tried again on the next call (one
//! failed parse per call until the direction is done).
//!
//! # Limits
//!
//! Only the first [`MAX_CLIENT_BYTES`] / [`MAX_SERVER_BYTES`] of a direction are looked at; a
//! message that cannot complete within them ends the direction ([`Progress::Done`]), so the
//! caller's buffer never has to grow past the limit. Names are kept only up to
//! [`MAX_NAME_LEN`] bytes and at most [`MAX_SANS`] DNS names are kept per certificate. Every
//! loop consumes at least one byte of the bounded buffer per step. Nothing here panics on any
//! input.

use std::borrow::Cow;
use std::sync::Arc;

use tls_parser::{
    Err as NomErr, SNIType, TlsExtension, TlsHandshakeType, TlsMessageHandshake, TlsRecordType,
    parse_tls_client_hello_extension, parse_tls_extension_unknown,
    parse_tls_handshake_client_hello, parse_tls_handshake_msg_certificate,
    parse_tls_handshake_msg_server_hello, parse_tls_record_header,
    parse_tls_server_hello_extension,
};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::X509Certificate;

/// Bytes of the client-to-server stream looked at, at most: a ClientHello is a few hundred
/// bytes (about 1.8 KiB with a post-quantum key share), and the client's second flight of
/// TLS 1.2 carries at most a client certificate chain.
pub const MAX_CLIENT_BYTES: usize = 16 * 1024;

/// Bytes of the server-to-client stream looked at, at most: enough for a ServerHello and a
/// certificate chain of several certificates.
pub const MAX_SERVER_BYTES: usize = 64 * 1024;

/// Longest server name, ALPN protocol, common name or DNS name kept, in bytes (a DNS name has
/// at most 253 characters; an ALPN protocol at most 255 bytes). Longer ones are dropped.
pub const MAX_NAME_LEN: usize = 255;

/// DNS names kept from one certificate's subjectAltName, at most; the rest are dropped.
pub const MAX_SANS: usize = 256;

/// What the handshake showed. Both directions fill the same value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// `server_name` (host_name) from the ClientHello (RFC 6066 §3), as sent.
    pub sni: Option<String>,
    /// The ClientHello's `legacy_version` (`0x0303` for TLS 1.2 and 1.3).
    pub client_version: Option<u16>,
    /// The negotiated version: the ServerHello's `supported_versions` extension (TLS 1.3,
    /// RFC 8446 §4.2.1), else its version field.
    pub version: Option<u16>,
    /// The first protocol of the ClientHello's ALPN extension (RFC 7301), e.g. `h2`.
    pub alpn: Option<String>,
    /// The server's leaf certificate, when it is sent in clear (TLS 1.2 and older). Shared:
    /// the same few certificates come in thousands of handshakes.
    pub cert: Option<Arc<CertInfo>>,
    /// The server sent a CertificateRequest, or the client sent a non-empty Certificate: the
    /// connection is mutually authenticated (MTLS).
    pub client_cert: bool,
}

/// What a certificate names, and when it is valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject's first common name (the "subject name" of the poster), when it is a
    /// printable, UTF-8, IA5 or numeric string.
    pub subject_cn: Option<String>,
    /// The DNS names of the subjectAltName extension, in order (at most [`MAX_SANS`]).
    pub sans: Vec<String>,
    /// The issuer's first common name.
    pub issuer_cn: Option<String>,
    /// Start of validity, Unix seconds.
    pub not_before: Option<i64>,
    /// End of validity, Unix seconds.
    pub not_after: Option<i64>,
    /// Self-issued: the issuer name equals the subject name (RFC 5280 §3.2) and, where both
    /// key identifiers are present, the authority key identifier equals the subject key
    /// identifier. The signature is not verified.
    pub self_signed: bool,
}

/// The answer of [`parse_client`] and [`parse_server`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The handshake goes on past the buffer: call again when more bytes have arrived.
    NeedMore,
    /// Everything visible in clear has been read (or the limit is reached): stop calling.
    Done,
    /// The stream does not begin with the TLS handshake this direction should send.
    NotTls,
}

/// Reads the client-to-server stream: ClientHello, then the client's Certificate in TLS 1.2
/// and older. `buf` holds the direction's bytes from its first byte; see the module doc for
/// the cost of calling again with a longer buffer.
pub fn parse_client(buf: &[u8], info: &mut TlsInfo) -> Progress {
    walk(buf, Dir::Client, info)
}

/// Reads the server-to-client stream: ServerHello, Certificate, CertificateRequest;
/// [`Progress::Done`] at ServerHelloDone or at the first record that is not a handshake record.
pub fn parse_server(buf: &[u8], info: &mut TlsInfo) -> Progress {
    walk(buf, Dir::Server, info)
}

/// The usual name of a protocol version number: `"TLS 1.2"`, `"TLS 1.3"`, `"SSL 3.0"`;
/// `"GREASE"` for the reserved values of RFC 8701, `"unknown"` for anything else.
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0002 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        0x7f00..=0x7fff => "TLS 1.3 draft",
        0xfeff => "DTLS 1.0",
        0xfefd => "DTLS 1.2",
        0xfefc => "DTLS 1.3",
        v if v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff => "GREASE",
        _ => "unknown",
    }
}

const HS_CLIENT_HELLO: u8 = TlsHandshakeType::ClientHello.0;
const HS_SERVER_HELLO: u8 = TlsHandshakeType::ServerHello.0;
const HS_CERTIFICATE: u8 = TlsHandshakeType::Certificate.0;
const HS_CERTIFICATE_REQUEST: u8 = TlsHandshakeType::CertificateRequest.0;
const HS_SERVER_HELLO_DONE: u8 = TlsHandshakeType::ServerDone.0;

/// Record header length (RFC 8446 §5.1: type, legacy_record_version, length).
const RECORD_HEADER_LEN: usize = 5;
/// Handshake message header length (RFC 8446 §4: msg_type, uint24 length).
const HANDSHAKE_HEADER_LEN: usize = 4;
/// Extension types read (IANA TLS ExtensionType registry).
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Client,
    Server,
}

impl Dir {
    fn limit(self) -> usize {
        match self {
            Dir::Client => MAX_CLIENT_BYTES,
            Dir::Server => MAX_SERVER_BYTES,
        }
    }

    fn first_message(self) -> u8 {
        match self {
            Dir::Client => HS_CLIENT_HELLO,
            Dir::Server => HS_SERVER_HELLO,
        }
    }
}

/// Why the walk over the handshake stream stopped before a whole message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The buffer ends inside a record header or a message.
    NeedMore,
    /// A record of another content type begins here.
    Record(TlsRecordType),
    /// Bytes that are no TLS record header.
    Malformed,
    /// The message cannot complete within the direction's limit.
    TooLarge,
}

/// Where the walk is. Offsets are into the (limited) buffer; `end` may lie past its end while
/// the current record is incomplete.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    /// Offset of the next record header.
    next_record: usize,
    /// Offset of the next unread byte of the current handshake record.
    at: usize,
    /// End of the current handshake record's fragment.
    end: usize,
}

/// Reads the first records of one direction and fills `info`.
fn walk(buf: &[u8], dir: Dir, info: &mut TlsInfo) -> Progress {
    let limit = dir.limit();
    let at_limit = buf.len() >= limit;
    let buf = buf.get(..limit).unwrap_or(buf);
    if !plausible_start(buf, dir) {
        return Progress::NotTls;
    }
    let mut cursor = Cursor::default();
    let mut first = true;
    loop {
        let want = |typ: u8| match (dir, typ) {
            (Dir::Client, HS_CLIENT_HELLO) => info.client_version.is_none(),
            (Dir::Client, HS_CERTIFICATE) => !info.client_cert,
            (Dir::Server, HS_SERVER_HELLO) => info.version.is_none(),
            (Dir::Server, HS_CERTIFICATE) => info.cert.is_none(),
            _ => false,
        };
        let (typ, body) = match next_message(buf, &mut cursor, limit, want) {
            Ok(message) => message,
            Err(Stop::NeedMore) if at_limit => return Progress::Done,
            Err(Stop::NeedMore) => return Progress::NeedMore,
            Err(Stop::TooLarge) => return Progress::Done,
            // A server may refuse with an alert before any handshake message.
            Err(Stop::Record(TlsRecordType::Alert)) if dir == Dir::Server => return Progress::Done,
            Err(Stop::Record(_) | Stop::Malformed) if first => return Progress::NotTls,
            Err(Stop::Record(_) | Stop::Malformed) => return Progress::Done,
        };
        if first && typ != dir.first_message() {
            return Progress::NotTls;
        }
        let understood = match (dir, typ, body) {
            (Dir::Client, HS_CLIENT_HELLO, Some(body)) => read_client_hello(&body, info),
            (Dir::Client, HS_CERTIFICATE, Some(body)) => {
                if certificate_chain(&body).is_some_and(|chain| !chain.is_empty()) {
                    info.client_cert = true;
                }
                true
            }
            (Dir::Server, HS_SERVER_HELLO, Some(body)) => read_server_hello(&body, info),
            (Dir::Server, HS_CERTIFICATE, Some(body)) => {
                info.cert = certificate_chain(&body)
                    .and_then(|chain| chain.first().and_then(|leaf| cert_info(leaf)));
                true
            }
            (Dir::Server, HS_CERTIFICATE_REQUEST, _) => {
                info.client_cert = true;
                true
            }
            (Dir::Server, HS_SERVER_HELLO_DONE, _) => return Progress::Done,
            _ => true,
        };
        if !understood {
            return if first {
                Progress::NotTls
            } else {
                Progress::Done
            };
        }
        first = false;
    }
}

/// A cheap look at the first bytes, so that a short non-TLS buffer is refused at once instead
/// of waiting for a whole record header.
fn plausible_start(buf: &[u8], dir: Dir) -> bool {
    let handshake = TlsRecordType::Handshake.0;
    let first_ok = match (buf.first(), dir) {
        (None, _) => return true,
        (Some(&b), Dir::Client) => b == handshake,
        (Some(&b), Dir::Server) => b == handshake || b == TlsRecordType::Alert.0,
    };
    let version_ok =
        buf.get(1).is_none_or(|&major| major == 3) && buf.get(2).is_none_or(|&minor| minor <= 4);
    let message_ok = match (buf.first(), buf.get(RECORD_HEADER_LEN)) {
        (Some(&b), Some(&typ)) if b == handshake => typ == dir.first_message(),
        _ => true,
    };
    first_ok && version_ok && message_ok
}

/// A handshake message: its type, and its body when it was wanted.
type Message<'a> = (u8, Option<Cow<'a, [u8]>>);

/// Reads the next handshake message header and, when `want` says so, its body: borrowed when
/// it lies inside one record, copied when it spans records. An unwanted body is stepped over.
fn next_message<'a>(
    buf: &'a [u8],
    cursor: &mut Cursor,
    limit: usize,
    want: impl Fn(u8) -> bool,
) -> Result<Message<'a>, Stop> {
    let mut header = [0u8; HANDSHAKE_HEADER_LEN];
    let mut filled = 0usize;
    take_bytes(buf, cursor, HANDSHAKE_HEADER_LEN, |bytes| {
        for &b in bytes {
            if let Some(slot) = header.get_mut(filled) {
                *slot = b;
            }
            filled += 1;
        }
    })?;
    let [typ, l0, l1, l2] = header;
    let len = usize::try_from(u32::from_be_bytes([0, l0, l1, l2])).map_err(|_| Stop::TooLarge)?;
    if cursor.at.checked_add(len).is_none_or(|end| end > limit) {
        return Err(Stop::TooLarge);
    }
    let wanted = want(typ);
    // Fast path: the whole body inside the current record.
    if cursor.at.saturating_add(len) <= cursor.end {
        let body = buf.get(cursor.at..cursor.at + len).ok_or(Stop::NeedMore)?;
        cursor.at += len;
        return Ok((typ, wanted.then_some(Cow::Borrowed(body))));
    }
    // The body spans records: make sure it is complete before copying anything.
    let mut probe = *cursor;
    take_bytes(buf, &mut probe, len, |_| {})?;
    if !wanted {
        *cursor = probe;
        return Ok((typ, None));
    }
    let mut joined = Vec::with_capacity(len);
    take_bytes(buf, cursor, len, |bytes| joined.extend_from_slice(bytes))?;
    Ok((typ, Some(Cow::Owned(joined))))
}

/// Steps over `n` bytes of the handshake stream, handing each piece to `out`, reading record
/// headers as records end. Each turn of the loop consumes a record header or at least one byte.
fn take_bytes(
    buf: &[u8],
    cursor: &mut Cursor,
    mut n: usize,
    mut out: impl FnMut(&[u8]),
) -> Result<(), Stop> {
    while n > 0 {
        if cursor.at >= cursor.end {
            let rest = buf.get(cursor.next_record..).ok_or(Stop::NeedMore)?;
            let (_, header) = parse_tls_record_header(rest).map_err(|e| match e {
                NomErr::Incomplete(_) => Stop::NeedMore,
                NomErr::Error(_) | NomErr::Failure(_) => Stop::Malformed,
            })?;
            if header.version.0 >> 8 != 3 || header.version.0 & 0xff > 4 {
                return Err(Stop::Malformed);
            }
            match header.record_type {
                TlsRecordType::Handshake => {}
                t @ (TlsRecordType::ChangeCipherSpec
                | TlsRecordType::Alert
                | TlsRecordType::ApplicationData
                | TlsRecordType::Heartbeat) => return Err(Stop::Record(t)),
                _ => return Err(Stop::Malformed),
            }
            if header.len == 0 || header.len > tls_parser::MAX_RECORD_LEN {
                return Err(Stop::Malformed);
            }
            cursor.at = cursor.next_record + RECORD_HEADER_LEN;
            cursor.end = cursor.at + usize::from(header.len);
            cursor.next_record = cursor.end;
        }
        let step = n.min(cursor.end - cursor.at);
        let bytes = buf.get(cursor.at..cursor.at + step).ok_or(Stop::NeedMore)?;
        out(bytes);
        cursor.at += step;
        n -= step;
    }
    Ok(())
}

/// Fills the client fields from a ClientHello body (RFC 8446 §4.1.2). False when the body
/// does not parse.
fn read_client_hello(body: &[u8], info: &mut TlsInfo) -> bool {
    let Ok((_, hello)) = parse_tls_handshake_client_hello(body) else {
        return false;
    };
    info.client_version = Some(hello.version.0);
    for (typ, ext) in extensions(
        hello.ext.unwrap_or_default(),
        parse_tls_client_hello_extension,
    ) {
        match (typ, ext) {
            (EXT_SERVER_NAME, TlsExtension::SNI(names)) if info.sni.is_none() => {
                info.sni = names
                    .iter()
                    .find(|(kind, _)| *kind == SNIType::HostName)
                    .and_then(|(_, name)| host_name(name));
            }
            (EXT_ALPN, TlsExtension::ALPN(protocols)) if info.alpn.is_none() => {
                info.alpn = protocols
                    .first()
                    .filter(|p| !p.is_empty() && p.len() <= MAX_NAME_LEN)
                    .map(|p| String::from_utf8_lossy(p).into_owned());
            }
            _ => {}
        }
    }
    true
}

/// Fills the negotiated version from a ServerHello body (RFC 8446 §4.1.3, and TLS 1.3 draft 18
/// as tls-parser knows it). False when the body does not parse.
fn read_server_hello(body: &[u8], info: &mut TlsInfo) -> bool {
    let (legacy, ext) = match parse_tls_handshake_msg_server_hello(body) {
        Ok((_, TlsMessageHandshake::ServerHello(hello))) => (hello.version.0, hello.ext),
        Ok((_, TlsMessageHandshake::ServerHelloV13Draft18(hello))) => (hello.version.0, hello.ext),
        _ => return false,
    };
    let mut version = legacy;
    for (typ, ext) in extensions(ext.unwrap_or_default(), parse_tls_server_hello_extension) {
        if let (EXT_SUPPORTED_VERSIONS, TlsExtension::SupportedVersions(versions)) = (typ, ext)
            && let Some(selected) = versions.first()
        {
            version = selected.0;
        }
    }
    info.version = Some(version);
    true
}

/// The extensions of a hello, each with its type and its parsed form; one that tls-parser
/// cannot read is stepped over by its length, so it does not hide the ones after it.
fn extensions<'a>(
    mut block: &'a [u8],
    parse: fn(&'a [u8]) -> tls_parser::IResult<&'a [u8], TlsExtension<'a>>,
) -> impl Iterator<Item = (u16, TlsExtension<'a>)> {
    std::iter::from_fn(move || {
        loop {
            if block.is_empty() {
                return None;
            }
            let (rest, typ) = match parse_tls_extension_unknown(block) {
                Ok((rest, TlsExtension::Unknown(typ, _))) => (rest, typ.0),
                _ => return None,
            };
            let parsed = parse(block);
            block = rest;
            if let Ok((_, ext)) = parsed {
                return Some((typ, ext));
            }
        }
    })
}

/// The DER certificates of a Certificate message body (RFC 5246 §7.4.2), leaf first.
fn certificate_chain(body: &[u8]) -> Option<Vec<&[u8]>> {
    match parse_tls_handshake_msg_certificate(body) {
        Ok((_, TlsMessageHandshake::Certificate(contents))) => {
            Some(contents.cert_chain.iter().map(|raw| raw.data).collect())
        }
        _ => None,
    }
}

/// Distinct certificates remembered per thread (see [`cert_info`]).
pub const CERT_CACHE_ENTRIES: usize = 64;
/// Certificates longer than this are parsed every time rather than remembered.
const CERT_CACHE_MAX_DER: usize = 8 * 1024;

/// A certificate remembered: its DER and what it says.
type CachedCert = (Vec<u8>, Option<Arc<CertInfo>>);

std::thread_local! {
    /// The last certificates parsed, in a small ring: a deployment's servers present the same
    /// few certificates in thousands of handshakes, and parsing one costs microseconds while
    /// comparing one costs nanoseconds.
    static CERT_CACHE: std::cell::RefCell<(Vec<CachedCert>, usize)> =
        const { std::cell::RefCell::new((Vec::new(), 0)) };
}

/// The names and validity of one DER certificate; `None` when the DER does not parse. A pure
/// function of the bytes, remembered for the last [`CERT_CACHE_ENTRIES`] distinct
/// certificates of the thread.
fn cert_info(der: &[u8]) -> Option<Arc<CertInfo>> {
    if der.len() > CERT_CACHE_MAX_DER {
        return parse_cert_info(der).map(Arc::new);
    }
    let hit = CERT_CACHE.with(|c| {
        c.borrow()
            .0
            .iter()
            .find(|(bytes, _)| bytes.as_slice() == der)
            .map(|(_, info)| info.clone())
    });
    if let Some(info) = hit {
        return info;
    }
    let info = parse_cert_info(der).map(Arc::new);
    CERT_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let (entries, next) = &mut *c;
        let entry = (der.to_vec(), info.clone());
        if entries.len() < CERT_CACHE_ENTRIES {
            entries.push(entry);
        } else if let Some(slot) = entries.get_mut(*next % CERT_CACHE_ENTRIES) {
            *slot = entry;
        }
        *next = next.wrapping_add(1);
    });
    info
}

/// [`cert_info`] without the cache.
fn parse_cert_info(der: &[u8]) -> Option<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let first_cn = |name: &x509_parser::x509::X509Name<'_>| {
        name.iter_common_name()
            .next()
            .and_then(|attr| attr.as_str().ok())
            .filter(|s| !s.is_empty() && s.len() <= MAX_NAME_LEN)
            .map(str::to_owned)
    };
    let mut sans = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if sans.len() >= MAX_SANS {
                break;
            }
            if let GeneralName::DNSName(dns) = name
                && !dns.is_empty()
                && dns.len() <= MAX_NAME_LEN
            {
                sans.push((*dns).to_owned());
            }
        }
    }
    let validity = cert.validity();
    Some(CertInfo {
        subject_cn: first_cn(cert.subject()),
        sans,
        issuer_cn: first_cn(cert.issuer()),
        not_before: Some(validity.not_before.timestamp()),
        not_after: Some(validity.not_after.timestamp()),
        self_signed: self_issued(&cert),
    })
}

/// RFC 5280 §3.2: issuer and subject are the same name; where both the authority and the
/// subject key identifier are present they must agree as well.
fn self_issued(cert: &X509Certificate<'_>) -> bool {
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return false;
    }
    let mut authority = None;
    let mut subject = None;
    for ext in cert.iter_extensions() {
        match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                authority = aki.key_identifier.as_ref().map(|k| k.0);
            }
            ParsedExtension::SubjectKeyIdentifier(ski) => subject = Some(ski.0),
            _ => {}
        }
    }
    match (authority, subject) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

/// A server name as RFC 6066 §3 allows it (an ASCII host name, no trailing NUL), kept only
/// when it is made of letters, digits, `-`, `_` and `.`.
fn host_name(raw: &[u8]) -> Option<String> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_NAME_LEN
        && raw
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| String::from_utf8_lossy(raw).into_owned())
}

#[cfg(test)]
mod tests;
