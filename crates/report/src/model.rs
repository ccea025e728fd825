//! The flows aggregated for the page: role pairs as arrows (one per documented traffic type,
//! one for what is undocumented), documented flows by rule, findings grouped by conversation.

use std::collections::{BTreeMap, BTreeSet};

use sfbflow_catalogue::Catalogue;

use crate::load::{Data, FindingRec, Flow, Str};
use crate::names::{self, Traffic, UNKNOWN};
use crate::time;

/// A role seen in the flows of a diagram.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    /// Distinct addresses, up to [`MAX_HOSTS`].
    pub(crate) hosts: BTreeSet<Str>,
    /// Whether there were more than [`MAX_HOSTS`].
    pub(crate) more_hosts: bool,
}

const MAX_HOSTS: usize = 1000;

/// One label entry of an arrow: a protocol and its ports.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) protocol: String,
    pub(crate) finding: Option<Str>,
    pub(crate) ports: BTreeSet<u16>,
    /// The documented range the ports lie in, for media on port ranges.
    pub(crate) range: Option<(u16, u16)>,
    pub(crate) flows: u64,
    pub(crate) bytes: u64,
}

impl Item {
    /// `SIP/MTLS:5061`, `RTP/UDP:50000-59999`, `TLS/TCP:8443`, `UDP:40000-40100 (7 ports)`.
    pub(crate) fn label(&self) -> String {
        let ports = if let Some((a, b)) = self.range {
            format!("{a}-{b}")
        } else {
            let v: Vec<u16> = self.ports.iter().copied().collect();
            match v.as_slice() {
                [] => "?".to_owned(),
                [a] => a.to_string(),
                [a, b] => format!("{a},{b}"),
                [a, b, c] => format!("{a},{b},{c}"),
                [a, .., z] => format!("{a}-{z} ({} ports)", v.len()),
            }
        };
        format!("{}:{ports}", self.protocol)
    }
}

/// One arrow: flows of one role pair (initiator → responder), of one documented traffic type
/// or (`traffic == None`) undocumented.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) traffic: Option<Traffic>,
    pub(crate) items: Vec<Item>,
    pub(crate) flows: u64,
    pub(crate) bytes: u64,
}

impl Edge {
    pub(crate) fn documented(&self) -> bool {
        self.traffic.is_some()
    }

    pub(crate) fn findings(&self) -> BTreeSet<&str> {
        self.items
            .iter()
            .filter_map(|i| i.finding.as_deref())
            .collect()
    }

    /// The label, one string per line: protocols and ports, then the counts.
    pub(crate) fn label_lines(&self) -> Vec<String> {
        const MAX_ITEMS: usize = 3;
        const LINE_CHARS: usize = 22;
        let mut lines = Vec::new();
        if self.documented() {
            let mut line = String::new();
            let mut shown = 0;
            for item in &self.items {
                let l = item.label();
                if !line.is_empty() && line.len() + 2 + l.len() > LINE_CHARS {
                    lines.push(std::mem::take(&mut line));
                    if lines.len() == 2 {
                        break;
                    }
                }
                if !line.is_empty() {
                    line.push_str(", ");
                }
                line.push_str(&l);
                shown += 1;
            }
            if !line.is_empty() {
                lines.push(line);
            }
            if shown < self.items.len() {
                let more = format!("+{} more", self.items.len() - shown);
                match lines.last_mut() {
                    Some(last) if last.len() + 1 + more.len() <= LINE_CHARS => {
                        last.push(' ');
                        last.push_str(&more);
                    }
                    _ => lines.push(more),
                }
            }
        } else {
            for item in self.items.iter().take(MAX_ITEMS) {
                let f = item
                    .finding
                    .as_deref()
                    .map(names::finding_words)
                    .unwrap_or_else(|| "undocumented".to_owned());
                let l = item.label();
                if l.len() + 1 + f.len() <= LINE_CHARS {
                    lines.push(format!("{l} {f}"));
                } else {
                    lines.push(l);
                    lines.push(f);
                }
            }
            if self.items.len() > MAX_ITEMS {
                lines.push(format!("+{} more", self.items.len() - MAX_ITEMS));
            }
        }
        lines.push(format!(
            "{} · {}",
            time::flows(self.flows),
            time::bytes(self.bytes)
        ));
        lines
    }
}

/// The roles and arrows of one diagram.
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    pub(crate) nodes: BTreeMap<String, Node>,
    pub(crate) edges: Vec<Edge>,
}

pub(crate) fn role_key(r: Option<&Str>) -> String {
    r.map_or_else(|| UNKNOWN.to_owned(), |s| s.to_string())
}

impl Graph {
    /// The graph of `flows`.
    pub(crate) fn build<'a>(flows: impl Iterator<Item = &'a Flow>, cat: &Catalogue) -> Graph {
        type Key = (String, String, Option<Traffic>);
        type ItemKey = (String, Option<Str>, Option<(u16, u16)>);
        let mut g = Graph::default();
        let mut edges: BTreeMap<Key, BTreeMap<ItemKey, Item>> = BTreeMap::new();
        for f in flows {
            let from = role_key(f.initiator_role.as_ref());
            let to = role_key(f.responder_role.as_ref());
            for (role, ip) in [(&from, &f.initiator_ip), (&to, &f.responder_ip)] {
                let node = g.nodes.entry(role.clone()).or_default();
                if node.hosts.len() < MAX_HOSTS {
                    node.hosts.insert(ip.clone());
                } else if !node.hosts.contains(ip) {
                    node.more_hosts = true;
                }
            }
            let rule = f.rule_id.as_deref().and_then(|id| cat.rule(id));
            let (traffic, protocol, range) = match (f.documented, rule) {
                (true, Some(rule)) => {
                    let range =
                        rule.ports.ranges().iter().copied().find(|&(a, b)| {
                            a < b && a <= f.responder_port && f.responder_port <= b
                        });
                    (
                        Some(Traffic::of(rule.protocol)),
                        names::rule_protocol(rule, &f.transport),
                        range,
                    )
                }
                (true, None) => (
                    Some(Traffic::of_app(&f.app_protocol)),
                    names::app_label(&f.app_protocol, &f.transport),
                    None,
                ),
                (false, _) => (None, names::app_label(&f.app_protocol, &f.transport), None),
            };
            let finding = if f.documented {
                None
            } else {
                f.finding.clone()
            };
            let items = edges
                .entry((from.clone(), to.clone(), traffic))
                .or_default();
            let item = items
                .entry((protocol.clone(), finding.clone(), range))
                .or_insert_with(|| Item {
                    protocol,
                    finding,
                    ports: BTreeSet::new(),
                    range,
                    flows: 0,
                    bytes: 0,
                });
            if item.ports.len() < 4096 {
                item.ports.insert(f.responder_port);
            }
            item.flows += 1;
            item.bytes = item.bytes.saturating_add(f.bytes);
        }
        for ((from, to, traffic), items) in edges {
            let mut items: Vec<Item> = items.into_values().collect();
            items.sort_by(|a, b| {
                b.bytes
                    .cmp(&a.bytes)
                    .then_with(|| a.label().cmp(&b.label()))
            });
            let flows = items.iter().map(|i| i.flows).sum();
            let bytes = items.iter().fold(0u64, |s, i| s.saturating_add(i.bytes));
            g.edges.push(Edge {
                from,
                to,
                traffic,
                items,
                flows,
                bytes,
            });
        }
        g
    }
}

/// A documented flow of the catalogue as observed.
#[derive(Debug, Clone)]
pub(crate) struct RuleSeen {
    pub(crate) flows: u64,
    pub(crate) bytes: u64,
    pub(crate) first_ns: i64,
    pub(crate) last_ns: i64,
    pub(crate) ports: BTreeSet<u16>,
    pub(crate) transports: BTreeSet<Str>,
}

/// Documented flows by rule id.
pub(crate) fn rules_seen(flows: &[Flow]) -> BTreeMap<Str, RuleSeen> {
    let mut out: BTreeMap<Str, RuleSeen> = BTreeMap::new();
    for f in flows.iter().filter(|f| f.documented) {
        let Some(id) = &f.rule_id else { continue };
        let r = out.entry(id.clone()).or_insert_with(|| RuleSeen {
            flows: 0,
            bytes: 0,
            first_ns: f.first_ns,
            last_ns: f.last_ns,
            ports: BTreeSet::new(),
            transports: BTreeSet::new(),
        });
        r.flows += 1;
        r.bytes = r.bytes.saturating_add(f.bytes);
        r.first_ns = r.first_ns.min(f.first_ns);
        r.last_ns = r.last_ns.max(f.last_ns);
        if r.ports.len() < 64 {
            r.ports.insert(f.responder_port);
        }
        r.transports.insert(f.transport.clone());
    }
    out
}

/// Findings of one conversation: same kind, code, ends, port and sentence.
#[derive(Debug, Clone)]
pub(crate) struct FindingGroup {
    pub(crate) kind: Str,
    pub(crate) code: Str,
    pub(crate) detail: String,
    pub(crate) transport: Str,
    pub(crate) initiator_role: String,
    pub(crate) initiator_ip: Str,
    pub(crate) responder_role: String,
    pub(crate) responder_ip: Str,
    pub(crate) responder_port: u16,
    pub(crate) app_protocol: String,
    pub(crate) evidence: Vec<(&'static str, String)>,
    pub(crate) flows: u64,
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    pub(crate) first_ns: i64,
    pub(crate) last_ns: i64,
}

/// The findings table's rows: from `findings.parquet` when read (evidence completed from the
/// flows), else from the flows' `finding` column.
pub(crate) fn finding_groups(data: &Data) -> Vec<FindingGroup> {
    type Key = (Str, Str, Str, Str, Str, u16, String);
    let mut by_flow: BTreeMap<(u64, i64), &Flow> = BTreeMap::new();
    for f in &data.flows {
        if let Some(id) = f.flow_id {
            by_flow.insert((id, f.first_ns), f);
        }
    }
    let recs: Vec<FindingRec> = if data.have_findings {
        data.findings.clone()
    } else {
        data.flows
            .iter()
            .filter(|f| !f.documented)
            .map(|f| FindingRec {
                flow_id: f.flow_id,
                first_ns: f.first_ns,
                last_ns: f.last_ns,
                kind: Str::from("flow"),
                code: f
                    .finding
                    .clone()
                    .unwrap_or_else(|| Str::from("undocumented")),
                detail: None,
                transport: f.transport.clone(),
                initiator_ip: f.initiator_ip.clone(),
                responder_ip: f.responder_ip.clone(),
                responder_port: f.responder_port,
                initiator_role: f.initiator_role.clone(),
                responder_role: f.responder_role.clone(),
                app_protocol: Some(f.app_protocol.clone()),
                tls_sni: f.tls_sni.clone(),
                sip_user_agent: f.sip_user_agent.clone(),
                stun_seen: f.stun_seen.clone(),
                packets: f.packets,
                bytes: f.bytes,
            })
            .collect()
    };
    let mut groups: BTreeMap<Key, FindingGroup> = BTreeMap::new();
    for r in &recs {
        let flow = r
            .flow_id
            .and_then(|id| by_flow.get(&(id, r.first_ns)).copied());
        let detail = r.detail.as_deref().unwrap_or_default().to_owned();
        let key = (
            r.kind.clone(),
            r.code.clone(),
            r.initiator_ip.clone(),
            r.responder_ip.clone(),
            r.transport.clone(),
            r.responder_port,
            detail.clone(),
        );
        let g = groups.entry(key).or_insert_with(|| FindingGroup {
            kind: r.kind.clone(),
            code: r.code.clone(),
            detail,
            transport: r.transport.clone(),
            initiator_role: role_key(r.initiator_role.as_ref()),
            initiator_ip: r.initiator_ip.clone(),
            responder_role: role_key(r.responder_role.as_ref()),
            responder_ip: r.responder_ip.clone(),
            responder_port: r.responder_port,
            app_protocol: r
                .app_protocol
                .as_deref()
                .or(flow.map(|f| &*f.app_protocol))
                .unwrap_or("unknown")
                .to_owned(),
            evidence: Vec::new(),
            flows: 0,
            packets: 0,
            bytes: 0,
            first_ns: r.first_ns,
            last_ns: r.last_ns,
        });
        g.flows += 1;
        g.packets = g.packets.saturating_add(r.packets);
        g.bytes = g.bytes.saturating_add(r.bytes);
        g.first_ns = g.first_ns.min(r.first_ns);
        g.last_ns = g.last_ns.max(r.last_ns);
        let stun_method = flow.and_then(|f| f.stun_method.clone());
        for (name, value) in [
            ("SNI", r.tls_sni.clone()),
            ("user agent", r.sip_user_agent.clone()),
            ("STUN", r.stun_seen.clone()),
            ("STUN message", stun_method),
        ] {
            if let Some(v) = value
                && !g.evidence.iter().any(|(n, _)| *n == name)
            {
                g.evidence.push((name, v.to_string()));
            }
        }
    }
    let mut out: Vec<FindingGroup> = groups.into_values().collect();
    out.sort_by(|a, b| {
        a.first_ns
            .cmp(&b.first_ns)
            .then_with(|| a.code.cmp(&b.code))
            .then_with(|| a.initiator_ip.cmp(&b.initiator_ip))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(protocol: &str, finding: Option<&str>, ports: &[u16]) -> Item {
        Item {
            protocol: protocol.to_owned(),
            finding: finding.map(Str::from),
            ports: ports.iter().copied().collect(),
            range: None,
            flows: 1,
            bytes: 1000,
        }
    }

    #[test]
    fn labels_aggregate_ports_and_wrap() {
        assert_eq!(item("TLS/TCP", None, &[8443]).label(), "TLS/TCP:8443");
        assert_eq!(item("UDP", None, &[1, 2, 3]).label(), "UDP:1,2,3");
        assert_eq!(
            item("RTP/UDP", None, &[40000, 40002, 40010, 40100]).label(),
            "RTP/UDP:40000-40100 (4 ports)"
        );
        let mut ranged = item("SRTP/UDP", None, &[50100]);
        ranged.range = Some((50000, 59999));
        assert_eq!(ranged.label(), "SRTP/UDP:50000-59999");

        let doc = Edge {
            from: "internal_client".into(),
            to: "front_end".into(),
            traffic: Some(Traffic::Https),
            items: vec![
                item("HTTPS", None, &[443]),
                item("HTTP", None, &[80]),
                item("HTTP", None, &[8080]),
                item("HTTPS", None, &[4443]),
                item("HTTPS", None, &[444]),
                item("HTTPS", None, &[8443]),
            ],
            flows: 6,
            bytes: 6000,
        };
        let lines = doc.label_lines();
        assert_eq!(lines.last().map(String::as_str), Some("6 flows · 6.0 kB"));
        assert!(lines.iter().all(|l| l.len() <= 24), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("more")), "{lines:?}");

        let undoc = Edge {
            from: "internal_client".into(),
            to: "front_end".into(),
            traffic: None,
            items: vec![
                item("TLS/TCP", Some("undocumented_port"), &[8443]),
                item("SIP/TCP", Some("protocol_mismatch"), &[5061]),
            ],
            flows: 2,
            bytes: 2000,
        };
        assert_eq!(
            undoc.label_lines(),
            [
                "TLS/TCP:8443",
                "undocumented port",
                "SIP/TCP:5061",
                "protocol mismatch",
                "2 flows · 2.0 kB"
            ]
        );
        assert_eq!(
            undoc.findings().into_iter().collect::<Vec<_>>(),
            ["protocol_mismatch", "undocumented_port"]
        );
    }
}
