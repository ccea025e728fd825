//! Payload evidence: what the bytes of a flow are, decided by cheap byte-level probes on the
//! first payload packets of each direction.
//!
//! A [`FlowInspector`] is fed the transport payloads of a flow's first packets until it is
//! [`settled`](FlowInspector::settled); after that the pipeline stops calling it, so a settled
//! flow costs nothing per packet. Every probe only reads bytes through bounds-checked accessors:
//! no input can make one panic or allocate.
//!
//! The probes are deliberately conservative: a single random datagram does not look like RTP
//! (that takes several packets with one SSRC and advancing sequence numbers), and STUN needs its
//! length field to agree with the datagram and the RFC 5389 magic cookie (or the RFC 3489 types).

mod bytes;
mod deep;
pub mod dns;
mod probes;
pub mod sdp;
pub mod sip;
pub mod stream;
pub mod stun;
pub mod tls;

use sfbflow_flow::Transport;

pub use deep::{
    Event, FlowEvidence, InspectStats, MAX_DNS_TCP_BYTES, MAX_STUN_MESSAGES, MAX_STUN_TCP_BYTES,
    MAX_TLS_SEGMENTS, Message, Outputs,
};
pub use probes::{StunKind, probe_stun};

/// What the bytes of a flow are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum AppProtocol {
    /// Payload seen, no probe recognised it (or no payload yet).
    #[default]
    Unknown,
    /// SIP in clear text.
    Sip,
    /// A TLS record stream.
    Tls,
    /// STUN (RFC 5389/8489 or classic RFC 3489), ICE connectivity checks.
    Stun,
    /// TURN (RFC 5766/8656): Allocate, Refresh, Send/Data, permissions, ChannelData.
    Turn,
    /// Microsoft's MS-TURN (MAGIC-COOKIE or MS-VERSION attributes).
    MsTurn,
    /// RTP media.
    Rtp,
    /// RTCP reports.
    Rtcp,
    /// DNS.
    Dns,
    /// HTTP in clear text.
    Http,
    /// XMPP.
    Xmpp,
}

impl AppProtocol {
    /// The name used in the output columns.
    pub fn as_str(self) -> &'static str {
        match self {
            AppProtocol::Unknown => "unknown",
            AppProtocol::Sip => "SIP",
            AppProtocol::Tls => "TLS",
            AppProtocol::Stun => "STUN",
            AppProtocol::Turn => "TURN",
            AppProtocol::MsTurn => "MS-TURN",
            AppProtocol::Rtp => "RTP",
            AppProtocol::Rtcp => "RTCP",
            AppProtocol::Dns => "DNS",
            AppProtocol::Http => "HTTP",
            AppProtocol::Xmpp => "XMPP",
        }
    }

    fn is_stun_family(self) -> bool {
        matches!(
            self,
            AppProtocol::Stun | AppProtocol::Turn | AppProtocol::MsTurn
        )
    }
}

/// Payload packets inspected per UDP flow at most; the verdict is final after them. ICE checks
/// can take a dozen packets before the media they set up begins.
pub const MAX_INSPECTED: u8 = 32;
/// Payload packets inspected per TCP flow at most: a stream says what it is in its first
/// segments, and a capture that began mid-stream shows continuation bytes no probe will know.
pub const MAX_INSPECTED_TCP: u8 = 4;

/// One packet's transport payload, as the inspector sees it.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// TCP or UDP.
    pub transport: Transport,
    /// 0 from the initiator, 1 from the responder.
    pub dir: usize,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// TCP sequence number of the first payload byte (0 for UDP).
    pub seq: u32,
    /// The payload as captured.
    pub payload: &'a [u8],
    /// Whether the payload is all there (false when the snapshot length cut it).
    pub complete: bool,
}

/// RTP state of one direction.
#[derive(Debug, Clone, Copy, Default)]
struct RtpTrack {
    ssrc: u32,
    seq: u16,
    hits: u8,
    rtcp_hits: u8,
}

/// The per-flow probe state: fixed size, and no heap until a probe claims the flow for a
/// protocol worth a deeper look (TLS, SIP, DNS, STUN).
#[derive(Debug, Clone, Default)]
pub struct FlowInspector {
    deep: Option<Box<deep::Deep>>,
    /// Payload type of the first RTP packet counted.
    rtp_pt: Option<u8>,
    found: AppProtocol,
    /// A STUN-family message was seen (kept when media follows).
    stun_seen: Option<AppProtocol>,
    inspected: u8,
    payload_seen: bool,
    rtp: [RtpTrack; 2],
    settled: bool,
}

impl FlowInspector {
    /// A fresh inspector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the verdict is final: the caller may stop feeding packets.
    #[inline]
    pub fn settled(&self) -> bool {
        self.settled
    }

    /// Whether more packets can add anything: the verdict is open, or a deeper look goes on
    /// (a TLS handshake not yet read, a SIP or DNS flow whose every message counts).
    #[inline]
    pub fn wants_more(&self) -> bool {
        !self.settled || self.deep.as_ref().is_some_and(|d| !d.done())
    }

    /// What the deeper look found about the flow (none when no probe claimed it).
    pub fn evidence(&self) -> Option<&FlowEvidence> {
        self.deep.as_ref().map(|d| &d.evidence)
    }

    /// The codec of the flow's RTP (`PCMU`, `G722`, ...), or `dynamic(N)` for a dynamic payload
    /// type; none when the flow is not RTP.
    pub fn rtp_codec(&self) -> Option<std::borrow::Cow<'static, str>> {
        if self.found != AppProtocol::Rtp {
            return None;
        }
        let pt = self.rtp_pt?;
        Some(match stun::codec_name(pt) {
            Some(name) => std::borrow::Cow::Borrowed(name),
            None => std::borrow::Cow::Owned(format!("dynamic({pt})")),
        })
    }

    /// Feeds one packet: the cheap probes while the verdict is open, then the deeper look of
    /// the protocol they found. SIP and DNS messages leave through `out.events`.
    pub fn inspect(&mut self, seg: &Segment<'_>, out: &mut Outputs) {
        if seg.payload.is_empty() {
            return;
        }
        let was_settled = self.settled;
        let had_stun = self.stun_seen.is_some();
        if !was_settled {
            self.observe(
                seg.transport,
                seg.dir,
                (seg.src_port, seg.dst_port),
                seg.payload,
            );
        }
        if self.deep.is_none() {
            let claimed = if self.found != AppProtocol::Unknown && !was_settled {
                Some(self.found)
            } else if self.stun_seen.is_some() && !had_stun {
                self.stun_seen
            } else {
                None
            };
            match claimed {
                Some(p) => self.deep = deep::Deep::for_protocol(p, seg.transport, seg.payload),
                None => return,
            }
        }
        if let Some(d) = self.deep.as_mut()
            && !d.done()
        {
            d.observe(seg, out);
        }
    }

    /// What the bytes are so far.
    pub fn app_protocol(&self) -> AppProtocol {
        match (self.found, self.stun_seen) {
            (AppProtocol::Unknown, Some(s)) => s,
            (f, _) => f,
        }
    }

    /// Whether any payload byte was seen.
    pub fn payload_seen(&self) -> bool {
        self.payload_seen
    }

    /// Whether STUN, TURN or MS-TURN was seen, also when media followed.
    pub fn stun_seen(&self) -> Option<AppProtocol> {
        self.stun_seen
    }

    /// Feeds one packet's transport payload. `dir` is 0 from the initiator, 1 from the
    /// responder; `ports` are (source, destination).
    pub fn observe(&mut self, transport: Transport, dir: usize, ports: (u16, u16), payload: &[u8]) {
        if self.settled || payload.is_empty() {
            return;
        }
        self.payload_seen = true;
        self.inspected = self.inspected.saturating_add(1);
        let dns_port = matches!(ports.0, 53 | 5353) || matches!(ports.1, 53 | 5353);
        let decided = match transport {
            Transport::Tcp => probes::probe_tcp(payload, dns_port),
            Transport::Udp => probes::probe_udp(payload, dns_port),
        };
        match decided {
            Some(p) if p.is_stun_family() => {
                // ICE checks may be followed by media on the same 5-tuple: keep looking (UDP).
                let better = match self.stun_seen {
                    Some(AppProtocol::MsTurn) => AppProtocol::MsTurn,
                    Some(AppProtocol::Turn) if p == AppProtocol::Stun => AppProtocol::Turn,
                    _ => p,
                };
                self.stun_seen = Some(better);
                if transport == Transport::Tcp {
                    self.settled = true;
                }
            }
            Some(p) => {
                self.found = p;
                self.settled = true;
            }
            None if transport == Transport::Udp => self.track_rtp(dir, payload),
            None => {}
        }
        let limit = match transport {
            Transport::Tcp => MAX_INSPECTED_TCP,
            Transport::Udp => MAX_INSPECTED,
        };
        if self.inspected >= limit {
            self.settled = true;
        }
    }

    /// RTP/RTCP need several datagrams: one SSRC, advancing sequence numbers.
    fn track_rtp(&mut self, dir: usize, payload: &[u8]) {
        let Some(track) = self.rtp.get_mut(dir & 1) else {
            return;
        };
        match probes::rtp_header(payload) {
            Some(probes::RtpLike::Rtp { ssrc, seq, pt }) => {
                if track.hits > 0 && ssrc == track.ssrc && seq == track.seq {
                    // A duplicate (a capture that saw each frame twice): neither for nor against.
                    return;
                }
                let advancing = seq.wrapping_sub(track.seq).wrapping_sub(1) < 16;
                if track.hits > 0 && ssrc == track.ssrc && advancing {
                    if track.hits == 1 && self.rtp_pt.is_none() {
                        self.rtp_pt = Some(pt);
                    }
                    track.hits = track.hits.saturating_add(1);
                } else {
                    track.hits = 1;
                }
                track.ssrc = ssrc;
                track.seq = seq;
            }
            Some(probes::RtpLike::Rtcp) => track.rtcp_hits = track.rtcp_hits.saturating_add(1),
            // A whole compound packet is as strong as two loose RTCP headers.
            Some(probes::RtpLike::RtcpCompound) => {
                track.rtcp_hits = track.rtcp_hits.saturating_add(2);
            }
            None => {}
        }
        if track.hits >= 3 {
            self.found = AppProtocol::Rtp;
            self.settled = true;
        } else if track.rtcp_hits >= 2 && track.hits == 0 && self.found == AppProtocol::Unknown {
            // RTCP so far, but RTP may share the port (RFC 5761) and start later: the verdict
            // stays open until RTP shows up or the inspection limit is reached.
            self.found = AppProtocol::Rtcp;
        }
    }
}

#[cfg(test)]
mod tests;
