//! Tests of the TLS handshake reader on real handshakes.
//!
//! The streams are in `crates/inspect/tests/data/tls/*.hex`: one TCP segment payload per line,
//! in capture order, with `#` lines naming the source capture, its licence and the frames (see
//! the README there). The test feeds them as the pipeline does: the buffer grows by one segment
//! and the parser is called again, until it says Done or NotTls.

use super::*;
use proptest::prelude::*;

fn segments(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(unhex)
        .collect()
}

fn unhex(line: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not hex: {c}"),
    };
    line.as_bytes()
        .chunks(2)
        .map(|p| (digit(p[0]) << 4) | digit(p[1]))
        .collect()
}

fn stream(text: &str) -> Vec<u8> {
    segments(text).concat()
}

type Parser = fn(&[u8], &mut TlsInfo) -> Progress;

/// Feeds the segments one by one into a growing buffer, as the pipeline does; returns the
/// answer after each segment (up to the first final one) and the info.
fn feed(text: &str, parse: Parser, info: &mut TlsInfo) -> Vec<Progress> {
    let mut buf = Vec::new();
    let mut answers = Vec::new();
    for segment in segments(text) {
        buf.extend_from_slice(&segment);
        let answer = parse(&buf, info);
        answers.push(answer);
        if answer != Progress::NeedMore {
            break;
        }
    }
    answers
}

const SPLIT_CLIENT: &str = include_str!("../../tests/data/tls/split-client-hello.client.hex");
const SPLIT_SERVER: &str = include_str!("../../tests/data/tls/split-client-hello.server.hex");
const FRAG_CLIENT: &str = include_str!("../../tests/data/tls/frag-mtu300.client.hex");
const FRAG_SERVER: &str = include_str!("../../tests/data/tls/frag-mtu300.server.hex");
const AUTH_CLIENT: &str = include_str!("../../tests/data/tls/client-auth.client.hex");
const AUTH_SERVER: &str = include_str!("../../tests/data/tls/client-auth.server.hex");
const JA4_CLIENT: &str = include_str!("../../tests/data/tls/ja4.client.hex");
const JA4_SERVER: &str = include_str!("../../tests/data/tls/ja4.server.hex");
const DER_CLIENT: &str = include_str!("../../tests/data/tls/der-incomplete.client.hex");
const DER_SERVER: &str = include_str!("../../tests/data/tls/der-incomplete.server.hex");
const SYN43_CLIENT: &str = include_str!("../../tests/data/tls/synthetic-43.client.hex");
const SYN43_SERVER: &str = include_str!("../../tests/data/tls/synthetic-43.server.hex");
const SYN54_CLIENT: &str = include_str!("../../tests/data/tls/synthetic-54.client.hex");
const SYN54_SERVER: &str = include_str!("../../tests/data/tls/synthetic-54.server.hex");
const SYN80_SERVER: &str = include_str!("../../tests/data/tls/synthetic-80.server.hex");
const LAB_EDGE_SERVER: &str = include_str!("../../tests/data/tls/lab-access-edge.server.hex");
const LAB_RP_CLIENT: &str = include_str!("../../tests/data/tls/lab-rp.client.hex");
const LAB_RP_SERVER: &str = include_str!("../../tests/data/tls/lab-rp.server.hex");
const LAB_DIR_CLIENT: &str = include_str!("../../tests/data/tls/lab-director-mtls.client.hex");
const LAB_DIR_SERVER: &str = include_str!("../../tests/data/tls/lab-director-mtls.server.hex");

use Progress::{Done, NeedMore, NotTls};

// ---------------------------------------------------------------- client direction

#[test]
fn client_hello_split_across_segments() {
    // arkime tls-split-client-hello.pcap frames 4 and 5: the 1720-byte ClientHello arrives in
    // 1392 + 337 bytes; the client's CCS (frame 17) ends the direction.
    let mut info = TlsInfo::default();
    let answers = feed(SPLIT_CLIENT, parse_client, &mut info);
    assert_eq!(answers, [NeedMore, NeedMore, Done]);
    assert_eq!(info.sni.as_deref(), Some("clients2.google.com"));
    assert_eq!(info.client_version, Some(0x0303));
    assert_eq!(info.alpn.as_deref(), Some("h2"));
    assert!(!info.client_cert);
}

#[test]
fn first_segment_alone_gives_no_name() {
    let first = &segments(SPLIT_CLIENT)[0];
    let mut info = TlsInfo::default();
    assert_eq!(parse_client(first, &mut info), NeedMore);
    assert_eq!(info, TlsInfo::default());
}

#[test]
fn client_hello_frag_mtu300() {
    // suricata-verify tls-client-hello-frag-01: 248 + 248 + 21 bytes, then the second flight
    // (ClientKeyExchange, CCS) in frame 22.
    let mut info = TlsInfo::default();
    let answers = feed(FRAG_CLIENT, parse_client, &mut info);
    assert_eq!(answers, [NeedMore, NeedMore, NeedMore, Done]);
    assert_eq!(info.sni.as_deref(), Some("www.google.com"));
    assert_eq!(info.alpn.as_deref(), Some("h2"));
    assert_eq!(info.client_version, Some(0x0303));
}

#[test]
fn every_truncation_of_a_real_client_hello_needs_more() {
    for text in [SPLIT_CLIENT, FRAG_CLIENT, AUTH_CLIENT, LAB_DIR_CLIENT] {
        let all = stream(text);
        // The ClientHello is the first record: its length is in the record header.
        let hello_len = 5 + usize::from(u16::from_be_bytes([all[3], all[4]]));
        let expected = {
            let mut info = TlsInfo::default();
            parse_client(&all[..hello_len], &mut info);
            info.sni.expect("the whole ClientHello names a server")
        };
        for cut in 0..hello_len {
            let mut info = TlsInfo::default();
            assert_eq!(
                parse_client(&all[..cut], &mut info),
                NeedMore,
                "cut at {cut}"
            );
            assert_eq!(info.sni, None, "cut at {cut}");
        }
        let mut info = TlsInfo::default();
        assert_eq!(parse_client(&all[..hello_len], &mut info), NeedMore);
        assert_eq!(info.sni.as_deref(), Some(expected.as_str()));
    }
}

#[test]
fn truncation_with_one_info_across_calls() {
    // As the pipeline calls: one info, the buffer growing one byte at a time.
    let all = stream(FRAG_CLIENT);
    let mut info = TlsInfo::default();
    let mut answer = NeedMore;
    let mut seen_at = None;
    for cut in 0..=all.len() {
        answer = parse_client(&all[..cut], &mut info);
        if seen_at.is_none() && info.sni.is_some() {
            seen_at = Some(cut);
        }
        if answer != NeedMore {
            break;
        }
    }
    assert_eq!(answer, Done);
    assert_eq!(
        seen_at,
        Some(517),
        "the name appears with the ClientHello's last byte"
    );
    assert_eq!(info.sni.as_deref(), Some("www.google.com"));
}

#[test]
fn client_certificate_is_seen() {
    // suricata-verify tls-store-02 frame 9: Certificate (non-empty), ClientKeyExchange,
    // CertificateVerify, CCS.
    let mut info = TlsInfo::default();
    let answers = feed(AUTH_CLIENT, parse_client, &mut info);
    assert_eq!(answers, [NeedMore, Done]);
    assert_eq!(info.sni.as_deref(), Some("localhost"));
    assert_eq!(info.alpn.as_deref(), Some("h2"));
    assert!(info.client_cert);
}

#[test]
fn no_sni_and_other_alpn() {
    // suricata-verify ja4-tls: a ClientHello without server_name; ALPN spdy/3.1 first.
    let mut info = TlsInfo::default();
    assert_eq!(feed(JA4_CLIENT, parse_client, &mut info), [NeedMore, Done]);
    assert_eq!(info.sni, None);
    assert_eq!(info.alpn.as_deref(), Some("spdy/3.1"));
    assert_eq!(info.client_version, Some(0x0303));
}

#[test]
fn synthetic_client_hellos() {
    // arkime_synthetic.pcap streams 43 and 54: single-segment ClientHellos.
    let mut info = TlsInfo::default();
    assert_eq!(feed(SYN43_CLIENT, parse_client, &mut info), [NeedMore]);
    assert_eq!(info.sni.as_deref(), Some("secure.example.com"));
    let mut info = TlsInfo::default();
    assert_eq!(feed(SYN54_CLIENT, parse_client, &mut info), [NeedMore]);
    assert_eq!(info.sni.as_deref(), Some("certs.example.com"));
    assert_eq!(info.alpn, None);
    let mut info = TlsInfo::default();
    assert_eq!(feed(DER_CLIENT, parse_client, &mut info), [NeedMore]);
    assert_eq!(info.sni, None);
    assert_eq!(info.client_version, Some(0x0303));
}

#[test]
fn lab_client_hellos() {
    let mut info = TlsInfo::default();
    assert_eq!(
        feed(LAB_RP_CLIENT, parse_client, &mut info),
        [NeedMore, Done]
    );
    assert_eq!(info.sni.as_deref(), Some("lyncdiscover.contoso.com"));
    assert!(!info.client_cert);
    // Edge internal -> Director 5061 (MTLS): the Edge's certificate in the second flight.
    let mut info = TlsInfo::default();
    assert_eq!(
        feed(LAB_DIR_CLIENT, parse_client, &mut info),
        [NeedMore, Done]
    );
    assert_eq!(info.sni.as_deref(), Some("dir.corp.contoso.com"));
    assert!(info.client_cert);
}

// ---------------------------------------------------------------- server direction

#[test]
fn server_certificate_over_six_segments() {
    // suricata-verify tls-client-hello-frag-01 frames 10-20: ServerHello, a three-certificate
    // chain, ServerKeyExchange and ServerHelloDone over six segments.
    let mut info = TlsInfo::default();
    let answers = feed(FRAG_SERVER, parse_server, &mut info);
    assert_eq!(
        answers,
        [NeedMore, NeedMore, NeedMore, NeedMore, NeedMore, Done]
    );
    assert_eq!(info.version, Some(0x0303));
    let cert = info.cert.expect("leaf certificate");
    // openssl x509 -subject -issuer -dates of the leaf (tshark -e tls.handshake.certificate).
    assert_eq!(cert.subject_cn.as_deref(), Some("www.google.com"));
    assert_eq!(cert.issuer_cn.as_deref(), Some("GTS CA 1C3"));
    assert_eq!(cert.sans, ["www.google.com"]);
    assert_eq!(cert.not_before, Some(1_658_132_734)); // Jul 18 08:25:34 2022 GMT
    assert_eq!(cert.not_after, Some(1_665_390_333)); // Oct 10 08:25:33 2022 GMT
    assert!(!cert.self_signed);
    assert!(!info.client_cert);
}

#[test]
fn tls13_server_hello_then_ccs() {
    // arkime tls-split-client-hello.pcap frame 8: ServerHello with supported_versions 0x0304,
    // ChangeCipherSpec, then encrypted records.
    let mut info = TlsInfo::default();
    assert_eq!(feed(SPLIT_SERVER, parse_server, &mut info), [Done]);
    assert_eq!(info.version, Some(0x0304));
    assert_eq!(info.cert, None);
}

#[test]
fn certificate_request_and_client_auth_server() {
    // suricata-verify tls-store-02 frame 7.
    let mut info = TlsInfo::default();
    assert_eq!(feed(AUTH_SERVER, parse_server, &mut info), [Done]);
    assert!(info.client_cert);
    let cert = info.cert.expect("leaf certificate");
    assert_eq!(cert.subject_cn.as_deref(), Some("SampleServer"));
    assert_eq!(cert.issuer_cn.as_deref(), Some("SampleRoot"));
    assert_eq!(cert.sans, ["localhost"]);
    assert_eq!(cert.not_before, Some(1_523_739_327)); // Apr 14 20:55:27 2018 GMT
    assert_eq!(cert.not_after, Some(1_526_331_327)); // May 14 20:55:27 2018 GMT
    assert!(!cert.self_signed);
}

#[test]
fn self_signed_without_extensions() {
    // suricata-verify ja4-tls frame 6: a self-signed v1 certificate (CN SELKS), no SAN.
    let mut info = TlsInfo::default();
    assert_eq!(feed(JA4_SERVER, parse_server, &mut info), [Done]);
    let cert = info.cert.expect("leaf certificate");
    assert_eq!(cert.subject_cn.as_deref(), Some("SELKS"));
    assert_eq!(cert.issuer_cn.as_deref(), Some("SELKS"));
    assert!(cert.sans.is_empty());
    assert!(cert.self_signed);
    assert_eq!(cert.not_after, Some(1_739_124_447)); // Feb 9 18:07:27 2025 GMT
    // arkime_synthetic stream 80: another self-signed certificate.
    let mut info = TlsInfo::default();
    assert_eq!(feed(SYN80_SERVER, parse_server, &mut info), [Done]);
    let cert = info.cert.expect("leaf certificate");
    assert_eq!(cert.subject_cn.as_deref(), Some("keyusage-certsign-only"));
    assert!(cert.self_signed);
    assert_eq!(cert.not_before, Some(1_704_067_200)); // Jan 1 2024
    assert_eq!(cert.not_after, Some(2_019_686_400)); // Jan 1 2034
}

#[test]
fn wildcard_san_certificate() {
    // arkime_synthetic stream 54: ServerHello and Certificate, no ServerHelloDone.
    let mut info = TlsInfo::default();
    assert_eq!(feed(SYN54_SERVER, parse_server, &mut info), [NeedMore]);
    let cert = info.cert.expect("leaf certificate");
    assert_eq!(cert.subject_cn.as_deref(), Some("certs.example.com"));
    assert_eq!(cert.sans, ["*.example.com"]);
    assert_eq!(cert.issuer_cn.as_deref(), Some("Test CA"));
    assert_eq!(cert.not_before, Some(1_735_689_600));
    assert_eq!(cert.not_after, Some(1_767_225_600));
    assert!(!cert.self_signed);
}

#[test]
fn server_hello_without_extensions_is_its_version() {
    // arkime_synthetic stream 43: the client offered TLS 1.3, the server answers TLS 1.2.
    let mut info = TlsInfo::default();
    assert_eq!(feed(SYN43_SERVER, parse_server, &mut info), [NeedMore]);
    assert_eq!(info.version, Some(0x0303));
}

#[test]
fn broken_certificate_der() {
    // suricata-verify bug-1450-04: ServerHello, a 15-byte Certificate message whose one
    // "certificate" is 9 bytes of DER claiming a 4 GiB length, then a handshake header of type
    // 132 claiming 16 MiB (past the limit, so the direction is done).
    let mut info = TlsInfo::default();
    assert_eq!(feed(DER_SERVER, parse_server, &mut info), [Done]);
    assert_eq!(info.version, Some(0x0303));
    assert_eq!(info.cert, None);
}

#[test]
fn lab_certificates_named_per_catalogue() {
    // The project's lab capture (captures/lab-sfb): certificates named per catalogue §5.
    let mut info = TlsInfo::default();
    assert_eq!(feed(LAB_EDGE_SERVER, parse_server, &mut info), [Done]);
    let cert = info.cert.expect("access edge certificate");
    assert_eq!(cert.subject_cn.as_deref(), Some("access.contoso.com"));
    assert_eq!(
        cert.sans,
        ["access.contoso.com", "sip.contoso.com", "conf.contoso.com"]
    );
    assert_eq!(cert.issuer_cn.as_deref(), Some("Contoso Lab Root CA"));
    assert_eq!(cert.not_before, Some(1_795_585_000)); // Nov 25 05:36:40 2026 GMT
    assert_eq!(cert.not_after, Some(2_110_945_000)); // Nov 22 05:36:40 2036 GMT
    assert!(!info.client_cert);

    let mut info = TlsInfo::default();
    assert_eq!(feed(LAB_RP_SERVER, parse_server, &mut info), [Done]);
    let cert = info.cert.expect("reverse proxy certificate");
    assert_eq!(cert.subject_cn.as_deref(), Some("webext.contoso.com"));
    assert!(cert.sans.iter().any(|s| s == "lyncdiscover.contoso.com"));

    // Director 5061: MTLS, so the server asks for the client's certificate.
    let mut info = TlsInfo::default();
    assert_eq!(feed(LAB_DIR_SERVER, parse_server, &mut info), [Done]);
    assert!(info.client_cert);
    let cert = info.cert.expect("director certificate");
    assert_eq!(cert.subject_cn.as_deref(), Some("dir.corp.contoso.com"));
    assert_eq!(cert.sans.len(), 5);
}

#[test]
fn both_directions_fill_one_info() {
    let mut info = TlsInfo::default();
    feed(LAB_DIR_CLIENT, parse_client, &mut info);
    feed(LAB_DIR_SERVER, parse_server, &mut info);
    assert_eq!(info.sni.as_deref(), Some("dir.corp.contoso.com"));
    assert_eq!(info.client_version, Some(0x0303));
    assert_eq!(info.version, Some(0x0303));
    assert!(info.client_cert);
    assert!(info.cert.is_some());
}

#[test]
fn every_truncation_of_a_server_flight() {
    // Never a certificate from a cut Certificate message, never a panic, never NotTls.
    let all = stream(FRAG_SERVER);
    let mut whole = TlsInfo::default();
    assert_eq!(parse_server(&all, &mut whole), Done);
    for cut in 0..all.len() {
        let mut info = TlsInfo::default();
        let answer = parse_server(&all[..cut], &mut info);
        assert_ne!(answer, NotTls, "cut at {cut}");
        if let Some(cert) = &info.cert {
            assert_eq!(Some(cert), whole.cert.as_ref(), "cut at {cut}");
        }
    }
}

#[test]
fn a_known_certificate_is_not_read_again() {
    // The cost model: a call skips the Certificate when info already holds one.
    let marker = CertInfo {
        subject_cn: Some("kept".into()),
        ..CertInfo::default()
    };
    let mut info = TlsInfo {
        cert: Some(Arc::new(marker.clone())),
        ..TlsInfo::default()
    };
    assert_eq!(parse_server(&stream(FRAG_SERVER), &mut info), Done);
    assert_eq!(info.cert.as_deref(), Some(&marker));
    assert_eq!(info.version, Some(0x0303));
}

#[test]
fn incremental_equals_whole() {
    for (text, parse) in [
        (SPLIT_CLIENT, parse_client as Parser),
        (FRAG_CLIENT, parse_client),
        (AUTH_CLIENT, parse_client),
        (FRAG_SERVER, parse_server),
        (AUTH_SERVER, parse_server),
        (LAB_DIR_SERVER, parse_server),
    ] {
        let mut incremental = TlsInfo::default();
        let answers = feed(text, parse, &mut incremental);
        let mut whole = TlsInfo::default();
        assert_eq!(Some(&parse(&stream(text), &mut whole)), answers.last());
        assert_eq!(incremental, whole);
    }
}

// ---------------------------------------------------------------- record-layer reassembly

/// Re-frames a direction's first handshake record into records of `size` bytes each
/// (RFC 8446 §5.1: a handshake message may be fragmented across several records). The record
/// header is copied from the original: type 22, its legacy_record_version, the new length.
fn refragment(all: &[u8], size: usize) -> Vec<u8> {
    let len = usize::from(u16::from_be_bytes([all[3], all[4]]));
    let fragment = &all[5..5 + len];
    let mut out = Vec::new();
    for chunk in fragment.chunks(size) {
        out.extend_from_slice(&all[..3]);
        out.extend_from_slice(
            &u16::try_from(chunk.len())
                .expect("short chunk")
                .to_be_bytes(),
        );
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&all[5 + len..]);
    out
}

#[test]
fn client_hello_fragmented_into_many_records() {
    let all = stream(FRAG_CLIENT);
    for size in [1, 2, 3, 7, 100, 511] {
        let framed = refragment(&all, size);
        let mut info = TlsInfo::default();
        assert_eq!(parse_client(&framed, &mut info), Done, "size {size}");
        assert_eq!(info.sni.as_deref(), Some("www.google.com"), "size {size}");
        assert_eq!(info.alpn.as_deref(), Some("h2"));
        // And cut anywhere inside: never a name.
        let hello_end = framed.len() - (all.len() - 5 - 512);
        for cut in (0..hello_end).step_by(size.max(13)) {
            let mut info = TlsInfo::default();
            assert_eq!(parse_client(&framed[..cut], &mut info), NeedMore);
            assert_eq!(info.sni, None);
        }
    }
}

#[test]
fn certificate_fragmented_into_many_records() {
    // The lab Director's ServerHello..ServerHelloDone record, re-framed into 100-byte records:
    // the Certificate message spans nine of them.
    let all = stream(LAB_DIR_SERVER);
    let mut whole = TlsInfo::default();
    parse_server(&all, &mut whole);
    let framed = refragment(&all, 100);
    let mut info = TlsInfo::default();
    assert_eq!(parse_server(&framed, &mut info), Done);
    assert_eq!(info, whole);
}

// ---------------------------------------------------------------- not TLS, limits

#[test]
fn garbage_is_not_tls() {
    let cases: [&[u8]; 8] = [
        b"GET / HTTP/1.1\r\nHost: example\r\n\r\n",
        b"REGISTER sip:contoso.com SIP/2.0\r\n",
        b"\x17\x03\x03\x00\x10",                     // application data first
        b"\x16\x09\x01\x00\x10\x01",                 // version major 9
        b"\x16\x03\x01\x00\x10\x02",                 // a ServerHello from the client
        b"\x16\x03\x01\x00\x00",                     // an empty handshake record
        b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", // ClientHello body of one byte
        b"\x00\x01\x00\x08\x21\x12\xa4\x42",         // a STUN header
    ];
    for case in cases {
        let mut info = TlsInfo::default();
        assert_eq!(parse_client(case, &mut info), NotTls, "{case:x?}");
        assert_eq!(info.sni, None);
    }
    let mut info = TlsInfo::default();
    assert_eq!(parse_server(&stream(FRAG_CLIENT), &mut info), NotTls);
    assert_eq!(parse_server(b"HTTP/1.1 200 OK\r\n", &mut info), NotTls);
    assert_eq!(parse_client(&stream(FRAG_SERVER), &mut info), NotTls);
}

#[test]
fn short_prefixes_wait_or_refuse() {
    let mut info = TlsInfo::default();
    assert_eq!(parse_client(b"", &mut info), NeedMore);
    assert_eq!(parse_client(b"\x16", &mut info), NeedMore);
    assert_eq!(parse_client(b"\x16\x03", &mut info), NeedMore);
    assert_eq!(parse_client(b"\x16\x03\x01\x02", &mut info), NeedMore);
    assert_eq!(parse_client(b"G", &mut info), NotTls);
    assert_eq!(parse_client(b"\x16\x04", &mut info), NotTls);
    assert_eq!(parse_client(b"\x16\x03\x07", &mut info), NotTls);
    assert_eq!(
        parse_server(b"\x15\x03\x03\x00\x02\x02\x28", &mut info),
        Done
    ); // fatal alert
    assert_eq!(
        parse_client(b"\x15\x03\x03\x00\x02\x02\x28", &mut info),
        NotTls
    );
    // SSL 2.0-compatible ClientHello header (RFC 5246 E.2): msg_length with the high bit set,
    // msg_type 1, version 3.1.
    assert_eq!(
        parse_client(b"\x80\x2e\x01\x03\x01\x00\x15", &mut info),
        NotTls
    );
}

#[test]
fn oversized_client_hello_ends_without_waiting() {
    // Record header (RFC 8446 §5.1): handshake, TLS 1.0, length 16384; handshake header
    // (§4): ClientHello, uint24 length 0x100000 (1 MiB): it can never fit in the limit.
    let mut buf = vec![0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x10, 0x00, 0x00];
    buf.extend_from_slice(&[0x03, 0x03]);
    let mut info = TlsInfo::default();
    assert_eq!(parse_client(&buf, &mut info), Done);
    assert_eq!(info, TlsInfo::default());
    // A declared length that just fits waits; one byte more than the limit allows does not.
    let fits = MAX_CLIENT_BYTES - 9 - 5; // a second record header follows the first 16 KiB
    let len = |n: usize| [(n >> 16) as u8, (n >> 8) as u8, n as u8];
    let mut buf = vec![0x16, 0x03, 0x01, 0x40, 0x00, 0x01];
    buf.extend_from_slice(&len(fits));
    assert_eq!(parse_client(&buf, &mut TlsInfo::default()), NeedMore);
    let mut buf = vec![0x16, 0x03, 0x01, 0x40, 0x00, 0x01];
    buf.extend_from_slice(&len(MAX_CLIENT_BYTES));
    assert_eq!(parse_client(&buf, &mut TlsInfo::default()), Done);
}

#[test]
fn buffer_at_the_limit_is_done() {
    // A ClientHello declaring 5000 bytes (handshake header: type 1, uint24 length 0x001388)
    // sent in 1-byte records (RFC 8446 §5.1 allows any fragmentation) needs 6 buffer bytes per
    // message byte: it cannot complete within MAX_CLIENT_BYTES, so at the limit the answer is
    // Done rather than a request for bytes the caller will never keep.
    let mut message = vec![0x01, 0x00, 0x13, 0x88];
    message.resize(4 + 5000, 0);
    let mut framed = Vec::new();
    for &b in &message {
        framed.extend_from_slice(&[0x16, 0x03, 0x01, 0x00, 0x01, b]);
    }
    assert!(framed.len() > MAX_CLIENT_BYTES);
    let mut info = TlsInfo::default();
    assert_eq!(
        parse_client(&framed[..MAX_CLIENT_BYTES - 1], &mut info),
        NeedMore
    );
    assert_eq!(parse_client(&framed[..MAX_CLIENT_BYTES], &mut info), Done);
    assert_eq!(parse_client(&framed, &mut info), Done);
    assert_eq!(info, TlsInfo::default());
    // Bytes past the limit are ignored; a complete ClientHello before it is read.
    let mut long = stream(FRAG_CLIENT);
    long.resize(MAX_CLIENT_BYTES * 4, 0x17);
    let mut info = TlsInfo::default();
    assert_eq!(parse_client(&long, &mut info), Done);
    assert_eq!(info.sni.as_deref(), Some("www.google.com"));
}

#[test]
fn certificate_chain_beyond_the_server_limit() {
    // A Certificate message whose declared length passes MAX_SERVER_BYTES ends the direction
    // after the ServerHello instead of waiting for it.
    let all = stream(SYN43_SERVER); // one ServerHello record
    let mut buf = all.clone();
    buf.extend_from_slice(&[0x16, 0x03, 0x03, 0x40, 0x00, 0x0b, 0x01, 0x00, 0x00]);
    let mut info = TlsInfo::default();
    assert_eq!(parse_server(&buf, &mut info), Done);
    assert_eq!(info.version, Some(0x0303));
}

#[test]
fn name_limits() {
    assert_eq!(
        host_name(b"sip.contoso.com").as_deref(),
        Some("sip.contoso.com")
    );
    assert_eq!(host_name(b"a_b-c.example"), Some("a_b-c.example".into()));
    assert_eq!(host_name(b""), None);
    assert_eq!(host_name(b"bad name"), None);
    assert_eq!(host_name(b"nul\0"), None);
    assert_eq!(host_name("caf\u{e9}.example".as_bytes()), None);
    assert!(host_name(&[b'a'; MAX_NAME_LEN]).is_some());
    assert_eq!(host_name(&[b'a'; MAX_NAME_LEN + 1]), None);
}

#[test]
fn version_names() {
    assert_eq!(version_name(0x0300), "SSL 3.0");
    assert_eq!(version_name(0x0301), "TLS 1.0");
    assert_eq!(version_name(0x0302), "TLS 1.1");
    assert_eq!(version_name(0x0303), "TLS 1.2");
    assert_eq!(version_name(0x0304), "TLS 1.3");
    assert_eq!(version_name(0x7f12), "TLS 1.3 draft");
    assert_eq!(version_name(0xfefd), "DTLS 1.2");
    assert_eq!(version_name(0x9a9a), "GREASE");
    assert_eq!(version_name(0x1a2a), "unknown");
    assert_eq!(version_name(0x0305), "unknown");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut info = TlsInfo::default();
        parse_client(&bytes, &mut info);
        parse_server(&bytes, &mut info);
    }

    #[test]
    fn arbitrary_records_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..1024),
        typ in prop_oneof![Just(1u8), Just(2u8), Just(11u8), any::<u8>()],
    ) {
        // A plausible record and handshake header around arbitrary bytes reaches the parsers.
        let len = body.len() + 4;
        let mut buf = vec![0x16, 0x03, 0x03, (len >> 8) as u8, len as u8, typ, 0,
            (body.len() >> 8) as u8, body.len() as u8];
        buf.extend_from_slice(&body);
        let mut info = TlsInfo::default();
        parse_client(&buf, &mut info);
        parse_server(&buf, &mut info);
    }

    #[test]
    fn mutated_hellos_never_panic(
        index in 0usize..517,
        value in any::<u8>(),
        cut in 0usize..700,
    ) {
        let mut all = stream(FRAG_CLIENT);
        if let Some(b) = all.get_mut(index) {
            *b = value;
        }
        all.truncate(cut);
        let mut info = TlsInfo::default();
        parse_client(&all, &mut info);
        let mut server = stream(FRAG_SERVER);
        let at = index * 8 % server.len();
        server[at] = value;
        parse_server(&server[..(cut * 7).min(server.len())], &mut info);
    }

    #[test]
    fn any_segmentation_gives_the_same_result(cuts in proptest::collection::vec(0usize..4300, 0..8)) {
        let all = stream(FRAG_SERVER);
        let mut whole = TlsInfo::default();
        let final_answer = parse_server(&all, &mut whole);
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c % all.len()).collect();
        points.sort_unstable();
        points.push(all.len());
        let mut info = TlsInfo::default();
        let mut answer = NeedMore;
        for p in points {
            answer = parse_server(&all[..p], &mut info);
            if answer != NeedMore {
                break;
            }
        }
        prop_assert_eq!(answer, final_answer);
        prop_assert_eq!(info, whole);
    }
}
