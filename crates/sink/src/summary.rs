//! A plain-text summary for people: what was read, what it made, and what was wrong.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use crate::{CaptureMeta, Error, FlowRow, RunStats, Sink};

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
        for i in &stats.inputs {
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
            for (f, tally) in &self.by_finding {
                line(format!(
                    "    {f:<24} {:>10} flows {:>15} bytes",
                    tally.flows, tally.bytes
                ));
            }
            let ends: Vec<String> = self
                .by_end
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            line(format!("  flow ends: {}", ends.join(", ")));
        }
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
        s
    }
}

impl<W: Write> Sink for SummarySink<W> {
    fn begin(&mut self, _meta: &CaptureMeta) -> Result<(), Error> {
        Ok(())
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
        if let Some(f) = row.finding {
            if let Some(t) = self.by_finding.get_mut(f) {
                t.add(row);
            } else {
                self.by_finding.entry(f.to_string()).or_default().add(row);
            }
        }
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
