//! The pipeline: capture records -> packet views -> flows -> verdicts -> sinks.
//!
//! One [`Pipeline`] reads any number of inputs in order as one capture (flows continue across
//! input boundaries), then [`Pipeline::finish`] ends the live flows and completes the sinks.

use sfbflow_capture::{
    CaptureReader, Format, ParseAhead, Queued, READ_AHEAD_CHUNK, READ_AHEAD_DEPTH, Record, Records,
    Source,
};
use std::borrow::Cow;
use std::fs::File;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sfbflow_catalogue::certs::{CertCheck, check_certificate};
use sfbflow_catalogue::signin::{SigninTracker, discovery_step};
use sfbflow_catalogue::{Catalogue, Classifier, FlowFacts, Role, Topology, Verdict};
use sfbflow_flow::{FlowConfig, FlowRecord, FlowTable, Transport};
use sfbflow_inspect::{AppProtocol, FlowEvidence, FlowInspector, Message, Outputs, Segment, tls};
use sfbflow_packet::{Decoded, Decoder, DecoderConfig, Malformed, Predecoded, Tunnel, predecode};
use sfbflow_sink::{
    CaptureMeta, FindingRow, FlowRow, InputStats, MAX_TIME_JUMP_NANOS, RunStats, Sink,
    SipDialogRow, format_rfc3339_nanos,
};

use crate::evidence::{DialogConfig, Dialogs, DnsLookups, Lookup, Seen};

/// Live flows ended at once at the end of a run.
const FINISH_BATCH: usize = 4096;
/// Sign-in paths shown in the summary at most.
const SIGNIN_LINES: usize = 20;
/// How often (capture time) the dialog and DNS tables look for entries to write.
const EVIDENCE_TICK_NANOS: i64 = 1_000_000_000;
/// How much earlier than the frames read before it an input of a multi-file capture may start
/// without a warning: the files of a rotated set follow one another, give or take the small
/// reordering of a capture's own timestamps.
const INPUT_ORDER_SLACK_NANOS: i64 = 1_000_000_000;

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Flow table settings (timeouts, bound, server ports).
    pub flow: FlowConfig,
    /// Decoder settings (fragment reassembly bounds).
    pub decoder: DecoderConfig,
    /// The documented flows (the built-in catalogue unless the user gave one).
    pub catalogue: Cow<'static, Catalogue>,
    /// The deployment's roles; without it classification is by port alone.
    pub topology: Option<Topology>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            flow: FlowConfig::default(),
            decoder: DecoderConfig::default(),
            catalogue: Cow::Borrowed(Catalogue::builtin()),
            topology: None,
        }
    }
}

/// How far a run has come, for a progress bar or a live status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the current input consumed.
    pub bytes: u64,
    /// Frames read in the whole run.
    pub packets: u64,
    /// Flows live now.
    pub live_flows: u64,
    /// Flows written so far that the documentation does not account for.
    pub undocumented: u64,
}

/// Why reading an input stopped early.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input is not a capture, or its header is broken: nothing was read from it.
    #[error("{name}")]
    Unreadable {
        /// The input's name.
        name: String,
        /// The reader's error.
        #[source]
        source: sfbflow_capture::Error,
    },
    /// A sink failed: the run cannot go on.
    #[error(transparent)]
    Sink(#[from] sfbflow_sink::Error),
}

/// Per-run counters kept on the hot path in fixed arrays, turned into a [`RunStats`] at the end.
struct Counters {
    packets: u64,
    wire_bytes: u64,
    transport_packets: u64,
    frames_off_clock: u64,
    clock_jumps: u64,
    other_ip: [u64; 256],
    not_ip: u64,
    unsupported_link: hashbrown::HashMap<u32, u64>,
    malformed: hashbrown::HashMap<Malformed, u64>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            packets: 0,
            wire_bytes: 0,
            transport_packets: 0,
            frames_off_clock: 0,
            clock_jumps: 0,
            other_ip: [0; 256],
            not_ip: 0,
            unsupported_link: hashbrown::HashMap::new(),
            malformed: hashbrown::HashMap::new(),
        }
    }
}

/// The whole job, fed record by record.
pub struct Pipeline {
    /// Payload probes per flow-table slot (reset when a new flow takes the slot).
    inspectors: Vec<FlowInspector>,
    /// Messages and counters of the payload inspection.
    outputs: Outputs,
    /// SIP dialogs and the media endpoints their SDP announced.
    dialogs: Dialogs,
    /// DNS queries waiting for their responses.
    dns: DnsLookups,
    /// Each client's sign-in discovery.
    signin: SigninTracker,
    /// Finished lookups and dialogs waiting for the sinks.
    dns_rows: Vec<Lookup>,
    dialog_rows: Vec<SipDialogRow>,
    /// Capture time of the next look at the dialog and DNS tables.
    next_tick: i64,
    /// Capture time of the next [`Sink::tick`].
    next_sink_tick: i64,
    /// Raised by a signal: the run ends as if the input had.
    stop: Option<Arc<AtomicBool>>,
    /// The stop flag ended the run.
    stopped: bool,
    /// Undocumented flows written so far.
    undocumented: u64,
    /// Ended flows with their payload evidence, waiting for the sinks.
    pending: Vec<(FlowRecord, FlowInspector)>,
    catalogue: Cow<'static, Catalogue>,
    topology: Option<Topology>,
    decoder: Decoder,
    table: FlowTable,
    sinks: Vec<Box<dyn Sink>>,
    counters: Counters,
    inputs: Vec<InputStats>,
    /// The capture's clock: the latest time taken (see [`Pipeline::clock`]).
    last_ts_nanos: i64,
    /// The time of the last frame, when it lay off the clock.
    off_clock: Option<i64>,
    /// The input (index in `inputs`) that last moved the clock.
    clock_input: Option<usize>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("table", &self.table)
            .finish()
    }
}

/// A reader the pipeline runs: its records, each with the decoder's fast path already run over
/// it when the reading thread did that ([`parse_ahead`]).
pub trait Input: Records {
    /// The next record, and its [`Predecoded`] if the reader computed it.
    ///
    /// # Errors
    /// As [`Records::next_record`].
    fn next_input(
        &mut self,
    ) -> Result<Option<(Record<'_>, Option<Predecoded>)>, sfbflow_capture::Error>;
}

impl<R: Source> Input for CaptureReader<R> {
    #[inline]
    fn next_input(
        &mut self,
    ) -> Result<Option<(Record<'_>, Option<Predecoded>)>, sfbflow_capture::Error> {
        Ok(self.next_record()?.map(|rec| (rec, None)))
    }
}

impl Input for ParseAhead<Predecoded> {
    #[inline]
    fn next_input(
        &mut self,
    ) -> Result<Option<(Record<'_>, Option<Predecoded>)>, sfbflow_capture::Error> {
        Ok(self.next_noted()?.map(|(rec, pre)| (rec, Some(pre))))
    }
}

/// How often [`open_input`] looks at the stop flag while a named pipe waits for its writer.
const OPEN_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Opens the capture file `path`; `None` if `stop` was raised first. Opening a named pipe waits
/// until a program opens it for writing, and a signal does not end that wait (its handler only
/// raises the flag, and the call goes on), so an input that is there but is no regular file (a
/// named pipe, a device) is opened on a thread of its own while this one watches the flag. Left
/// waiting after a stop, that thread ends with the process.
///
/// # Errors
/// The error of opening the file.
pub fn open_input(path: &std::path::Path, stop: &AtomicBool) -> Option<std::io::Result<File>> {
    // A regular file, or a path that is not there, answers at once.
    if std::fs::metadata(path).is_ok_and(|m| m.is_file()) || !path.exists() {
        return Some(File::open(path));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    let opener = std::thread::Builder::new()
        .name("sfbflow-open".into())
        .spawn(move || {
            let _ = tx.send(File::open(owned));
        });
    if let Err(e) = opener {
        return Some(Err(e));
    }
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        match rx.recv_timeout(OPEN_POLL) {
            Ok(opened) => return Some(opened),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Some(Err(std::io::Error::other(
                    "the opening thread ended without a word",
                )));
            }
        }
    }
}

/// Reads, parses and runs the decoder's fast path over `source` on a thread of its own (see
/// [`ParseAhead`]): the reading core does the `read()` calls, the record headers and the common
/// frames' headers while the bytes are in its cache, and this thread gets the answers. With
/// `stop`, the input ends soon after the flag is raised, also while the source waits.
///
/// # Errors
/// The capture's header errors; a thread that cannot start.
pub fn parse_ahead<R: std::io::Read + Send + 'static>(
    source: R,
    stop: Option<Arc<AtomicBool>>,
) -> Result<ParseAhead<Predecoded>, sfbflow_capture::Error> {
    ParseAhead::with_notes(source, READ_AHEAD_CHUNK, READ_AHEAD_DEPTH, stop, predecode)
}

/// [`parse_ahead`] of a regular file that is the next input of a run: read as soon as the
/// reading thread is done with the input before it ([`ParseAhead::queue`]).
///
/// # Errors
/// No reading thread could be started.
pub fn queue_ahead(file: File) -> Result<Queued<Predecoded>, sfbflow_capture::Error> {
    ParseAhead::queue(file, READ_AHEAD_CHUNK, READ_AHEAD_DEPTH, predecode)
}

/// A human name for a capture format.
pub fn format_name(f: Format) -> String {
    match f {
        Format::Pcap {
            nanos,
            big_endian,
            modified,
        } => format!(
            "{}pcap ({}, {})",
            if modified { "modified " } else { "" },
            if nanos { "nanoseconds" } else { "microseconds" },
            if big_endian {
                "big-endian"
            } else {
                "little-endian"
            }
        ),
        Format::PcapNg => "pcapng".to_string(),
    }
}

fn tunnel_name(t: Tunnel) -> Option<&'static str> {
    (t != Tunnel::None).then(|| t.as_str())
}

/// The facts the classifier needs about an ended flow.
pub fn flow_facts<'a>(rec: &FlowRecord, app_protocol: Option<&'a str>) -> FlowFacts<'a> {
    let f = &rec.flow;
    let (iip, iport) = f.initiator_endpoint();
    let (rip, rport) = f.responder_endpoint();
    FlowFacts {
        transport: f.key.transport,
        initiator: (iip.to_ip(), iport),
        responder: (rip.to_ip(), rport),
        direction_known: f.direction_basis == sfbflow_flow::DirectionBasis::Syn,
        app_protocol,
    }
}

/// The output row of an ended flow and its verdict; `swapped` turns the flow round (the
/// classifier found it documented the other way and the capture did not show who began).
pub fn flow_row<'a>(
    rec: &FlowRecord,
    verdict: &'a Verdict<'a>,
    swapped: bool,
    app_protocol: &'a str,
) -> FlowRow<'a> {
    let f = &rec.flow;
    let (mut iip, mut iport) = f.initiator_endpoint();
    let (mut rip, mut rport) = f.responder_endpoint();
    let (mut ipk, mut rpk) = (f.packets[0], f.packets[1]);
    let (mut ib, mut rb) = (f.bytes[0], f.bytes[1]);
    let (mut ipb, mut rpb) = (f.payload_bytes[0], f.payload_bytes[1]);
    let mut basis = f.direction_basis.as_str();
    if swapped {
        std::mem::swap(&mut iip, &mut rip);
        std::mem::swap(&mut iport, &mut rport);
        std::mem::swap(&mut ipk, &mut rpk);
        std::mem::swap(&mut ib, &mut rb);
        std::mem::swap(&mut ipb, &mut rpb);
        basis = sfbflow_flow::DirectionBasis::Port.as_str();
    }
    FlowRow {
        flow_id: f.seq,
        first_ts_nanos: f.first_ts_nanos,
        last_ts_nanos: f.last_ts_nanos,
        transport: f.key.transport.as_str(),
        initiator_ip: iip.to_ip(),
        responder_ip: rip.to_ip(),
        initiator_port: iport,
        responder_port: rport,
        initiator_packets: ipk,
        responder_packets: rpk,
        initiator_bytes: ib,
        responder_bytes: rb,
        initiator_payload_bytes: ipb,
        responder_payload_bytes: rpb,
        direction_basis: basis,
        initiator_role: verdict.initiator_role,
        responder_role: verdict.responder_role,
        app_protocol,
        tls_sni: None,
        sip_call_id: None,
        workload: verdict.workload.map(|w| w.as_str()),
        service: verdict.service,
        rule_id: verdict.rule_id,
        basis: verdict.basis.as_str(),
        documented: verdict.documented,
        finding: verdict.finding.map(|f| f.as_str()),
        end_reason: rec.end_reason.as_str(),
        vlan: f.vlan,
        tunnel: tunnel_name(f.tunnel),
        tls_version: None,
        tls_cert_subject: None,
        tls_cert_sans: None,
        cert_problem: None,
        sip_method: None,
        sip_user_agent: None,
        stun_seen: None,
        stun_method: None,
        rtp_codec: None,
        dns_query: None,
    }
}

impl Pipeline {
    /// A pipeline writing to `sinks`.
    pub fn new(cfg: PipelineConfig, sinks: Vec<Box<dyn Sink>>) -> Self {
        let udp_idle = cfg.flow.udp_idle_nanos;
        let dialog_cfg = DialogConfig {
            // Long enough for the media of an ended call to go idle and be counted first.
            linger_nanos: if udp_idle > 0 {
                udp_idle.saturating_add(10_000_000_000)
            } else {
                i64::MAX
            },
            idle_nanos: if cfg.flow.tcp_idle_nanos > 0 {
                cfg.flow.tcp_idle_nanos
            } else {
                i64::MAX
            },
        };
        let sip_domain = cfg.topology.as_ref().and_then(|t| t.sip_domain.clone());
        Pipeline {
            inspectors: Vec::new(),
            outputs: Outputs::default(),
            dialogs: Dialogs::new(dialog_cfg),
            dns: DnsLookups::default(),
            signin: SigninTracker::new(sip_domain),
            dns_rows: Vec::new(),
            dialog_rows: Vec::new(),
            next_tick: i64::MIN,
            next_sink_tick: i64::MIN,
            stop: None,
            stopped: false,
            undocumented: 0,
            pending: Vec::new(),
            catalogue: cfg.catalogue,
            topology: cfg.topology,
            decoder: Decoder::new(cfg.decoder),
            table: FlowTable::new(cfg.flow),
            sinks,
            counters: Counters::default(),
            inputs: Vec::new(),
            last_ts_nanos: i64::MIN,
            off_clock: None,
            clock_input: None,
        }
    }

    /// Ends the run early, as if the inputs had ended, once `stop` is raised (a signal): the
    /// live flows are then written by [`Pipeline::finish`] like at the end of a capture.
    pub fn set_stop(&mut self, stop: Arc<AtomicBool>) {
        self.stop = Some(stop);
    }

    /// Records that the stop flag ended the run outside [`run_records`](Self::run_records), while
    /// the caller waited to open an input: the counters say so, as for a stop mid-input.
    pub fn mark_stopped(&mut self) {
        self.stopped = true;
    }

    /// Whether the stop flag ended the run.
    pub fn stopped(&self) -> bool {
        self.stopped
            || self
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Calls `begin` on every sink.
    pub fn begin(&mut self, meta: &CaptureMeta) -> Result<(), sfbflow_sink::Error> {
        for s in &mut self.sinks {
            s.begin(meta)?;
        }
        Ok(())
    }

    /// Accounts one record. The hot path: a decode, a table update, and counters.
    #[inline]
    pub fn record(&mut self, rec: &Record<'_>) {
        self.record_predecoded(rec, None);
    }

    /// As [`record`](Self::record), with the decoder's fast path already run over the frame
    /// (by [`predecode`], on the thread that read it).
    #[inline]
    pub fn record_predecoded(&mut self, rec: &Record<'_>, pre: Option<&Predecoded>) {
        // The frame's own time for its flow; the clock's for everything that times out.
        let own_ts = rec.ts_nanos;
        let on_clock = self.clock(own_ts);
        let clock_ts = if on_clock { own_ts } else { self.last_ts_nanos };
        let rec = &Record {
            ts_nanos: clock_ts,
            ..*rec
        };
        let c = &mut self.counters;
        c.packets += 1;
        c.wire_bytes += u64::from(rec.origlen);
        let decoded = match pre {
            Some(p) => self.decoder.decode_predecoded(rec, p),
            None => self.decoder.decode(rec),
        };
        match decoded {
            Decoded::Packet(view) => {
                c.transport_packets += u64::from(view.frames);
                let result = if on_clock {
                    self.table.packet(&view, own_ts)
                } else {
                    self.table.packet_off_clock(&view, own_ts)
                };
                // Flows that ended now keep the evidence of their slot before it is reused.
                if self.table.has_ended() {
                    collect(&mut self.table, &mut self.inspectors, &mut self.pending);
                }
                if let Some(r) = result
                    && r.wants_payload
                {
                    let slot = r.slot as usize;
                    if self.inspectors.len() <= slot {
                        self.inspectors
                            .resize_with(slot + 1, FlowInspector::default);
                    }
                    if let Some(inspector) = self.inspectors.get_mut(slot) {
                        if r.new_flow {
                            *inspector = FlowInspector::default();
                        }
                        if inspector.wants_more()
                            && let Some(t) = Transport::from_proto(view.proto)
                        {
                            let seg = Segment {
                                transport: t,
                                dir: r.dir as usize,
                                src_port: view.src_port,
                                dst_port: view.dst_port,
                                seq: view.tcp_seq,
                                payload: view.payload,
                                complete: view.payload.len() as u64 >= u64::from(view.payload_len),
                            };
                            inspector.inspect(&seg, &mut self.outputs);
                            if !inspector.wants_more() {
                                // Later packets of this flow skip the inspector altogether.
                                self.table.payload_done(r.slot);
                            }
                            if !self.outputs.events.is_empty() {
                                let flow_id = self.table.flow(r.slot).map_or(0, |f| f.seq);
                                let seen = Seen {
                                    ts_nanos: own_ts,
                                    transport: t.as_str(),
                                    src: SocketAddr::new(view.src.to_ip(), view.src_port),
                                    dst: SocketAddr::new(view.dst.to_ip(), view.dst_port),
                                    flow_id,
                                };
                                self.messages(&seen);
                            }
                        }
                    }
                }
                if rec.ts_nanos >= self.next_tick {
                    self.tick(rec.ts_nanos);
                }
            }
            Decoded::OtherIp { proto, .. } => {
                if let Some(n) = c.other_ip.get_mut(usize::from(proto.0)) {
                    *n += 1;
                }
            }
            Decoded::NotIp { .. } => c.not_ip += 1,
            Decoded::FragmentHeld => {}
            Decoded::Malformed(m) => *c.malformed.entry(m).or_default() += 1,
            Decoded::UnsupportedLinkType(l) => *c.unsupported_link.entry(l.0).or_default() += 1,
        }
    }

    /// Whether a frame at `ts` is on the capture's clock (the latest time taken): within
    /// [`MAX_TIME_JUMP_NANOS`] of it, either way. A frame off the clock keeps its time for its
    /// flow, but moves no clock: nothing expires, ticks or rotates because of it (a corrupt or
    /// hand-made timestamp). When the frame before it was off the clock too and the two agree,
    /// the capture really goes on at another time: the clock moves there. Forward, the live
    /// flows then idle out as time passed; backward, they end at once and held fragments are
    /// dropped (their deadlines lie in the old time), and timeouts, ticks and rotation go on
    /// from the new time.
    #[inline]
    fn clock(&mut self, ts: i64) -> bool {
        let now = self.last_ts_nanos;
        let near = |a: i64, b: i64| a.abs_diff(b) <= MAX_TIME_JUMP_NANOS.unsigned_abs();
        if now == i64::MIN || near(ts, now) {
            self.off_clock = None;
            self.last_ts_nanos = now.max(ts);
            return true;
        }
        self.jump(ts, now)
    }

    #[cold]
    fn jump(&mut self, ts: i64, now: i64) -> bool {
        let near = |a: i64, b: i64| a.abs_diff(b) <= MAX_TIME_JUMP_NANOS.unsigned_abs();
        match self.off_clock.take() {
            Some(prev) if near(prev, ts) => {
                self.counters.clock_jumps += 1;
                self.last_ts_nanos = ts;
                if ts < now {
                    self.table.rebase(ts);
                    collect(&mut self.table, &mut self.inspectors, &mut self.pending);
                    self.decoder.flush();
                    self.next_tick = ts;
                    self.next_sink_tick = ts;
                }
                true
            }
            _ => {
                self.off_clock = Some(ts);
                self.counters.frames_off_clock += 1;
                false
            }
        }
    }

    /// Hands the SIP and DNS messages of the last packet to the dialog and lookup tables.
    fn messages(&mut self, seen: &Seen) {
        let mut events = std::mem::take(&mut self.outputs.events);
        for ev in events.drain(..) {
            // The message's own direction: the packet's source sent it.
            match ev.message {
                Message::Sip(msg) => self.dialogs.message(seen, &msg, &mut self.dialog_rows),
                Message::Dns(msg) => {
                    let before = self.dns_rows.len();
                    let topo = self.topology.as_ref();
                    self.dns
                        .message(seen, msg, |ip| role_of(topo, ip), &mut self.dns_rows);
                    self.lookups_done(before);
                }
            }
        }
        // Keep the vector's allocation for the next packet.
        self.outputs.events = events;
    }

    /// Capture time moved on: dialogs and DNS queries that are over leave their tables.
    fn tick(&mut self, now: i64) {
        self.next_tick = now.saturating_add(EVIDENCE_TICK_NANOS);
        self.dialogs.expire(now, &mut self.dialog_rows);
        let before = self.dns_rows.len();
        let topo = self.topology.as_ref();
        self.dns
            .expire(now, |ip| role_of(topo, ip), &mut self.dns_rows);
        self.lookups_done(before);
    }

    /// Fills the sign-in columns of the lookups finished since `from` and follows each
    /// client's sign-in discovery.
    fn lookups_done(&mut self, from: usize) {
        let domain = self.topology.as_ref().and_then(|t| t.sip_domain.as_deref());
        for l in self.dns_rows.iter_mut().skip(from) {
            let row = &mut l.row;
            if let Some((step, dom)) = discovery_step(&row.name, domain) {
                row.signin_step = Some(step.as_str());
                row.signin_domain = Some(dom.to_string());
            }
            let client = l.client;
            let ts = row.query_ts_nanos.or(row.response_ts_nanos).unwrap_or(0);
            self.signin.lookup(
                client,
                ts,
                &row.name,
                l.qtype,
                l.rcode,
                row.answer_count > 0,
            );
        }
    }

    /// Hands the flows that ended to the sinks, with their verdicts and evidence.
    #[inline]
    pub fn emit_ended(&mut self) -> Result<(), sfbflow_sink::Error> {
        if self.table.has_ended() {
            collect(&mut self.table, &mut self.inspectors, &mut self.pending);
        }
        if !self.dns_rows.is_empty() || !self.dialog_rows.is_empty() {
            self.emit_tables()?;
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending);
        let result = self.emit_flows(&mut pending);
        pending.clear();
        self.pending = pending;
        result
    }

    /// Tells the sinks that capture time has reached `now` (after the rows that ended by then).
    fn tick_sinks(&mut self, now: i64) -> Result<(), sfbflow_sink::Error> {
        self.emit_ended()?;
        for s in &mut self.sinks {
            s.tick(now)?;
        }
        Ok(())
    }

    /// Hands finished DNS lookups and SIP dialogs to the sinks.
    fn emit_tables(&mut self) -> Result<(), sfbflow_sink::Error> {
        for l in self.dns_rows.drain(..) {
            for s in self.sinks.iter_mut() {
                s.dns(&l.row)?;
            }
        }
        for row in self.dialog_rows.drain(..) {
            for s in self.sinks.iter_mut() {
                s.sip_dialog(&row)?;
            }
        }
        Ok(())
    }

    fn emit_flows(
        &mut self,
        pending: &mut Vec<(FlowRecord, FlowInspector)>,
    ) -> Result<(), sfbflow_sink::Error> {
        let classifier = Classifier::new(&self.catalogue, self.topology.as_ref());
        for (rec, inspector) in pending.drain(..) {
            let app = inspector.app_protocol();
            // "unknown" is evidence only when payload was seen: bytes no probe recognised.
            let seen = inspector.payload_seen().then_some(app.as_str());
            let facts = flow_facts(&rec, seen);
            let c = classifier.classify(&facts);
            let mut row = flow_row(&rec, &c.verdict, c.swapped, app.as_str());
            let ev = inspector.evidence();
            let extra = Extra::new(ev, &inspector);
            extra.fill(ev, &inspector, &mut row);
            // Media announced by a SIP dialog's SDP carries its Call-ID.
            let media_call_id = if row.sip_call_id.is_none() && is_media_candidate(app) {
                let a = SocketAddr::new(row.initiator_ip, row.initiator_port);
                let b = SocketAddr::new(row.responder_ip, row.responder_port);
                self.dialogs.media_call_id(a, b).map(str::to_string)
            } else {
                None
            };
            if let Some(id) = &media_call_id {
                row.sip_call_id = Some(id);
                let bytes = row.initiator_bytes + row.responder_bytes;
                self.dialogs.media_flow(id, bytes);
            }
            // The server certificate against the poster's rules for the responder's role.
            let problems = match (ev.and_then(|e| e.tls.as_ref()), &self.topology) {
                (Some(t), Some(topo)) => match &t.cert {
                    Some(cert) => check_certificate(&CertCheck {
                        role: row.responder_role.and_then(Role::from_name),
                        sip_domain: topo.sip_domain.as_deref(),
                        ad_domain: topo.ad_domain.as_deref(),
                        sni: t.sni.as_deref(),
                        subject_cn: cert.subject_cn.as_deref(),
                        sans: &cert.sans,
                        self_signed: cert.self_signed,
                        at_unix: Some(row.first_ts_nanos.div_euclid(1_000_000_000)),
                        not_before: cert.not_before,
                        not_after: cert.not_after,
                    }),
                    None => Vec::new(),
                },
                _ => Vec::new(),
            };
            let codes: Vec<&str> = problems.iter().map(|p| p.code()).collect();
            let cert_problem = codes.join(",");
            if !codes.is_empty() {
                row.cert_problem = Some(&cert_problem);
            }
            for s in self.sinks.iter_mut() {
                s.flow(&row)?;
            }
            if let Some(f) = row.finding {
                self.undocumented += 1;
                let detail = classifier.explain(&facts, &c);
                let finding = FindingRow::for_flow(&row, "flow", f, detail);
                for s in self.sinks.iter_mut() {
                    s.finding(&finding)?;
                }
            }
            for p in &problems {
                let finding = FindingRow::for_flow(&row, "certificate", p.code(), p.detail());
                for s in self.sinks.iter_mut() {
                    s.finding(&finding)?;
                }
            }
        }
        Ok(())
    }

    /// Reads one input to its end (or its first fatal error, which is recorded in its
    /// [`InputStats`] while everything before it counts, or the stop flag). `progress` is called
    /// every few thousand records and at the end.
    pub fn run_input<R: Source>(
        &mut self,
        name: &str,
        inner: R,
        progress: impl FnMut(&Progress),
    ) -> Result<(), InputError> {
        self.run_records(name, CaptureReader::new(inner), progress)
    }

    /// As [`run_input`](Self::run_input), from a reader already opened (a
    /// [`ParseAhead`](sfbflow_capture::ParseAhead), say), or the error that kept it from
    /// opening.
    pub fn run_records<C: Input>(
        &mut self,
        name: &str,
        reader: Result<C, sfbflow_capture::Error>,
        mut progress: impl FnMut(&Progress),
    ) -> Result<(), InputError> {
        let mut reader = reader.map_err(|source| InputError::Unreadable {
            name: name.to_string(),
            source,
        })?;
        let mut stats = InputStats {
            name: name.to_string(),
            format: format_name(reader.format()),
            ..InputStats::default()
        };
        let mut n: u32 = 0;
        // The clock before this input, for the check of its first frame.
        let clock_before = self.last_ts_nanos;
        let mut first = true;
        let mut order_warning = None;
        let outcome = loop {
            match reader.next_input() {
                Ok(Some((rec, pre))) => {
                    if first {
                        first = false;
                        order_warning = self.started_early(rec.ts_nanos, clock_before);
                    }
                    self.record_predecoded(&rec, pre.as_ref());
                    self.emit_ended()?;
                    // The clock, not the frame: a frame off the clock moves no period.
                    let now = self.last_ts_nanos;
                    if now >= self.next_sink_tick {
                        self.next_sink_tick = now.saturating_add(EVIDENCE_TICK_NANOS);
                        self.tick_sinks(now)?;
                    }
                    n = n.wrapping_add(1);
                    if n & 0xfff == 0 {
                        progress(&self.progress(reader.offset()));
                        if self.stopped() {
                            self.stopped = true;
                            break None;
                        }
                    }
                }
                Ok(None) => {
                    if self.stopped() {
                        self.stopped = true;
                    }
                    break None;
                }
                Err(e) => break Some(e),
            }
        };
        progress(&self.progress(reader.offset()));
        stats.bytes = reader.offset();
        stats.records = reader.stats().records;
        stats.warnings = order_warning
            .into_iter()
            .chain(reader.warnings().iter().map(|w| w.to_string()))
            .collect();
        if reader.stats().unknown_interface_records > 1 {
            stats.warnings.push(format!(
                "{} records referred to an undescribed interface and were skipped",
                reader.stats().unknown_interface_records
            ));
        }
        stats.error = outcome.map(|e| error_chain(&e));
        if self.last_ts_nanos != clock_before {
            self.clock_input = Some(self.inputs.len());
        }
        self.inputs.push(stats);
        Ok(())
    }

    /// The warning for an input of a multi-file capture whose first frame, at `first_ts`, is
    /// more than [`INPUT_ORDER_SLACK_NANOS`] earlier than the clock the inputs before it left
    /// (`clock`): its frames go back in time, which ends or splits the flows live across the
    /// boundary. A rotated set given out of order (a shell glob puts `file10` before `file2`)
    /// or captures of the same time given as one are what does that.
    fn started_early(&self, first_ts: i64, clock: i64) -> Option<String> {
        let earlier = clock.checked_sub(first_ts)?;
        if clock == i64::MIN || earlier <= INPUT_ORDER_SLACK_NANOS {
            return None;
        }
        let from = self
            .clock_input
            .and_then(|i| self.inputs.get(i))
            .map_or(String::new(), |i| format!(" (in {})", i.name));
        Some(format!(
            "starts at {}, {} before the latest frame read before it{from}: one capture's \
             inputs are read in the order given, and its flows split where time goes back; give \
             a rotated set in time order (a shell glob puts file10 before file2; given its \
             folder, sfbflow orders the files by their first frames), or unrelated captures \
             with --each",
            format_rfc3339_nanos(first_ts),
            span(earlier),
        ))
    }

    /// The progress figures, with `bytes` of the current input.
    fn progress(&self, bytes: u64) -> Progress {
        Progress {
            bytes,
            packets: self.counters.packets,
            live_flows: self.table.len() as u64,
            undocumented: self.undocumented,
        }
    }

    /// Ends every live flow, hands it to the sinks and completes them. Returns the run's counters.
    pub fn finish(mut self) -> Result<RunStats, sfbflow_sink::Error> {
        // No input follows: the reading threads' spare chunks and idle threads are let go.
        sfbflow_capture::end_of_inputs();
        self.decoder.flush();
        // The live flows end a batch at a time, each written before the next: the queue of
        // ended flows stays small however many were live.
        while self.table.finish_some(FINISH_BATCH) {
            self.emit_ended()?;
        }
        self.emit_ended()?;
        // No flow comes after this: the flows file's last rows are encoded while the dialogs,
        // lookups and counters below are made.
        for s in &mut self.sinks {
            s.flows_done()?;
        }
        // Dialogs after their media flows, so that those are counted.
        self.dialogs.finish(&mut self.dialog_rows);
        let before = self.dns_rows.len();
        let topo = self.topology.as_ref();
        self.dns.finish(|ip| role_of(topo, ip), &mut self.dns_rows);
        self.lookups_done(before);
        self.emit_tables()?;
        // Every row is handed over: the files are completed while the counters are gathered.
        for s in &mut self.sinks {
            s.rows_done()?;
        }
        let signin = self.sinks.iter().any(|s| s.shows_signin_paths());
        let stats = self.stats_with(signin);
        for s in &mut self.sinks {
            s.finish(&stats)?;
        }
        Ok(stats)
    }

    /// The summary's sign-in lines: clients whose discovery went the same way share a line
    /// (most clients first), at most [`SIGNIN_LINES`] lines. Without a SIP domain in the
    /// topology, only domains where a Lync-specific name was asked for count (any SIP client
    /// looks up `sip.<domain>`).
    fn signin_lines(&self) -> Vec<String> {
        let any_domain = self
            .topology
            .as_ref()
            .is_none_or(|t| t.sip_domain.is_none());
        // The same path of several clients: the line without its client address.
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let mut index: hashbrown::HashMap<String, usize> = hashbrown::HashMap::new();
        for p in self.signin.paths() {
            if any_domain && !p.steps.iter().any(|(s, _)| s.is_lync_specific()) {
                continue;
            }
            let line = p.describe();
            let client = p.client.to_string();
            let shape = line
                .strip_prefix(&client)
                .map(|rest| rest.trim_start().to_string())
                .unwrap_or(line);
            match index.get(&shape) {
                Some(&i) => {
                    if let Some(g) = groups.get_mut(i) {
                        g.1.push(client);
                    }
                }
                None => {
                    index.insert(shape.clone(), groups.len());
                    groups.push((shape, vec![client]));
                }
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
        let mut lines: Vec<String> = groups
            .iter()
            .take(SIGNIN_LINES)
            .map(|(shape, clients)| match clients.as_slice() {
                [one] => format!("{one} {shape}"),
                many => {
                    let shown: Vec<&str> = many.iter().take(3).map(String::as_str).collect();
                    format!(
                        "{} clients ({}{}) {shape}",
                        many.len(),
                        shown.join(", "),
                        if many.len() > 3 { ", ..." } else { "" }
                    )
                }
            })
            .collect();
        if groups.len() > SIGNIN_LINES {
            let rest: usize = groups.iter().skip(SIGNIN_LINES).map(|g| g.1.len()).sum();
            lines.push(format!(
                "... and {rest} more clients on {} other paths (every lookup is in dns.parquet)",
                groups.len() - SIGNIN_LINES
            ));
        }
        lines
    }

    /// The counters so far.
    pub fn stats(&self) -> RunStats {
        self.stats_with(true)
    }

    /// The counters so far; the sign-in lines only when `signin` (they are the costly part).
    fn stats_with(&self, signin: bool) -> RunStats {
        let c = &self.counters;
        let mut malformed: Vec<(&'static str, u64)> =
            c.malformed.iter().map(|(m, n)| (m.as_str(), *n)).collect();
        malformed.sort_unstable();
        let mut unsupported_link: Vec<(u32, u64)> =
            c.unsupported_link.iter().map(|(l, n)| (*l, *n)).collect();
        unsupported_link.sort_unstable();
        let other_ip = c
            .other_ip
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(p, n)| (u8::try_from(p).unwrap_or(u8::MAX), *n))
            .collect();
        let d = self.decoder.stats();
        let t = self.table.stats();
        RunStats {
            inputs: self.inputs.clone(),
            packets: c.packets,
            wire_bytes: c.wire_bytes,
            transport_packets: c.transport_packets,
            other_ip,
            not_ip: c.not_ip,
            unsupported_link,
            malformed,
            datagrams_reassembled: d.datagrams_reassembled,
            fragments_discarded: d.fragments_discarded,
            fragments_expired: d.fragments_expired,
            fragments_evicted: d.fragments_evicted,
            flows_evicted: t.flows_evicted,
            peak_live_flows: t.peak_live_flows,
            packets_out_of_order: t.packets_out_of_order,
            frames_off_clock: c.frames_off_clock,
            clock_jumps: c.clock_jumps,
            signin_paths: if signin {
                self.signin_lines()
            } else {
                Vec::new()
            },
            stopped_by_signal: self.stopped,
            inspection: self.outputs.stats.named(),
        }
    }
}

/// Moves the flows the table ended to `pending`, each with the evidence of its slot (taken
/// before a new flow reuses the slot).
fn collect(
    table: &mut FlowTable,
    inspectors: &mut [FlowInspector],
    pending: &mut Vec<(FlowRecord, FlowInspector)>,
) {
    table.drain_ended(|r| {
        let evidence = inspectors
            .get_mut(r.slot as usize)
            .map(std::mem::take)
            .unwrap_or_default();
        pending.push((r, evidence));
    });
}

/// The first role of an address in the topology.
fn role_of(topo: Option<&Topology>, ip: IpAddr) -> Option<&'static str> {
    topo?.roles_of(ip).iter().next().map(Role::as_str)
}

/// Whether a flow with these bytes may be media a SIP dialog announced.
fn is_media_candidate(app: AppProtocol) -> bool {
    !matches!(
        app,
        AppProtocol::Sip
            | AppProtocol::Tls
            | AppProtocol::Dns
            | AppProtocol::Http
            | AppProtocol::Xmpp
    )
}

/// The evidence columns of a flow row that are not strings of the evidence itself, owned while
/// the row borrows them.
struct Extra {
    tls_version: Option<Cow<'static, str>>,
    cert_sans: Option<String>,
    rtp_codec: Option<Cow<'static, str>>,
}

impl Extra {
    fn new(ev: Option<&FlowEvidence>, inspector: &FlowInspector) -> Self {
        let t = ev.and_then(|e| e.tls.as_deref());
        let cert = t.and_then(|t| t.cert.as_ref());
        Extra {
            tls_version: t.and_then(|t| t.version.or(t.client_version)).map(|v| {
                match tls::version_name(v) {
                    "unknown" => Cow::Owned(format!("0x{v:04x}")),
                    name => Cow::Borrowed(name),
                }
            }),
            cert_sans: cert
                .filter(|c| !c.sans.is_empty())
                .map(|c| c.sans.join(",")),
            rtp_codec: inspector.rtp_codec(),
        }
    }

    /// Points the row's evidence columns at these values and at the evidence's own strings.
    fn fill<'a>(
        &'a self,
        ev: Option<&'a FlowEvidence>,
        inspector: &FlowInspector,
        row: &mut FlowRow<'a>,
    ) {
        let t = ev.and_then(|e| e.tls.as_deref());
        row.tls_sni = t.and_then(|t| t.sni.as_deref());
        row.tls_version = self.tls_version.as_deref();
        row.tls_cert_subject = t
            .and_then(|t| t.cert.as_ref())
            .and_then(|c| c.subject_cn.as_deref());
        row.tls_cert_sans = self.cert_sans.as_deref();
        row.sip_call_id = ev.and_then(|e| e.sip_call_id.as_deref());
        row.sip_method = ev.and_then(|e| e.sip_method.as_deref());
        row.sip_user_agent = ev.and_then(|e| e.sip_user_agent.as_deref());
        row.stun_seen = inspector.stun_seen().map(AppProtocol::as_str);
        row.stun_method = ev.and_then(|e| e.stun_method.as_deref());
        row.rtp_codec = self.rtp_codec.as_deref();
        row.dns_query = ev.and_then(|e| e.dns_query.as_deref());
    }
}
/// An error and its sources on one line: `a: b: c`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// A positive span of time for people: `1.5 s`, `12 min`, `3.2 h`, `40 days`.
fn span(nanos: i64) -> String {
    let secs = nanos as f64 / 1e9;
    if secs < 120.0 {
        format!("{secs:.1} s")
    } else if secs < 2.0 * 3600.0 {
        format!("{:.0} min", secs / 60.0)
    } else if secs < 2.0 * 86_400.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.0} days", secs / 86_400.0)
    }
}
