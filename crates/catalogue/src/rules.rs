//! One documented flow of the catalogue (a `[[rule]]` of `catalogue/sfb2015.toml`), the closed
//! vocabularies its fields use, and the reading and validation of a catalogue file.
//!
//! A catalogue file is read in two steps. serde (with `deny_unknown_fields`) turns the TOML into
//! raw strings, so that a misspelt field or a syntax error is reported with its line. Then every
//! rule is checked as a whole and *every* problem is collected, each naming its rule id and line,
//! before the first one is reported: a user fixing a file sees all of it at once.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use sfbflow_flow::Transport;
use toml::Spanned;

use crate::{Role, Workload};

/// The application protocol a documented flow is expected to carry: a closed list, reduced
/// from the catalogue's free-text "app protocol" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// SIP (signalling, MRAS credential requests, video trunks).
    Sip,
    /// Cleartext HTTP.
    Http,
    /// HTTP over TLS (web services, Autodiscover, WOPI, UCWA, streaming, DSML).
    Https,
    /// DNS.
    Dns,
    /// DHCP.
    Dhcp,
    /// STUN, TURN and MS-TURN (ICE checks, relay allocations, bandwidth checks), and the media
    /// relayed on the same flow after them.
    Stun,
    /// RTP/RTCP media, SRTP/SRTCP included, and app-sharing media (RDP over ICE/SRTP).
    Rtp,
    /// PSOM (web-conferencing data).
    Psom,
    /// XMPP.
    Xmpp,
    /// C3P (the Focus's conference-control protocol over HTTPS).
    C3p,
    /// SQL Server (TDS).
    Sql,
    /// SQL Server Browser (UDP 1434).
    SqlBrowser,
    /// SMB file sharing.
    Smb,
    /// LDAP.
    Ldap,
    /// Microsoft Message Queuing.
    Msmq,
    /// Windows Communication Foundation.
    Wcf,
    /// The Centralized Logging Service (WCF between ClsController and ClsAgent).
    Cls,
    /// DCOM / RPC.
    Rpc,
    /// Call admission control (Bandwidth Policy Service); the wire format is not documented.
    Cac,
    /// Peer-to-peer file transfer between clients.
    FileTransfer,
}

impl Protocol {
    /// Every protocol, in a stable order.
    pub const ALL: [Protocol; 20] = [
        Protocol::Sip,
        Protocol::Http,
        Protocol::Https,
        Protocol::Dns,
        Protocol::Dhcp,
        Protocol::Stun,
        Protocol::Rtp,
        Protocol::Psom,
        Protocol::Xmpp,
        Protocol::C3p,
        Protocol::Sql,
        Protocol::SqlBrowser,
        Protocol::Smb,
        Protocol::Ldap,
        Protocol::Msmq,
        Protocol::Wcf,
        Protocol::Cls,
        Protocol::Rpc,
        Protocol::Cac,
        Protocol::FileTransfer,
    ];

    /// The name used in catalogue files and output (`SIP`, `SQL-BROWSER`).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Sip => "SIP",
            Protocol::Http => "HTTP",
            Protocol::Https => "HTTPS",
            Protocol::Dns => "DNS",
            Protocol::Dhcp => "DHCP",
            Protocol::Stun => "STUN",
            Protocol::Rtp => "RTP",
            Protocol::Psom => "PSOM",
            Protocol::Xmpp => "XMPP",
            Protocol::C3p => "C3P",
            Protocol::Sql => "SQL",
            Protocol::SqlBrowser => "SQL-BROWSER",
            Protocol::Smb => "SMB",
            Protocol::Ldap => "LDAP",
            Protocol::Msmq => "MSMQ",
            Protocol::Wcf => "WCF",
            Protocol::Cls => "CLS",
            Protocol::Rpc => "RPC",
            Protocol::Cac => "CAC",
            Protocol::FileTransfer => "FILE-TRANSFER",
        }
    }

    /// The protocol of a name, if it is one (exact spelling).
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The documented protection of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Security {
    /// TLS (server authentication).
    Tls,
    /// Mutual TLS (both ends present certificates).
    Mtls,
    /// SRTP media.
    Srtp,
    /// Cleartext.
    None,
    /// The sources do not say, or it depends on configuration.
    Unspecified,
}

impl Security {
    /// Every value, in a stable order.
    pub const ALL: [Security; 5] = [
        Security::Tls,
        Security::Mtls,
        Security::Srtp,
        Security::None,
        Security::Unspecified,
    ];

    /// The name used in catalogue files and output (`tls`).
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Mtls => "mtls",
            Security::Srtp => "srtp",
            Security::None => "none",
            Security::Unspecified => "unspecified",
        }
    }

    /// The value of a name, if it is one.
    pub fn from_name(name: &str) -> Option<Security> {
        Security::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transports a documented flow uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transports {
    /// TCP only.
    Tcp,
    /// UDP only.
    Udp,
    /// Both (`tcp+udp`): UDP preferred with TCP as fallback, or DNS over either.
    Both,
}

impl Transports {
    /// Whether a flow on `t` can be this rule's.
    pub fn contains(self, t: Transport) -> bool {
        matches!(
            (self, t),
            (Transports::Both, _)
                | (Transports::Tcp, Transport::Tcp)
                | (Transports::Udp, Transport::Udp)
        )
    }

    /// `tcp`, `udp` or `tcp+udp`, as in catalogue files.
    pub fn as_str(self) -> &'static str {
        match self {
            Transports::Tcp => "tcp",
            Transports::Udp => "udp",
            Transports::Both => "tcp+udp",
        }
    }

    /// The value of a name, if it is one.
    pub fn from_name(name: &str) -> Option<Transports> {
        match name {
            "tcp" => Some(Transports::Tcp),
            "udp" => Some(Transports::Udp),
            "tcp+udp" => Some(Transports::Both),
            _ => None,
        }
    }
}

impl fmt::Display for Transports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of ports: a list of inclusive ranges (a single port is a range of one), or any port.
///
/// Written `5061`, `5060,5061`, `49152-65535`, `49152-57500,60000-64000` or `any`; [`Display`]
/// writes the same form back.
///
/// [`Display`]: fmt::Display
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortSpec(Spec);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Spec {
    Any,
    Ranges(Vec<(u16, u16)>),
}

/// Why a port spec does not parse.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("bad port spec `{spec}`: {reason}")]
pub struct PortSpecError {
    /// The text that did not parse.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

impl PortSpec {
    /// Any port: the sources do not state one, or it is deployment-defined.
    pub fn any() -> PortSpec {
        PortSpec(Spec::Any)
    }

    /// Whether this is "any port".
    pub fn is_any(&self) -> bool {
        matches!(self.0, Spec::Any)
    }

    /// The inclusive ranges, in file order; empty for "any".
    pub fn ranges(&self) -> &[(u16, u16)] {
        match &self.0 {
            Spec::Any => &[],
            Spec::Ranges(r) => r,
        }
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        match &self.0 {
            Spec::Any => true,
            Spec::Ranges(r) => r.iter().any(|&(a, b)| a <= port && port <= b),
        }
    }

    /// Whether the set has a range of more than one port, or is "any" (what a media rule needs).
    pub fn has_range(&self) -> bool {
        match &self.0 {
            Spec::Any => true,
            Spec::Ranges(r) => r.iter().any(|&(a, b)| a < b),
        }
    }

    /// Whether `port` is one of the single ports of the list (not a range's, not "any").
    pub(crate) fn has_single(&self, port: u16) -> bool {
        self.ranges().iter().any(|&(a, b)| a == b && a == port)
    }

    /// Whether `port` lies in one of the list's ranges of more than one port and is not also
    /// one of its single ports.
    pub(crate) fn in_wide_range(&self, port: u16) -> bool {
        !self.has_single(port)
            && self
                .ranges()
                .iter()
                .any(|&(a, b)| a < b && a <= port && port <= b)
    }
}

fn parse_port(text: &str, spec: &str) -> Result<u16, PortSpecError> {
    let bad = |reason: String| PortSpecError {
        spec: spec.to_owned(),
        reason,
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("`{text}` is not a port number")));
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad(format!("`{text}` is not a port number (1-65535)"))),
        Ok(p) => Ok(p),
    }
}

impl FromStr for PortSpec {
    type Err = PortSpecError;

    fn from_str(s: &str) -> Result<PortSpec, PortSpecError> {
        let spec = s.trim();
        if spec == "any" {
            return Ok(PortSpec::any());
        }
        if spec.is_empty() {
            return Err(PortSpecError {
                spec: s.to_owned(),
                reason: "empty (write `any` for any port)".to_owned(),
            });
        }
        let mut ranges = Vec::new();
        for part in spec.split(',').map(str::trim) {
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (parse_port(a.trim(), s)?, parse_port(b.trim(), s)?),
                None if part == "any" => {
                    return Err(PortSpecError {
                        spec: s.to_owned(),
                        reason: "`any` cannot be combined with ports".to_owned(),
                    });
                }
                None => {
                    let p = parse_port(part, s)?;
                    (p, p)
                }
            };
            if a > b {
                return Err(PortSpecError {
                    spec: s.to_owned(),
                    reason: format!("range `{part}` runs backwards (first port after last)"),
                });
            }
            ranges.push((a, b));
        }
        Ok(PortSpec(Spec::Ranges(ranges)))
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Spec::Any => f.write_str("any"),
            Spec::Ranges(r) => {
                for (i, &(a, b)) in r.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    if a == b {
                        write!(f, "{a}")?;
                    } else {
                        write!(f, "{a}-{b}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The ways a responder is reached (catalogue.md §2.2 `path`).
pub const PATHS: [&str; 6] = ["hlb", "dnslb", "dnslb|hlb", "direct", "edgelb", "none"];

/// One documented flow: who opens it to whom, on what, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, `<prefix>.<words>` (`im.int-client-to-fe-sip-tls-5061`).
    pub id: String,
    /// The poster workload.
    pub workload: Workload,
    /// The side that opens the flow; `None` when the sources name no initiator ("any").
    pub initiator: Option<Role>,
    /// The side that listens on `ports`.
    pub responder: Role,
    /// TCP, UDP or both.
    pub transport: Transports,
    /// The responder's ports.
    pub ports: PortSpec,
    /// The initiator's ports, where a source documents them.
    pub initiator_ports: Option<PortSpec>,
    /// A media rule (RTP/SRTP/ICE, relay, file transfer on port ranges): it matches a flow in
    /// either direction.
    pub media: bool,
    /// The expected application protocol.
    pub protocol: Protocol,
    /// The documented protection.
    pub security: Security,
    /// The responder's service as the poster or docs name it.
    pub service: String,
    /// How the responder is reached: one of [`PATHS`].
    pub path: String,
    /// Evidence codes: `P`, `D`, `I`, `X` joined by `+`.
    pub evidence: String,
    /// Poster section and doc tables that document the flow.
    pub source: String,
    /// Caveats, and the original text of normalised values.
    pub notes: Option<String>,
}

/// The workload of a name in catalogue files (`Workload::as_str`), if it is one.
pub(crate) fn workload_from_name(name: &str) -> Option<Workload> {
    [
        Workload::SigninDiscovery,
        Workload::ImPresence,
        Workload::AvWebConf,
        Workload::EnterpriseVoice,
        Workload::Cms,
        Workload::Mgmt,
        Workload::Broadcast,
    ]
    .into_iter()
    .find(|w| w.as_str() == name)
}

/// The workload an id prefix stands for.
fn workload_of_prefix(prefix: &str) -> Option<Workload> {
    Some(match prefix {
        "sd" => Workload::SigninDiscovery,
        "im" => Workload::ImPresence,
        "av" => Workload::AvWebConf,
        "ev" => Workload::EnterpriseVoice,
        "cms" => Workload::Cms,
        "mgmt" | "infra" => Workload::Mgmt,
        "bc" => Workload::Broadcast,
        _ => return None,
    })
}

/// One problem of a catalogue that parsed as TOML but is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The id of the rule (or `#n`, its 1-based position, when it has no id); `None` for a
    /// problem of the file as a whole.
    pub rule: Option<String>,
    /// 1-based line of the offending value, when known.
    pub line: Option<usize>,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(id) => write!(f, "rule {id}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A catalogue that could not be read, parsed or validated.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum CatalogueError {
    /// The file could not be read.
    #[error("cannot read catalogue file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not TOML of the catalogue's form (syntax, a missing or unknown field, a
    /// value of the wrong type).
    #[error("{}:{line}:{column}: {message}", where_(path.as_deref()))]
    Syntax {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// 1-based line (0 when the parser gave no position).
        line: usize,
        /// 1-based column, in characters (0 when unknown).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The catalogue parsed but is not valid: every problem found, in file order. Displayed one
    /// per line as `sfb2015.toml:12: rule im.x: unknown role `frontend``.
    #[error("{}", render_problems(path.as_deref(), problems))]
    Invalid {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// Every problem found, at least one.
        problems: Vec<Problem>,
    },
}

fn where_(path: Option<&Path>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "catalogue".to_owned(),
    }
}

fn render_problems(path: Option<&Path>, problems: &[Problem]) -> String {
    let file = where_(path);
    let lines: Vec<String> = problems
        .iter()
        .map(|p| match p.line {
            Some(line) => format!("{file}:{line}: {p}"),
            None => format!("{file}: {p}"),
        })
        .collect();
    lines.join("\n")
}

impl CatalogueError {
    /// The same error, naming `path` as the file it came from.
    pub(crate) fn in_file(self, file: &Path) -> CatalogueError {
        match self {
            CatalogueError::Syntax {
                line,
                column,
                message,
                ..
            } => CatalogueError::Syntax {
                path: Some(file.to_owned()),
                line,
                column,
                message,
            },
            CatalogueError::Invalid { problems, .. } => CatalogueError::Invalid {
                path: Some(file.to_owned()),
                problems,
            },
            other => other,
        }
    }
}

/// The `[catalogue]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    version: String,
}

/// A `[[rule]]` as written: strings with their positions, checked afterwards.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    workload: Spanned<String>,
    initiator: Spanned<String>,
    responder: Spanned<String>,
    transport: Spanned<String>,
    ports: Spanned<String>,
    #[serde(default)]
    initiator_ports: Option<Spanned<String>>,
    #[serde(default)]
    media: bool,
    protocol: Spanned<String>,
    security: Spanned<String>,
    service: Spanned<String>,
    path: Spanned<String>,
    evidence: Spanned<String>,
    source: Spanned<String>,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    catalogue: Spanned<RawHeader>,
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

/// A parsed and validated catalogue file: its header and its rules in file order.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) rules: Vec<Rule>,
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_col(offset)
}

/// Byte offsets of line starts, computed once per file, so that the line of every rule is a
/// binary search rather than a scan from the top.
struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut end = offset.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let line = self.starts.partition_point(|s| *s <= end).max(1);
        let line_start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(line_start..end)
            .map_or(0, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

/// Whether `id` is `<prefix>.<words>`: words of lowercase ASCII letters and digits joined by
/// single `-`.
fn id_problem(id: &str) -> Option<String> {
    let Some((prefix, words)) = id.split_once('.') else {
        return Some(format!("id `{id}` is not `<workload-prefix>.<words>`"));
    };
    if workload_of_prefix(prefix).is_none() {
        return Some(format!(
            "id `{id}` has an unknown prefix `{prefix}` (sd, im, av, ev, cms, mgmt, infra, bc)"
        ));
    }
    let word_ok = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if !words.split('-').all(word_ok) {
        return Some(format!(
            "id `{id}`: after the prefix, only lowercase letters and digits joined by single `-`"
        ));
    }
    None
}

fn evidence_ok(ev: &str) -> bool {
    !ev.is_empty() && ev.split('+').all(|c| matches!(c, "P" | "D" | "I" | "X"))
}

/// A near miss for an unknown role name (`frontend`, `Front-End`).
fn role_hint(name: &str) -> String {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let want = squash(name);
    match Role::ALL.into_iter().find(|r| squash(r.as_str()) == want) {
        Some(r) => format!(" (did you mean `{}`?)", r.as_str()),
        None => String::new(),
    }
}

/// Collects the problems of one catalogue, each with its rule and line.
struct Checker<'t> {
    lines: LineIndex<'t>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn push<T>(&mut self, rule: &str, at: &Spanned<T>, message: String) {
        let (line, _) = self.lines.line_col(at.span().start);
        self.problems.push(Problem {
            rule: Some(rule.to_owned()),
            line: Some(line),
            message,
        });
    }

    fn port_spec(&mut self, rule: &str, field: &str, raw: &Spanned<String>) -> Option<PortSpec> {
        match raw.get_ref().parse::<PortSpec>() {
            Ok(p) => Some(p),
            Err(e) => {
                self.push(rule, raw, format!("{field}: {e}"));
                None
            }
        }
    }

    fn rule(&mut self, index: usize, raw: &RawRule) -> Option<Rule> {
        let id = raw.id.get_ref().trim();
        let label = if id.is_empty() {
            format!("#{}", index + 1)
        } else {
            id.to_owned()
        };
        let label = label.as_str();
        let before = self.problems.len();

        let problem = if id.is_empty() {
            Some("empty id".to_owned())
        } else {
            id_problem(id)
        };
        let prefix_workload = match problem {
            Some(p) => {
                self.push(label, &raw.id, p);
                None
            }
            None => id
                .split_once('.')
                .and_then(|(prefix, _)| workload_of_prefix(prefix)),
        };
        let workload = workload_from_name(raw.workload.get_ref());
        match workload {
            None => self.push(
                label,
                &raw.workload,
                format!(
                    "unknown workload `{}` (signin_discovery, im_presence, av_web_conf, \
                     enterprise_voice, cms, mgmt, broadcast)",
                    raw.workload.get_ref()
                ),
            ),
            Some(w) => {
                if let Some(pw) = prefix_workload.filter(|pw| *pw != w) {
                    self.push(
                        label,
                        &raw.workload,
                        format!(
                            "workload `{}` does not agree with the id prefix (which means `{}`)",
                            w.as_str(),
                            pw.as_str()
                        ),
                    );
                }
            }
        }
        let initiator = match raw.initiator.get_ref().as_str() {
            "any" => Some(None),
            name => match Role::from_name(name) {
                Some(r) => Some(Some(r)),
                None => {
                    let hint = role_hint(name);
                    self.push(
                        label,
                        &raw.initiator,
                        format!("unknown initiator role `{name}`{hint} (a role, or `any`)"),
                    );
                    None
                }
            },
        };
        let responder = Role::from_name(raw.responder.get_ref());
        if responder.is_none() {
            let name = raw.responder.get_ref();
            let hint = role_hint(name);
            self.push(
                label,
                &raw.responder,
                format!("unknown responder role `{name}`{hint}"),
            );
        }
        let transport = Transports::from_name(raw.transport.get_ref());
        if transport.is_none() {
            self.push(
                label,
                &raw.transport,
                format!(
                    "unknown transport `{}` (tcp, udp, tcp+udp)",
                    raw.transport.get_ref()
                ),
            );
        }
        let ports = self.port_spec(label, "ports", &raw.ports);
        let initiator_ports = match &raw.initiator_ports {
            Some(spec) => self.port_spec(label, "initiator_ports", spec).map(Some),
            None => Some(None),
        };
        if raw.media && ports.as_ref().is_some_and(|p| !p.has_range()) {
            self.push(
                label,
                &raw.ports,
                format!(
                    "a media rule needs a port range (or `any`), not `{}`",
                    raw.ports.get_ref()
                ),
            );
        }
        let protocol = Protocol::from_name(raw.protocol.get_ref());
        if protocol.is_none() {
            let names: Vec<&str> = Protocol::ALL.iter().map(|p| p.as_str()).collect();
            self.push(
                label,
                &raw.protocol,
                format!(
                    "unknown protocol `{}` ({})",
                    raw.protocol.get_ref(),
                    names.join(", ")
                ),
            );
        }
        let security = Security::from_name(raw.security.get_ref());
        if security.is_none() {
            self.push(
                label,
                &raw.security,
                format!(
                    "unknown security `{}` (tls, mtls, srtp, none, unspecified)",
                    raw.security.get_ref()
                ),
            );
        }
        if !PATHS.contains(&raw.path.get_ref().as_str()) {
            self.push(
                label,
                &raw.path,
                format!(
                    "unknown path `{}` ({})",
                    raw.path.get_ref(),
                    PATHS.join(", ")
                ),
            );
        }
        if !evidence_ok(raw.evidence.get_ref()) {
            self.push(
                label,
                &raw.evidence,
                format!(
                    "evidence `{}` is not codes P, D, I, X joined by `+`",
                    raw.evidence.get_ref()
                ),
            );
        }
        for (field, value) in [("service", &raw.service), ("source", &raw.source)] {
            if value.get_ref().trim().is_empty() {
                self.push(label, value, format!("empty {field}"));
            }
        }
        if self.problems.len() != before {
            return None;
        }
        Some(Rule {
            id: id.to_owned(),
            workload: workload?,
            initiator: initiator?,
            responder: responder?,
            transport: transport?,
            ports: ports?,
            initiator_ports: initiator_ports?,
            media: raw.media,
            protocol: protocol?,
            security: security?,
            service: raw.service.get_ref().trim().to_owned(),
            path: raw.path.get_ref().clone(),
            evidence: raw.evidence.get_ref().clone(),
            source: raw.source.get_ref().trim().to_owned(),
            notes: raw
                .notes
                .as_ref()
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
        })
    }
}

/// Parses and validates a catalogue: the TOML's syntax and shape first, then every rule, and
/// every problem reported at once.
pub(crate) fn parse(text: &str) -> Result<Parsed, CatalogueError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        CatalogueError::Syntax {
            path: None,
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })?;
    let mut checker = Checker {
        lines: LineIndex::new(text),
        problems: Vec::new(),
    };
    let header = raw.catalogue.get_ref();
    if header.name.trim().is_empty() {
        let (line, _) = checker.lines.line_col(raw.catalogue.span().start);
        checker.problems.push(Problem {
            rule: None,
            line: Some(line),
            message: "[catalogue] name is empty".to_owned(),
        });
    }
    if raw.rule.is_empty() {
        checker.problems.push(Problem {
            rule: None,
            line: None,
            message: "the catalogue has no [[rule]]".to_owned(),
        });
    }
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut rules = Vec::with_capacity(raw.rule.len());
    for (i, spanned) in raw.rule.iter().enumerate() {
        let r = spanned.get_ref();
        let id = r.id.get_ref().trim();
        if !id.is_empty() {
            let (line, _) = checker.lines.line_col(r.id.span().start);
            if let Some(first) = first_line.get(id) {
                checker.problems.push(Problem {
                    rule: Some(id.to_owned()),
                    line: Some(line),
                    message: format!("duplicate id (first used on line {first})"),
                });
            } else {
                first_line.insert(id.to_owned(), line);
            }
        }
        if let Some(rule) = checker.rule(i, r) {
            rules.push(rule);
        }
    }
    if !checker.problems.is_empty() {
        let mut problems = checker.problems;
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        return Err(CatalogueError::Invalid {
            path: None,
            problems,
        });
    }
    Ok(Parsed {
        name: header.name.clone(),
        version: header.version.clone(),
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid rule, with `{extra}` lines appended and `{field} = ...` lines replaced.
    fn rule(id: &str, replace: &[(&str, &str)]) -> String {
        let mut fields = vec![
            ("id", format!("\"{id}\"")),
            ("workload", "\"im_presence\"".to_owned()),
            ("initiator", "\"internal_client\"".to_owned()),
            ("responder", "\"front_end\"".to_owned()),
            ("transport", "\"tcp\"".to_owned()),
            ("ports", "\"5061\"".to_owned()),
            ("media", "false".to_owned()),
            ("protocol", "\"SIP\"".to_owned()),
            ("security", "\"tls\"".to_owned()),
            ("service", "\"Front-End service\"".to_owned()),
            ("path", "\"dnslb|hlb\"".to_owned()),
            ("evidence", "\"P+D\"".to_owned()),
            ("source", "\"P-IM\"".to_owned()),
        ];
        for (k, v) in replace {
            match fields.iter_mut().find(|(f, _)| f == k) {
                Some(slot) => slot.1 = (*v).to_owned(),
                None => fields.push((k, (*v).to_owned())),
            }
        }
        let mut s = String::from("\n[[rule]]\n");
        for (k, v) in fields {
            if !v.is_empty() {
                s.push_str(&format!("{k} = {v}\n"));
            }
        }
        s
    }

    const HEAD: &str = "[catalogue]\nname = \"test\"\nversion = \"1\"\n";

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text) {
            Err(CatalogueError::Invalid { problems, .. }) => problems,
            Err(e) => panic!("expected Invalid, got {e}"),
            Ok(_) => panic!("expected Invalid, got a catalogue"),
        }
    }

    #[test]
    fn a_valid_rule_parses() {
        let text = format!("{HEAD}{}", rule("im.a-b-5061", &[]));
        let p = parse(&text).expect("valid");
        assert_eq!(p.name, "test");
        let r = &p.rules[0];
        assert_eq!(r.id, "im.a-b-5061");
        assert_eq!(r.workload, Workload::ImPresence);
        assert_eq!(r.initiator, Some(Role::InternalClient));
        assert_eq!(r.ports.to_string(), "5061");
        assert_eq!(r.initiator_ports, None);
        assert_eq!(r.notes, None);
    }

    #[test]
    fn any_initiator_is_none() {
        let text = format!("{HEAD}{}", rule("im.a", &[("initiator", "\"any\"")]));
        assert_eq!(parse(&text).expect("valid").rules[0].initiator, None);
    }

    #[test]
    fn unknown_field_is_a_syntax_error_with_its_line() {
        let text = format!("{HEAD}{}", rule("im.a", &[("colour", "\"red\"")]));
        let line = text
            .lines()
            .position(|l| l.starts_with("colour"))
            .expect("line")
            + 1;
        match parse(&text) {
            Err(CatalogueError::Syntax {
                line: l, message, ..
            }) => {
                assert!(message.contains("unknown field"), "{message}");
                assert!(message.contains("colour"), "{message}");
                assert_eq!(l, line);
            }
            other => panic!("expected Syntax, got {other:?}"),
        }
    }

    #[test]
    fn unknown_role_names_rule_and_line() {
        let text = format!("{HEAD}{}", rule("im.a", &[("responder", "\"frontend\"")]));
        let line = text
            .lines()
            .position(|l| l.starts_with("responder"))
            .expect("line")
            + 1;
        let p = problems(&text);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].rule.as_deref(), Some("im.a"));
        assert_eq!(p[0].line, Some(line));
        assert!(p[0].message.contains("`frontend`"), "{}", p[0]);
        assert!(
            p[0].message.contains("did you mean `front_end`"),
            "{}",
            p[0]
        );
        assert!(p[0].to_string().starts_with("rule im.a: "));
    }

    #[test]
    fn duplicate_id_is_reported_on_the_second() {
        let text = format!("{HEAD}{}{}", rule("im.a", &[]), rule("im.a", &[]));
        let p = problems(&text);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message.contains("duplicate id (first used on line 6)"),
            "{}",
            p[0]
        );
        assert_eq!(p[0].line, Some(21));
    }

    #[test]
    fn bad_ranges_are_rejected() {
        for spec in [
            "5062-5061",
            "0",
            "70000",
            "50-",
            "5061,",
            "any,5061",
            "",
            "5o61",
        ] {
            let text = format!(
                "{HEAD}{}",
                rule("im.a", &[("ports", &format!("\"{spec}\""))])
            );
            let p = problems(&text);
            assert_eq!(p.len(), 1, "{spec}: {p:?}");
            assert!(
                p[0].message.starts_with("ports: bad port spec"),
                "{spec}: {}",
                p[0]
            );
        }
        let text = format!("{HEAD}{}", rule("im.a", &[("ports", "\"5062-5061\"")]));
        assert!(problems(&text)[0].message.contains("runs backwards"));
    }

    #[test]
    fn media_rules_need_a_range() {
        let text = format!(
            "{HEAD}{}",
            rule(
                "av.m",
                &[("workload", "\"av_web_conf\""), ("media", "true")]
            )
        );
        let p = problems(&text);
        assert!(
            p[0].message.contains("media rule needs a port range"),
            "{}",
            p[0]
        );
        let ok = rule(
            "av.m",
            &[
                ("workload", "\"av_web_conf\""),
                ("media", "true"),
                ("ports", "\"49152-65535\""),
            ],
        );
        assert!(parse(&format!("{HEAD}{ok}")).is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = format!(
            "{HEAD}{}{}{}",
            rule(
                "im.a",
                &[
                    ("responder", "\"nobody\""),
                    ("ports", "\"9-1\""),
                    ("protocol", "\"SIPS\"")
                ]
            ),
            rule(
                "Bad Id",
                &[("security", "\"strong\""), ("service", "\"  \"")]
            ),
            rule(
                "im.a",
                &[
                    ("workload", "\"cms\""),
                    ("path", "\"hlb|dnslb\""),
                    ("evidence", "\"P+Q\"")
                ]
            ),
        );
        let p = problems(&text);
        let shown: Vec<String> = p.iter().map(ToString::to_string).collect();
        let expect = [
            "rule im.a: unknown responder role `nobody`",
            "rule im.a: ports: bad port spec `9-1`",
            "rule im.a: unknown protocol `SIPS`",
            "rule Bad Id: id `Bad Id` is not `<workload-prefix>.<words>`",
            "rule Bad Id: unknown security `strong`",
            "rule Bad Id: empty service",
            "rule im.a: duplicate id",
            "rule im.a: workload `cms` does not agree with the id prefix",
            "rule im.a: unknown path `hlb|dnslb`",
            "rule im.a: evidence `P+Q`",
        ];
        assert_eq!(p.len(), expect.len(), "{shown:#?}");
        for (got, want) in shown.iter().zip(expect) {
            assert!(got.starts_with(want), "{got} does not start with {want}");
        }
        // In file order, each with a line.
        let lines: Vec<usize> = p.iter().map(|p| p.line.expect("line")).collect();
        assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
        // The error's display names the lines.
        let e = parse(&text).expect_err("invalid");
        let msg = e.to_string();
        assert_eq!(msg.lines().count(), expect.len());
        assert!(msg.starts_with(&format!(
            "catalogue:{}: rule im.a: unknown responder",
            lines[0]
        )));
    }

    #[test]
    fn syntax_error_names_its_line() {
        let text = format!("{HEAD}\n[[rule]]\nid = \"im.a\nworkload = \"im_presence\"\n");
        match parse(&text) {
            Err(CatalogueError::Syntax { line, column, .. }) => {
                assert_eq!(line, 6);
                assert!(column >= 1);
            }
            other => panic!("expected Syntax, got {other:?}"),
        }
        let text = format!("{HEAD}{}", rule("im.a", &[("media", "\"yes\"")]));
        let line = text
            .lines()
            .position(|l| l.starts_with("media"))
            .expect("line")
            + 1;
        match parse(&text) {
            Err(e @ CatalogueError::Syntax { .. }) => {
                let CatalogueError::Syntax { line: l, .. } = &e else {
                    unreachable!()
                };
                assert_eq!(*l, line, "{e}");
                assert!(
                    e.to_string().starts_with(&format!("catalogue:{line}:")),
                    "{e}"
                );
            }
            other => panic!("expected Syntax, got {other:?}"),
        }
    }

    #[test]
    fn missing_field_and_missing_header_are_syntax_errors() {
        let text = format!("{HEAD}{}", rule("im.a", &[("source", "")]));
        assert!(
            matches!(parse(&text), Err(CatalogueError::Syntax { ref message, .. }) if message.contains("source"))
        );
        let text = rule("im.a", &[]);
        assert!(matches!(parse(&text), Err(CatalogueError::Syntax { .. })));
    }

    #[test]
    fn empty_catalogue_is_invalid() {
        let p = problems(HEAD);
        assert_eq!(p[0].message, "the catalogue has no [[rule]]");
    }

    #[test]
    fn port_specs_parse_and_display() {
        for (text, shown) in [
            ("5061", "5061"),
            ("5060,5061", "5060,5061"),
            ("5060, 5061", "5060,5061"),
            ("49152-65535", "49152-65535"),
            ("49152-57500,60000-64000", "49152-57500,60000-64000"),
            ("any", "any"),
            ("65535", "65535"),
            ("7-7", "7"),
        ] {
            let p: PortSpec = text.parse().expect(text);
            assert_eq!(p.to_string(), shown);
            assert_eq!(p.to_string().parse::<PortSpec>().expect("round trip"), p);
        }
        let p: PortSpec = "80,443,50000-59999".parse().expect("spec");
        assert!(p.contains(80) && p.contains(443) && p.contains(50000) && p.contains(59999));
        assert!(!p.contains(81) && !p.contains(60000) && !p.contains(0));
        assert!(p.has_range() && p.has_single(443) && !p.has_single(50000));
        assert!(p.in_wide_range(50001) && !p.in_wide_range(443));
        assert!(PortSpec::any().contains(0) && PortSpec::any().has_range());
        assert!(!"5061".parse::<PortSpec>().expect("spec").has_range());
    }

    #[test]
    fn vocabularies_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(Protocol::from_name(p.as_str()), Some(p));
        }
        for s in Security::ALL {
            assert_eq!(Security::from_name(s.as_str()), Some(s));
        }
        for t in [Transports::Tcp, Transports::Udp, Transports::Both] {
            assert_eq!(Transports::from_name(t.as_str()), Some(t));
        }
        assert!(
            Transports::Both.contains(Transport::Udp) && Transports::Both.contains(Transport::Tcp)
        );
        assert!(!Transports::Tcp.contains(Transport::Udp));
        assert_eq!(workload_from_name("mgmt"), Some(Workload::Mgmt));
        assert_eq!(workload_from_name("mgmt_logging"), None);
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(id_problem("im.int-client-to-fe-sip-tls-5061"), None);
        assert_eq!(id_problem("infra.access-edge-to-any-http-80"), None);
        assert!(id_problem("im").is_some());
        assert!(id_problem("xx.a").is_some());
        assert!(id_problem("im.A").is_some());
        assert!(id_problem("im.a--b").is_some());
        assert!(id_problem("im.a.b").is_some());
        assert!(id_problem("im.").is_some());
    }

    proptest::proptest! {
        #[test]
        fn port_spec_parsing_never_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<PortSpec>();
        }

        #[test]
        fn ranges_round_trip(a in 1u16.., b in 1u16..) {
            let (lo, hi) = (a.min(b), a.max(b));
            let p: PortSpec = format!("{lo}-{hi}").parse().expect("range");
            proptest::prop_assert!(p.contains(lo) && p.contains(hi));
            proptest::prop_assert_eq!(p.to_string().parse::<PortSpec>().expect("again"), p);
        }
    }
}
