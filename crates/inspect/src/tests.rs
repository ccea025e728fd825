use proptest::prelude::*;

use super::*;

const TCP: Transport = Transport::Tcp;
const UDP: Transport = Transport::Udp;

/// A STUN message: type, magic cookie or not, attributes as (type, value).
fn stun(msg_type: u16, cookie: bool, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.extend_from_slice(&t.to_be_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
        while body.len() % 4 != 0 {
            body.push(0);
        }
    }
    let mut m = msg_type.to_be_bytes().to_vec();
    m.extend_from_slice(&(body.len() as u16).to_be_bytes());
    m.extend_from_slice(&if cookie { 0x2112_A442u32 } else { 0x0102_0304 }.to_be_bytes());
    m.extend_from_slice(&[7; 12]);
    m.extend_from_slice(&body);
    m
}

fn rtp(pt: u8, seq: u16, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&1000u32.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[0xd5; 160]);
    p
}

fn first(t: Transport, ports: (u16, u16), payload: &[u8]) -> AppProtocol {
    let mut i = FlowInspector::new();
    i.observe(t, 0, ports, payload);
    i.app_protocol()
}

#[test]
fn tls_sip_http_xmpp_over_tcp() {
    // A TLS 1.2 ClientHello record header (handshake, 3.1, length 512).
    assert_eq!(
        first(TCP, (40000, 443), &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]),
        AppProtocol::Tls
    );
    let sip = b"REGISTER sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1\r\n\r\n";
    assert_eq!(first(TCP, (40000, 5061), sip), AppProtocol::Sip);
    assert_eq!(
        first(TCP, (5061, 40000), b"SIP/2.0 200 OK\r\n\r\n"),
        AppProtocol::Sip
    );
    assert_eq!(
        first(TCP, (40000, 443), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        AppProtocol::Http
    );
    // OPTIONS is both a SIP and an HTTP method: the version decides.
    assert_eq!(
        first(TCP, (1, 80), b"OPTIONS * HTTP/1.1\r\n\r\n"),
        AppProtocol::Http
    );
    assert_eq!(
        first(TCP, (1, 5060), b"OPTIONS sip:a@b SIP/2.0\r\n\r\n"),
        AppProtocol::Sip
    );
    assert_eq!(
        first(TCP, (1, 5269), b"<?xml version='1.0'?><stream:stream>"),
        AppProtocol::Xmpp
    );
    assert_eq!(
        first(TCP, (1, 22), b"SSH-2.0-OpenSSH_9.2\r\n"),
        AppProtocol::Unknown
    );
}

#[test]
fn stun_turn_and_ms_turn() {
    let binding = stun(0x0001, true, &[(0x0024, &[0, 0, 0, 1])]);
    assert_eq!(first(UDP, (50000, 3478), &binding), AppProtocol::Stun);
    let allocate = stun(0x0003, true, &[(0x0019, &[17, 0, 0, 0])]);
    assert_eq!(first(UDP, (50000, 3478), &allocate), AppProtocol::Turn);
    // MS-TURN: Allocate with MAGIC-COOKIE (0x000F) and MS-VERSION (0x8008), no RFC 5389 cookie.
    let ms = stun(
        0x0003,
        false,
        &[(0x000F, &[0x72, 0xc6, 0x4b, 0xc6]), (0x8008, &[0, 0, 0, 6])],
    );
    assert_eq!(first(UDP, (50000, 3478), &ms), AppProtocol::MsTurn);
    // Classic RFC 3489 binding request: no cookie, no attributes.
    assert_eq!(
        first(UDP, (50000, 3478), &stun(0x0001, false, &[])),
        AppProtocol::Stun
    );
    // STUN over TCP with RFC 4571 framing.
    let mut framed = (binding.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&binding);
    assert_eq!(first(TCP, (50000, 443), &framed), AppProtocol::Stun);
    // TURN ChannelData.
    let mut cd = vec![0x40, 0x00, 0x00, 0x04];
    cd.extend_from_slice(b"data");
    assert_eq!(first(UDP, (50000, 3478), &cd), AppProtocol::Turn);
}

#[test]
fn non_stun_bytes_on_3478_are_unknown() {
    let mut i = FlowInspector::new();
    i.observe(UDP, 0, (40032, 3478), b"hello\n");
    assert_eq!(i.app_protocol(), AppProtocol::Unknown);
    assert!(i.payload_seen());
    // A STUN header whose length disagrees with the datagram is not STUN.
    let mut bad = stun(0x0001, true, &[]);
    bad.push(0);
    assert_eq!(first(UDP, (1, 3478), &bad), AppProtocol::Unknown);
}

#[test]
fn rtp_needs_several_packets_with_one_ssrc() {
    let mut i = FlowInspector::new();
    i.observe(UDP, 0, (50010, 50000), &rtp(0, 100, 0xdead_beef));
    assert_eq!(
        i.app_protocol(),
        AppProtocol::Unknown,
        "one datagram is not enough"
    );
    i.observe(UDP, 0, (50010, 50000), &rtp(0, 101, 0xdead_beef));
    i.observe(UDP, 0, (50010, 50000), &rtp(0, 102, 0xdead_beef));
    assert_eq!(i.app_protocol(), AppProtocol::Rtp);
    assert!(i.settled());
    // Random bytes with the version bits set, another SSRC each time: never RTP.
    let mut j = FlowInspector::new();
    for k in 0..10u32 {
        j.observe(UDP, 0, (1, 2), &rtp(0, (k * 7919) as u16, k));
    }
    assert_eq!(j.app_protocol(), AppProtocol::Unknown);
}

#[test]
fn ice_checks_then_media_say_rtp_and_keep_stun() {
    let mut i = FlowInspector::new();
    let check = stun(0x0001, true, &[(0x0024, &[0, 0, 0, 1]), (0x0025, &[])]);
    i.observe(UDP, 0, (50010, 50000), &check);
    assert_eq!(i.app_protocol(), AppProtocol::Stun);
    assert!(!i.settled(), "media may follow the ICE checks");
    for s in 0..3 {
        i.observe(UDP, 1, (50000, 50010), &rtp(8, 7 + s, 42));
    }
    assert_eq!(i.app_protocol(), AppProtocol::Rtp);
    assert_eq!(i.stun_seen(), Some(AppProtocol::Stun));
}

#[test]
fn rtcp_and_dns() {
    let mut sr = vec![0x80, 200, 0x00, 0x06];
    sr.extend_from_slice(&[0; 24]);
    let mut i = FlowInspector::new();
    i.observe(UDP, 0, (50001, 50003), &sr);
    i.observe(UDP, 0, (50001, 50003), &sr);
    assert_eq!(i.app_protocol(), AppProtocol::Rtcp);
    // A DNS query for lyncdiscover.contoso.com, A.
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["lyncdiscover", "contoso", "com"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(first(UDP, (40001, 53), &q), AppProtocol::Dns);
    assert_eq!(
        first(UDP, (40001, 9999), &q),
        AppProtocol::Unknown,
        "DNS only on its ports"
    );
}

#[test]
fn inspection_stops_after_a_bound() {
    let mut i = FlowInspector::new();
    for _ in 0..MAX_INSPECTED {
        i.observe(UDP, 0, (1, 2), b"xx");
    }
    assert!(i.settled());
}

proptest! {
    #[test]
    fn probes_never_panic(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 1..20), tcp: bool) {
        let mut i = FlowInspector::new();
        let t = if tcp { TCP } else { UDP };
        for (k, p) in payloads.iter().enumerate() {
            i.observe(t, k & 1, (53, 3478), p);
            let _ = probe_stun(p);
        }
        let nonempty = payloads.iter().filter(|p| !p.is_empty()).count();
        let limit = if tcp { MAX_INSPECTED_TCP } else { MAX_INSPECTED };
        prop_assert!(i.settled() || nonempty < usize::from(limit));
        prop_assert_eq!(i.payload_seen(), nonempty > 0);
    }
}

#[test]
fn microsoft_sip_methods_and_keep_alives_are_sip() {
    for msg in [
        &b"NEGOTIATE sip:pool.contoso.com SIP/2.0\r\n\r\n"[..],
        b"SERVICE sip:alice@contoso.com;gruu SIP/2.0\r\nCall-ID: x\r\n\r\n",
        b"BENOTIFY sip:alice@contoso.com sip/2.0\r\n\r\n",
        b"\r\n\r\nREGISTER sip:contoso.com SIP/2.0\r\n\r\n",
    ] {
        assert_eq!(first(TCP, (40000, 5060), msg), AppProtocol::Sip, "{msg:?}");
    }
    // Not SIP: an HTTP request with a SIP method name, and a bare keep-alive.
    assert_ne!(
        first(TCP, (40000, 5060), b"SERVICE /x HTTP/1.1\r\n\r\n"),
        AppProtocol::Sip
    );
    assert_eq!(first(TCP, (40000, 5060), b"\r\n\r\n"), AppProtocol::Unknown);
}

#[test]
fn an_mdns_announcement_without_questions_is_dns() {
    // Header: id 0, flags 0x8400 (response, authoritative), 0 questions, 1 answer; then the
    // answer `a.local A 10.0.0.1` (RFC 6762 §8.3 announcements carry no question).
    let mut p = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    p.extend_from_slice(b"\x01a\x05local\x00");
    p.extend_from_slice(&[0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 1]);
    assert_eq!(first(UDP, (5353, 5353), &p), AppProtocol::Dns);
    // The same counts in a query (no questions, answers) are not DNS.
    let mut q = p.clone();
    if let Some(b) = q.get_mut(2) {
        *b = 0x04;
    }
    assert_ne!(first(UDP, (5353, 5353), &q), AppProtocol::Dns);
}

#[test]
fn dns_over_tcp_split_across_segments_is_dns() {
    // A 2-byte length (40) and the first 20 bytes of the message: the rest comes later.
    let mut p = vec![0, 40, 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(b"\x03sip\x07con");
    assert_eq!(first(TCP, (40000, 53), &p), AppProtocol::Dns);
}

#[test]
fn ms_turn_with_unpadded_attributes_is_ms_turn() {
    // [MS-TURN] §2.2: an Allocate request (0x0003) without the RFC 5389 cookie, whose first
    // attribute is MAGIC-COOKIE (0x000F = 0x72C64BC6) and whose USERNAME (0x0006, 5 bytes) is
    // not padded: its length (17) is no multiple of 4, which the header check refuses.
    let mut body = vec![0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6];
    body.extend_from_slice(&[0x00, 0x06, 0x00, 0x05]);
    body.extend_from_slice(b"abcde");
    let mut m = vec![0x00, 0x03];
    m.extend_from_slice(&(body.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0x11; 16]);
    m.extend_from_slice(&body);
    assert_eq!(probe_stun(&m), None, "the header check alone refuses it");
    assert_eq!(first(UDP, (50016, 3478), &m), AppProtocol::MsTurn);
}

/// An RTCP receiver report (RFC 3550 §6.4.2) of one report block, followed by an SDES with one
/// CNAME item (§6.5): 32 + 16 bytes, a compound packet that tiles the datagram.
fn rtcp_rr_sdes() -> Vec<u8> {
    let mut p = vec![0x81, 201, 0, 7];
    p.extend_from_slice(&0x1122_3344u32.to_be_bytes());
    p.extend_from_slice(&[0; 24]);
    p.extend_from_slice(&[0x81, 202, 0, 3]);
    p.extend_from_slice(&0x1122_3344u32.to_be_bytes());
    p.extend_from_slice(&[1, 5, b'a', b'@', b'b', b'.', b'c', 0]);
    p
}

#[test]
fn one_compound_rtcp_datagram_is_rtcp_but_one_loose_header_is_not() {
    assert_eq!(
        first(UDP, (40001, 30001), &rtcp_rr_sdes()),
        AppProtocol::Rtcp
    );
    // The same with four trailing bytes (no longer tiling): one datagram is not enough.
    let mut loose = rtcp_rr_sdes();
    loose.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(first(UDP, (40001, 30001), &loose), AppProtocol::Unknown);
    // Random bytes that start like a receiver report but do not tile either.
    let mut junk = vec![0x81, 201, 0, 2];
    junk.extend_from_slice(&[0x55; 20]);
    assert_eq!(first(UDP, (40001, 30001), &junk), AppProtocol::Unknown);
}

#[test]
fn an_sslv2_compatible_client_hello_is_tls() {
    // RFC 5246 Appendix E.2: header 0x8046 (70 bytes follow), CLIENT-HELLO, version 3.1,
    // 45 bytes of cipher specs (15 x 3), no session id, a 16-byte challenge.
    let mut p = vec![
        0x80, 0x46, 0x01, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x10,
    ];
    p.extend_from_slice(&[0x00, 0x00, 0x04].repeat(15));
    p.extend_from_slice(&[0xab; 16]);
    assert_eq!(p.len(), 2 + 0x46);
    assert_eq!(first(TCP, (50063, 443), &p), AppProtocol::Tls);
    // The lengths must add up: one byte less of challenge is not a hello.
    let mut short = p.clone();
    if let Some(b) = short.get_mut(10) {
        *b = 0x0f;
    }
    assert_ne!(first(TCP, (50063, 443), &short), AppProtocol::Tls);
}

#[test]
fn rtcp_first_does_not_hide_rtp_on_a_shared_port() {
    let mut i = FlowInspector::new();
    let rtcp = rtcp_rr_sdes();
    i.observe(UDP, 0, (50016, 16332), &rtcp);
    i.observe(UDP, 0, (50016, 16332), &rtcp);
    assert_eq!(i.app_protocol(), AppProtocol::Rtcp);
    assert!(!i.settled(), "RTP may still follow on the same port");
    for seq in 0..3 {
        i.observe(UDP, 1, (16332, 50016), &rtp(0, 100 + seq, 7));
    }
    assert_eq!(i.app_protocol(), AppProtocol::Rtp);
    assert!(i.settled());
}

#[test]
fn duplicated_rtp_frames_still_count() {
    let mut i = FlowInspector::new();
    for seq in 0..3 {
        let p = rtp(0, 500 + seq, 9);
        i.observe(UDP, 0, (17718, 32144), &p);
        i.observe(UDP, 0, (17718, 32144), &p);
    }
    assert_eq!(i.app_protocol(), AppProtocol::Rtp);
}

#[test]
fn an_sslv2_compatible_hello_gives_the_offered_version() {
    let mut p = vec![
        0x80, 0x46, 0x01, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x00, 0x00, 0x10,
    ];
    p.extend_from_slice(&[0x00, 0x00, 0x04].repeat(15));
    p.extend_from_slice(&[0xab; 16]);
    let mut i = FlowInspector::new();
    let mut out = Outputs::default();
    let seg = Segment {
        transport: TCP,
        dir: 0,
        src_port: 50063,
        dst_port: 443,
        seq: 1000,
        payload: &p,
        complete: true,
    };
    i.inspect(&seg, &mut out);
    assert_eq!(i.app_protocol(), AppProtocol::Tls);
    let tls = i
        .evidence()
        .and_then(|e| e.tls.as_ref())
        .expect("TLS evidence");
    assert_eq!(tls.client_version, Some(0x0301));
    assert_eq!(tls.sni, None);
    assert_eq!(out.stats.tls_client_hellos, 1);
    assert!(i.wants_more(), "the server's hello is still to come");
}
