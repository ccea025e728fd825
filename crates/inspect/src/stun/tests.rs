//! Tests of the STUN/TURN/MS-TURN parser: real messages from permissively licensed captures
//! (`tests/data/stun/*.tsv`, each naming its source, commit and licence), messages built by hand
//! from [MS-TURN] and the RFCs (annotated field by field), malformed and truncated input, the
//! limits, and agreement with `probe_stun`.

use proptest::prelude::*;

use super::*;
use crate::probe_stun;

// ---------------------------------------------------------------------------------------------
// Real bytes

/// One captured payload.
struct Frame {
    frame: u32,
    transport: String,
    endpoints: String,
    bytes: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn load(tsv: &str) -> Vec<Frame> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "bad line: {l}");
            Frame {
                frame: cols[0].parse().expect("frame number"),
                transport: cols[1].to_owned(),
                endpoints: cols[2].to_owned(),
                bytes: hex(cols[3]),
            }
        })
        .collect()
}

const ARKIME_STUN: &str = include_str!("../../tests/data/stun/arkime-stun.tsv");
const ARKIME_ICE: &str = include_str!("../../tests/data/stun/arkime-stun-ice-testcall.tsv");
const ARKIME_TURN_TCP: &str = include_str!("../../tests/data/stun/arkime-turn-tcp.tsv");
const CORELIGHT_FFFF: &str =
    include_str!("../../tests/data/stun/corelight-attribute-length-ffff.tsv");
const CORELIGHT_ERROR: &str = include_str!("../../tests/data/stun/corelight-malformed-error.tsv");
const ZEEK_WEBRTC: &str = include_str!("../../tests/data/stun/zeek-webrtc-stun.tsv");
const PEAFOWL_HANGOUT: &str = include_str!("../../tests/data/stun/peafowl-hangout.tsv");

fn frame(frames: &[Frame], n: u32) -> &Frame {
    frames.iter().find(|f| f.frame == n).expect("frame present")
}

fn parsed(bytes: &[u8]) -> StunMessage {
    parse_stun(bytes).expect("parses")
}

#[test]
fn arkime_classic_stun_and_ms_turn_allocate() {
    let frames = load(ARKIME_STUN);
    // Frame 1: an RFC 3489 Binding request (no magic cookie) with an unknown attribute 0x0101.
    let m = parsed(&frame(&frames, 1).bytes);
    assert_eq!(m.kind, StunKind::Stun);
    assert_eq!(
        (m.class, m.method, m.method_name),
        (StunClass::Request, 1, "Binding")
    );
    assert!(m.classic && !m.strict && !m.ms_attributes);
    assert_eq!(m.attribute_count, 1);

    // Frame 2: a real MS-TURN Allocate request. Header with the RFC 5389 cookie, then
    // MAGIC-COOKIE first, MS-VERSION 6, USERNAME (56 binary bytes), BANDWIDTH, 0x8006,
    // MS-Service Quality, and REALM "\"realm01\"" (9 bytes) left unpadded: the message length is
    // 113, not a multiple of 4. probe_stun misses it (it wants a length multiple of 4).
    let m = parsed(&frame(&frames, 2).bytes);
    assert_eq!(m.kind, StunKind::MsTurn);
    assert_eq!(
        (m.class, m.method, m.method_name),
        (StunClass::Request, 3, "Allocate")
    );
    assert_eq!(m.ms_version, Some(6));
    assert!(m.ms_attributes && !m.classic && !m.strict);
    assert_eq!(m.attribute_count, 7);
    assert_eq!(probe_stun(&frame(&frames, 2).bytes), None);

    // Frames 6 and 7: RFC 3489 Binding requests with CHANGE-REQUEST.
    for n in [6, 7] {
        let m = parsed(&frame(&frames, n).bytes);
        assert_eq!((m.kind, m.method_name), (StunKind::Stun, "Binding"));
        assert!(m.classic);
    }

    // Frames 5 (TCP) and 8 (UDP): proprietary "RSP/1.0" / "RSP/2.0" text on port 3478.
    assert_eq!(parse_stun(&frame(&frames, 8).bytes), None);
    assert_eq!(parse_stun(&frame(&frames, 5).bytes), None);
    assert_eq!(parse_stun_tcp(&frame(&frames, 5).bytes), TcpParse::NotStun);
    assert_eq!(parse_stun_tcp(&frame(&frames, 8).bytes), TcpParse::NotStun);
}

#[test]
fn arkime_ice_test_call() {
    let frames = load(ARKIME_ICE);
    assert_eq!(frames.len(), 108);
    let mut errors = Vec::new();
    let (mut use_candidate, mut controlling, mut controlled, mut software) = (0, 0, 0, 0);
    for f in &frames {
        let m = parsed(&f.bytes);
        assert_eq!(m.kind, StunKind::Stun, "frame {}", f.frame);
        assert_eq!(m.method_name, "Binding");
        assert!(m.strict, "stun-rs decodes frame {}", f.frame);
        assert!(!m.classic && !m.ms_attributes);
        if let Some(code) = m.error_code {
            assert_eq!(m.class, StunClass::ErrorResponse);
            errors.push(code);
        }
        use_candidate += usize::from(m.ice.use_candidate);
        controlling += usize::from(m.ice.ice_controlling);
        controlled += usize::from(m.ice.ice_controlled);
        if let Some(s) = &m.software {
            assert_eq!(s, "Net-Net OS-E E3.7.0 ");
            software += 1;
        }
        if m.ice.ice_controlling || m.ice.ice_controlled {
            assert!(m.ice.priority.is_some(), "frame {}", f.frame);
        }
    }
    errors.sort_unstable();
    assert_eq!(errors, [401, 401, 401, 401, 401, 500, 500]);
    assert_eq!(
        (use_candidate, controlling, controlled, software),
        (40, 40, 9, 40)
    );
    // Frame 7: a Binding request, PRIORITY 0x6e001eff, USE-CANDIDATE, ICE-CONTROLLING.
    let m = parsed(&frame(&frames, 7).bytes);
    assert_eq!(m.class, StunClass::Request);
    assert_eq!(m.ice.priority, Some(0x6e00_1eff));
    assert!(m.ice.use_candidate && m.ice.ice_controlling && !m.ice.ice_controlled);
}

#[test]
fn corelight_malformed() {
    // A Binding success response whose MAPPED-ADDRESS declares length 0xffff in a 12-byte body.
    let frames = load(CORELIGHT_FFFF);
    assert_eq!(parsed(&frame(&frames, 1).bytes).method_name, "Binding");
    assert_eq!(parse_stun(&frame(&frames, 2).bytes), None);
    assert_eq!(probe_stun(&frame(&frames, 2).bytes), None);
    // A Binding error response whose ERROR-CODE declares 3 bytes: the reason phrase then reads
    // as an attribute of length 0x5256, past the end.
    let frames = load(CORELIGHT_ERROR);
    let m = parsed(&frame(&frames, 1).bytes);
    assert_eq!(m.ice.priority, Some(0x6eff_fffe));
    assert!(m.ice.ice_controlled);
    assert_eq!(parse_stun(&frame(&frames, 2).bytes), None);
    assert_eq!(probe_stun(&frame(&frames, 2).bytes), None);
}

#[test]
fn zeek_webrtc_and_peafowl_hangout() {
    let frames = load(ZEEK_WEBRTC);
    for f in &frames {
        let dtls = matches!(f.bytes.first(), Some(0x14..=0x17));
        match parse_stun(&f.bytes) {
            Some(m) => {
                assert!(!dtls, "frame {}", f.frame);
                assert_eq!((m.kind, m.method_name), (StunKind::Stun, "Binding"));
                assert!(m.strict);
            }
            None => assert!(dtls, "frame {} is STUN", f.frame),
        }
    }
    let frames = load(PEAFOWL_HANGOUT);
    let m = parsed(&frame(&frames, 61).bytes);
    assert_eq!(m.class, StunClass::SuccessResponse);
    for n in [58, 59, 60] {
        assert_eq!(parse_stun(&frame(&frames, n).bytes), None, "RTP frame {n}");
    }
}

/// The TCP payloads of one direction of arkime's turn.pcap, in order.
fn turn_stream(client: bool) -> Vec<u8> {
    load(ARKIME_TURN_TCP)
        .iter()
        .filter(|f| f.transport == "tcp" && f.endpoints.starts_with("192.168.1.75") == client)
        .flat_map(|f| f.bytes.clone())
        .collect()
}

/// Walks a TCP stream with `parse_stun_tcp`; the messages, and the bytes left over.
fn walk_stream(mut s: &[u8]) -> (Vec<StunMessage>, usize) {
    let mut out = Vec::new();
    loop {
        match parse_stun_tcp(s) {
            TcpParse::Complete { msg, len } => {
                out.push(msg);
                s = &s[len..];
            }
            TcpParse::Skip { len } => s = &s[len..],
            TcpParse::Incomplete | TcpParse::NotStun => return (out, s.len()),
        }
    }
}

#[test]
fn arkime_turn_over_tcp() {
    let names = |ms: &[StunMessage]| -> Vec<(StunClass, &'static str)> {
        ms.iter().map(|m| (m.class, m.method_name)).collect()
    };
    let (client, left) = walk_stream(&turn_stream(true));
    assert_eq!(left, 0);
    let mut expected = vec![
        (StunClass::Request, "Allocate"),
        (StunClass::Request, "Allocate"),
    ];
    expected.extend([(StunClass::Request, "CreatePermission"); 7]);
    assert_eq!(names(&client), expected);
    let (server, left) = walk_stream(&turn_stream(false));
    assert_eq!(left, 0);
    assert_eq!(
        names(&server),
        [
            (StunClass::ErrorResponse, "Allocate"),
            (StunClass::SuccessResponse, "Allocate"),
            (StunClass::ErrorResponse, "CreatePermission"),
            (StunClass::SuccessResponse, "CreatePermission"),
            (StunClass::SuccessResponse, "CreatePermission"),
            (StunClass::SuccessResponse, "CreatePermission"),
        ]
    );
    assert_eq!(server.first().and_then(|m| m.error_code), Some(401));
    for m in client.iter().chain(&server) {
        assert_eq!((m.kind, m.framing), (StunKind::Turn, Framing::Bare));
    }
}

#[test]
fn tcp_stream_cut_anywhere_is_incomplete() {
    // Every cut of the client stream inside a message leaves an Incomplete tail.
    let stream = turn_stream(true);
    let mut boundaries = vec![0];
    let mut at = 0;
    while let TcpParse::Complete { len, .. } = parse_stun_tcp(&stream[at..]) {
        at += len;
        boundaries.push(at);
    }
    assert_eq!(at, stream.len());
    for pair in boundaries.windows(2) {
        for cut in pair[0] + 1..pair[1] {
            assert_eq!(
                parse_stun_tcp(&stream[pair[0]..cut]),
                TcpParse::Incomplete,
                "cut at {cut}"
            );
        }
    }
    assert_eq!(parse_stun_tcp(&[]), TcpParse::Incomplete);
}

#[test]
fn several_messages_in_one_segment() {
    // Like nDPI's stun_tcp_multiple_msgs_same_pkt.pcap: three Allocate requests in one segment.
    // Here the first real Allocate of arkime's turn.pcap (frame 4), three times.
    let frames = load(ARKIME_TURN_TCP);
    let one = &frame(&frames, 4).bytes;
    let three: Vec<u8> = one.iter().chain(one).chain(one).copied().collect();
    let (msgs, left) = walk_stream(&three);
    assert_eq!(left, 0);
    assert_eq!(msgs.len(), 3);
    assert!(msgs.iter().all(|m| m.method_name == "Allocate"));
}

#[test]
fn rfc4571_framing() {
    // ICE-TCP (RFC 6544) frames each STUN message with a 2-byte length (RFC 4571 §2).
    let frames = load(ARKIME_ICE);
    let body = &frame(&frames, 17).bytes;
    let mut framed = u16::try_from(body.len())
        .expect("short")
        .to_be_bytes()
        .to_vec();
    framed.extend_from_slice(body);
    framed.extend_from_slice(&framed.clone());
    match parse_stun_tcp(&framed) {
        TcpParse::Complete { msg, len } => {
            assert_eq!(len, body.len() + 2);
            assert_eq!(msg.framing, Framing::Rfc4571);
            assert_eq!(
                StunMessage {
                    framing: Framing::Bare,
                    ..msg
                },
                parsed(body)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(walk_stream(&framed).0.len(), 2);
    for cut in 0..body.len() + 2 {
        assert_eq!(
            parse_stun_tcp(&framed[..cut]),
            TcpParse::Incomplete,
            "cut {cut}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// MS-TURN built by hand from the specification

/// [MS-TURN] 2.2.1: an Allocate request in the draft-STUN-02 format (a 128-bit transaction ID,
/// no RFC 5389 magic cookie), as an MS-VERSION 1 client sends it.
const MS_ALLOCATE_DRAFT: [u8; 56] = [
    0x00, 0x03, // Message Type: 0x0003 Allocate request
    0x00, 0x24, // Message Length: 36
    0x5a, 0x5a, 0x5a, 0x5a, 0x01, 0x02, 0x03, 0x04, // Transaction ID (16 bytes) ...
    0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, // ... no magic cookie in it
    0x00, 0x0f, 0x00, 0x04, // 2.2.2.8 Magic Cookie: type 0x000F, length 4
    0x72, 0xc6, 0x4b, 0xc6, //   value 0x72C64BC6 (the first attribute of every message)
    0x80, 0x08, 0x00, 0x04, // 2.2.2.17 MS-Version: type 0x8008, length 4
    0x00, 0x00, 0x00, 0x01, //   version 1 ([MS-ICE] client)
    0x00, 0x06, 0x00, 0x08, // 2.2.2 Username: type 0x0006, length 8
    0x75, 0x73, 0x65, 0x72, 0x6e, 0x61, 0x6d, 0x65, //   "username"
    0x00, 0x10, 0x00, 0x04, // 2.2.2 Bandwidth: type 0x0010, length 4
    0x00, 0x00, 0x00, 0x40, //   64 kbps
];

/// [MS-TURN] 2.2.1 Data Indication (0x0115) with a 128-bit transaction ID: MAGIC-COOKIE,
/// Remote Address (2.2.2.11, 0x0012) and Data (2.2.2.12, 0x0013) of 5 bytes, not padded.
/// Transaction IDs, addresses and values here are invented.
const MS_DATA_INDICATION_MSG: [u8; 49] = [
    0x01, 0x15, // Message Type: 0x0115 Data Indication
    0x00, 0x1d, // Message Length: 29 (not a multiple of 4: no padding)
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, // Transaction ID (16 bytes)
    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, //
    0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6, // Magic Cookie
    0x00, 0x12, 0x00, 0x08, // Remote Address: type 0x0012, length 8
    0x00, 0x01, 0xc3, 0x50, //   reserved, family 1 (IPv4), port 50000
    0xc0, 0x00, 0x02, 0x01, //   192.0.2.1
    0x00, 0x13, 0x00, 0x05, // Data: type 0x0013, length 5
    0x68, 0x65, 0x6c, 0x6c, 0x6f, //   "hello", and no padding after it
];

/// [MS-TURN] 2.2.1 Send request (0x0004) from an MS-VERSION 6 client, with the RFC 5389 cookie
/// in its header: MAGIC-COOKIE, MS-VERSION, Destination Address (2.2.2.10), Data of 7 bytes
/// (unpadded) and a 32-byte MESSAGE-INTEGRITY (HMAC-SHA256, MS-VERSION 3 and later; the value
/// is a placeholder).
const MS_SEND: [u8; 95] = [
    0x00, 0x04, // Message Type: 0x0004 Send request
    0x00, 0x4b, // Message Length: 75
    0x21, 0x12, 0xa4, 0x42, // the RFC 5389 magic cookie ...
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba,
    0xbb, // ... Transaction ID
    0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6, // Magic Cookie
    0x80, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x06, // MS-Version 6
    0x00, 0x11, 0x00, 0x08, // Destination Address: type 0x0011, length 8
    0x00, 0x01, 0xc3, 0x50, 0xc0, 0x00, 0x02, 0x01, //   IPv4 192.0.2.1:50000
    0x00, 0x13, 0x00, 0x07, // Data: type 0x0013, length 7
    0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, //   7 bytes, the next attribute follows at once
    0x00, 0x08, 0x00, 0x20, // Message Integrity: type 0x0008, length 32
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
];

/// [MS-TURN] 2.2.1 Allocate error response (0x0113): MAGIC-COOKIE, MS-Version, Error Code
/// (2.2.2.6) 401 "Unauthorized" and Realm (2.2.2.14) "\"contoso\"" (9 bytes, unpadded).
const MS_ALLOCATE_ERROR: [u8; 69] = [
    0x01, 0x13, // Message Type: 0x0113 Allocate error response
    0x00, 0x31, // Message Length: 49
    0x21, 0x12, 0xa4, 0x42, // the RFC 5389 magic cookie ...
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
    0xcb, // ... Transaction ID
    0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6, // Magic Cookie
    0x80, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x06, // MS-Version 6
    0x00, 0x09, 0x00, 0x10, // Error Code: type 0x0009, length 16
    0x00, 0x00, 0x04, 0x01, //   reserved, class 4, number 1: 401
    0x55, 0x6e, 0x61, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x7a, 0x65, 0x64, // "Unauthorized"
    0x00, 0x15, 0x00, 0x09, // Realm: type 0x0015, length 9
    0x22, 0x63, 0x6f, 0x6e, 0x74, 0x6f, 0x73, 0x6f, 0x22, //   "\"contoso\"", unpadded
];

/// [MS-TURN] 2.2.1 Set Active Destination request (0x0006), draft format: MAGIC-COOKIE and
/// Destination Address.
const MS_SET_ACTIVE_DESTINATION: [u8; 40] = [
    0x00, 0x06, 0x00, 0x14, // Message Type 0x0006, Message Length 20
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, // Transaction ID (16 bytes)
    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, //
    0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6, // Magic Cookie
    0x00, 0x11, 0x00, 0x08, 0x00, 0x01, 0xc3, 0x50, 0xc0, 0x00, 0x02, 0x01, // Destination
];

#[test]
fn ms_turn_messages_from_the_specification() {
    let m = parsed(&MS_ALLOCATE_DRAFT);
    assert_eq!(m.kind, StunKind::MsTurn);
    assert_eq!((m.class, m.method_name), (StunClass::Request, "Allocate"));
    assert_eq!(m.ms_version, Some(1));
    assert!(m.classic && !m.strict && m.ms_attributes);
    // Every attribute is a multiple of 4 long: the probe reads it too, and agrees.
    assert_eq!(probe_stun(&MS_ALLOCATE_DRAFT), Some(StunKind::MsTurn));

    let m = parsed(&MS_DATA_INDICATION_MSG);
    assert_eq!(m.kind, StunKind::MsTurn);
    assert_eq!(
        (m.class, m.method, m.method_name),
        (StunClass::Indication, 5, "Data")
    );
    assert_eq!(m.msg_type, 0x0115);
    assert!(m.classic);
    assert_eq!(m.attribute_count, 3);
    assert_eq!(probe_stun(&MS_DATA_INDICATION_MSG), None);

    let m = parsed(&MS_SEND);
    assert_eq!(m.kind, StunKind::MsTurn);
    assert_eq!(
        (m.class, m.method, m.method_name),
        (StunClass::Request, 4, "Send")
    );
    assert_eq!((m.ms_version, m.attribute_count), (Some(6), 5));
    assert!(!m.classic && !m.strict);

    let m = parsed(&MS_ALLOCATE_ERROR);
    assert_eq!(
        (m.kind, m.class, m.method_name, m.error_code),
        (
            StunKind::MsTurn,
            StunClass::ErrorResponse,
            "Allocate",
            Some(401)
        )
    );

    let m = parsed(&MS_SET_ACTIVE_DESTINATION);
    assert_eq!(
        (m.kind, m.class, m.method, m.method_name),
        (
            StunKind::MsTurn,
            StunClass::Request,
            6,
            "SetActiveDestination"
        )
    );
    assert_eq!(m.ms_version, None);

    // An MS-TURN message that does pad is read too: the unpadded walk fails on the padding,
    // the padded one tiles.
    let padded = message(
        0x0003,
        false,
        &[
            (0x000f, &[0x72, 0xc6, 0x4b, 0xc6]),
            (0x0006, b"abcde"),
            (0x8008, &[0, 0, 0, 2]),
        ],
        true,
    );
    let m = parsed(&padded);
    assert_eq!(
        (m.kind, m.ms_version, m.attribute_count),
        (StunKind::MsTurn, Some(2), 3)
    );
    assert_eq!(probe_stun(&padded), Some(StunKind::MsTurn));

    // Without MAGIC-COOKIE first, a 0x0115 without the RFC 5389 cookie is not admitted.
    let mut no_cookie = MS_DATA_INDICATION_MSG;
    no_cookie[20] = 0x00;
    no_cookie[21] = 0x0e;
    assert_eq!(parse_stun(&no_cookie), None);
}

#[test]
fn ms_turn_tcp_framing() {
    // [MS-TURN] 2.1.4: type 0x02 (TURN control message), reserved 0, length 56.
    let mut stream = vec![0x02, 0x00, 0x00, 0x38];
    stream.extend_from_slice(&MS_ALLOCATE_DRAFT);
    // Type 0x03 (end-to-end data), reserved 0, length 5, data.
    stream.extend_from_slice(&[0x03, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5]);
    // Another control message: the Data Indication (length 49).
    stream.extend_from_slice(&[0x02, 0x00, 0x00, 0x31]);
    stream.extend_from_slice(&MS_DATA_INDICATION_MSG);
    match parse_stun_tcp(&stream) {
        TcpParse::Complete { msg, len } => {
            assert_eq!(len, 60);
            assert_eq!(msg.framing, Framing::MsTurnTcp);
            assert_eq!(msg.method_name, "Allocate");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parse_stun_tcp(&stream[60..]), TcpParse::Skip { len: 9 });
    let (msgs, left) = walk_stream(&stream);
    assert_eq!(left, 0);
    let names: Vec<_> = msgs.iter().map(|m| (m.kind, m.method_name)).collect();
    assert_eq!(
        names,
        [(StunKind::MsTurn, "Allocate"), (StunKind::MsTurn, "Data")]
    );
    // A control frame whose length disagrees with the message's own is not STUN.
    let mut bad = vec![0x02, 0x00, 0x00, 0x39];
    bad.extend_from_slice(&MS_ALLOCATE_DRAFT);
    bad.push(0);
    assert_eq!(parse_stun_tcp(&bad), TcpParse::NotStun);
    // An empty data frame is not one (and 0x0300 with no cookie is no STUN header either).
    assert_eq!(parse_stun_tcp(&[3, 0, 0, 0, 1, 2, 3, 4]), TcpParse::NotStun);
}

#[test]
fn multiplexed_turn() {
    // [MS-TURN] 2.2.3: Channel_ID 0xFF10, Length (bytes after it), MTURN_Session_ID (8 bytes),
    // then the data: here the Binding success response of arkime's ICE call, frame 2.
    let frames = load(ARKIME_ICE);
    let inner = &frame(&frames, 2).bytes;
    let mut p = vec![0xff, 0x10];
    p.extend_from_slice(&u16::try_from(inner.len() + 8).expect("short").to_be_bytes());
    p.extend_from_slice(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
    p.extend_from_slice(inner);
    let m = parsed(&p);
    assert_eq!(m.kind, StunKind::MsTurn);
    assert_eq!(m.mturn_session, Some(0x0123_4567_89ab_cdef));
    assert_eq!(
        (m.class, m.method_name),
        (StunClass::SuccessResponse, "Binding")
    );
    assert!(m.ms_attributes && m.strict);
    assert_eq!(probe_stun(&p), None);
    // Media in the frame: a carrier.
    let media = [
        0xff, 0x10, 0x00, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0x00, 0x00, 0x01,
    ];
    let m = parsed(&media);
    assert_eq!(
        (m.kind, m.method_name, m.msg_type),
        (StunKind::MsTurn, "MultiplexedData", 0)
    );
    // Lengths that disagree; a frame inside a frame is not read as one.
    assert_eq!(parse_stun(&media[..15]), None);
    assert_eq!(
        parse_stun(&[0xff, 0x10, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7]),
        None
    );
    let mut nested = vec![0xff, 0x10, 0x00, 0x18, 0, 0, 0, 0, 0, 0, 0, 1];
    nested.extend_from_slice(&media);
    assert_eq!(parsed(&nested).method_name, "MultiplexedData");
}

// ---------------------------------------------------------------------------------------------
// RFC messages built by hand

/// A message: type, RFC 5389 cookie or a draft 128-bit transaction ID, attributes with or
/// without padding.
fn message(msg_type: u16, cookie: bool, attrs: &[(u16, &[u8])], padded: bool) -> Vec<u8> {
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.extend_from_slice(&t.to_be_bytes());
        body.extend_from_slice(&u16::try_from(v.len()).expect("short").to_be_bytes());
        body.extend_from_slice(v);
        while padded && body.len() % 4 != 0 {
            body.push(0);
        }
    }
    let mut m = msg_type.to_be_bytes().to_vec();
    m.extend_from_slice(&u16::try_from(body.len()).expect("short").to_be_bytes());
    m.extend_from_slice(&if cookie { MAGIC_COOKIE } else { 0x0102_0304 }.to_be_bytes());
    m.extend_from_slice(&[7; 12]);
    m.extend_from_slice(&body);
    m
}

#[test]
fn turn_methods_and_names() {
    let cases: [(u16, StunClass, &str); 9] = [
        (0x0003, StunClass::Request, "Allocate"),
        (0x0103, StunClass::SuccessResponse, "Allocate"),
        (0x0004, StunClass::Request, "Refresh"),
        (0x0016, StunClass::Indication, "Send"),
        (0x0017, StunClass::Indication, "Data"),
        (0x0008, StunClass::Request, "CreatePermission"),
        (0x0119, StunClass::ErrorResponse, "ChannelBind"),
        (0x000a, StunClass::Request, "Connect"),
        (0x0001, StunClass::Request, "Binding"),
    ];
    for (t, class, name) in cases {
        let p = message(t, true, &[(0x0019, &[17, 0, 0, 0])], true);
        let m = parsed(&p);
        assert_eq!((m.class, m.method_name), (class, name), "type {t:#06x}");
        let turn = TURN_METHODS.contains(&m.method);
        assert_eq!(m.kind == StunKind::Turn, turn, "type {t:#06x}");
        assert_eq!(probe_stun(&p), Some(m.kind));
    }
    // An unassigned method with the cookie is STUN, named "unknown".
    let m = parsed(&message(0x0031, true, &[], true));
    assert_eq!((m.kind, m.method_name), (StunKind::Stun, "unknown"));
    // Without the cookie, only RFC 3489 types and TURN methods are admitted, as in the probe.
    assert_eq!(parse_stun(&message(0x0031, false, &[], true)), None);
    assert_eq!(
        parsed(&message(0x0002, false, &[], true)).method_name,
        "SharedSecret"
    );
    // ERROR-CODE values outside the classes 1-6 are ignored.
    let m = parsed(&message(0x0111, false, &[(0x0009, &[0, 0, 7, 1])], true));
    assert_eq!(m.error_code, None);
}

#[test]
fn channel_data() {
    // RFC 8656 §12.4: channel 0x4001, length 5, data; over UDP padding is optional.
    let exact = [0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
    let m = parsed(&exact);
    assert_eq!(
        (m.kind, m.channel_data, m.method_name),
        (StunKind::Turn, Some(0x4001), "ChannelData")
    );
    let padded = [0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];
    assert_eq!(parsed(&padded).channel_data, Some(0x4001));
    // Four bytes too many, or too few: not ChannelData.
    assert_eq!(parse_stun(&[0x40, 0x01, 0x00, 0x01, 1, 0, 0, 0, 0]), None);
    assert_eq!(parse_stun(&[0x40, 0x01, 0x00, 0x05, 1, 2]), None);
    for p in [&exact[..], &padded[..]] {
        assert_eq!(probe_stun(p), Some(StunKind::Turn));
    }
    // Over TCP, padded to 4 (RFC 8656 §12.5): the frame takes 12 bytes.
    let mut stream = padded.to_vec();
    stream.extend_from_slice(&exact[..4]);
    match parse_stun_tcp(&stream) {
        TcpParse::Complete { msg, len } => assert_eq!((msg.channel_data, len), (Some(0x4001), 12)),
        other => panic!("{other:?}"),
    }
    assert_eq!(parse_stun_tcp(&stream[12..]), TcpParse::Incomplete);
    assert_eq!(parse_stun_tcp(&padded[..9]), TcpParse::Incomplete);
    // A cut frame is waited for only on RFC 8656's channels (0x4000-0x4FFF); a complete one of
    // RFC 5766's wider range is read.
    assert_eq!(
        parse_stun_tcp(&[0x50, 0, 0, 5, 1, 2, 3, 4]),
        TcpParse::NotStun
    );
    let old = [0x7f, 0xff, 0x00, 0x01, 9, 0, 0, 0];
    assert!(matches!(
        parse_stun_tcp(&old),
        TcpParse::Complete { len: 8, .. }
    ));
}

#[test]
fn malformed_lengths() {
    let good = message(0x0001, true, &[(0x8022, b"agent")], true);
    assert!(parse_stun(&good).is_some());
    // The header's length says more, or less, than the datagram holds.
    let mut longer = good.clone();
    longer[3] += 4;
    assert_eq!(parse_stun(&longer), None);
    let mut shorter = good.clone();
    shorter[3] -= 4;
    assert_eq!(parse_stun(&shorter), None);
    // A length that is not a multiple of 4, outside the MS-TURN layout.
    let mut odd = good.clone();
    odd.push(0);
    odd[3] += 1;
    assert_eq!(parse_stun(&odd), None);
    // An attribute of length 0xffff.
    let mut huge = good.clone();
    huge[22] = 0xff;
    huge[23] = 0xff;
    assert_eq!(parse_stun(&huge), None);
    // Top bits set; a header cut short.
    let mut top = good.clone();
    top[0] |= 0x80;
    assert_eq!(parse_stun(&top), None);
    assert_eq!(parse_stun(&good[..19]), None);
    assert_eq!(parse_stun(&[]), None);
}

#[test]
fn every_prefix_of_every_real_message_is_refused() {
    for tsv in [
        ARKIME_STUN,
        ARKIME_ICE,
        ZEEK_WEBRTC,
        PEAFOWL_HANGOUT,
        CORELIGHT_ERROR,
    ] {
        for f in load(tsv) {
            if parse_stun(&f.bytes).is_none() {
                continue;
            }
            for cut in 0..f.bytes.len() {
                assert_eq!(
                    parse_stun(&f.bytes[..cut]),
                    None,
                    "frame {} cut {cut}",
                    f.frame
                );
                assert_eq!(
                    parse_stun_tcp(&f.bytes[..cut]),
                    TcpParse::Incomplete,
                    "frame {} cut {cut}",
                    f.frame
                );
            }
        }
    }
}

#[test]
fn strict_and_tolerant_agree_on_what_both_read() {
    // A SOFTWARE that is not UTF-8: stun-rs refuses the message, the tolerant parser reads it.
    let p = message(0x0101, true, &[(0x8022, &[0x41, 0xff, 0x42])], true);
    let m = parsed(&p);
    assert!(!m.strict);
    assert_eq!(m.software.as_deref(), Some("A\u{fffd}B"));
    // A valid one: stun-rs reads it.
    let p = message(
        0x0111,
        true,
        &[
            (0x0009, b"\0\0\x04\x01Unauthorized"),
            (0x8022, b"relay 1.0"),
        ],
        true,
    );
    let m = parsed(&p);
    assert!(m.strict);
    assert_eq!(
        (m.error_code, m.software.as_deref()),
        (Some(401), Some("relay 1.0"))
    );
    // An unknown comprehension-required attribute does not make stun-rs refuse.
    assert!(parsed(&message(0x0001, true, &[(0x7f00, &[1, 2, 3, 4])], true)).strict);
    // Values after MESSAGE-INTEGRITY are ignored (RFC 8489 §14.5).
    let p = message(
        0x0001,
        true,
        &[(0x0008, &[0; 20]), (0x0025, &[]), (0x0024, &[0, 0, 0, 1])],
        true,
    );
    let m = parsed(&p);
    assert_eq!(m.ice, IceAttrs::default());
}

#[test]
fn ms_ice2_checks_are_stun_with_microsoft_attributes() {
    // [MS-ICE2] 2.2.2: a Binding request with IMPLEMENTATION-VERSION (0x8070) and
    // CANDIDATE-IDENTIFIER (0x8054), PRIORITY and ICE-CONTROLLING. Values invented.
    let p = message(
        0x0001,
        true,
        &[
            (0x0006, b"abcd:efgh"),
            (0x0024, &[0x6e, 0xff, 0xfe, 0xff]),
            (0x802a, &[1, 2, 3, 4, 5, 6, 7, 8]),
            (0x8054, b"1"),
            (0x8070, &[0, 0, 0, 3]),
        ],
        true,
    );
    let m = parsed(&p);
    assert_eq!(
        (m.kind, m.method_name, m.ms_version),
        (StunKind::Stun, "Binding", None)
    );
    assert!(m.ms_attributes && m.strict);
    assert_eq!(m.ice.priority, Some(0x6eff_feff));
    assert!(m.ice.ice_controlling);
    assert_eq!(probe_stun(&p), Some(StunKind::Stun));
}

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn attribute_walk_is_limited() {
    // MAX_ATTRIBUTES empty attributes, then MAGIC-COOKIE: beyond the limit, not seen.
    let mut attrs: Vec<(u16, &[u8])> = vec![(0x8000, &[]); MAX_ATTRIBUTES];
    attrs.push((0x000f, &[0x72, 0xc6, 0x4b, 0xc6]));
    let p = message(0x0001, true, &attrs, true);
    let m = parsed(&p);
    assert_eq!(m.kind, StunKind::Stun);
    assert_eq!(
        (m.attribute_count, m.attributes_truncated),
        (MAX_ATTRIBUTES, true)
    );
    assert!(
        !m.strict,
        "stun-rs is not given more than MAX_ATTRIBUTES attributes"
    );
    assert_eq!(probe_stun(&p), Some(StunKind::Stun));
    // One fewer: MAGIC-COOKIE is the last attribute walked, and both see it.
    attrs.remove(0);
    let p = message(0x0001, true, &attrs, true);
    let m = parsed(&p);
    assert_eq!(m.kind, StunKind::MsTurn);
    assert_eq!(
        (m.attribute_count, m.attributes_truncated),
        (MAX_ATTRIBUTES, false)
    );
    assert_eq!(probe_stun(&p), Some(StunKind::MsTurn));
    // Past the limit, the rest is not validated (the probe does the same).
    let mut attrs: Vec<(u16, &[u8])> = vec![(0x8000, &[]); MAX_ATTRIBUTES];
    attrs.push((0x8000, &[]));
    let mut p = message(0x0001, true, &attrs, true);
    let n = p.len();
    p[n - 2] = 0xff;
    assert!(parsed(&p).attributes_truncated);
    assert_eq!(probe_stun(&p), Some(StunKind::Stun));
}

#[test]
fn software_is_truncated() {
    let long = "é".repeat(300);
    let p = message(0x0101, true, &[(0x8022, long.as_bytes())], true);
    let m = parsed(&p);
    assert!(m.strict);
    let s = m.software.expect("software");
    assert_eq!(s, "é".repeat(MAX_SOFTWARE_LEN / 2));
    // Tolerant path: the cut falls inside a character, which is dropped.
    let mut bytes = vec![b'a'];
    bytes.extend_from_slice(long.as_bytes());
    bytes.push(0xff);
    let p = message(0x0101, true, &[(0x8022, &bytes)], true);
    let s = parsed(&p).software.expect("software");
    assert!(s.len() <= MAX_SOFTWARE_LEN);
    assert!(s.starts_with("aé"));
}

#[test]
fn tcp_wait_is_bounded() {
    // The largest raw message: 20 + 65535 bytes. One byte short: Incomplete; complete: read.
    let mut p = vec![0x00, 0x01, 0xff, 0xff];
    p.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    p.extend_from_slice(&[0; 12]);
    p.resize(MAX_TCP_FRAME - 1, 0);
    assert_eq!(parse_stun_tcp(&p), TcpParse::Incomplete);
    p.push(0);
    // 65535 is not a multiple of 4: not a message.
    assert_eq!(parse_stun_tcp(&p), TcpParse::NotStun);
    // Once MAX_TCP_FRAME bytes are there, the answer is never Incomplete.
    let mut p = vec![0x00, 0x00, 0xff, 0xfc];
    p.resize(MAX_TCP_FRAME + 10, 0);
    assert_ne!(parse_stun_tcp(&p), TcpParse::Incomplete);
}

// ---------------------------------------------------------------------------------------------
// RTP payload types

#[test]
fn codec_names() {
    let named = [
        (0, "PCMU"),
        (3, "GSM"),
        (4, "G723"),
        (8, "PCMA"),
        (9, "G722"),
        (13, "CN"),
        (18, "G729"),
        (26, "JPEG"),
        (31, "H261"),
        (34, "H263"),
    ];
    for (pt, name) in named {
        assert_eq!(codec_name(pt), Some(name));
    }
    for pt in [
        1, 2, 19, 20, 24, 27, 35, 72, 76, 95, 96, 101, 111, 127, 128, 200, 255,
    ] {
        assert_eq!(codec_name(pt), None, "payload type {pt}");
    }
}

// ---------------------------------------------------------------------------------------------
// Agreement with probe_stun

/// Whether `parse_stun` may recognise `p` although the probe does not: the three MS-TURN cases
/// the module documentation lists.
fn known_probe_miss(p: &[u8], m: &StunMessage) -> bool {
    m.mturn_session.is_some()
        || (m.kind == StunKind::MsTurn && p.get(20..22) == Some(&[0x00, 0x0f]))
}

fn check_agreement(p: &[u8]) {
    let probe = probe_stun(p);
    let parse = parse_stun(p);
    match (probe, &parse) {
        (Some(k), Some(m)) => assert_eq!(k, m.kind, "kind of {p:02x?}"),
        (Some(k), None) => panic!("probe says {k:?}, parse refuses {p:02x?}"),
        (None, Some(m)) => assert!(known_probe_miss(p, m), "parse only: {m:?} {p:02x?}"),
        (None, None) => {}
    }
}

#[test]
fn probe_and_parse_agree_on_every_test_message() {
    for tsv in [
        ARKIME_STUN,
        ARKIME_ICE,
        ARKIME_TURN_TCP,
        CORELIGHT_FFFF,
        CORELIGHT_ERROR,
        ZEEK_WEBRTC,
        PEAFOWL_HANGOUT,
    ] {
        for f in load(tsv) {
            check_agreement(&f.bytes);
        }
    }
    for p in [
        &MS_ALLOCATE_DRAFT[..],
        &MS_DATA_INDICATION_MSG[..],
        &MS_SEND[..],
        &MS_ALLOCATE_ERROR[..],
        &MS_SET_ACTIVE_DESTINATION[..],
    ] {
        check_agreement(p);
    }
}

/// STUN-shaped input: a type, cookie or not, attributes of interesting types with or without
/// padding, sometimes a byte flipped or cut.
fn stun_shaped() -> impl Strategy<Value = Vec<u8>> {
    let attr_type = prop_oneof![
        Just(0x000fu16),
        Just(0x8008),
        Just(0x0009),
        Just(0x0024),
        Just(0x0025),
        Just(0x8022),
        Just(0x8070),
        Just(0x0008),
        any::<u16>(),
    ];
    let attr = (attr_type, prop::collection::vec(any::<u8>(), 0..12));
    let msg_type = prop_oneof![
        Just(0x0001u16),
        Just(0x0101),
        Just(0x0003),
        Just(0x0115),
        Just(0x0004),
        Just(0x0017),
        0u16..0x4000,
    ];
    (
        msg_type,
        any::<bool>(),
        prop::collection::vec(attr, 0..8),
        any::<bool>(),
        any::<bool>(),
        any::<(usize, u8)>(),
    )
        .prop_map(|(t, cookie, attrs, padded, ms_first, (at, flip))| {
            let mut attrs: Vec<(u16, Vec<u8>)> = attrs;
            if ms_first {
                attrs.insert(0, (0x000f, vec![0x72, 0xc6, 0x4b, 0xc6]));
            }
            let refs: Vec<(u16, &[u8])> = attrs.iter().map(|(t, v)| (*t, v.as_slice())).collect();
            let mut p = message(t, cookie, &refs, padded);
            if flip > 0xf0 {
                let i = at % p.len();
                p[i] ^= flip;
            } else if flip > 0xe0 {
                p.truncate(at % p.len());
            }
            p
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn probe_and_parse_agree(p in stun_shaped()) {
        check_agreement(&p);
    }

    #[test]
    fn parse_never_panics(p in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_stun(&p);
        check_agreement(&p);
    }

    #[test]
    fn channel_data_and_multiplexed_agree(
        head in prop_oneof![Just([0x40u8, 0x00]), Just([0x7f, 0xff]), Just([0xff, 0x10])],
        len in 0u16..40,
        body in prop::collection::vec(any::<u8>(), 0..48),
    ) {
        let mut p = head.to_vec();
        p.extend_from_slice(&len.to_be_bytes());
        p.extend_from_slice(&body);
        check_agreement(&p);
    }

    #[test]
    fn tcp_answers_are_sound(
        p in prop_oneof![
            stun_shaped(),
            prop::collection::vec(any::<u8>(), 0..120),
            stun_shaped().prop_map(|m| {
                let mut f = u16::try_from(m.len()).unwrap_or(0).to_be_bytes().to_vec();
                f.extend_from_slice(&m);
                f
            }),
            stun_shaped().prop_map(|m| {
                let mut f = vec![0x02, 0x00];
                f.extend_from_slice(&u16::try_from(m.len()).unwrap_or(0).to_be_bytes());
                f.extend_from_slice(&m);
                f
            }),
        ],
        tail in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut buf = p.clone();
        buf.extend_from_slice(&tail);
        match parse_stun_tcp(&buf) {
            TcpParse::Complete { msg, len } => {
                prop_assert!((4..=buf.len()).contains(&len));
                // The same bytes read alone give the same message.
                let again = parse_stun_tcp(&buf[..len]);
                prop_assert_eq!(again, TcpParse::Complete { msg: msg.clone(), len });
                if msg.framing == Framing::Bare && msg.channel_data.is_none() {
                    prop_assert_eq!(parse_stun(&buf[..len]), Some(msg));
                }
            }
            TcpParse::Skip { len } => prop_assert!((5..=buf.len()).contains(&len)),
            TcpParse::Incomplete => prop_assert!(buf.len() < MAX_TCP_FRAME),
            TcpParse::NotStun => {}
        }
    }
}
