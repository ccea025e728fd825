//! The verdict for one flow: which documented flow of the catalogue it is, or why none.
//!
//! With a topology, the roles of both ends come from their addresses and a documented flow must
//! match the role pair, the transport and the responder's port (a media flow may match in either
//! direction). Without one, the verdict rests on the port alone: the best rule for the transport
//! and responder port. Runs once per flow, never per packet.

use std::net::IpAddr;

use sfbflow_flow::Transport;

use crate::topology::{RoleSet, Topology, ranges_contain};
use crate::{Basis, Catalogue, Finding, Role, Rule, Security, Verdict};

/// What the classifier is told about a flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowFacts<'a> {
    /// TCP or UDP.
    pub transport: Transport,
    /// The initiator's address and port, as the flow table decided.
    pub initiator: (IpAddr, u16),
    /// The responder's address and port.
    pub responder: (IpAddr, u16),
    /// Whether the direction is known (the TCP handshake was seen). When it is not, a flow that
    /// is documented the other way round is turned round instead of being flagged.
    pub direction_known: bool,
    /// What the payload says the bytes are (`SIP`, `TLS`, `STUN`, ...), when a probe knows.
    pub app_protocol: Option<&'a str>,
}

/// The verdict, and whether the flow had to be turned round to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification<'c> {
    /// The verdict.
    pub verdict: Verdict<'c>,
    /// The initiator and responder of the facts were swapped to match a documented flow.
    pub swapped: bool,
}

/// Classifies flows against a catalogue and, optionally, a topology.
#[derive(Debug, Clone, Copy)]
pub struct Classifier<'c> {
    catalogue: &'c Catalogue,
    topology: Option<&'c Topology>,
    names_cms_master: bool,
}

/// The server roles that run ClsAgent and hold a CMS replica (catalogue.md §1 `sfb_server`).
const SFB_SERVERS: [Role; 8] = [
    Role::FrontEnd,
    Role::CmsMaster,
    Role::Director,
    Role::Mediation,
    Role::EdgeInternal,
    Role::PersistentChat,
    Role::Vis,
    Role::Sba,
];

/// The widest media range port-only mode accepts: the AV MCU's 49152-65535.
const PORT_ONLY_MAX_RANGE: u32 = 16_384;

/// Whether the payload contradicts what `rule` documents; `None` when nothing is known.
///
/// `app` is what the probes said: a protocol name, `"unknown"` when payload was seen that no
/// probe recognised, or `None` when no payload was seen. An unrecognised payload counts against
/// a rule whose protocol would have been recognised (TLS, SIP, HTTP, DNS, STUN), but only where
/// the first bytes were the protocol's start: UDP, or TCP with its handshake seen.
fn contradicts(rule: &Rule, f: &FlowFacts<'_>) -> Option<bool> {
    let app = f.app_protocol?;
    let proto = rule.protocol.as_str();
    let encrypted = matches!(rule.security, Security::Tls | Security::Mtls);
    let stun_rule = proto.starts_with("STUN") || proto.contains("TURN");
    if app == "unknown" {
        let from_start = f.transport == Transport::Udp || f.direction_known;
        let recognisable =
            encrypted || stun_rule || matches!(proto, "SIP" | "HTTP" | "DNS" | "XMPP");
        return (from_start && recognisable && !rule.media).then_some(true);
    }
    let stun_like = matches!(app, "STUN" | "TURN" | "MS-TURN");
    let media_like = matches!(app, "RTP" | "RTCP") || stun_like;
    Some(if stun_rule || rule.media {
        // STUN/MS-TURN ports carry STUN, or media relayed after it.
        !media_like
    } else if encrypted {
        // TLS or MTLS documented: cleartext of any kind is a mismatch.
        app != "TLS"
    } else {
        let tls_ok = matches!(rule.security, Security::Unspecified) && app == "TLS";
        match proto {
            _ if tls_ok => false,
            "SIP" => app != "SIP",
            "DNS" => app != "DNS",
            "HTTP" => app != "HTTP",
            "XMPP" => !matches!(app, "XMPP" | "TLS"),
            _ => false,
        }
    })
}

impl<'c> Classifier<'c> {
    /// A classifier; without a topology it works by port alone.
    pub fn new(catalogue: &'c Catalogue, topology: Option<&'c Topology>) -> Self {
        let names_cms_master = topology.is_some_and(|t| t.listed_roles().contains(Role::CmsMaster));
        Classifier {
            catalogue,
            topology,
            names_cms_master,
        }
    }

    /// The roles of an address, widened by the catalogue's role inclusions: every SfB server
    /// role is also `sfb_server`; a Front End is `cms_master` when the topology names none.
    fn roles(&self, topo: &Topology, addr: IpAddr) -> RoleSet {
        let mut set = topo.roles_of(addr);
        if SFB_SERVERS.iter().any(|r| set.contains(*r)) {
            set.insert(Role::SfbServer);
        }
        if set.contains(Role::FrontEnd) && !self.topology_names(Role::CmsMaster) {
            set.insert(Role::CmsMaster);
        }
        set
    }

    fn topology_names(&self, role: Role) -> bool {
        self.names_cms_master && role == Role::CmsMaster
    }

    /// Rules that document `transport` from a host with roles `ri` (port `pi`) to one with roles
    /// `rr` on port `pr`. Best first: exact service ports before ranges, then catalogue order.
    fn matches(
        &self,
        transport: Transport,
        ri: RoleSet,
        pi: u16,
        rr: RoleSet,
        pr: u16,
    ) -> Option<&'c Rule> {
        self.catalogue.by_port(transport, pr).find(|rule| {
            rr.contains(rule.responder)
                && rule
                    .initiator
                    .is_none_or(|r| ri.contains(r) || r == Role::InternetAny)
                && rule.initiator_ports.as_ref().is_none_or(|p| p.contains(pi))
                && self.client_media_ok(rule, rule.initiator, pi)
                && self.client_media_ok(rule, Some(rule.responder), pr)
        })
    }

    /// A media rule's client side must use the deployment's client media range when the
    /// topology configures one (`[ports] client_media`, e.g. 50000-50059).
    fn client_media_ok(&self, rule: &Rule, side: Option<Role>, port: u16) -> bool {
        let client = matches!(side, Some(Role::InternalClient | Role::ExternalClient));
        match self.topology.and_then(|t| t.ports.client_media.as_deref()) {
            Some(ranges) if rule.media && client => ranges_contain(ranges, port),
            _ => true,
        }
    }

    /// The verdict for one flow.
    pub fn classify(&self, f: &FlowFacts<'_>) -> Classification<'c> {
        match self.topology {
            Some(topo) => self.with_topology(topo, f),
            None => self.by_port(f),
        }
    }

    /// Port-only candidates: a rule with a stated port, and for media only a server-side range
    /// of at most [`PORT_ONLY_MAX_RANGE`] ports (a client's or Exchange UM's 1024-65535 says
    /// nothing about a port).
    fn port_rule(&self, t: Transport, port: u16) -> Option<&'c Rule> {
        self.catalogue.by_port(t, port).find(|r| {
            let client_side = matches!(r.responder, Role::InternalClient | Role::ExternalClient);
            let width: u32 = r
                .ports
                .ranges()
                .iter()
                .map(|(a, b)| u32::from(*b - *a) + 1)
                .sum();
            !(r.ports.is_any() || (r.media && (client_side || width > PORT_ONLY_MAX_RANGE)))
        })
    }

    fn by_port(&self, f: &FlowFacts<'_>) -> Classification<'c> {
        let best = self.port_rule(f.transport, f.responder.1);
        let reversed = if best.is_none() && !f.direction_known {
            self.port_rule(f.transport, f.initiator.1)
        } else {
            None
        };
        let (rule, swapped) = match (best, reversed) {
            (Some(r), _) => (Some(r), false),
            (None, Some(r)) => (Some(r), true),
            (None, None) => (None, false),
        };
        let mut v = Verdict::unclassified();
        match rule {
            Some(rule) => {
                fill(&mut v, rule);
                v.documented = true;
                self.apply_evidence(&mut v, rule, f);
            }
            None => v.finding = Some(Finding::UnknownPort),
        }
        Classification {
            verdict: v,
            swapped,
        }
    }

    fn with_topology(&self, topo: &Topology, f: &FlowFacts<'_>) -> Classification<'c> {
        let ri = self.roles(topo, f.initiator.0);
        let rr = self.roles(topo, f.responder.0);
        let (pi, pr) = (f.initiator.1, f.responder.1);
        let mut v = Verdict::unclassified();
        v.initiator_role = first(ri).map(Role::as_str);
        v.responder_role = first(rr).map(Role::as_str);
        if ri.is_empty() || rr.is_empty() {
            v.finding = Some(Finding::UnknownEndpoint);
            return Classification {
                verdict: v,
                swapped: false,
            };
        }
        if let Some(rule) = self.matches(f.transport, ri, pi, rr, pr) {
            self.documented(&mut v, rule, ri, rr, f);
            return Classification {
                verdict: v,
                swapped: false,
            };
        }
        // Seen the wrong way round (the handshake was missed, or media flows either way): the
        // observed responder opened it, from a documented service port of the initiator.
        if let Some(rule) = self.matches(f.transport, rr, pr, ri, pi)
            && (rule.media || !f.direction_known)
        {
            self.documented(&mut v, rule, rr, ri, f);
            v.initiator_role = rule.initiator.or_else(|| first(rr)).map(Role::as_str);
            v.responder_role = Some(rule.responder.as_str());
            return Classification {
                verdict: v,
                swapped: true,
            };
        }
        // Documented the other way round: the roles are swapped on the same service port (an
        // Front End opening a connection to a client's 5061).
        if let Some(rule) = self.catalogue.by_port(f.transport, pr).find(|rule| {
            !rule.media
                && ri.contains(rule.responder)
                && rule.initiator.is_some_and(|r| rr.contains(r))
        }) {
            fill(&mut v, rule);
            v.finding = Some(Finding::ReversedDirection);
            return Classification {
                verdict: v,
                swapped: false,
            };
        }
        // Not documented: why?
        let pair_rules: Vec<&Rule> = ri
            .iter()
            .flat_map(|a| rr.iter().map(move |b| (a, b)))
            .flat_map(|(a, b)| self.catalogue.by_pair(a, b))
            .filter(|r| r.transport.contains(f.transport))
            .collect();
        let looks_like_media = f.transport == Transport::Udp
            || matches!(
                f.app_protocol,
                Some("RTP" | "RTCP" | "STUN" | "TURN" | "MS-TURN")
            );
        // Media-bearing rules: media ranges, and the STUN/TURN relay ports media flows through.
        let media_pair = pair_rules.iter().any(|r| {
            let p = r.protocol.as_str();
            r.media || p.starts_with("STUN") || p.contains("TURN")
        });
        v.finding = Some(if looks_like_media && media_pair {
            Finding::MediaPortOutOfRange
        } else if !pair_rules.is_empty() {
            Finding::UndocumentedPort
        } else {
            Finding::UndocumentedRolePair
        });
        Classification {
            verdict: v,
            swapped: false,
        }
    }

    fn documented(
        &self,
        v: &mut Verdict<'c>,
        rule: &'c Rule,
        ri: RoleSet,
        rr: RoleSet,
        f: &FlowFacts<'_>,
    ) {
        fill(v, rule);
        v.documented = true;
        v.responder_role = Some(rule.responder.as_str());
        v.initiator_role = rule
            .initiator
            .filter(|r| ri.contains(*r))
            .or_else(|| first(ri))
            .map(Role::as_str);
        let _ = rr;
        self.apply_evidence(v, rule, f);
    }

    fn apply_evidence(&self, v: &mut Verdict<'c>, rule: &Rule, f: &FlowFacts<'_>) {
        match contradicts(rule, f) {
            Some(true) => {
                v.documented = false;
                v.finding = Some(Finding::ProtocolMismatch);
                v.basis = Basis::PortPayload;
            }
            Some(false) => v.basis = Basis::PortPayload,
            None => {}
        }
    }
}

impl Classifier<'_> {
    /// Why a flow is not documented, in a sentence for people (`findings.parquet`'s `detail`):
    /// what the documentation says about these roles, port and protocol. Empty for a documented
    /// flow.
    pub fn explain(&self, f: &FlowFacts<'_>, c: &Classification<'_>) -> String {
        let v = &c.verdict;
        let Some(finding) = v.finding else {
            return String::new();
        };
        let (ini, res) = if c.swapped {
            (f.responder, f.initiator)
        } else {
            (f.initiator, f.responder)
        };
        let t = f.transport.as_str();
        let role = |r: Option<&str>| r.unwrap_or("?").to_string();
        let (ri, rr) = (role(v.initiator_role), role(v.responder_role));
        let rule = v.rule_id.and_then(|id| self.catalogue.rule(id));
        match finding {
            Finding::UnknownEndpoint => {
                let topo = self.topology;
                let missing: Vec<String> = [ini.0, res.0]
                    .into_iter()
                    .filter(|a| topo.is_none_or(|t| t.roles_of(*a).is_empty()))
                    .map(|a| a.to_string())
                    .collect();
                format!("{} not in the topology", missing.join(" and "))
            }
            Finding::UndocumentedRolePair => {
                format!("the documentation has no flow from {ri} to {rr}")
            }
            Finding::UndocumentedPort | Finding::MediaPortOutOfRange => {
                let ports = self.pair_ports(v, f.transport);
                let what = if finding == Finding::MediaPortOutOfRange {
                    "media and relay"
                } else {
                    "flows"
                };
                format!(
                    "{ri} -> {rr} {what} are documented on {}, not {t}/{}",
                    if ports.is_empty() {
                        "other transports".to_string()
                    } else {
                        ports
                    },
                    res.1
                )
            }
            Finding::ReversedDirection => match rule {
                Some(r) => format!(
                    "{} documents {} -> {} on {t}/{}; here {ri} opened it to {rr}",
                    r.id,
                    r.initiator.map_or("any", Role::as_str),
                    r.responder,
                    r.ports,
                ),
                None => format!("documented the other way round; here {ri} opened it"),
            },
            Finding::ProtocolMismatch => {
                let seen = match f.app_protocol {
                    None | Some("unknown") => "bytes no probe recognised".to_string(),
                    Some(p @ ("SIP" | "HTTP" | "XMPP" | "DNS")) => format!("cleartext {p}"),
                    Some(p) => p.to_string(),
                };
                match rule {
                    Some(r) => {
                        let over = match r.security {
                            Security::Tls => " over TLS",
                            Security::Mtls => " over MTLS",
                            _ => "",
                        };
                        format!(
                            "{} documents {}{over} on {t}/{}; the flow carries {seen}",
                            r.id, r.protocol, r.ports
                        )
                    }
                    None => format!("the flow carries {seen}"),
                }
            }
            Finding::UnknownPort => format!("no documented flow uses {t}/{}", res.1),
        }
    }

    /// The transport/ports on which the verdict's role pair is documented, either way round.
    fn pair_ports(&self, v: &Verdict<'_>, transport: Transport) -> String {
        let (Some(a), Some(b)) = (
            v.initiator_role.and_then(Role::from_name),
            v.responder_role.and_then(Role::from_name),
        ) else {
            return String::new();
        };
        let mut seen: Vec<String> = Vec::new();
        for r in self
            .catalogue
            .by_pair(a, b)
            .chain(self.catalogue.by_pair(b, a))
            .filter(|r| r.transport.contains(transport))
        {
            let p = format!("{}/{}", transport.as_str(), r.ports);
            if !seen.contains(&p) {
                seen.push(p);
            }
        }
        seen.join(", ")
    }
}

/// Fills the rule's columns of a verdict.
fn fill<'c>(v: &mut Verdict<'c>, rule: &'c Rule) {
    v.workload = Some(rule.workload);
    v.service = Some(&rule.service);
    v.rule_id = Some(&rule.id);
}

/// The first role of a set, for display when no rule picked one.
fn first(set: RoleSet) -> Option<Role> {
    set.iter()
        .find(|r| *r != Role::SfbServer && *r != Role::CmsMaster)
}
