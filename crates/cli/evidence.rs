//! The tables of the whole capture that payload evidence feeds: SIP dialogs (with the media
//! their SDP announced, so later RTP/RTCP/STUN flows carry the dialog's Call-ID) and DNS
//! lookups (queries paired with their responses).
//!
//! Both are sans-IO and run on capture time like the flow table: a dialog is written once it has
//! ended and stayed quiet for a linger, or when it has been idle for long; a query waits
//! [`DNS_ANSWER_WAIT_NANOS`] for its response. Both are bounded: beyond their limits the oldest
//! entries are written early and counted.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use hashbrown::HashMap;
use sfbflow_inspect::dns::{DnsMessage, rcode_name, type_name};
use sfbflow_inspect::sdp::EndpointSource;
use sfbflow_inspect::sip::{SipMessage, SipStart};
use sfbflow_sink::{DnsRow, SipDialogRow};

/// SIP dialogs held at most; beyond it the least recently active is written early.
pub const MAX_DIALOGS: usize = 100_000;
/// Media endpoints (address, port) remembered at most, across all dialogs.
pub const MAX_EXPECTATIONS: usize = 400_000;
/// Distinct flows remembered per dialog.
const MAX_DIALOG_FLOWS: usize = 64;
/// DNS queries waiting for a response at most.
pub const MAX_PENDING_QUERIES: usize = 65_536;
/// How long a DNS query waits for its response (capture time).
pub const DNS_ANSWER_WAIT_NANOS: i64 = 10_000_000_000;

/// Where a message was seen.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// Capture time.
    pub ts_nanos: i64,
    /// `udp` or `tcp`.
    pub transport: &'static str,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// The flow that carried it.
    pub flow_id: u64,
}

#[derive(Debug)]
struct Dialog {
    row: SipDialogRow,
    /// CSeq number and method of the first request.
    first_cseq: Option<(u32, String)>,
    bye_answered: bool,
    cancelled: bool,
    flows: Vec<u64>,
    /// Generation of its entry in the activity queue.
    touched: u64,
}

impl Dialog {
    fn terminated(&self) -> bool {
        match self.row.first_request.as_deref() {
            Some("INVITE") => self.bye_answered || self.row.final_status.is_some_and(|s| s >= 300),
            Some(_) => self.row.final_status.is_some(),
            None => false,
        }
    }

    fn state(&self) -> &'static str {
        let status = self.row.final_status;
        match (self.row.first_request.as_deref(), status) {
            (_, None) => "no_final_response",
            (Some("INVITE"), Some(s)) if (200..300).contains(&s) => {
                if self.bye_answered {
                    "ended"
                } else {
                    "established"
                }
            }
            (Some("INVITE"), Some(487)) => "cancelled",
            // Seen from its end: the capture began during the call.
            (Some("BYE"), Some(s)) if (200..300).contains(&s) => "ended",
            (_, Some(_)) if self.cancelled => "cancelled",
            (_, Some(s)) if (200..300).contains(&s) => "completed",
            (_, Some(_)) => "failed",
        }
    }
}

/// Settings of the dialog table.
#[derive(Debug, Clone, Copy)]
pub struct DialogConfig {
    /// Quiet time after a dialog ended before it is written (longer than the UDP idle timeout,
    /// so that its media flows have ended and been counted).
    pub linger_nanos: i64,
    /// Quiet time after which a dialog that never ended is written.
    pub idle_nanos: i64,
}

/// SIP dialogs by Call-ID, and the media endpoints their SDP announced.
#[derive(Debug)]
pub struct Dialogs {
    cfg: DialogConfig,
    by_call_id: HashMap<String, Dialog>,
    /// (last activity, generation, Call-ID) in activity order; stale entries skipped lazily.
    activity: VecDeque<(i64, u64, String)>,
    generation: u64,
    /// Announced media endpoint -> Call-ID.
    expectations: HashMap<SocketAddr, String>,
    expectation_order: VecDeque<SocketAddr>,
    /// Dialogs written early to stay within [`MAX_DIALOGS`].
    pub evicted: u64,
}

impl Dialogs {
    /// An empty table.
    pub fn new(cfg: DialogConfig) -> Self {
        Dialogs {
            cfg,
            by_call_id: HashMap::new(),
            activity: VecDeque::new(),
            generation: 0,
            expectations: HashMap::new(),
            expectation_order: VecDeque::new(),
            evicted: 0,
        }
    }

    /// Accounts one SIP message. Dialogs pushed out by the bound go to `out`.
    pub fn message(&mut self, at: &Seen, msg: &SipMessage, out: &mut Vec<SipDialogRow>) {
        let Some(call_id) = msg.call_id.as_deref() else {
            return;
        };
        if !self.by_call_id.contains_key(call_id) {
            if self.by_call_id.len() >= MAX_DIALOGS {
                self.evict_one(out);
            }
            let (client, server) = match msg.start {
                SipStart::Request { .. } => (at.src, at.dst),
                SipStart::Response { .. } => (at.dst, at.src),
            };
            let row = SipDialogRow {
                call_id: call_id.to_string(),
                first_ts_nanos: at.ts_nanos,
                last_ts_nanos: at.ts_nanos,
                transport: at.transport,
                client_ip: client.ip(),
                client_port: client.port(),
                server_ip: server.ip(),
                server_port: server.port(),
                state: "no_final_response",
                ..SipDialogRow::default()
            };
            self.by_call_id.insert(
                call_id.to_string(),
                Dialog {
                    row,
                    first_cseq: None,
                    bye_answered: false,
                    cancelled: false,
                    flows: Vec::new(),
                    touched: 0,
                },
            );
        }
        self.generation += 1;
        let generation = self.generation;
        let Some(d) = self.by_call_id.get_mut(call_id) else {
            return;
        };
        d.touched = generation;
        self.activity
            .push_back((at.ts_nanos, generation, call_id.to_string()));
        let row = &mut d.row;
        row.messages = row.messages.saturating_add(1);
        row.last_ts_nanos = row.last_ts_nanos.max(at.ts_nanos);
        if d.flows.len() < MAX_DIALOG_FLOWS && !d.flows.contains(&at.flow_id) {
            d.flows.push(at.flow_id);
            row.sip_flows = row.sip_flows.saturating_add(1);
        }
        if row.ms_diagnostics.is_none() {
            row.ms_diagnostics = msg
                .ms_headers
                .iter()
                .find(|(k, _)| {
                    k.eq_ignore_ascii_case("ms-client-diagnostics")
                        || k.eq_ignore_ascii_case("ms-diagnostics")
                        || k.eq_ignore_ascii_case("ms-diagnostics-public")
                })
                .map(|(_, v)| v.clone());
        }
        match &msg.start {
            SipStart::Request { method, uri } => {
                if row.first_request.is_none() {
                    row.first_request = Some(method.clone());
                    row.request_uri = Some(uri.clone());
                    row.from_uri = msg.from_uri.clone();
                    row.to_uri = msg.to_uri.clone();
                    d.first_cseq = msg.cseq.clone();
                }
                if method == "CANCEL" {
                    d.cancelled = true;
                }
                if row.user_agent.is_none() {
                    row.user_agent = msg.user_agent.clone();
                }
            }
            SipStart::Response { code, reason } => {
                let answers_first = match (&msg.cseq, &d.first_cseq) {
                    (Some(c), Some(f)) => c == f,
                    _ => false,
                };
                if answers_first && *code >= 200 && row.final_status.is_none() {
                    row.final_status = Some(*code);
                    row.final_reason = Some(reason.clone());
                }
                if *code >= 200 && msg.cseq.as_ref().is_some_and(|(_, m)| m == "BYE") {
                    d.bye_answered = true;
                }
                if row.server.is_none() {
                    row.server = msg.user_agent.clone();
                }
            }
        }
        // Each announced endpoint, and for an m= line's RTP port the RTCP port next to it
        // (RFC 3550 §11; an explicit a=rtcp comes as an endpoint of its own).
        let rtcp_next = msg
            .media
            .iter()
            .filter(|m| m.source == EndpointSource::Connection && m.port % 2 == 0)
            .filter_map(|m| Some(SocketAddr::new(m.addr, m.port.checked_add(1)?)));
        let endpoints: Vec<(SocketAddr, bool)> = msg
            .media
            .iter()
            .map(|m| (SocketAddr::new(m.addr, m.port), true))
            .chain(rtcp_next.map(|ep| (ep, false)))
            .collect();
        for (ep, announced) in endpoints {
            if ep.port() == 0 || ep.ip().is_unspecified() {
                continue;
            }
            let known = self.expectations.get(&ep).is_some_and(|c| c == call_id);
            if !known {
                if self.expectations.len() >= MAX_EXPECTATIONS
                    && let Some(old) = self.expectation_order.pop_front()
                {
                    self.expectations.remove(&old);
                }
                if self.expectations.insert(ep, call_id.to_string()).is_none() {
                    self.expectation_order.push_back(ep);
                }
                if announced {
                    row.media_endpoints = row.media_endpoints.saturating_add(1);
                }
            }
        }
        d.row.state = d.state();
    }

    /// The Call-ID of the dialog whose SDP announced either end of a flow.
    pub fn media_call_id(&self, a: SocketAddr, b: SocketAddr) -> Option<&str> {
        self.expectations
            .get(&b)
            .or_else(|| self.expectations.get(&a))
            .map(String::as_str)
    }

    /// Counts a media flow (and its bytes) for a dialog still held.
    pub fn media_flow(&mut self, call_id: &str, bytes: u64) {
        if let Some(d) = self.by_call_id.get_mut(call_id) {
            d.row.media_flows = d.row.media_flows.saturating_add(1);
            d.row.media_bytes = d.row.media_bytes.saturating_add(bytes);
        }
    }

    /// Writes the dialogs that are over at capture time `now` to `out`.
    pub fn expire(&mut self, now: i64, out: &mut Vec<SipDialogRow>) {
        while let Some((ts, generation, call_id)) = self.activity.front() {
            let (ts, generation) = (*ts, *generation);
            let current = self
                .by_call_id
                .get(call_id.as_str())
                .is_some_and(|d| d.touched == generation);
            if !current {
                self.activity.pop_front();
                continue;
            }
            // Activity is in time order (mostly: capture time can step back); the front is the
            // quietest dialog. An ended one goes after the linger, any one after the idle time.
            let quiet = now.saturating_sub(ts);
            let ended = self
                .by_call_id
                .get(call_id.as_str())
                .is_some_and(Dialog::terminated);
            if quiet >= self.cfg.idle_nanos || (ended && quiet >= self.cfg.linger_nanos) {
                if let Some((_, _, id)) = self.activity.pop_front()
                    && let Some(d) = self.by_call_id.remove(id.as_str())
                {
                    out.push(finish_row(d));
                }
            } else {
                break;
            }
        }
        // Keep the queue from holding many stale entries of busy dialogs.
        if self.activity.len() > 4 * self.by_call_id.len() + 1024 {
            let live = &self.by_call_id;
            self.activity
                .retain(|(_, g, id)| live.get(id.as_str()).is_some_and(|d| d.touched == *g));
        }
    }

    fn evict_one(&mut self, out: &mut Vec<SipDialogRow>) {
        while let Some((_, generation, call_id)) = self.activity.pop_front() {
            let current = self
                .by_call_id
                .get(call_id.as_str())
                .is_some_and(|d| d.touched == generation);
            if current && let Some(d) = self.by_call_id.remove(call_id.as_str()) {
                self.evicted += 1;
                out.push(finish_row(d));
                return;
            }
        }
    }

    /// Writes every dialog still held, in order of first message.
    pub fn finish(&mut self, out: &mut Vec<SipDialogRow>) {
        let mut rest: Vec<Dialog> = self.by_call_id.drain().map(|(_, d)| d).collect();
        rest.sort_by(|a, b| {
            (a.row.first_ts_nanos, &a.row.call_id).cmp(&(b.row.first_ts_nanos, &b.row.call_id))
        });
        out.extend(rest.into_iter().map(finish_row));
        self.activity.clear();
    }
}

fn finish_row(d: Dialog) -> SipDialogRow {
    d.row
}

/// A finished DNS lookup: its row, and the numbers the sign-in tracker reads.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The `dns.parquet` row.
    pub row: DnsRow,
    /// The query type.
    pub qtype: u16,
    /// The response code; none without a response.
    pub rcode: Option<u8>,
    /// The asking side.
    pub client: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct QueryKey {
    client: SocketAddr,
    server: SocketAddr,
    id: u16,
    tcp: bool,
}

#[derive(Debug)]
struct Pending {
    ts_nanos: i64,
    flow_id: u64,
    name: String,
    qtype: u16,
    seq: u64,
}

/// DNS queries waiting for their responses.
#[derive(Debug, Default)]
pub struct DnsLookups {
    pending: HashMap<QueryKey, Pending>,
    order: VecDeque<(i64, u64, QueryKey)>,
    seq: u64,
    /// Queries given up on early to stay within [`MAX_PENDING_QUERIES`].
    pub evicted: u64,
}

impl DnsLookups {
    /// Accounts one DNS message; finished lookups go to `out`. `client_role` names the asking
    /// side's role for the row. The message is taken: its question's name becomes the row's.
    pub fn message(
        &mut self,
        at: &Seen,
        msg: DnsMessage,
        client_role: impl Fn(IpAddr) -> Option<&'static str>,
        out: &mut Vec<Lookup>,
    ) {
        let tcp = at.transport == "tcp";
        if !msg.response {
            let key = QueryKey {
                client: at.src,
                server: at.dst,
                id: msg.id,
                tcp,
            };
            if self.pending.contains_key(&key) {
                // A retransmission: the first query's time counts.
                return;
            }
            if self.pending.len() >= MAX_PENDING_QUERIES {
                self.give_up_oldest(&client_role, out);
            }
            let (name, qtype) = msg
                .questions
                .into_iter()
                .next()
                .map(|q| (q.name, q.qtype))
                .unwrap_or_default();
            self.seq += 1;
            self.order.push_back((at.ts_nanos, self.seq, key.clone()));
            self.pending.insert(
                key,
                Pending {
                    ts_nanos: at.ts_nanos,
                    flow_id: at.flow_id,
                    name,
                    qtype,
                    seq: self.seq,
                },
            );
            return;
        }
        let key = QueryKey {
            client: at.dst,
            server: at.src,
            id: msg.id,
            tcp,
        };
        let mut query = self.pending.remove(&key);
        let count = msg.answers.len() + usize::from(msg.more_answers);
        let (name, qtype) = match (msg.questions.into_iter().next(), &mut query) {
            (Some(q), _) => (q.name, q.qtype),
            (None, Some(q)) => (std::mem::take(&mut q.name), q.qtype),
            (None, None) => Default::default(),
        };
        let mut answers = String::new();
        for a in &msg.answers {
            if !answers.is_empty() {
                answers.push_str("; ");
            }
            answers.push_str(&type_name(a.rtype));
            answers.push(' ');
            answers.push_str(&a.data);
        }
        let row = DnsRow {
            flow_id: query.as_ref().map_or(at.flow_id, |q| q.flow_id),
            query_ts_nanos: query.as_ref().map(|q| q.ts_nanos),
            response_ts_nanos: Some(at.ts_nanos),
            transport: at.transport,
            client_ip: at.dst.ip(),
            client_port: at.dst.port(),
            server_ip: at.src.ip(),
            server_port: at.src.port(),
            client_role: client_role(at.dst.ip()),
            id: msg.id,
            name,
            qtype: type_name(qtype),
            rcode: Some(rcode_name(msg.rcode)),
            answers: (!answers.is_empty()).then_some(answers),
            answer_count: u16::try_from(count).unwrap_or(u16::MAX),
            latency_ms: query
                .as_ref()
                .map(|q| (at.ts_nanos - q.ts_nanos) as f64 / 1e6),
            signin_step: None,
            signin_domain: None,
        };
        out.push(Lookup {
            row,
            qtype,
            rcode: Some(msg.rcode),
            client: at.dst.ip(),
        });
    }

    /// Gives up on the queries that waited longer than [`DNS_ANSWER_WAIT_NANOS`] by `now`.
    pub fn expire(
        &mut self,
        now: i64,
        client_role: impl Fn(IpAddr) -> Option<&'static str>,
        out: &mut Vec<Lookup>,
    ) {
        while let Some((ts, _, _)) = self.order.front() {
            if now.saturating_sub(*ts) < DNS_ANSWER_WAIT_NANOS {
                break;
            }
            self.pop_front(&client_role, out);
        }
    }

    /// Gives up on every query still waiting.
    pub fn finish(
        &mut self,
        client_role: impl Fn(IpAddr) -> Option<&'static str>,
        out: &mut Vec<Lookup>,
    ) {
        while !self.order.is_empty() {
            self.pop_front(&client_role, out);
        }
    }

    fn give_up_oldest(
        &mut self,
        client_role: &impl Fn(IpAddr) -> Option<&'static str>,
        out: &mut Vec<Lookup>,
    ) {
        let before = out.len();
        while out.len() == before && !self.order.is_empty() {
            self.pop_front(client_role, out);
        }
        self.evicted += 1;
    }

    fn pop_front(
        &mut self,
        client_role: &impl Fn(IpAddr) -> Option<&'static str>,
        out: &mut Vec<Lookup>,
    ) {
        let Some((_, seq, key)) = self.order.pop_front() else {
            return;
        };
        // Answered queries left their entry behind in `order`; only a live one is written.
        if self.pending.get(&key).is_none_or(|p| p.seq != seq) {
            return;
        }
        let Some(q) = self.pending.remove(&key) else {
            return;
        };
        let qtype = q.qtype;
        let row = DnsRow {
            flow_id: q.flow_id,
            query_ts_nanos: Some(q.ts_nanos),
            response_ts_nanos: None,
            transport: if key.tcp { "tcp" } else { "udp" },
            client_ip: key.client.ip(),
            client_port: key.client.port(),
            server_ip: key.server.ip(),
            server_port: key.server.port(),
            client_role: client_role(key.client.ip()),
            id: key.id,
            name: q.name,
            qtype: type_name(q.qtype),
            rcode: None,
            answers: None,
            answer_count: 0,
            latency_ms: None,
            signin_step: None,
            signin_domain: None,
        };
        out.push(Lookup {
            row,
            qtype,
            rcode: None,
            client: key.client.ip(),
        });
    }
}
