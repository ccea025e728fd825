//! STUN, TURN and Microsoft's MS-TURN: the deeper parse of one message, once a cheap probe
//! ([`probe_stun`](crate::probe_stun)) has claimed a flow as STUN-family, and the names of the
//! static RTP payload types.
//!
//! # What counts as what
//!
//! The [`StunKind`] of a message is decided by the same rules as [`crate::probe_stun`], so that the
//! two always agree on a message both recognise:
//!
//! - **MS-TURN** ([`StunKind::MsTurn`]): a message that carries MAGIC-COOKIE (0x000F) or
//!   MS-VERSION (0x8008) among its first [`MAX_ATTRIBUTES`] attributes. [MS-TURN] 2.2.2 makes
//!   MAGIC-COOKIE (value 0x72C64BC6, [MS-TURN] 2.2.2.8) the first attribute of *every* TURN
//!   message, and 2.2.2.17 puts MS-VERSION in Allocate requests and responses. Also a Multiplexed
//!   TURN frame (Channel_ID 0xFF10, [MS-TURN] 2.2.3), whatever it carries.
//! - **TURN** ([`StunKind::Turn`]): a TURN ChannelData frame (channel 0x4000-0x7FFF, RFC 8656
//!   §12), or a message without those markers whose method is a TURN method of RFC 5766/8656:
//!   Allocate 0x003, Refresh 0x004, Send 0x006, Data 0x007, CreatePermission 0x008,
//!   ChannelBind 0x009.
//! - **STUN** ([`StunKind::Stun`]): every other message: Binding (ICE connectivity checks),
//!   classic RFC 3489 messages, other methods. Microsoft's [MS-ICE2] connectivity checks are STUN
//!   Binding messages that carry IMPLEMENTATION-VERSION (0x8070) or CANDIDATE-IDENTIFIER (0x8054):
//!   they are STUN with [`StunMessage::ms_attributes`] set, not MS-TURN.
//!
//! [`parse_stun`] recognises everything [`crate::probe_stun`] recognises, and three more things
//! the probe misses, all of them MS-TURN:
//!
//! 1. MS-TURN messages whose attributes are not padded to 4 bytes. [MS-TURN] takes its
//!    attribute format from draft-ietf-behave-rfc3489bis-02, and Microsoft's clients and relays
//!    do not pad (an ERROR-CODE of 61 bytes is followed at once by the next attribute, and the
//!    message length is then not a multiple of 4). A message whose first attribute is
//!    MAGIC-COOKIE is walked without padding (with padding if that is what tiles it).
//! 2. MS-TURN Data Indications (type 0x0115) sent with a 128-bit transaction ID, so without the
//!    RFC 5389 magic cookie, and whose type does not decode to a TURN method.
//! 3. Multiplexed TURN frames (0xFF10).
//!
//! # stun-rs and the tolerant parser
//!
//! An RFC 5389/8489 message (the magic cookie in the header) is decoded with `stun-rs`. It
//! refuses, from its decoder (stun-rs 0.1.11):
//!
//! - `MessageHeader::decode` (raw.rs): the two top bits must be zero and the cookie must be
//!   0x2112A442, so every classic RFC 3489 message and every MS-TURN message sent with a 128-bit
//!   transaction ID is refused;
//! - `RawMessage::decode`: a buffer shorter than 20 + the message length;
//! - `RawAttributesIter::next`: every attribute advances by its length rounded up to 4, and one
//!   that ends past the body is an error. MS-TURN's unpadded attributes are refused this way, or
//!   worse, misread without an error when the rounding happens to land inside a later attribute:
//!   that is why a message laid out the MS-TURN way (MAGIC-COOKIE first) never goes to stun-rs;
//! - the decoders of the attributes it registers validate values: USERNAME, REALM, NONCE and
//!   SOFTWARE must be UTF-8 (USERNAME through the PRECIS OpaqueString profile), ERROR-CODE needs
//!   class 3-6 and number below 100, MESSAGE-INTEGRITY exactly 20 bytes, FINGERPRINT 4, address
//!   families 1 or 2. MS-TURN's binary USERNAME and 32-byte (SHA-256) MESSAGE-INTEGRITY fail
//!   here, and so does any malformed value.
//!
//! It does *not* refuse unknown comprehension-required attributes: `MessageDecoder::decode`
//! (context.rs) turns every attribute type without a registered handler into
//! `StunAttribute::Unknown`. With the default features this crate uses (neither `ice` nor
//! `turn`), PRIORITY, USE-CANDIDATE, ICE-CONTROLLING/CONTROLLED and every TURN attribute arrive
//! as `Unknown`, without their value; the ICE fields are therefore read from this module's own
//! attribute walk, which runs on every message anyway (it decides the kind and enforces the
//! limits).
//!
//! When stun-rs refuses a message, or never sees it, the tolerant `nom` parser reads it: the
//! header, the attributes as type-length-value (they must tile the body exactly), and the few
//! values kept. [`StunMessage::strict`] says which of the two read it.
//!
//! # Bounds
//!
//! At most [`MAX_ATTRIBUTES`] attributes are walked (stun-rs is called only on messages within
//! that limit), SOFTWARE keeps at most [`MAX_SOFTWARE_LEN`] bytes, and [`parse_stun_tcp`] never
//! waits for more than [`MAX_TCP_FRAME`] bytes. Nothing here indexes the input: every read goes
//! through `nom` or `get`, so no input can make this module panic.

use crate::bytes::{be16, be32};

use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16, be_u32, be_u64};
use nom::{IResult, Parser};
use stun_rs::{MessageClass, MessageDecoderBuilder, StunAttribute};

use crate::StunKind;

/// Attributes walked in one message at most. The same limit as [`crate::probe_stun`]'s, so that
/// both see the same MS-TURN markers: a message with more attributes is still recognised, but
/// the attributes past the limit are neither validated nor read.
pub const MAX_ATTRIBUTES: usize = 64;

/// Bytes of the SOFTWARE attribute kept (cut at a character boundary).
pub const MAX_SOFTWARE_LEN: usize = 128;

/// The longest frame [`parse_stun_tcp`] waits for: a STUN header (20 bytes) and the largest
/// message length (65 535). Every other framing (RFC 4571, [MS-TURN] TCP, ChannelData padded to
/// 4) is shorter. A buffer this long is never answered [`TcpParse::Incomplete`].
pub const MAX_TCP_FRAME: usize = HEADER_LEN + 0xFFFF;

/// The RFC 5389 magic cookie.
const MAGIC_COOKIE: u32 = 0x2112_A442;
/// The STUN header: type, length, cookie, transaction ID.
const HEADER_LEN: usize = 20;
/// [MS-TURN] 2.2.2.8: the MAGIC-COOKIE attribute and its value.
const ATTR_MAGIC_COOKIE: u16 = 0x000F;
const MS_MAGIC_COOKIE: u32 = 0x72C6_4BC6;
/// [MS-TURN] 2.2.2.17: MS-VERSION.
const ATTR_MS_VERSION: u16 = 0x8008;
/// [MS-TURN] 2.2.3: the Channel_ID of a Multiplexed TURN frame.
const MULTIPLEXED_TURN: u16 = 0xFF10;
/// [MS-TURN] 2.2.1: the Data Indication message type.
const MS_DATA_INDICATION: u16 = 0x0115;

/// TURN methods of RFC 5766/8656 (the method bits of the message type).
const TURN_METHODS: [u16; 6] = [0x003, 0x004, 0x006, 0x007, 0x008, 0x009];
/// RFC 3489 message types: Binding and Shared Secret requests, responses and errors.
const CLASSIC_TYPES: [u16; 6] = [0x0001, 0x0101, 0x0111, 0x0002, 0x0102, 0x0112];
/// Microsoft's attributes: [MS-TURN] 2.2.2 (MAGIC-COOKIE, MS-VERSION, MS-Alternate Host Name,
/// App ID, Secure Tag, MS-Sequence Number, MS-Service Quality, MS-Alternate Mapped Address,
/// Multiplexed TURN Session ID) and [MS-ICE2] 2.2.2 (CANDIDATE-IDENTIFIER,
/// IMPLEMENTATION-VERSION). 0x8020 (XOR Mapped Address in [MS-TURN]) is the pre-RFC 5389 code
/// point of XOR-MAPPED-ADDRESS, used by others too, and is not counted.
const MS_ATTRIBUTES: [u16; 11] = [
    0x000F, 0x8008, 0x8032, 0x8037, 0x8039, 0x8050, 0x8054, 0x8055, 0x8070, 0x8090, 0x8095,
];

const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_ERROR_CODE: u16 = 0x0009;
const ATTR_MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
const ATTR_PRIORITY: u16 = 0x0024;
const ATTR_USE_CANDIDATE: u16 = 0x0025;
const ATTR_SOFTWARE: u16 = 0x8022;
const ATTR_FINGERPRINT: u16 = 0x8028;
const ATTR_ICE_CONTROLLED: u16 = 0x8029;
const ATTR_ICE_CONTROLLING: u16 = 0x802A;

/// The class of a STUN message (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StunClass {
    /// A request (class bits 00).
    Request,
    /// An indication (class bits 01); also ChannelData and other data carriers.
    Indication,
    /// A success response (class bits 10).
    SuccessResponse,
    /// An error response (class bits 11).
    ErrorResponse,
}

impl StunClass {
    /// The class encoded in a message type (bits C1 and C0).
    pub fn from_msg_type(msg_type: u16) -> StunClass {
        match ((msg_type & 0x0100) >> 7) | ((msg_type & 0x0010) >> 4) {
            0 => StunClass::Request,
            1 => StunClass::Indication,
            2 => StunClass::SuccessResponse,
            _ => StunClass::ErrorResponse,
        }
    }
}

/// The ICE attributes of a connectivity check (RFC 8445 §16.1), read before any
/// MESSAGE-INTEGRITY or FINGERPRINT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IceAttrs {
    /// PRIORITY (0x0024), when it holds exactly 4 bytes.
    pub priority: Option<u32>,
    /// USE-CANDIDATE (0x0025) is present.
    pub use_candidate: bool,
    /// ICE-CONTROLLING (0x802A) is present.
    pub ice_controlling: bool,
    /// ICE-CONTROLLED (0x8029) is present.
    pub ice_controlled: bool,
}

/// How a message was carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// No framing: a datagram, or over TCP a message delimited by its own length field (TURN
    /// over TCP, RFC 8656 §3.1) or a ChannelData frame padded to 4.
    Bare,
    /// The 2-byte length prefix of RFC 4571 (ICE-TCP, RFC 6544; [MS-ICE2] 2.2.2).
    Rfc4571,
    /// The [MS-TURN] 2.1.4 TCP framing header: type 0x02 (control), reserved, 2-byte length.
    MsTurnTcp,
}

/// One STUN, TURN or MS-TURN message (or a TURN ChannelData or Multiplexed TURN frame), as far as
/// sfbflow needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunMessage {
    /// STUN, TURN or MS-TURN: see the module documentation for the exact rules.
    pub kind: StunKind,
    /// The message class. [MS-TURN]'s Data Indication (type 0x0115, whose class bits say error
    /// response) is an indication; data carriers (ChannelData, Multiplexed TURN frames that hold
    /// no STUN message) are indications too.
    pub class: StunClass,
    /// The 12-bit method field as RFC 8489 §5 lays it out (0x001 Binding, 0x003 Allocate, ...);
    /// 0 for data carriers. [MS-TURN] names its messages by their whole type instead (its Data
    /// Indication reads as method 0x005): see [`method_name`](Self::method_name).
    pub method: u16,
    /// The method's name: "Binding", "Allocate", "Refresh", "Send", "Data", "CreatePermission",
    /// "ChannelBind", ...; for a message laid out the [MS-TURN] way, the name [MS-TURN] 2.2.1
    /// gives its type ("Allocate", "Send", "Data", "SetActiveDestination"); "ChannelData" or
    /// "MultiplexedData" for data carriers; "unknown" for an unassigned method.
    pub method_name: &'static str,
    /// The raw message type (0 for data carriers).
    pub msg_type: u16,
    /// The header has no RFC 5389 magic cookie: an RFC 3489 message, or an [MS-TURN] message
    /// sent with a 128-bit transaction ID.
    pub classic: bool,
    /// stun-rs decoded the message: a well-formed RFC 5389/8489 message whose attribute values
    /// it knows are valid. False when the tolerant parser read it.
    pub strict: bool,
    /// The value of [MS-TURN]'s MS-VERSION attribute (0x8008).
    pub ms_version: Option<u32>,
    /// Some Microsoft attribute of [MS-TURN] or [MS-ICE2] was seen (MAGIC-COOKIE 0x000F,
    /// MS-VERSION 0x8008, 0x8032, App ID 0x8037, 0x8039, MS-Sequence Number 0x8050,
    /// CANDIDATE-IDENTIFIER 0x8054, MS-Service Quality 0x8055, IMPLEMENTATION-VERSION 0x8070,
    /// 0x8090, Multiplexed TURN Session ID 0x8095); always true in a Multiplexed TURN frame.
    pub ms_attributes: bool,
    /// The ICE attributes.
    pub ice: IceAttrs,
    /// ERROR-CODE as class × 100 + number (300-699 in RFC 8489, 100-699 in RFC 3489).
    pub error_code: Option<u16>,
    /// SOFTWARE (0x8022), at most [`MAX_SOFTWARE_LEN`] bytes, invalid UTF-8 replaced.
    pub software: Option<String>,
    /// TURN ChannelData: the channel number. The other fields then describe no message:
    /// kind TURN, class indication, method 0.
    pub channel_data: Option<u16>,
    /// A Multiplexed TURN frame ([MS-TURN] 2.2.3): its MTURN_Session_ID. The other fields
    /// describe the STUN message the frame carries, if it carries one.
    pub mturn_session: Option<u64>,
    /// How the message was carried ([`Framing::Bare`] from [`parse_stun`]).
    pub framing: Framing,
    /// Attributes walked (at most [`MAX_ATTRIBUTES`]).
    pub attribute_count: usize,
    /// More attributes followed the [`MAX_ATTRIBUTES`] walked; they were not read.
    pub attributes_truncated: bool,
}

impl StunMessage {
    /// A frame that carries data and no STUN message.
    fn carrier(kind: StunKind, method_name: &'static str) -> StunMessage {
        StunMessage {
            kind,
            class: StunClass::Indication,
            method: 0,
            method_name,
            msg_type: 0,
            classic: false,
            strict: false,
            ms_version: None,
            ms_attributes: false,
            ice: IceAttrs::default(),
            error_code: None,
            software: None,
            channel_data: None,
            mturn_session: None,
            framing: Framing::Bare,
            attribute_count: 0,
            attributes_truncated: false,
        }
    }
}

/// What [`parse_stun_tcp`] found at the start of a TCP byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpParse {
    /// One message (or ChannelData frame) and the bytes it took, framing included.
    Complete {
        /// The message.
        msg: StunMessage,
        /// Bytes taken from the start of the buffer (at least 4).
        len: usize,
    },
    /// An [MS-TURN] 2.1.4 end-to-end data frame (type 0x03): relayed data, no message. Skip
    /// `len` bytes (at least 5) and go on.
    Skip {
        /// Bytes of the frame, its 4-byte header included.
        len: usize,
    },
    /// The bytes so far are the start of a frame: more are needed to decide. Never returned for
    /// a buffer of [`MAX_TCP_FRAME`] bytes or more.
    Incomplete,
    /// Not a STUN-family frame.
    NotStun,
}

/// Parses one STUN, TURN or MS-TURN message, TURN ChannelData or Multiplexed TURN frame that fills
/// `p` exactly (a UDP datagram). `None` when `p` is none of those, or is malformed: attributes
/// that do not tile the body, a length that disagrees with the datagram, a truncated header.
pub fn parse_stun(p: &[u8]) -> Option<StunMessage> {
    parse_datagram(p, true)
}

fn parse_datagram(p: &[u8], multiplexed: bool) -> Option<StunMessage> {
    let first = *p.first()?;
    if (0x40..=0x7f).contains(&first) {
        return channel_data(p);
    }
    if multiplexed && first == 0xff {
        return multiplexed_turn(p);
    }
    parse_message(p)
}

/// Parses the stream bytes `buf` (starting at a frame boundary) as one STUN-family frame over
/// TCP: a message delimited by its own length (TURN over TCP), a ChannelData frame padded to 4,
/// an RFC 4571 frame, or an [MS-TURN] 2.1.4 frame. A [`TcpParse::Complete`] message's
/// [`framing`](StunMessage::framing) says which.
pub fn parse_stun_tcp(buf: &[u8]) -> TcpParse {
    let mut more = false;
    for framing in [bare_tcp, rfc4571, ms_turn_tcp, channel_data_tcp] {
        match framing(buf) {
            Step::Done(found) => return found,
            Step::More => more = true,
            Step::No => {}
        }
    }
    if more && buf.len() < MAX_TCP_FRAME {
        TcpParse::Incomplete
    } else {
        TcpParse::NotStun
    }
}

/// The name of a static RTP payload type of RFC 3551 (Table 4 and 5), as IANA's "RTP Payload
/// Types" registry spells its encoding name: 0 "PCMU", 3 "GSM", 4 "G723", 8 "PCMA", 9 "G722",
/// 18 "G729", 34 "H263", ... `None` for reserved and unassigned numbers and for the dynamic range
/// 96-127, whose meaning only the SDP `a=rtpmap` of the session gives (Skype for Business puts
/// SILK, RTAudio, SIREN, G.722.1, RTVideo and H.264 there), and for values above 127 (mask the
/// marker bit first).
pub fn codec_name(payload_type: u8) -> Option<&'static str> {
    Some(match payload_type {
        0 => "PCMU",
        3 => "GSM",
        4 => "G723",
        5 | 6 | 16 | 17 => "DVI4",
        7 => "LPC",
        8 => "PCMA",
        9 => "G722",
        10 | 11 => "L16",
        12 => "QCELP",
        13 => "CN",
        14 => "MPA",
        15 => "G728",
        18 => "G729",
        25 => "CelB",
        26 => "JPEG",
        28 => "nv",
        31 => "H261",
        32 => "MPV",
        33 => "MP2T",
        34 => "H263",
        _ => return None,
    })
}

type Res<'a, T> = IResult<&'a [u8], T>;

/// The fixed STUN header (RFC 8489 §5; RFC 3489 §11.1 reads the cookie as part of a 128-bit
/// transaction ID).
struct Header {
    msg_type: u16,
    length: u16,
    cookie: u32,
}

fn header(i: &[u8]) -> Res<'_, Header> {
    let (i, (msg_type, length, cookie, _transaction)) =
        (be_u16, be_u16, be_u32, take(12usize)).parse(i)?;
    Ok((
        i,
        Header {
            msg_type,
            length,
            cookie,
        },
    ))
}

/// One attribute: type, length, value, then padding to 4 when `padded`.
fn attribute(i: &[u8], padded: bool) -> Res<'_, (u16, &[u8])> {
    let (i, (ty, len)) = (be_u16, be_u16).parse(i)?;
    let (i, value) = take(len).parse(i)?;
    let pad = if padded {
        (4 - usize::from(len) % 4) % 4
    } else {
        0
    };
    let (i, _) = take(pad).parse(i)?;
    Ok((i, (ty, value)))
}

/// The method bits of a message type (RFC 8489 §5).
fn method_of(msg_type: u16) -> u16 {
    (msg_type & 0x000f) | ((msg_type & 0x00e0) >> 1) | ((msg_type & 0x3e00) >> 2)
}

/// Whether a message type alone (the magic cookie not there) may start a message: RFC 3489
/// types, TURN methods (the other [MS-TURN] types are among them), and [MS-TURN]'s Data
/// Indication, which [`parse_message`] admits once it sees MAGIC-COOKIE first.
fn type_admits(msg_type: u16) -> bool {
    CLASSIC_TYPES.contains(&msg_type)
        || TURN_METHODS.contains(&method_of(msg_type))
        || msg_type == MS_DATA_INDICATION
}

/// Whether the attributes begin with [MS-TURN]'s MAGIC-COOKIE (type, length 4, 0x72C64BC6).
fn starts_with_ms_cookie(body: &[u8]) -> bool {
    let parsed: Res<'_, (u16, u16, u32)> = (be_u16, be_u16, be_u32).parse(body);
    matches!(parsed, Ok((_, (ATTR_MAGIC_COOKIE, 4, MS_MAGIC_COOKIE))))
}

/// What the attribute walk keeps.
#[derive(Default)]
struct Walk<'a> {
    count: usize,
    truncated: bool,
    ms_marker: bool,
    ms_attributes: bool,
    ms_version: Option<u32>,
    ice: IceAttrs,
    error_code: Option<u16>,
    software: Option<&'a [u8]>,
    /// MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT seen: RFC 8489 §14.5-14.7 has agents ignore
    /// what follows, and so do the values read here (the markers are still counted).
    sealed: bool,
}

impl<'a> Walk<'a> {
    fn note(&mut self, ty: u16, value: &'a [u8]) {
        self.ms_marker |= ty == ATTR_MAGIC_COOKIE || ty == ATTR_MS_VERSION;
        self.ms_attributes |= MS_ATTRIBUTES.contains(&ty);
        if ty == ATTR_MS_VERSION && self.ms_version.is_none() {
            self.ms_version = u32_value(value);
        }
        if self.sealed {
            return;
        }
        match ty {
            ATTR_MESSAGE_INTEGRITY | ATTR_MESSAGE_INTEGRITY_SHA256 | ATTR_FINGERPRINT => {
                self.sealed = true;
            }
            ATTR_PRIORITY if self.ice.priority.is_none() => self.ice.priority = u32_value(value),
            ATTR_USE_CANDIDATE => self.ice.use_candidate = true,
            ATTR_ICE_CONTROLLING => self.ice.ice_controlling = true,
            ATTR_ICE_CONTROLLED => self.ice.ice_controlled = true,
            ATTR_ERROR_CODE if self.error_code.is_none() => self.error_code = error_code(value),
            ATTR_SOFTWARE if self.software.is_none() => self.software = Some(value),
            _ => {}
        }
    }
}

/// A 4-byte value.
fn u32_value(value: &[u8]) -> Option<u32> {
    let (rest, v) = be_u32::<_, nom::error::Error<&[u8]>>(value).ok()?;
    rest.is_empty().then_some(v)
}

/// ERROR-CODE: 21 reserved bits, class (3 bits), number (8 bits), reason phrase.
fn error_code(value: &[u8]) -> Option<u16> {
    let parsed: Res<'_, (u16, u8, u8)> = (be_u16, be_u8, be_u8).parse(value);
    let (_, (_, class, number)) = parsed.ok()?;
    let class = class & 0x07;
    ((1..=6).contains(&class) && number < 100).then(|| u16::from(class) * 100 + u16::from(number))
}

/// Walks the attributes of `body`; `None` unless they tile it exactly (or the limit is reached
/// first). At most [`MAX_ATTRIBUTES`] iterations, each consuming at least 4 bytes.
fn walk(body: &[u8], padded: bool) -> Option<Walk<'_>> {
    let mut w = Walk::default();
    let mut rest = body;
    while !rest.is_empty() {
        if w.count == MAX_ATTRIBUTES {
            w.truncated = true;
            break;
        }
        let (after, (ty, value)) = attribute(rest, padded).ok()?;
        rest = after;
        w.count += 1;
        w.note(ty, value);
    }
    Some(w)
}

/// A STUN-header message filling `p`.
fn parse_message(p: &[u8]) -> Option<StunMessage> {
    let (body, h) = header(p).ok()?;
    if h.msg_type & 0xc000 != 0 || usize::from(h.length) != body.len() {
        return None;
    }
    let cookie = h.cookie == MAGIC_COOKIE;
    let ms_layout = starts_with_ms_cookie(body);
    let method = method_of(h.msg_type);
    // The probe's admission rule, plus the [MS-TURN] layout.
    let admitted = cookie
        || ms_layout
        || CLASSIC_TYPES.contains(&h.msg_type)
        || TURN_METHODS.contains(&method);
    if !admitted {
        return None;
    }
    let walked = if ms_layout {
        walk(body, false).or_else(|| walk(body, true))?
    } else if body.len() % 4 == 0 {
        walk(body, true)?
    } else {
        return None;
    };
    let kind = if walked.ms_marker {
        StunKind::MsTurn
    } else if TURN_METHODS.contains(&method) {
        StunKind::Turn
    } else {
        StunKind::Stun
    };
    let decoded = (cookie && !ms_layout && !walked.truncated)
        .then(|| decode_strict(p))
        .flatten();
    let mut class = StunClass::from_msg_type(h.msg_type);
    let mut method_name = rfc_method_name(method);
    if ms_layout && let Some((c, name)) = ms_turn_type(h.msg_type) {
        class = c;
        method_name = name;
    }
    let (software, error_code, strict) = match decoded {
        Some(s) => {
            class = s.class;
            (s.software, s.error_code, true)
        }
        None => (walked.software.map(bounded_text), walked.error_code, false),
    };
    Some(StunMessage {
        kind,
        class,
        method,
        method_name,
        msg_type: h.msg_type,
        classic: !cookie,
        strict,
        ms_version: walked.ms_version,
        ms_attributes: walked.ms_attributes,
        ice: walked.ice,
        error_code,
        software,
        channel_data: None,
        mturn_session: None,
        framing: Framing::Bare,
        attribute_count: walked.count,
        attributes_truncated: walked.truncated,
    })
}

/// What stun-rs gives.
struct Strict {
    class: StunClass,
    software: Option<String>,
    error_code: Option<u16>,
}

/// Decodes an RFC 5389/8489 message with stun-rs; `None` when it refuses it (see the module
/// documentation for why it does).
fn decode_strict(p: &[u8]) -> Option<Strict> {
    let (msg, size) = MessageDecoderBuilder::default().build().decode(p).ok()?;
    if size != p.len() {
        return None;
    }
    let class = match msg.class() {
        MessageClass::Request => StunClass::Request,
        MessageClass::Indication => StunClass::Indication,
        MessageClass::SuccessResponse => StunClass::SuccessResponse,
        MessageClass::ErrorResponse => StunClass::ErrorResponse,
    };
    let mut strict = Strict {
        class,
        software: None,
        error_code: None,
    };
    for attr in msg.attributes() {
        match attr {
            StunAttribute::Software(s) if strict.software.is_none() => {
                strict.software = Some(bounded_text(s.as_str().as_bytes()));
            }
            StunAttribute::ErrorCode(e) if strict.error_code.is_none() => {
                strict.error_code = Some(e.error_code().error_code());
            }
            _ => {}
        }
    }
    Some(strict)
}

/// At most [`MAX_SOFTWARE_LEN`] bytes of text, cut at a character boundary, invalid UTF-8
/// replaced, trailing NULs dropped.
fn bounded_text(b: &[u8]) -> String {
    let cut = b.get(..MAX_SOFTWARE_LEN).unwrap_or(b);
    let text = String::from_utf8_lossy(cut);
    let mut end = text.len().min(MAX_SOFTWARE_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end)
        .unwrap_or_default()
        .trim_end_matches('\0')
        .to_owned()
}

/// Method names of IANA's STUN Methods registry.
fn rfc_method_name(method: u16) -> &'static str {
    match method {
        0x001 => "Binding",
        0x002 => "SharedSecret",
        0x003 => "Allocate",
        0x004 => "Refresh",
        0x006 => "Send",
        0x007 => "Data",
        0x008 => "CreatePermission",
        0x009 => "ChannelBind",
        0x00a => "Connect",
        0x00b => "ConnectionBind",
        0x00c => "ConnectionAttempt",
        0x080 => "GOOG-PING",
        _ => "unknown",
    }
}

/// The message types of [MS-TURN] 2.2.1, with the class and name it gives them.
fn ms_turn_type(msg_type: u16) -> Option<(StunClass, &'static str)> {
    Some(match msg_type {
        0x0003 => (StunClass::Request, "Allocate"),
        0x0103 => (StunClass::SuccessResponse, "Allocate"),
        0x0113 => (StunClass::ErrorResponse, "Allocate"),
        0x0004 => (StunClass::Request, "Send"),
        0x0104 => (StunClass::SuccessResponse, "Send"),
        0x0114 => (StunClass::ErrorResponse, "Send"),
        MS_DATA_INDICATION => (StunClass::Indication, "Data"),
        0x0006 => (StunClass::Request, "SetActiveDestination"),
        0x0106 => (StunClass::SuccessResponse, "SetActiveDestination"),
        0x0116 => (StunClass::ErrorResponse, "SetActiveDestination"),
        _ => return None,
    })
}

/// TURN ChannelData (RFC 8656 §12.4) filling `p`: channel number, length, data, and at most 3
/// bytes of padding (required over TCP, allowed over UDP). The same rule as `probe_stun`.
fn channel_data(p: &[u8]) -> Option<StunMessage> {
    let (data, (channel, len)) = (be_u16::<_, nom::error::Error<&[u8]>>, be_u16)
        .parse(p)
        .ok()?;
    if !(0x4000..=0x7fff).contains(&channel) {
        return None;
    }
    let len = usize::from(len);
    let body = data.len();
    let fits = len == body || (len > 0 && len < body && body - len < 4);
    fits.then(|| StunMessage {
        channel_data: Some(channel),
        ..StunMessage::carrier(StunKind::Turn, "ChannelData")
    })
}

/// A Multiplexed TURN frame ([MS-TURN] 2.2.3) filling `p`: Channel_ID 0xFF10, the length of what
/// follows, an 8-byte MTURN_Session_ID, and the data: a STUN message or ChannelData (read, but
/// never another Multiplexed frame) or media.
fn multiplexed_turn(p: &[u8]) -> Option<StunMessage> {
    let parsed: Res<'_, (u16, u16, u64)> = (be_u16, be_u16, be_u64).parse(p);
    let (data, (channel, len, session)) = parsed.ok()?;
    if channel != MULTIPLEXED_TURN || usize::from(len) != data.len().checked_add(8)? {
        return None;
    }
    let mut msg = parse_datagram(data, false)
        .unwrap_or_else(|| StunMessage::carrier(StunKind::MsTurn, "MultiplexedData"));
    msg.kind = StunKind::MsTurn;
    msg.ms_attributes = true;
    msg.mturn_session = Some(session);
    Some(msg)
}

/// One framing's answer for a TCP buffer.
enum Step {
    Done(TcpParse),
    More,
    No,
}

/// A STUN header at the start of `m` (possibly cut short), expected to be `total` bytes long
/// with its framing when `total` is known. More: the bytes so far agree.
fn header_prefix(m: &[u8], total: Option<usize>) -> Step {
    let Some(&b0) = m.first() else {
        return Step::More;
    };
    if b0 & 0xc0 != 0 {
        return Step::No;
    }
    if let (Some(len), Some(total)) = (be16(m, 2), total)
        && HEADER_LEN + usize::from(len) != total
    {
        return Step::No;
    }
    if let (Some(msg_type), Some(cookie)) = (be16(m, 0), be32(m, 4))
        && cookie != MAGIC_COOKIE
        && !type_admits(msg_type)
    {
        return Step::No;
    }
    Step::More
}

/// Parses `frame` (exactly one message) and answers with `framing` and `len`.
fn framed_message(frame: &[u8], framing: Framing, len: usize) -> Step {
    match parse_message(frame) {
        Some(msg) => Step::Done(TcpParse::Complete {
            msg: StunMessage { framing, ..msg },
            len,
        }),
        None => Step::No,
    }
}

/// A message delimited by its own length (TURN over TCP, RFC 8656 §3.1).
fn bare_tcp(buf: &[u8]) -> Step {
    let Some(total) = be16(buf, 2).map(|l| HEADER_LEN + usize::from(l)) else {
        return header_prefix(buf, None);
    };
    match header_prefix(buf, Some(total)) {
        Step::More => {}
        other => return other,
    }
    match buf.get(..total) {
        Some(frame) => framed_message(frame, Framing::Bare, total),
        None => Step::More,
    }
}

/// RFC 4571: a 2-byte length, then one STUN message of that length.
fn rfc4571(buf: &[u8]) -> Step {
    let Some(len) = be16(buf, 0).map(usize::from) else {
        return Step::More;
    };
    if len < HEADER_LEN {
        return Step::No;
    }
    let inner = buf.get(2..).unwrap_or_default();
    match header_prefix(inner, Some(len)) {
        Step::More => {}
        other => return other,
    }
    match inner.get(..len) {
        Some(frame) => framed_message(frame, Framing::Rfc4571, len + 2),
        None => Step::More,
    }
}

/// [MS-TURN] 2.1.4: type (0x02 control, 0x03 end-to-end data), reserved zero, 2-byte length.
fn ms_turn_tcp(buf: &[u8]) -> Step {
    let control = match buf.first() {
        None => return Step::More,
        Some(2) => true,
        Some(3) => false,
        Some(_) => return Step::No,
    };
    match buf.get(1) {
        None => return Step::More,
        Some(0) => {}
        Some(_) => return Step::No,
    }
    let Some(len) = be16(buf, 2).map(usize::from) else {
        return Step::More;
    };
    if !control {
        if len == 0 {
            return Step::No;
        }
        return if buf.len() >= len + 4 {
            Step::Done(TcpParse::Skip { len: len + 4 })
        } else {
            Step::More
        };
    }
    if len < HEADER_LEN {
        return Step::No;
    }
    let inner = buf.get(4..).unwrap_or_default();
    match header_prefix(inner, Some(len)) {
        Step::More => {}
        other => return other,
    }
    match inner.get(..len) {
        Some(frame) => framed_message(frame, Framing::MsTurnTcp, len + 4),
        None => Step::More,
    }
}

/// ChannelData over TCP: padded to a multiple of 4 (RFC 8656 §12.5). A frame cut short is
/// waited for only on the channels RFC 8656 §12 assigns (0x4000-0x4FFF): text that happens to
/// start with a letter in 0x50-0x7F ("RSP/1.0 ...") would otherwise keep the caller waiting for
/// up to 64 KiB. A complete frame on RFC 5766's wider range (up to 0x7FFF) is read.
fn channel_data_tcp(buf: &[u8]) -> Step {
    let wait = match buf.first() {
        None => return Step::More,
        Some(0x40..=0x4f) => true,
        Some(0x50..=0x7f) => false,
        Some(_) => return Step::No,
    };
    let Some(len) = be16(buf, 2).map(usize::from) else {
        return if wait { Step::More } else { Step::No };
    };
    let total = 4 + len.div_ceil(4) * 4;
    match buf.get(..total) {
        Some(frame) => match channel_data(frame) {
            Some(msg) => Step::Done(TcpParse::Complete { msg, len: total }),
            None => Step::No,
        },
        None if wait => Step::More,
        None => Step::No,
    }
}

#[cfg(test)]
mod tests;
