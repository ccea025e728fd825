//! The deeper look at a flow that a cheap probe has claimed: TLS handshakes (SNI, version,
//! certificate), SIP messages (and the SDP that announces media), DNS messages, the first STUN
//! message. Allocated per flow only when a probe claims it ([`Deep::for_protocol`]), so a flow
//! no probe claims costs no heap at all.
//!
//! TCP directions are reassembled in order ([`StreamBuf`]) within a bound per protocol. SIP and
//! DNS messages leave as [`Event`]s for the pipeline's dialog and lookup tables; what describes
//! the flow itself stays in [`FlowEvidence`].

use crate::stream::{StreamBuf, StreamEnd};
use crate::{AppProtocol, Segment, dns, sip, stun, tls};
use sfbflow_flow::Transport;

/// STUN messages parsed per flow at most: the first says what kind of exchange it is.
pub const MAX_STUN_MESSAGES: u32 = 4;
/// Bytes of a TCP direction held for DNS (a 2-byte length and the message).
pub const MAX_DNS_TCP_BYTES: usize = 16 * 1024;
/// Bytes of a TCP direction held for STUN/TURN framing.
pub const MAX_STUN_TCP_BYTES: usize = 4 * 1024;
/// Payload segments per TCP direction given to the TLS parser at most: a handshake that has not
/// shown its hellos and certificate by then will not.
pub const MAX_TLS_SEGMENTS: u8 = 24;

/// A message that leaves the flow for a table of the whole capture.
#[derive(Debug, Clone)]
pub enum Message {
    /// A SIP request or response.
    Sip(Box<sip::SipMessage>),
    /// A DNS query or response (not boxed: a message is a few words, and DNS is the most
    /// frequent message).
    Dns(dns::DnsMessage),
}

/// A message with the direction it travelled in (0 from the initiator, 1 from the responder).
#[derive(Debug, Clone)]
pub struct Event {
    /// 0 from the initiator, 1 from the responder.
    pub dir: usize,
    /// The message.
    pub message: Message,
}

/// Counters of the deeper inspection over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InspectStats {
    /// TCP directions whose reassembly stopped at a gap (lost or unseen segments).
    pub stream_gaps: u64,
    /// TCP directions that reached their reassembly bound.
    pub streams_full: u64,
    /// SIP messages parsed.
    pub sip_messages: u64,
    /// SIP messages given up on (headers or body beyond the bound).
    pub sip_too_large: u64,
    /// DNS messages parsed.
    pub dns_messages: u64,
    /// DNS payloads that did not parse.
    pub dns_malformed: u64,
    /// DNS messages read only in part: a name with a compression loop, a pointer past the end,
    /// a name or label too long, a record cut off, counts the message does not hold (what came
    /// before it is kept).
    pub dns_cut_short: u64,
    /// SIP messages whose SDP reached the bound of [`crate::sdp::MAX_ENDPOINTS`] media
    /// endpoints (any beyond it were not kept).
    pub sdp_endpoints_capped: u64,
    /// TLS handshakes whose ClientHello was read.
    pub tls_client_hellos: u64,
    /// Server certificates read.
    pub tls_certificates: u64,
}

impl InspectStats {
    /// The non-zero counters, by name, for the summary.
    pub fn named(&self) -> Vec<(&'static str, u64)> {
        [
            ("TLS ClientHellos", self.tls_client_hellos),
            ("certificates", self.tls_certificates),
            ("SIP messages", self.sip_messages),
            ("SIP messages too large", self.sip_too_large),
            ("DNS messages", self.dns_messages),
            ("DNS payloads malformed", self.dns_malformed),
            ("DNS messages cut short", self.dns_cut_short),
            (
                "SDP endpoint lists at their bound",
                self.sdp_endpoints_capped,
            ),
            ("TCP streams with a gap", self.stream_gaps),
            ("TCP streams at their bound", self.streams_full),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

/// Where the inspector puts what leaves a flow.
#[derive(Debug, Default)]
pub struct Outputs {
    /// SIP and DNS messages, in the order seen; the caller drains it.
    pub events: Vec<Event>,
    /// Counters.
    pub stats: InspectStats,
}

/// What the deeper look says about the flow itself.
#[derive(Debug, Clone, Default)]
pub struct FlowEvidence {
    /// TLS handshake facts.
    pub tls: Option<Box<tls::TlsInfo>>,
    /// First SIP Call-ID of the flow.
    pub sip_call_id: Option<String>,
    /// First SIP request method.
    pub sip_method: Option<String>,
    /// First User-Agent (or Server) header.
    pub sip_user_agent: Option<String>,
    /// The first STUN message, as `Allocate request`.
    pub stun_method: Option<String>,
    /// First name asked for on a DNS flow.
    pub dns_query: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tls,
    Sip,
    Dns,
    Stun,
}

/// The deeper per-flow state.
#[derive(Debug, Clone)]
pub(crate) struct Deep {
    kind: Kind,
    /// TCP only: both directions' reassembly.
    streams: Option<Box<[StreamBuf; 2]>>,
    /// TLS: the direction that sent the ClientHello.
    tls_client: Option<usize>,
    tls_done: [bool; 2],
    tls_segments: [u8; 2],
    /// SIP/DNS/STUN over TCP: a direction that stopped parsing.
    stopped: [bool; 2],
    /// SIP over TCP: bytes of an over-long message still to drop, per direction.
    sip_skip: [usize; 2],
    stun_messages: u32,
    done: bool,
    pub(crate) evidence: FlowEvidence,
}

impl Deep {
    /// The deeper state for a flow that a probe has just said is `p`, or none when there is
    /// nothing more to learn from its bytes.
    pub(crate) fn for_protocol(
        p: AppProtocol,
        transport: Transport,
        first: &[u8],
    ) -> Option<Box<Deep>> {
        let kind = match p {
            // Only a handshake has anything to read: a stream caught mid-way has none. After
            // an SSLv2-style ClientHello (top bit set) the ServerHello is a TLS record.
            AppProtocol::Tls
                if transport == Transport::Tcp
                    && first.first().is_some_and(|b| *b == 0x16 || *b & 0x80 != 0) =>
            {
                Kind::Tls
            }
            AppProtocol::Sip => Kind::Sip,
            AppProtocol::Dns => Kind::Dns,
            AppProtocol::Stun | AppProtocol::Turn | AppProtocol::MsTurn => Kind::Stun,
            _ => return None,
        };

        let cap = |dir: usize| match kind {
            Kind::Tls if dir == 0 => tls::MAX_CLIENT_BYTES,
            Kind::Tls => tls::MAX_SERVER_BYTES,
            Kind::Sip => sip::MAX_HEADER_BYTES + sip::MAX_BODY_BYTES,
            Kind::Dns => MAX_DNS_TCP_BYTES,
            Kind::Stun => MAX_STUN_TCP_BYTES,
        };
        let streams = (transport == Transport::Tcp)
            .then(|| Box::new([StreamBuf::new(cap(0)), StreamBuf::new(cap(1))]));
        Some(Box::new(Deep {
            kind,
            streams,
            tls_client: None,
            tls_done: [false; 2],
            tls_segments: [0; 2],
            stopped: [false; 2],
            sip_skip: [0; 2],
            stun_messages: 0,
            done: false,
            evidence: FlowEvidence::default(),
        }))
    }

    /// Whether more packets can add anything.
    pub(crate) fn done(&self) -> bool {
        self.done
    }

    /// Looks at one segment or datagram.
    pub(crate) fn observe(&mut self, seg: &Segment<'_>, out: &mut Outputs) {
        if self.done || seg.payload.is_empty() {
            return;
        }
        let dir = seg.dir & 1;
        match seg.transport {
            Transport::Udp => self.datagram(dir, seg.payload, out),
            Transport::Tcp => {
                if self.kind == Kind::Tls && self.tls_done.get(dir).copied().unwrap_or(true) {
                    return;
                }
                let Some(stream) = self.streams.as_deref_mut().and_then(|s| s.get_mut(dir)) else {
                    return;
                };
                if self.kind == Kind::Tls
                    && stream.data().is_empty()
                    && stream.end().is_none()
                    && seg.payload.first() != Some(&0x16)
                {
                    // A direction that does not begin with a handshake record (the capture
                    // began mid-stream, or an SSLv2-style hello) has nothing more to read; the
                    // SSLv2-style hello still says which version the client offers.
                    if let (Some(b0), Some(1), Some(hi), Some(lo)) = (
                        seg.payload.first(),
                        seg.payload.get(2),
                        seg.payload.get(3),
                        seg.payload.get(4),
                    ) && b0 & 0x80 != 0
                    {
                        let info = self.evidence.tls.get_or_insert_with(Box::default);
                        info.client_version = Some(u16::from_be_bytes([*hi, *lo]));
                        self.tls_client = Some(dir);
                        out.stats.tls_client_hellos += 1;
                    }
                    self.tls_dir_done(dir);
                    return;
                }
                let before = stream.end();
                let grew = stream.push(seg.seq, seg.payload, seg.complete);
                if before.is_none() {
                    match stream.end() {
                        Some(StreamEnd::Gap) => out.stats.stream_gaps += 1,
                        Some(StreamEnd::Full) => out.stats.streams_full += 1,
                        None => {}
                    }
                }
                if grew {
                    self.stream(dir, out);
                }
                let ended = |d: usize| {
                    self.stopped.get(d).copied().unwrap_or(true)
                        || self
                            .streams
                            .as_deref()
                            .and_then(|s| s.get(d))
                            .is_none_or(|s| s.end().is_some())
                };
                if self.kind != Kind::Tls && ended(0) && ended(1) {
                    self.finish();
                }
            }
        }
    }

    /// Frees the buffers: nothing more will be parsed.
    fn finish(&mut self) {
        self.done = true;
        // Both buffers go at once.
        self.streams = None;
    }

    fn datagram(&mut self, dir: usize, p: &[u8], out: &mut Outputs) {
        match self.kind {
            Kind::Sip => {
                if let Some(msg) = sip::parse_datagram(p) {
                    self.sip_message(dir, msg, out);
                }
            }
            Kind::Dns => self.dns_message(dir, p, out),
            Kind::Stun => {
                if let Some(m) = stun::parse_stun(p) {
                    self.stun_message(&m);
                }
            }
            Kind::Tls => self.done = true,
        }
    }

    fn stream(&mut self, dir: usize, out: &mut Outputs) {
        match self.kind {
            Kind::Tls => self.tls(dir, out),
            Kind::Sip => self.sip_stream(dir, out),
            Kind::Dns => self.dns_stream(dir, out),
            Kind::Stun => self.stun_stream(dir),
        }
    }

    fn tls(&mut self, dir: usize, out: &mut Outputs) {
        let Some(stream) = self.streams.as_deref().and_then(|s| s.get(dir)) else {
            return;
        };
        let data = stream.data();
        if self.tls_client.is_none() {
            // The ClientHello says which side is the client, whatever the flow table thought.
            match (data.first(), data.get(5)) {
                (Some(0x16), Some(0x01)) => self.tls_client = Some(dir),
                (Some(0x16), Some(0x02)) => self.tls_client = Some(dir ^ 1),
                (Some(_), Some(_)) => self.tls_client = Some(0),
                _ => return,
            }
        }
        let Some(seen) = self.tls_segments.get_mut(dir) else {
            return;
        };
        *seen = seen.saturating_add(1);
        let info = self.evidence.tls.get_or_insert_with(Box::default);
        let had_hello = info.client_version.is_some();
        let had_cert = info.cert.is_some();
        let progress = if self.tls_client == Some(dir) {
            tls::parse_client(data, info)
        } else {
            tls::parse_server(data, info)
        };
        if !had_hello && info.client_version.is_some() {
            out.stats.tls_client_hellos += 1;
        }
        if !had_cert && info.cert.is_some() {
            out.stats.tls_certificates += 1;
        }
        let finished = progress != tls::Progress::NeedMore
            || *seen >= MAX_TLS_SEGMENTS
            || stream.end().is_some();
        if finished {
            self.tls_dir_done(dir);
        }
    }

    /// One TLS direction has nothing more to give: its buffer goes, and with both the flow.
    fn tls_dir_done(&mut self, dir: usize) {
        if let Some(d) = self.tls_done.get_mut(dir) {
            *d = true;
        }
        if let Some(s) = self.streams.as_deref_mut().and_then(|s| s.get_mut(dir)) {
            s.close();
        }
        if self.tls_done.iter().all(|d| *d) {
            self.finish();
        }
    }

    fn sip_message(&mut self, dir: usize, msg: sip::SipMessage, out: &mut Outputs) {
        out.stats.sip_messages += 1;
        if msg.media.len() >= crate::sdp::MAX_ENDPOINTS {
            out.stats.sdp_endpoints_capped += 1;
        }
        let ev = &mut self.evidence;
        if ev.sip_call_id.is_none() {
            ev.sip_call_id = msg.call_id.clone();
        }
        if ev.sip_method.is_none()
            && let sip::SipStart::Request { method, .. } = &msg.start
        {
            ev.sip_method = Some(method.clone());
        }
        if ev.sip_user_agent.is_none() {
            ev.sip_user_agent = msg.user_agent.clone();
        }
        out.events.push(Event {
            dir,
            message: Message::Sip(Box::new(msg)),
        });
    }

    fn sip_stream(&mut self, dir: usize, out: &mut Outputs) {
        loop {
            if self.stopped.get(dir).copied().unwrap_or(true) {
                return;
            }
            let Some(stream) = self.streams.as_deref_mut().and_then(|s| s.get_mut(dir)) else {
                return;
            };
            if let Some(skip) = self.sip_skip.get_mut(dir)
                && *skip > 0
            {
                let n = (*skip).min(stream.data().len());
                stream.consume(n);
                *skip -= n;
                if *skip > 0 {
                    return;
                }
            }
            match sip::parse_stream(stream.data()) {
                sip::StreamParse::Complete { msg, len } => {
                    stream.consume(len);
                    self.sip_message(dir, msg, out);
                }
                sip::StreamParse::KeepAlive { len } => stream.consume(len),
                sip::StreamParse::Incomplete => return,
                sip::StreamParse::NotSip => {
                    self.stop(dir);
                    return;
                }
                sip::StreamParse::TooLarge { skip } => {
                    out.stats.sip_too_large += 1;
                    match skip {
                        // A body beyond the bound: drop the message as it arrives, go on.
                        Some(n) => {
                            if let Some(k) = self.sip_skip.get_mut(dir) {
                                *k = n;
                            }
                        }
                        None => {
                            self.stop(dir);
                            return;
                        }
                    }
                }
            }
        }
    }

    fn stop(&mut self, dir: usize) {
        if let Some(s) = self.stopped.get_mut(dir) {
            *s = true;
        }
        if let Some(s) = self.streams.as_deref_mut().and_then(|s| s.get_mut(dir)) {
            s.close();
        }
    }

    fn dns_message(&mut self, dir: usize, p: &[u8], out: &mut Outputs) {
        match dns::parse_dns(p) {
            Some(msg) => {
                out.stats.dns_messages += 1;
                if msg.malformed {
                    out.stats.dns_cut_short += 1;
                }
                if self.evidence.dns_query.is_none() {
                    self.evidence.dns_query = msg.questions.first().map(|q| q.name.clone());
                }
                out.events.push(Event {
                    dir,
                    message: Message::Dns(msg),
                });
            }
            None => out.stats.dns_malformed += 1,
        }
    }

    fn dns_stream(&mut self, dir: usize, out: &mut Outputs) {
        loop {
            let Some(stream) = self.streams.as_deref_mut().and_then(|s| s.get_mut(dir)) else {
                return;
            };
            let data = stream.data();
            let (Some(hi), Some(lo)) = (data.first(), data.get(1)) else {
                return;
            };
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            let Some(body) = data.get(2..2 + len) else {
                if len + 2 > MAX_DNS_TCP_BYTES {
                    self.stop(dir);
                }
                return;
            };
            let body = body.to_vec();
            stream.consume(2 + len);
            self.dns_message(dir, &body, out);
        }
    }

    fn stun_message(&mut self, m: &stun::StunMessage) {
        self.stun_messages += 1;
        if self.evidence.stun_method.is_none() {
            self.evidence.stun_method = Some(stun_label(m));
        }
        if self.stun_messages >= MAX_STUN_MESSAGES || self.evidence.stun_method.is_some() {
            self.finish();
        }
    }

    fn stun_stream(&mut self, dir: usize) {
        let Some(stream) = self.streams.as_deref().and_then(|s| s.get(dir)) else {
            return;
        };
        match stun::parse_stun_tcp(stream.data()) {
            stun::TcpParse::Complete { msg, .. } => self.stun_message(&msg),
            stun::TcpParse::Skip { len } => {
                if let Some(s) = self.streams.as_deref_mut().and_then(|s| s.get_mut(dir)) {
                    s.consume(len);
                }
                self.stun_stream(dir);
            }
            stun::TcpParse::Incomplete => {}
            stun::TcpParse::NotStun => self.stop(dir),
        }
    }
}

/// `Allocate request`, `Binding success response`, `ChannelData`, ...
fn stun_label(m: &stun::StunMessage) -> String {
    if m.channel_data.is_some() {
        return "ChannelData".to_string();
    }
    let class = match m.class {
        stun::StunClass::Request => "request",
        stun::StunClass::Indication => "indication",
        stun::StunClass::SuccessResponse => "success response",
        stun::StunClass::ErrorResponse => "error response",
    };
    match m.error_code {
        Some(code) => format!("{} {class} {code}", m.method_name),
        None => format!("{} {class}", m.method_name),
    }
}
