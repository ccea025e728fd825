//! A plain-text summary for people: what was read, what it made, and what was wrong.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use crate::{CaptureMeta, Error, FlowRow, InputStats, RunStats, Sink};

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    flows: u64,
    packets: u64,
    bytes: u64,
}

impl Tally {
    fn add(&mut self, r: &FlowRow<'_>) {
        self.flows += 1;
        self.packets += r.initiator_packets + r.responder_packets;
        self.bytes += r.initiator_bytes + r.responder_bytes;
    }
}

/// Distinct keys kept per bounded tally; beyond it flows count under "other".
const MAX_KEYS: usize = 10_000;
/// Rows printed per ranked list.
const TOP: usize = 10;

/// Adds a row to a tally map keyed by `key`, holding at most [`MAX_KEYS`] keys.
fn add_bounded(map: &mut BTreeMap<String, Tally>, key: &str, row: &FlowRow<'_>) {
    if let Some(t) = map.get_mut(key) {
        t.add(row);
    } else if map.len() < MAX_KEYS {
        map.entry(key.to_string()).or_default().add(row);
    } else {
        map.entry("(other)".to_string()).or_default().add(row);
    }
}

/// The entries of a tally map, most bytes first.
fn ranked(map: &BTreeMap<String, Tally>) -> Vec<(&String, &Tally)> {
    let mut v: Vec<(&String, &Tally)> = map.iter().collect();
    v.sort_by(|a, b| {
        b.1.bytes
            .cmp(&a.1.bytes)
            .then(b.1.flows.cmp(&a.1.flows))
            .then(a.0.cmp(b.0))
    });
    v
}

/// Collects per-flow tallies and prints the summary at [`Sink::finish`].
#[derive(Debug)]
pub struct SummarySink<W: Write> {
    out: W,
    name: PathBuf,
    by_transport: BTreeMap<&'static str, Tally>,
    by_protocol: BTreeMap<String, Tally>,
    by_end: BTreeMap<&'static str, u64>,
    documented: Tally,
    undocumented: Tally,
    by_finding: BTreeMap<String, Tally>,
    by_workload: BTreeMap<String, Tally>,
    by_role_pair: BTreeMap<String, Tally>,
    offenders: BTreeMap<String, BTreeMap<String, Tally>>,
    cert_problems: BTreeMap<String, BTreeMap<String, Tally>>,
    dns: DnsTally,
    sip_by_request: BTreeMap<String, BTreeMap<&'static str, u64>>,
    sip_agents: BTreeMap<String, u64>,
    sip_dialogs: u64,
    sip_media_flows: u64,
}

/// DNS lookups seen.
#[derive(Debug, Default)]
struct DnsTally {
    lookups: u64,
    unanswered: u64,
    by_rcode: BTreeMap<&'static str, u64>,
    signin: u64,
}

impl<W: Write> SummarySink<W> {
    /// A summary written to `out` at the end; `name` names it in errors.
    pub fn new(out: W, name: impl Into<PathBuf>) -> Self {
        SummarySink {
            out,
            name: name.into(),
            by_transport: BTreeMap::new(),
            by_protocol: BTreeMap::new(),
            by_end: BTreeMap::new(),
            documented: Tally::default(),
            undocumented: Tally::default(),
            by_finding: BTreeMap::new(),
            by_workload: BTreeMap::new(),
            by_role_pair: BTreeMap::new(),
            offenders: BTreeMap::new(),
            cert_problems: BTreeMap::new(),
            dns: DnsTally::default(),
            sip_by_request: BTreeMap::new(),
            sip_agents: BTreeMap::new(),
            sip_dialogs: 0,
            sip_media_flows: 0,
        }
    }

    /// The summary text for `stats` and the flows seen so far.
    pub fn render(&self, stats: &RunStats) -> String {
        let mut s = String::new();
        let mut line = |t: String| {
            s.push_str(&t);
            s.push('\n');
        };
        line("sfbflow summary".to_string());
        let folded = folded_inputs(&stats.inputs);
        let mut said_folded = false;
        for (i, hide) in stats.inputs.iter().zip(&folded.hidden) {
            if *hide {
                if !said_folded {
                    said_folded = true;
                    line(format!(
                        "  ... {} more inputs without problems: {} records, {} bytes",
                        folded.count, folded.records, folded.bytes
                    ));
                }
                continue;
            }
            line(format!(
                "  input {}: {}, {} records, {} bytes",
                i.name, i.format, i.records, i.bytes
            ));
            for w in &i.warnings {
                line(format!("    warning: {w}"));
            }
            if let Some(e) = &i.error {
                line(format!("    error: {e}"));
            }
        }
        if stats.stopped_by_signal {
            line("  stopped by a signal: the flows live then were ended and written".to_string());
        }
        line(format!(
            "  packets: {} ({} bytes on the wire); TCP/UDP {}, other IP {}, non-IP {}, malformed {}",
            stats.packets,
            stats.wire_bytes,
            stats.transport_packets,
            stats.other_ip.iter().map(|(_, n)| n).sum::<u64>(),
            stats.not_ip,
            stats.malformed_total()
        ));
        let total: u64 = self.by_transport.values().map(|t| t.flows).sum();
        line(format!("  flows: {total}"));
        for (t, tally) in &self.by_transport {
            line(format!(
                "    {t:<4} {:>10} flows {:>12} packets {:>15} bytes",
                tally.flows, tally.packets, tally.bytes
            ));
        }
        if !self.by_protocol.is_empty() {
            line("  by app_protocol:".to_string());
            for (p, tally) in &self.by_protocol {
                line(format!(
                    "    {p:<10} {:>10} flows {:>12} packets {:>15} bytes",
                    tally.flows, tally.packets, tally.bytes
                ));
            }
        }
        if total > 0 {
            line(format!(
                "  documented: {} flows, {} bytes; undocumented: {} flows, {} bytes",
                self.documented.flows,
                self.documented.bytes,
                self.undocumented.flows,
                self.undocumented.bytes
            ));
            if !self.by_workload.is_empty() {
                line("  by workload:".to_string());
                for (w, tally) in ranked(&self.by_workload) {
                    line(format!(
                        "    {w:<24} {:>10} flows {:>15} bytes",
                        tally.flows, tally.bytes
                    ));
                }
            }
            if !self.by_role_pair.is_empty() {
                line("  by role pair (initiator -> responder), most bytes first:".to_string());
                let pairs = ranked(&self.by_role_pair);
                for (p, tally) in pairs.iter().take(TOP * 2) {
                    line(format!(
                        "    {p:<48} {:>8} flows {:>15} bytes",
                        tally.flows, tally.bytes
                    ));
                }
                if pairs.len() > TOP * 2 {
                    line(format!(
                        "    ... and {} more role pairs",
                        pairs.len() - TOP * 2
                    ));
                }
            }
            if !self.by_finding.is_empty() {
                line("  undocumented, by finding (top offenders by bytes):".to_string());
            }
            for (f, tally) in &self.by_finding {
                line(format!(
                    "    {f:<24} {:>10} flows {:>15} bytes",
                    tally.flows, tally.bytes
                ));
                if let Some(top) = self.offenders.get(f) {
                    for (who, t) in ranked(top).iter().take(TOP) {
                        line(format!(
                            "      {who:<56} {:>6} flows {:>13} bytes",
                            t.flows, t.bytes
                        ));
                    }
                }
            }
            if !self.cert_problems.is_empty() {
                line("  certificates against the poster's requirements:".to_string());
                for (code, flows) in &self.cert_problems {
                    let n: u64 = flows.values().map(|t| t.flows).sum();
                    line(format!("    {code:<24} {n:>10} flows"));
                    for (who, t) in ranked(flows).iter().take(TOP) {
                        line(format!("      {who:<56} {:>6} flows", t.flows));
                    }
                }
            }
            let ends: Vec<String> = self
                .by_end
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            line(format!("  flow ends: {}", ends.join(", ")));
        }
        self.render_evidence(stats, &mut line);
        if !stats.malformed.is_empty() {
            line("  malformed frames by reason:".to_string());
            for (reason, n) in &stats.malformed {
                line(format!("    {reason:<32} {n:>10}"));
            }
        }
        if !stats.other_ip.is_empty() {
            let v: Vec<String> = stats
                .other_ip
                .iter()
                .map(|(p, n)| format!("proto {p}: {n}"))
                .collect();
            line(format!("  other IP protocols: {}", v.join(", ")));
        }
        if !stats.unsupported_link.is_empty() {
            let v: Vec<String> = stats
                .unsupported_link
                .iter()
                .map(|(l, n)| format!("link type {l}: {n}"))
                .collect();
            line(format!("  unsupported link types: {}", v.join(", ")));
        }
        if stats.datagrams_reassembled
            + stats.fragments_expired
            + stats.fragments_evicted
            + stats.fragments_discarded
            > 0
        {
            line(format!(
                "  fragments: {} datagrams reassembled; fragment frames dropped: {} expired, \
                 {} evicted (memory bound), {} with a malformed datagram",
                stats.datagrams_reassembled,
                stats.fragments_expired,
                stats.fragments_evicted,
                stats.fragments_discarded
            ));
        }
        if stats.flows_evicted > 0 {
            line(format!(
                "  flow table: {} flows ended early (table full, peak {} live)",
                stats.flows_evicted, stats.peak_live_flows
            ));
        }
        if stats.packets_out_of_order > 0 {
            line(format!(
                "  timestamps: {} frames went back in time",
                stats.packets_out_of_order
            ));
        }
        if stats.frames_off_clock + stats.clock_jumps > 0 {
            line(format!(
                "  timestamps: {} frames more than 30 days off the capture's clock (kept for \
                 their flows, no timeout followed them), {} clock jumps (timeouts and rotation \
                 go on from the new time)",
                stats.frames_off_clock, stats.clock_jumps
            ));
        }
        s
    }
}

impl<W: Write> SummarySink<W> {
    /// The DNS, sign-in, SIP and inspection sections.
    fn render_evidence(&self, stats: &RunStats, line: &mut impl FnMut(String)) {
        let d = &self.dns;
        if d.lookups > 0 {
            let rcodes: Vec<String> = d.by_rcode.iter().map(|(k, v)| format!("{k} {v}")).collect();
            line(format!(
                "  DNS: {} lookups ({} unanswered; {}); {} of them sign-in discovery names",
                d.lookups,
                d.unanswered,
                if rcodes.is_empty() {
                    "no responses".to_string()
                } else {
                    rcodes.join(", ")
                },
                d.signin
            ));
        }
        if !stats.signin_paths.is_empty() {
            line("  sign-in discovery, per client (the poster's lookup order):".to_string());
            for p in &stats.signin_paths {
                line(format!("    {p}"));
            }
        }
        if self.sip_dialogs > 0 {
            line(format!(
                "  SIP: {} dialogs, {} media flows linked to them through SDP",
                self.sip_dialogs, self.sip_media_flows
            ));
            for (method, states) in &self.sip_by_request {
                let v: Vec<String> = states.iter().map(|(k, n)| format!("{k} {n}")).collect();
                line(format!("    {method:<12} {}", v.join(", ")));
            }
            if !self.sip_agents.is_empty() {
                let mut agents: Vec<(&String, &u64)> = self.sip_agents.iter().collect();
                agents.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                line("    user agents and servers:".to_string());
                for (a, n) in agents.iter().take(TOP) {
                    line(format!("      {a:<56} {n:>6} dialogs"));
                }
            }
        }
        if !stats.inspection.is_empty() {
            let v: Vec<String> = stats
                .inspection
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            line(format!("  payload inspection: {}", v.join(", ")));
        }
    }
}

/// Counts `key` in a map bounded to [`MAX_KEYS`] keys.
fn count_bounded(map: &mut BTreeMap<String, u64>, key: &str) {
    if let Some(n) = map.get_mut(key) {
        *n += 1;
    } else if map.len() < MAX_KEYS {
        map.insert(key.to_string(), 1);
    } else {
        *map.entry("(other)".to_string()).or_default() += 1;
    }
}

impl<W: Write> Sink for SummarySink<W> {
    fn begin(&mut self, _meta: &CaptureMeta) -> Result<(), Error> {
        Ok(())
    }

    fn shows_signin_paths(&self) -> bool {
        true
    }

    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        self.by_transport.entry(row.transport).or_default().add(row);
        if let Some(t) = self.by_protocol.get_mut(row.app_protocol) {
            t.add(row);
        } else {
            self.by_protocol
                .entry(row.app_protocol.to_string())
                .or_default()
                .add(row);
        }
        *self.by_end.entry(row.end_reason).or_default() += 1;
        if row.documented {
            self.documented.add(row);
        } else {
            self.undocumented.add(row);
        }
        if let Some(w) = row.workload {
            add_bounded(&mut self.by_workload, w, row);
        }
        if row.initiator_role.is_some() || row.responder_role.is_some() {
            let pair = format!(
                "{} -> {}",
                row.initiator_role.unwrap_or("?"),
                row.responder_role.unwrap_or("?")
            );
            add_bounded(&mut self.by_role_pair, &pair, row);
        }
        if let Some(f) = row.finding {
            add_bounded(&mut self.by_finding, f, row);
            let who = format!(
                "{} -> {} {}/{}",
                row.initiator_ip, row.responder_ip, row.transport, row.responder_port
            );
            if !self.offenders.contains_key(f) {
                self.offenders.insert(f.to_string(), BTreeMap::new());
            }
            if let Some(m) = self.offenders.get_mut(f) {
                add_bounded(m, &who, row);
            }
        }
        Ok(())
    }

    fn dns(&mut self, row: &crate::DnsRow) -> Result<(), Error> {
        let d = &mut self.dns;
        d.lookups += 1;
        match row.rcode {
            Some(r) => *d.by_rcode.entry(r).or_default() += 1,
            None => d.unanswered += 1,
        }
        if row.signin_step.is_some() {
            d.signin += 1;
        }
        Ok(())
    }

    fn sip_dialog(&mut self, row: &crate::SipDialogRow) -> Result<(), Error> {
        self.sip_dialogs += 1;
        self.sip_media_flows += u64::from(row.media_flows);
        let method = row.first_request.as_deref().unwrap_or("(responses)");
        if self.sip_by_request.len() < MAX_KEYS || self.sip_by_request.contains_key(method) {
            *self
                .sip_by_request
                .entry(method.to_string())
                .or_default()
                .entry(row.state)
                .or_default() += 1;
        }
        for agent in [&row.user_agent, &row.server].into_iter().flatten() {
            count_bounded(&mut self.sip_agents, agent);
        }
        Ok(())
    }

    fn finding(&mut self, row: &crate::FindingRow) -> Result<(), Error> {
        if row.kind != "certificate" {
            return Ok(());
        }
        let who = format!(
            "{} -> {} {}/{}{}",
            row.initiator_ip,
            row.responder_ip,
            row.transport,
            row.responder_port,
            row.tls_sni
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        );
        let map = self.cert_problems.entry(row.code.clone()).or_default();
        let tally = if map.len() < MAX_KEYS || map.contains_key(&who) {
            map.entry(who).or_default()
        } else {
            map.entry("(other)".to_string()).or_default()
        };
        tally.flows += 1;
        tally.packets += row.packets;
        tally.bytes += row.bytes;
        Ok(())
    }

    fn finish(&mut self, stats: &RunStats) -> Result<(), Error> {
        let text = self.render(stats);
        let res = self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush());
        res.map_err(|source| Error::Io {
            path: self.name.clone(),
            source,
        })
    }
}

/// A run over more inputs than this (a folder of rotated files) lists in its summary only the
/// first and last [`INPUTS_AT_EACH_END`] inputs without problems, and one line for the others.
/// Inputs with a warning or an error are always listed.
const INPUTS_LISTED: usize = 16;

/// Inputs without problems listed at each end of a long list.
const INPUTS_AT_EACH_END: usize = 5;

/// Which inputs the summary folds into one line, and their totals.
struct Folded {
    /// One flag per input: folded.
    hidden: Vec<bool>,
    count: usize,
    records: u64,
    bytes: u64,
}

fn folded_inputs(inputs: &[InputStats]) -> Folded {
    let clean = |i: &InputStats| i.warnings.is_empty() && i.error.is_none();
    let n_clean = inputs.iter().filter(|i| clean(i)).count();
    let fold = inputs.len() > INPUTS_LISTED && n_clean > 2 * INPUTS_AT_EACH_END;
    let mut rank = 0;
    let mut folded = Folded {
        hidden: Vec::with_capacity(inputs.len()),
        count: 0,
        records: 0,
        bytes: 0,
    };
    for i in inputs {
        let hide = fold && clean(i) && {
            rank += 1;
            rank > INPUTS_AT_EACH_END && rank <= n_clean - INPUTS_AT_EACH_END
        };
        if hide {
            folded.count += 1;
            folded.records += i.records;
            folded.bytes += i.bytes;
        }
        folded.hidden.push(hide);
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(n: usize, warned: &[usize]) -> Vec<InputStats> {
        (0..n)
            .map(|k| InputStats {
                name: format!("part{k}"),
                format: "pcap".into(),
                bytes: 1000 + k as u64,
                records: 10,
                warnings: if warned.contains(&k) {
                    vec!["truncated".into()]
                } else {
                    Vec::new()
                },
                error: None,
            })
            .collect()
    }

    fn summary_inputs(inputs: Vec<InputStats>) -> Vec<String> {
        let stats = RunStats {
            inputs,
            ..RunStats::default()
        };
        SummarySink::new(Vec::new(), "test")
            .render(&stats)
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("  packets:"))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn up_to_sixteen_inputs_each_have_a_line() {
        let lines = summary_inputs(inputs(16, &[]));
        assert_eq!(lines.len(), 16);
        assert!(lines[15].starts_with("  input part15: pcap, 10 records, 1015 bytes"));
    }

    #[test]
    fn more_inputs_fold_into_one_line_but_those_with_problems() {
        let lines = summary_inputs(inputs(1000, &[3, 500]));
        let names: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("  input "))
            .filter_map(|l| l.split(':').next())
            .collect();
        assert_eq!(
            names,
            [
                "part0", "part1", "part2", "part3", "part4", "part5", "part500", "part995",
                "part996", "part997", "part998", "part999"
            ]
        );
        // Parts 6 to 994 but 500: 988 inputs.
        let bytes: u64 = (6..995).filter(|&k| k != 500).map(|k| 1000 + k).sum();
        let fold = format!("  ... 988 more inputs without problems: 9880 records, {bytes} bytes");
        // After part5 and part3's warning, where the first folded input would be.
        assert_eq!(lines[7], fold, "{lines:#?}");
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains("warning: truncated"))
                .count(),
            2
        );
    }
}
