//! The pipeline: capture records -> packet views -> flows -> verdicts -> sinks.
//!
//! One [`Pipeline`] reads any number of inputs in order as one capture (flows continue across
//! input boundaries), then [`Pipeline::finish`] ends the live flows and completes the sinks.

use std::io::Read;

use sfbflow_capture::{CaptureReader, Format, Record};
use std::borrow::Cow;

use sfbflow_catalogue::{Catalogue, Classifier, FlowFacts, Topology, Verdict};
use sfbflow_flow::{FlowConfig, FlowRecord, FlowTable};
use sfbflow_inspect::FlowInspector;
use sfbflow_packet::{Decoded, Decoder, DecoderConfig, Malformed, Tunnel};
use sfbflow_sink::{CaptureMeta, FlowRow, InputStats, RunStats, Sink};

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

/// Why reading an input stopped early.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input is not a capture, or its header is broken: nothing was read from it.
    #[error("{name}: {source}")]
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
    /// Ended flows with their payload evidence, waiting for the sinks.
    pending: Vec<(FlowRecord, FlowInspector)>,
    catalogue: Cow<'static, Catalogue>,
    topology: Option<Topology>,
    decoder: Decoder,
    table: FlowTable,
    sinks: Vec<Box<dyn Sink>>,
    counters: Counters,
    inputs: Vec<InputStats>,
    last_ts_nanos: i64,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("table", &self.table)
            .finish()
    }
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
    verdict: &'a Verdict,
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
        service: verdict.service.as_deref(),
        rule_id: verdict.rule_id.as_deref(),
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
        Pipeline {
            inspectors: Vec::new(),
            pending: Vec::new(),
            catalogue: cfg.catalogue,
            topology: cfg.topology,
            decoder: Decoder::new(cfg.decoder),
            table: FlowTable::new(cfg.flow),
            sinks,
            counters: Counters::default(),
            inputs: Vec::new(),
            last_ts_nanos: i64::MIN,
        }
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
        let c = &mut self.counters;
        c.packets += 1;
        c.wire_bytes += u64::from(rec.origlen);
        if rec.ts_nanos > self.last_ts_nanos {
            self.last_ts_nanos = rec.ts_nanos;
        }
        match self.decoder.decode(rec) {
            Decoded::Packet(view) => {
                c.transport_packets += u64::from(view.frames);
                let result = self.table.packet(&view, rec.ts_nanos);
                // Flows that ended now keep the evidence of their slot before it is reused.
                if self.table.has_ended() {
                    collect(&mut self.table, &self.inspectors, &mut self.pending);
                }
                if let Some(r) = result {
                    let slot = r.slot as usize;
                    if self.inspectors.len() <= slot {
                        self.inspectors
                            .resize_with(slot + 1, FlowInspector::default);
                    }
                    if let Some(inspector) = self.inspectors.get_mut(slot) {
                        if r.new_flow {
                            *inspector = FlowInspector::default();
                        }
                        if !inspector.settled()
                            && let Some(t) = sfbflow_flow::Transport::from_proto(view.proto)
                        {
                            let ports = (view.src_port, view.dst_port);
                            inspector.observe(t, r.dir as usize, ports, view.payload);
                        }
                    }
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

    /// Hands the flows that ended to the sinks, with their verdicts.
    #[inline]
    pub fn emit_ended(&mut self) -> Result<(), sfbflow_sink::Error> {
        if self.table.has_ended() {
            collect(&mut self.table, &self.inspectors, &mut self.pending);
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let classifier = Classifier::new(&self.catalogue, self.topology.as_ref());
        for (rec, evidence) in self.pending.drain(..) {
            let app = evidence.app_protocol();
            // "unknown" is evidence only when payload was seen: bytes no probe recognised.
            let seen = evidence.payload_seen().then_some(app.as_str());
            let c = classifier.classify(&flow_facts(&rec, seen));
            let row = flow_row(&rec, &c.verdict, c.swapped, app.as_str());
            for s in self.sinks.iter_mut() {
                s.flow(&row)?;
            }
        }
        Ok(())
    }

    /// Reads one input to its end (or its first fatal error, which is recorded in its
    /// [`InputStats`] while everything before it counts). `progress` is called now and then with
    /// the input bytes consumed so far.
    pub fn run_input<R: Read>(
        &mut self,
        name: &str,
        inner: R,
        mut progress: impl FnMut(u64),
    ) -> Result<(), InputError> {
        let mut reader = CaptureReader::new(inner).map_err(|source| InputError::Unreadable {
            name: name.to_string(),
            source,
        })?;
        let mut stats = InputStats {
            name: name.to_string(),
            format: format_name(reader.format()),
            ..InputStats::default()
        };
        let mut n: u32 = 0;
        let outcome = loop {
            match reader.next_record() {
                Ok(Some(rec)) => {
                    self.record(&rec);
                    self.emit_ended()?;
                    n = n.wrapping_add(1);
                    if n & 0xffff == 0 {
                        progress(reader.offset());
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        progress(reader.offset());
        stats.bytes = reader.offset();
        stats.records = reader.stats().records;
        stats.warnings = reader.warnings().iter().map(|w| w.to_string()).collect();
        if reader.stats().unknown_interface_records > 1 {
            stats.warnings.push(format!(
                "{} records referred to an undescribed interface and were skipped",
                reader.stats().unknown_interface_records
            ));
        }
        stats.error = outcome.map(|e| error_chain(&e));
        self.inputs.push(stats);
        Ok(())
    }

    /// Ends every live flow, hands it to the sinks and completes them. Returns the run's counters.
    pub fn finish(mut self) -> Result<RunStats, sfbflow_sink::Error> {
        self.decoder.flush();
        self.table.finish();
        self.emit_ended()?;
        let stats = self.stats();
        for s in &mut self.sinks {
            s.finish(&stats)?;
        }
        Ok(stats)
    }

    /// The counters so far.
    pub fn stats(&self) -> RunStats {
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
            signin_paths: Vec::new(),
            inspection: Vec::new(),
        }
    }
}

/// Moves the flows the table ended to `pending`, each with the evidence of its slot (read before
/// a new flow reuses the slot).
fn collect(
    table: &mut FlowTable,
    inspectors: &[FlowInspector],
    pending: &mut Vec<(FlowRecord, FlowInspector)>,
) {
    table.drain_ended(|r| {
        let evidence = inspectors.get(r.slot as usize).cloned().unwrap_or_default();
        pending.push((r, evidence));
    });
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
