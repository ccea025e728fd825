//! `sfbflow topology infer`: propose a topology from what the hosts of a capture do.
//!
//! Every responder (address, transport, port) of the capture's flows is tallied. A role's
//! signature is the set of fixed service ports on which the catalogue documents it as the
//! responder; a port served by few roles weighs more than one served by many (5070 says
//! Mediation, 443 says little). A host's score for a role is the sum of the weights of the
//! role's ports it answered on; it is proposed for the roles scoring at least half its best
//! score. Hosts that only open connections are clients: internal for private addresses,
//! external otherwise. The output is a commented topology file with the evidence per host.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use sfbflow_catalogue::{Catalogue, Role};
use sfbflow_flow::Transport;
use sfbflow_sink::{CaptureMeta, Error, FlowRow, RunStats, Sink};

/// Hosts tallied at most (a capture with more distinct responders keeps the first ones).
const MAX_HOSTS: usize = 100_000;
/// A rule with more responder ports than this is a range (media, "any"), not a signature.
const MAX_SIGNATURE_PORTS: usize = 16;

#[derive(Debug, Default, Clone)]
struct Host {
    /// (transport, port) answered on -> flows.
    served: BTreeMap<(&'static str, u16), u64>,
    /// Flows opened by this host.
    opened: u64,
}

/// Collects per-host behaviour from finished flows.
#[derive(Debug, Default)]
pub struct InferSink {
    hosts: BTreeMap<IpAddr, Host>,
    flows: u64,
}

impl InferSink {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    fn host(&mut self, ip: IpAddr) -> Option<&mut Host> {
        if !self.hosts.contains_key(&ip) && self.hosts.len() >= MAX_HOSTS {
            return None;
        }
        Some(self.hosts.entry(ip).or_default())
    }
}

impl Sink for InferSink {
    fn begin(&mut self, _meta: &CaptureMeta) -> Result<(), Error> {
        Ok(())
    }

    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        self.flows += 1;
        if let Some(h) = self.host(row.responder_ip) {
            *h.served
                .entry((row.transport, row.responder_port))
                .or_default() += 1;
        }
        if let Some(h) = self.host(row.initiator_ip) {
            h.opened += 1;
        }
        Ok(())
    }

    fn finish(&mut self, _stats: &RunStats) -> Result<(), Error> {
        Ok(())
    }
}

/// (transport, port) -> roles documented as responding there on a fixed service port.
fn signatures(cat: &Catalogue) -> BTreeMap<(&'static str, u16), BTreeSet<Role>> {
    let mut sig: BTreeMap<(&'static str, u16), BTreeSet<Role>> = BTreeMap::new();
    for rule in cat.rules() {
        if rule.media {
            continue;
        }
        let ports: Vec<u16> = (1..=u16::MAX)
            .filter(|p| rule.ports.contains(*p))
            .take(MAX_SIGNATURE_PORTS + 1)
            .collect();
        if ports.is_empty() || ports.len() > MAX_SIGNATURE_PORTS {
            continue;
        }
        for t in [Transport::Tcp, Transport::Udp] {
            if rule.transport.contains(t) {
                for &p in &ports {
                    sig.entry((t.as_str(), p))
                        .or_default()
                        .insert(rule.responder);
                }
            }
        }
    }
    sig
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_private() || a.is_loopback() || a.is_link_local(),
        IpAddr::V6(a) => {
            let s = a.segments();
            a.is_loopback() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The proposed roles of one host with their scores, best first.
fn score(host: &Host, sig: &BTreeMap<(&'static str, u16), BTreeSet<Role>>) -> Vec<(Role, f64)> {
    let mut scores: BTreeMap<Role, f64> = BTreeMap::new();
    for key in host.served.keys() {
        if let Some(roles) = sig.get(key) {
            let w = 1.0 / roles.len() as f64;
            for r in roles {
                *scores.entry(*r).or_default() += w;
            }
        }
    }
    // The catalogue's umbrella roles are implied by the concrete ones: never propose them.
    scores.remove(&Role::SfbServer);
    scores.remove(&Role::CmsMaster);
    let mut v: Vec<(Role, f64)> = scores.into_iter().filter(|(_, s)| *s > 0.0).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Roles proposed at most for one host: more candidates tied with the best is ambiguous.
const MAX_PROPOSED: usize = 3;
/// Scores within this fraction of the best count as a tie.
const TIE: f64 = 0.9;

impl InferSink {
    /// The proposed topology as a commented TOML file.
    pub fn render(&self, cat: &Catalogue, inputs: &[String]) -> String {
        let sig = signatures(cat);
        let mut by_role: BTreeMap<Role, Vec<(IpAddr, String)>> = BTreeMap::new();
        let mut unplaced = Vec::new();
        for (ip, host) in &self.hosts {
            let proposed = score(host, &sig);
            let mut served: Vec<(&(&str, u16), &u64)> = host.served.iter().collect();
            served.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let evidence: Vec<String> = served
                .iter()
                .take(6)
                .map(|((t, p), n)| format!("{t}/{p} ({n})"))
                .collect();
            let more = served.len().saturating_sub(6);
            let mut why = if evidence.is_empty() {
                format!("opened {} flows, answered none", host.opened)
            } else {
                format!(
                    "answered {}{}",
                    evidence.join(", "),
                    if more > 0 {
                        format!(" +{more} more")
                    } else {
                        String::new()
                    }
                )
            };
            let best = proposed.first().map_or(0.0, |(_, s)| *s);
            let winners: Vec<Role> = proposed
                .iter()
                .filter(|(_, s)| *s >= best * TIE)
                .map(|(r, _)| *r)
                .collect();
            let scores: Vec<String> = proposed
                .iter()
                .take(4)
                .map(|(r, s)| format!("{r} {s:.2}"))
                .collect();
            if !scores.is_empty() {
                let more = proposed.len().saturating_sub(4);
                let tail = if more > 0 {
                    format!(" +{more} more")
                } else {
                    String::new()
                };
                let _ = write!(why, "; score {}{tail}", scores.join(", "));
            }
            if let (Some(first), true) = (winners.first(), winners.len() <= MAX_PROPOSED) {
                by_role.entry(*first).or_default().push((*ip, why.clone()));
                for r in winners.iter().skip(1) {
                    by_role
                        .entry(*r)
                        .or_default()
                        .push((*ip, format!("also {first}: {why}")));
                }
            } else if !winners.is_empty() {
                unplaced.push((
                    *ip,
                    format!("ambiguous, {} roles tie: {why}", winners.len()),
                ));
            } else if host.opened > 0 {
                let role = if is_private(*ip) {
                    Role::InternalClient
                } else {
                    Role::ExternalClient
                };
                by_role.entry(role).or_default().push((*ip, why));
            } else {
                unplaced.push((*ip, why));
            }
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Topology proposed by `sfbflow topology infer` from {}.",
            inputs.join(", ")
        );
        let _ = writeln!(
            out,
            "# {} flows, {} hosts. Each guess says what the host answered on (transport/port and\n\
             # flows) and its score per role: review every line before using this file with\n\
             # `sfbflow classify --topology`. Clients are placed by address (private = internal).",
            self.flows,
            self.hosts.len()
        );
        let _ = writeln!(out, "\n# sip_domain = \"contoso.com\"\n\n[roles]");
        for (role, hosts) in &by_role {
            let _ = writeln!(out, "{} = [", role.as_str());
            for (ip, why) in hosts {
                let _ = writeln!(out, "  \"{ip}\",  # {why}");
            }
            let _ = writeln!(out, "]");
        }
        if !unplaced.is_empty() {
            let _ = writeln!(
                out,
                "\n# Hosts with no role guessed: they answered only on undocumented ports, or only on\n# ports that many roles share (443, 5061):"
            );
            for (ip, why) in unplaced {
                let _ = writeln!(out, "#   {ip}: {why}");
            }
        }
        out
    }
}

/// A sink shared with its creator, so the tally can be read after the pipeline finished.
#[derive(Debug, Default, Clone)]
pub struct SharedInfer(pub std::rc::Rc<std::cell::RefCell<InferSink>>);

impl Sink for SharedInfer {
    fn begin(&mut self, meta: &CaptureMeta) -> Result<(), Error> {
        self.0.borrow_mut().begin(meta)
    }

    fn flow(&mut self, row: &FlowRow<'_>) -> Result<(), Error> {
        self.0.borrow_mut().flow(row)
    }

    fn finish(&mut self, stats: &RunStats) -> Result<(), Error> {
        self.0.borrow_mut().finish(stats)
    }
}
