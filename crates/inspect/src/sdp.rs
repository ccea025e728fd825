//! SDP bodies (RFC 4566 / RFC 8866) to the media endpoints they announce, so that later
//! RTP, RTCP and STUN flows can be linked to the SIP dialog that set them up.
//!
//! What is read, line by line, and nothing else:
//!
//! - `c=` at session level and at media level (a media-level `c=` wins for its section), IPv4
//!   (`IN IP4`) and IPv6 (`IN IP6`); a multicast `/ttl` or `/count` suffix is dropped;
//! - `m=`: media kind, port and transport (`RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, ... are
//!   UDP; `TCP/RTP/AVP`, `TCP/TLS/RTP/SAVP`, ... are TCP). Port 0 disables the section (RFC 3264
//!   §6): its `c=`, `a=rtcp` and candidates are all skipped;
//! - `a=rtcp:` (RFC 3605): port and optional address;
//! - `a=candidate:` in the RFC 5245 / RFC 8839 layout
//!   (`foundation component transport priority address port typ ...`; `raddr`/`rport` are not
//!   endpoints of this agent and are ignored), which is also the layout of Microsoft's
//!   [MS-ICE2] candidates with the `TCP-PASS` / `TCP-ACT` transports;
//! - Microsoft's forms: `a=x-candidate-ipv6:` ([MS-SDPEXT] §3.1.5.21.2, the RFC 5245 layout
//!   carrying an IPv6 address), `a=x-candidate:` (either layout), and the [MS-ICE] layout of
//!   `a=candidate:` that Office Communications Server 2007 and the `ms-proxy-2007fallback`
//!   part of a Lync offer use (draft-ietf-mmusic-ice-06:
//!   `username component password transport qvalue address port`, e.g.
//!   `a=candidate:<ufrag> 1 <pwd> UDP 0.830 10.0.0.5 50010`).
//!
//! Anything else is ignored, and one bad line never spoils the rest. The unspecified addresses
//! (`0.0.0.0`, `::`, "no media here" / hold) and port 0 are not endpoints. Host names (RFC 8839
//! allows FQDN and mDNS `.local` candidates) are skipped: only literal addresses link flows.
//!
//! Cost: one pass over the bytes, and at most [`MAX_ENDPOINTS`] comparisons per endpoint
//! found; once the output holds [`MAX_ENDPOINTS`] the scan stops. Nothing here can panic.

use std::net::IpAddr;

/// Endpoints kept in the output vector at most (counting what it held before the call). An SDP
/// with thousands of candidates stays bounded and cheap: the scan stops when the vector is full.
pub const MAX_ENDPOINTS: usize = 64;

/// The media kind of an `m=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `m=audio`.
    Audio,
    /// `m=video`.
    Video,
    /// `m=application`, and Microsoft's `m=applicationsharing` (desktop sharing).
    Application,
    /// Anything else (`m=message`, `m=data`, `m=image`, `m=text`, ...).
    Other,
}

/// Which SDP line announced an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointSource {
    /// The `m=` port with the effective `c=` address of its section.
    Connection,
    /// An `a=candidate:` line in the RFC 5245 layout (also [MS-ICE2]'s `TCP-PASS`/`TCP-ACT`).
    Candidate,
    /// Microsoft's forms: `a=x-candidate:`, `a=x-candidate-ipv6:`, and the [MS-ICE]
    /// (draft-ietf-mmusic-ice-06) layout of `a=candidate:`.
    XCandidate,
    /// An `a=rtcp:` line (RFC 3605).
    Rtcp,
}

/// One transport address announced for media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MediaEndpoint {
    /// The address (IPv4 or IPv6).
    pub addr: IpAddr,
    /// The port (never 0).
    pub port: u16,
    /// TCP (a `TCP/...` profile, or a `TCP`, `TCP-PASS`, `TCP-ACT`, `TCP-SO` candidate);
    /// otherwise UDP.
    pub tcp: bool,
    /// The media kind of the `m=` section the endpoint belongs to.
    pub media: MediaKind,
    /// The line that announced it.
    pub source: EndpointSource,
}

/// The `m=` section being read.
struct Section {
    kind: MediaKind,
    port: u16,
    tcp: bool,
    /// Media-level `c=` address, if any.
    conn: Option<IpAddr>,
    /// Port 0: skip everything in the section.
    disabled: bool,
    /// The `m=`/`c=` endpoint was already pushed (at the first `a=` line).
    flushed: bool,
}

/// Appends the media endpoints that `sdp` announces to `out`, without duplicates (same address,
/// port and transport: the first source seen is kept, and within a section the `m=`/`c=`
/// endpoint comes first), and never past [`MAX_ENDPOINTS`] entries in `out`.
pub fn media_endpoints(sdp: &[u8], out: &mut Vec<MediaEndpoint>) {
    let mut session_conn: Option<IpAddr> = None;
    let mut section: Option<Section> = None;
    for raw in sdp.split(|b| *b == b'\n') {
        if out.len() >= MAX_ENDPOINTS {
            return;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            continue;
        };
        let line = line.trim_end();
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "m" => {
                if let Some(s) = section.as_mut() {
                    flush(s, session_conn, out);
                }
                // A malformed m= line still opens a section (disabled), so that its c= is not
                // taken for a session-level one.
                section = Some(parse_m(value).unwrap_or(Section::DISABLED));
            }
            "c" => {
                let Some(addr) = parse_c(value) else {
                    continue;
                };
                match section.as_mut() {
                    None => session_conn = Some(addr),
                    Some(s) => {
                        s.conn = Some(addr);
                        if s.flushed {
                            // A media-level c= after the section's attributes: announce it too.
                            push_connection(s, addr, out);
                        }
                    }
                }
            }
            "a" => {
                // Attributes are media-level here; session-level a= lines carry no endpoint.
                let Some(s) = section.as_mut() else {
                    continue;
                };
                if s.disabled {
                    continue;
                }
                flush(s, session_conn, out);
                let effective = s.conn.or(session_conn);
                attribute(value, s, effective, out);
            }
            _ => {}
        }
    }
    if let Some(s) = section.as_mut() {
        flush(s, session_conn, out);
    }
}

impl Section {
    const DISABLED: Section = Section {
        kind: MediaKind::Other,
        port: 0,
        tcp: false,
        conn: None,
        disabled: true,
        flushed: false,
    };
}

/// Pushes the section's `m=` port with its effective `c=` address, once.
fn flush(s: &mut Section, session_conn: Option<IpAddr>, out: &mut Vec<MediaEndpoint>) {
    if s.flushed || s.disabled {
        return;
    }
    s.flushed = true;
    if let Some(addr) = s.conn.or(session_conn) {
        push_connection(s, addr, out);
    }
}

fn push_connection(s: &Section, addr: IpAddr, out: &mut Vec<MediaEndpoint>) {
    if s.disabled {
        return;
    }
    push(
        out,
        MediaEndpoint {
            addr,
            port: s.port,
            tcp: s.tcp,
            media: s.kind,
            source: EndpointSource::Connection,
        },
    );
}

/// Adds `ep` unless it is unusable, already there, or `out` is full.
fn push(out: &mut Vec<MediaEndpoint>, ep: MediaEndpoint) {
    if ep.port == 0 || ep.addr.is_unspecified() || out.len() >= MAX_ENDPOINTS {
        return;
    }
    let dup = out
        .iter()
        .any(|e| e.addr == ep.addr && e.port == ep.port && e.tcp == ep.tcp);
    if !dup {
        out.push(ep);
    }
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...`
fn parse_m(value: &str) -> Option<Section> {
    let mut it = value.split_ascii_whitespace();
    let media = it.next()?;
    let port_field = it.next()?;
    let proto = it.next().unwrap_or("");
    let port_text = port_field.split('/').next().unwrap_or(port_field);
    let port: u16 = port_text.parse().ok()?;
    let kind = if media.eq_ignore_ascii_case("audio") {
        MediaKind::Audio
    } else if media.eq_ignore_ascii_case("video") {
        MediaKind::Video
    } else if media
        .get(..11)
        .is_some_and(|p| p.eq_ignore_ascii_case("application"))
    {
        MediaKind::Application
    } else {
        MediaKind::Other
    };
    Some(Section {
        kind,
        port,
        tcp: starts_with_ignore_case(proto, "TCP"),
        conn: None,
        disabled: port == 0,
        flushed: false,
    })
}

/// `c=<nettype> <addrtype> <connection-address>[/ttl][/count]`
fn parse_c(value: &str) -> Option<IpAddr> {
    let mut it = value.split_ascii_whitespace();
    let nettype = it.next()?;
    let _addrtype = it.next()?;
    let addr = it.next()?;
    if !nettype.eq_ignore_ascii_case("IN") {
        return None;
    }
    parse_addr(addr.split('/').next().unwrap_or(addr))
}

/// A literal IPv4 or IPv6 address (brackets tolerated); host names are not endpoints.
fn parse_addr(text: &str) -> Option<IpAddr> {
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    text.parse().ok()
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// One `a=` line of an enabled section.
fn attribute(value: &str, s: &Section, effective: Option<IpAddr>, out: &mut Vec<MediaEndpoint>) {
    let (name, rest) = value.split_once(':').unwrap_or((value, ""));
    if name.eq_ignore_ascii_case("rtcp") {
        rtcp(rest, s, effective, out);
    } else if name.eq_ignore_ascii_case("candidate") {
        candidate(rest, s, false, out);
    } else if name.eq_ignore_ascii_case("x-candidate")
        || name.eq_ignore_ascii_case("x-candidate-ipv6")
    {
        candidate(rest, s, true, out);
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605 §2.1).
fn rtcp(rest: &str, s: &Section, effective: Option<IpAddr>, out: &mut Vec<MediaEndpoint>) {
    let mut it = rest.split_ascii_whitespace();
    let Some(port) = it.next().and_then(|p| p.parse::<u16>().ok()) else {
        return;
    };
    let addr = match (it.next(), it.next(), it.next()) {
        (Some(net), Some(_), Some(addr)) if net.eq_ignore_ascii_case("IN") => {
            parse_addr(addr.split('/').next().unwrap_or(addr))
        }
        _ => effective,
    };
    if let Some(addr) = addr {
        push(
            out,
            MediaEndpoint {
                addr,
                port,
                tcp: s.tcp,
                media: s.kind,
                source: EndpointSource::Rtcp,
            },
        );
    }
}

/// Candidate transports: RFC 5245 `UDP`, RFC 6544 `TCP`, Microsoft's `TCP-PASS` / `TCP-ACT`
/// ([MS-ICE2]) and `TCP-SO`. Returns whether it is TCP.
fn transport(token: &str) -> Option<bool> {
    if token.eq_ignore_ascii_case("UDP") {
        Some(false)
    } else if ["TCP", "TCP-PASS", "TCP-ACT", "TCP-SO"]
        .iter()
        .any(|t| token.eq_ignore_ascii_case(t))
    {
        Some(true)
    } else {
        None
    }
}

/// The fields of a candidate line after the attribute name. Two layouts:
///
/// - RFC 5245 §15.1: `foundation component-id transport priority connection-address port typ
///   cand-type [raddr ..] [rport ..] *(extension)`: the transport is the third field;
/// - [MS-ICE] / draft-ietf-mmusic-ice-06 §15.1: `username component-id password transport
///   qvalue address port`: the transport is the fourth field, the q-value a decimal fraction.
fn candidate(rest: &str, s: &Section, microsoft: bool, out: &mut Vec<MediaEndpoint>) {
    let mut fields = rest.split_ascii_whitespace();
    let f: [Option<&str>; 7] = std::array::from_fn(|_| fields.next());
    let (tcp, addr, port, draft6) = match f {
        [_, Some(_), Some(t), Some(prio), Some(addr), Some(port), _]
            if transport(t).is_some() && prio.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (transport(t), addr, port, false)
        }
        [
            _,
            Some(_),
            Some(_),
            Some(t),
            Some(q),
            Some(addr),
            Some(port),
        ] if transport(t).is_some() && q.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            (transport(t), addr, port, true)
        }
        _ => return,
    };
    let (Some(tcp), Some(addr), Ok(port)) = (tcp, parse_addr(addr), port.parse::<u16>()) else {
        return;
    };
    let source = if microsoft || draft6 {
        EndpointSource::XCandidate
    } else {
        EndpointSource::Candidate
    };
    push(
        out,
        MediaEndpoint {
            addr,
            port,
            tcp,
            media: s.kind,
            source,
        },
    );
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    fn endpoints(sdp: &str) -> Vec<MediaEndpoint> {
        let mut out = Vec::new();
        media_endpoints(sdp.as_bytes(), &mut out);
        out
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn ep(
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

    use EndpointSource::{Candidate, Connection, Rtcp, XCandidate};
    use MediaKind::{Application, Audio, Other, Video};

    /// RFC 4566 §5 example session description (a multicast c= with a TTL suffix, two media).
    #[test]
    fn rfc4566_example() {
        let sdp = "v=0\r\n\
                   o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n\
                   s=SDP Seminar\r\n\
                   i=A Seminar on the session description protocol\r\n\
                   u=http://www.example.com/seminars/sdp.pdf\r\n\
                   e=j.doe@example.com (Jane Doe)\r\n\
                   c=IN IP4 224.2.17.12/127\r\n\
                   t=2873397496 2873404696\r\n\
                   a=recvonly\r\n\
                   m=audio 49170 RTP/AVP 0\r\n\
                   m=video 51372 RTP/AVP 99\r\n\
                   a=rtpmap:99 h263-1998/90000\r\n";
        let g = v4(224, 2, 17, 12);
        assert_eq!(
            endpoints(sdp),
            [
                ep(g, 49170, false, Audio, Connection),
                ep(g, 51372, false, Video, Connection)
            ]
        );
    }

    /// RFC 4566 §5.7: a media-level c= overrides the session-level one for its section only.
    #[test]
    fn media_level_connection_wins() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                   m=audio 50000 RTP/AVP 0\r\nc=IN IP4 192.0.2.2\r\na=sendrecv\r\n\
                   m=video 50002 RTP/AVP 96\r\na=sendrecv\r\n";
        assert_eq!(
            endpoints(sdp),
            [
                ep(v4(192, 0, 2, 2), 50000, false, Audio, Connection),
                ep(v4(192, 0, 2, 1), 50002, false, Video, Connection)
            ]
        );
    }

    /// A media-level c= written after the section's attributes is still announced.
    #[test]
    fn late_media_level_connection() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 50000 RTP/AVP 0\r\na=sendrecv\r\n\
                   c=IN IP4 192.0.2.9\r\n";
        assert_eq!(
            endpoints(sdp),
            [
                ep(v4(192, 0, 2, 1), 50000, false, Audio, Connection),
                ep(v4(192, 0, 2, 9), 50000, false, Audio, Connection)
            ]
        );
    }

    /// RFC 3264 §6: port 0 rejects a stream; nothing of its section is an endpoint.
    #[test]
    fn port_zero_disables_the_section() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.1\r\n\
                   m=video 0 RTP/AVP 96\r\nc=IN IP4 192.0.2.7\r\na=rtcp:50001\r\n\
                   a=candidate:1 1 UDP 2130706431 192.0.2.7 50000 typ host\r\n\
                   m=audio 50010 RTP/AVP 0\r\n";
        assert_eq!(
            endpoints(sdp),
            [ep(v4(192, 0, 2, 1), 50010, false, Audio, Connection)]
        );
    }

    /// RFC 3605 §2.1 examples: port only (the section's address), and with an address.
    #[test]
    fn rtcp_attribute() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.1\r\n\
                   m=audio 49170 RTP/AVP 0\r\na=rtcp:53020\r\n\
                   m=audio 49180 RTP/AVP 0\r\na=rtcp:53020 IN IP4 126.16.64.4\r\n\
                   m=audio 49190 RTP/AVP 0\r\n\
                   a=rtcp:53020 IN IP6 2001:2345:6789:ABCD:EF01:2345:6789:ABCD\r\n";
        let v6: IpAddr = "2001:2345:6789:abcd:ef01:2345:6789:abcd"
            .parse()
            .unwrap_or(v4(0, 0, 0, 0));
        assert_eq!(
            endpoints(sdp),
            [
                ep(v4(192, 0, 2, 1), 49170, false, Audio, Connection),
                ep(v4(192, 0, 2, 1), 53020, false, Audio, Rtcp),
                ep(v4(192, 0, 2, 1), 49180, false, Audio, Connection),
                ep(v4(126, 16, 64, 4), 53020, false, Audio, Rtcp),
                ep(v4(192, 0, 2, 1), 49190, false, Audio, Connection),
                ep(v6, 53020, false, Audio, Rtcp),
            ]
        );
    }

    /// RFC 5245 §15.1 candidate lines (the layout of its §B.5 example offer): foundation,
    /// component, transport, priority, address, port, `typ`; raddr/rport are not endpoints.
    #[test]
    fn rfc5245_candidates() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.3\r\nt=0 0\r\n\
                   m=audio 45664 RTP/AVP 0\r\n\
                   a=rtcp:45665\r\n\
                   a=candidate:1 1 UDP 2130706431 10.0.1.1 8998 typ host\r\n\
                   a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998\r\n\
                   a=candidate:3 1 UDP 16777215 198.51.100.8 3478 typ relay raddr 203.0.113.4 rport 61000\r\n";
        assert_eq!(
            endpoints(sdp),
            [
                ep(v4(192, 0, 2, 3), 45664, false, Audio, Connection),
                ep(v4(192, 0, 2, 3), 45665, false, Audio, Rtcp),
                ep(v4(10, 0, 1, 1), 8998, false, Audio, Candidate),
                ep(v4(198, 51, 100, 8), 3478, false, Audio, Candidate),
            ]
        );
    }

    /// [MS-ICE] (OCS 2007, the `ms-proxy-2007fallback` part of a Lync offer) writes candidates
    /// in the draft-ietf-mmusic-ice-06 layout: username, component, password, transport,
    /// q-value, address, port. Built by hand from that layout.
    #[test]
    fn ms_ice_draft6_candidates() {
        let sdp = "v=0\r\no=- 0 0 IN IP4 192.0.2.10\r\ns=session\r\nc=IN IP4 192.0.2.10\r\n\
                   t=0 0\r\nm=audio 50010 RTP/SAVP 114 9 0 8 101\r\n\
                   a=candidate:Q2sWzmPnC8UfZk1hXj0BqKYvLd7tEa3oRiN6cGuMw4A 1 bXt5Lq9ZsWk2YhGf8pDr0A UDP 0.830 198.51.100.20 53012 \r\n\
                   a=candidate:Q2sWzmPnC8UfZk1hXj0BqKYvLd7tEa3oRiN6cGuMw4A 2 bXt5Lq9ZsWk2YhGf8pDr0A UDP 0.830 198.51.100.20 53013 \r\n\
                   a=candidate:H7cVb2NqXe5KsL0fPa9TjRw3yGm6UdZo1iCkE8hBn4Q 1 Zp3Rt6WvYc9Lm2Qs5Nx8Kg UDP 0.840 192.0.2.10 50010 \r\n\
                   a=candidate:J3kPq8WmZs1DbH6nVx0TeLc4yRf7UgAo2iMt9hKa5Ew 1 Lr5Ty8UpIo2Qw4Ez7Xc1Vb TCP 0.150 192.0.2.10 50020 \r\n";
        assert_eq!(
            endpoints(sdp),
            [
                ep(v4(192, 0, 2, 10), 50010, false, Audio, Connection),
                ep(v4(198, 51, 100, 20), 53012, false, Audio, XCandidate),
                ep(v4(198, 51, 100, 20), 53013, false, Audio, XCandidate),
                ep(v4(192, 0, 2, 10), 50020, true, Audio, XCandidate),
            ]
        );
    }

    /// [MS-ICE2] candidates use the RFC 5245 layout with Microsoft's TCP transports
    /// (`TCP-PASS`, `TCP-ACT`); [MS-SDPEXT] §3.1.5.21.2 carries IPv6 candidates in
    /// `a=x-candidate-ipv6` with the same layout; `a=x-candidate` is read in either layout.
    #[test]
    fn ms_ice2_candidates() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
                   m=video 50030 RTP/SAVP 122 121\r\n\
                   a=ice-ufrag:kd9R\r\na=ice-pwd:Wm3vPq8sLz1XcR6tYb0NfG2h\r\n\
                   a=candidate:1 1 UDP 2130706431 192.0.2.10 50030 typ host \r\n\
                   a=candidate:1 2 UDP 2130705918 192.0.2.10 50031 typ host \r\n\
                   a=x-candidate-ipv6:2 1 UDP 33553407 2001:db8:10::5 50032 typ host \r\n\
                   a=candidate:3 1 TCP-PASS 174455807 203.0.113.50 50040 typ relay raddr 192.0.2.10 rport 50030\r\n\
                   a=candidate:4 1 TCP-ACT 1684797951 192.0.2.10 50041 typ srflx raddr 192.0.2.10 rport 50041\r\n\
                   a=x-candidate:5 1 UDP 1694234367 198.51.100.77 50050 typ srflx raddr 192.0.2.10 rport 50030\r\n";
        let v6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 5));
        assert_eq!(
            endpoints(sdp),
            [
                ep(v4(192, 0, 2, 10), 50030, false, Video, Connection),
                ep(v4(192, 0, 2, 10), 50031, false, Video, Candidate),
                ep(v6, 50032, false, Video, XCandidate),
                ep(v4(203, 0, 113, 50), 50040, true, Video, Candidate),
                ep(v4(192, 0, 2, 10), 50041, true, Video, Candidate),
                ep(v4(198, 51, 100, 77), 50050, false, Video, XCandidate),
            ]
        );
    }

    /// Transports of m= lines, IPv6 c=, media kinds.
    #[test]
    fn transports_kinds_and_ipv6() {
        let sdp = "v=0\r\nc=IN IP6 2001:db8::1\r\n\
                   m=audio 5004 UDP/TLS/RTP/SAVPF 111\r\n\
                   m=video 5006 TCP/RTP/AVP 96\r\n\
                   m=applicationsharing 5008 TCP/RTP/AVP 127\r\n\
                   m=application 5010 UDP/DTLS/SCTP webrtc-datachannel\r\n\
                   m=message 5012 TCP/TLS/MSRP *\r\n";
        let a: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        assert_eq!(
            endpoints(sdp),
            [
                ep(a, 5004, false, Audio, Connection),
                ep(a, 5006, true, Video, Connection),
                ep(a, 5008, true, Application, Connection),
                ep(a, 5010, false, Application, Connection),
                ep(a, 5012, true, Other, Connection),
            ]
        );
    }

    /// The same address, port and transport once: the first source is kept.
    #[test]
    fn deduplicated() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.1\r\n\
                   m=audio 50000 RTP/AVP 0\r\n\
                   a=candidate:1 1 UDP 2130706431 192.0.2.1 50000 typ host\r\n\
                   a=candidate:1 1 TCP-PASS 2130706431 192.0.2.1 50000 typ host\r\n\
                   a=rtcp:50000\r\n";
        assert_eq!(
            endpoints(sdp),
            [
                ep(v4(192, 0, 2, 1), 50000, false, Audio, Connection),
                ep(v4(192, 0, 2, 1), 50000, true, Audio, Candidate),
            ]
        );
        // Across calls too (two SDP parts of one multipart body).
        let mut out = endpoints(sdp);
        media_endpoints(sdp.as_bytes(), &mut out);
        assert_eq!(out.len(), 2);
    }

    /// Hold (RFC 3264 §8.4 old style c=0.0.0.0), port 0 candidates, host names and broken
    /// lines are not endpoints, and never spoil the lines around them.
    #[test]
    fn bad_lines_are_skipped() {
        let mut sdp = b"v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 50000 RTP/AVP 0\r\n\
                   a=candidate:1 1 UDP 2130706431 host.example.com 50002 typ host\r\n\
                   a=candidate:2 1 UDP 2130706431 f81d4fae-7dec-11d0-a765-00a0c91e6bf6.local 50004 typ host\r\n\
                   a=candidate:3 1 UDP 2130706431 192.0.2.5 0 typ host\r\n\
                   a=candidate:4 1 UDP 2130706431 192.0.2.5 70000 typ host\r\n\
                   a=candidate:5 1 SCTP 2130706431 192.0.2.5 5000 typ host\r\n\
                   a=candidate:6 1 UDP\r\n\
                   a=candidate:\r\n\
                   a=rtcp:notaport\r\n\
                   a=rtcp:50001 IN IP4 300.1.2.3\r\n\
                   c=IN IP4\r\n\
                   c=ATM NSAP 47.0091.8100.0000.0060.3e64.fd01.0060.3e64.fd01.00\r\n\
                   m=audio notaport RTP/AVP 0\r\nc=IN IP4 192.0.2.66\r\n\
                   m=\r\n=\r\nx\r\n"
            .to_vec();
        sdp.extend_from_slice(b"a=candidate:7 1 UDP 1 192.0.2.\xff 5 typ host\r\n");
        sdp.extend_from_slice(b"m=audio 50100 RTP/AVP 0\r\nc=IN IP4 192.0.2.8\r\n");
        sdp.extend_from_slice(b"a=candidate:8 1 UDP 2130706431 192.0.2.8 50102 typ host");
        let mut out = Vec::new();
        media_endpoints(&sdp, &mut out);
        assert_eq!(
            out,
            [
                ep(v4(192, 0, 2, 8), 50100, false, Audio, Connection),
                ep(v4(192, 0, 2, 8), 50102, false, Audio, Candidate),
            ]
        );
    }

    /// Bare LF line ends and session-level attributes.
    #[test]
    fn bare_lf_and_session_attributes() {
        let sdp = "v=0\nc=IN IP4 192.0.2.1\na=rtcp:9\na=candidate:1 1 UDP 1 192.0.2.2 9 typ host\nm=audio 50000 RTP/AVP 0\n";
        assert_eq!(
            endpoints(sdp),
            [ep(v4(192, 0, 2, 1), 50000, false, Audio, Connection)]
        );
    }

    /// 10 000 candidates: the output stops at MAX_ENDPOINTS, counting what it held before.
    #[test]
    fn ten_thousand_candidates_are_bounded() {
        let mut sdp = String::from("v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 50000 RTP/AVP 0\r\n");
        for i in 0..10_000u32 {
            sdp.push_str(&format!(
                "a=candidate:{i} 1 UDP {} 10.{}.{}.{} {} typ host\r\n",
                2_130_706_431 - i,
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff,
                1024 + (i % 60_000)
            ));
        }
        let mut out = Vec::new();
        media_endpoints(sdp.as_bytes(), &mut out);
        assert_eq!(out.len(), MAX_ENDPOINTS);
        let mut out = vec![ep(v4(198, 51, 100, 1), 1, false, Audio, Connection); MAX_ENDPOINTS - 3];
        media_endpoints(sdp.as_bytes(), &mut out);
        assert_eq!(out.len(), MAX_ENDPOINTS);
        media_endpoints(sdp.as_bytes(), &mut out);
        assert_eq!(out.len(), MAX_ENDPOINTS);
    }

    proptest! {
        /// Any bytes: no panic, bounded, no duplicates, no port 0 or unspecified address.
        #[test]
        fn any_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut out = Vec::new();
            media_endpoints(&data, &mut out);
            prop_assert!(out.len() <= MAX_ENDPOINTS);
        }

        /// Lines built from SDP-ish pieces: the invariants hold.
        #[test]
        fn sdp_like_lines(lines in proptest::collection::vec(
            (prop::sample::select(vec!["m=audio ", "m=video ", "c=IN IP4 ", "c=IN IP6 ", "a=rtcp:",
                "a=candidate:", "a=x-candidate-ipv6:", "a=x-candidate:", "x="]),
             "[0-9a-fA-F:. /]{0,40}"), 0..64)) {
            let sdp: String = lines.iter().map(|(k, v)| format!("{k}{v}\r\n")).collect();
            let mut out = Vec::new();
            media_endpoints(sdp.as_bytes(), &mut out);
            prop_assert!(out.len() <= MAX_ENDPOINTS);
            for (i, a) in out.iter().enumerate() {
                prop_assert!(a.port != 0 && !a.addr.is_unspecified());
                for b in out.iter().skip(i + 1) {
                    prop_assert!(!(a.addr == b.addr && a.port == b.port && a.tcp == b.tcp));
                }
            }
        }
    }
}
