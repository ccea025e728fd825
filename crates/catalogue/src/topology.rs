//! The deployment topology: which addresses hold which roles (interface.md, "Topology file").
//!
//! A topology file is TOML:
//!
//! ```toml
//! sip_domain = "contoso.com"
//! ad_domain  = "corp.contoso.com"
//!
//! [roles]
//! front_end       = ["10.1.3.10", "10.1.3.11"]
//! internal_client = ["10.20.0.0/16"]
//! external_client = ["0.0.0.0/0", "::/0"]
//!
//! [ports]
//! client_media = "50000-50059"
//! ```
//!
//! Parsing never stops at the first mistake: [`Topology::from_toml`] walks the whole document and
//! reports every problem it finds, each with its 1-based line and column
//! ([`TopologyError::Invalid`]). A TOML syntax error is the exception: the document cannot be
//! walked, so it is one problem at the line and column the TOML parser gives.
//!
//! Decisions that the file format leaves open:
//!
//! * A prefix with host bits set (`"10.1.3.10/16"`) is an error, not silently masked: it is
//!   ambiguous between the host `10.1.3.10` and the subnet `10.1.0.0/16`, and the message names
//!   both.
//! * An IPv4-mapped IPv6 address or prefix (`"::ffff:10.1.3.10"`, `"::ffff:10.0.0.0/104"`) in the
//!   file is stored as IPv4, and a mapped address is looked up as IPv4, so a dual-stack capture
//!   and the file agree. A catch-all `"::/0"` therefore does not cover mapped addresses; list
//!   `"0.0.0.0/0"` for those.
//! * The same prefix twice under one role is an error (it points at the second one and names the
//!   line of the first); `"10.1.3.10"` and `"10.1.3.10/32"` are the same prefix. The same prefix
//!   under different roles is how a host holds several roles.
//! * An empty role list (`vis = []`) is allowed and adds nothing.
//! * `sip_domain` and `ad_domain` are kept in lower case, without a trailing dot.
//!
//! Lookup is by longest matching prefix: the prefixes are grouped by length (longest first), each
//! group a hash map from the masked address to its [`RoleSet`], IPv4 and IPv6 apart, so a lookup
//! costs at most one hash probe per distinct prefix length, whatever the number of prefixes.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The prefix type of [`Topology::lookup`], re-exported so callers need no `ipnet` dependency.
pub use ipnet::IpNet;
use ipnet::{Ipv4Net, Ipv6Net};
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::Role;

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------------------------
// RoleSet

/// A set of roles: one bit per [`Role`], in the order of [`Role::ALL`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RoleSet(u64);

impl RoleSet {
    /// The empty set.
    pub const fn empty() -> Self {
        RoleSet(0)
    }

    /// The set holding `role` alone.
    pub fn single(role: Role) -> Self {
        RoleSet(Self::bit(role))
    }

    fn bit(role: Role) -> u64 {
        // `Role` is a field-less enum whose declaration order is `Role::ALL`'s (tested), and it
        // has 38 variants, so the shift is always below 64.
        1u64 << (role as u32)
    }

    /// Adds `role` to the set.
    pub fn insert(&mut self, role: Role) {
        self.0 |= Self::bit(role);
    }

    /// Whether `role` is in the set.
    pub fn contains(self, role: Role) -> bool {
        self.0 & Self::bit(role) != 0
    }

    /// Whether the set holds no role.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The roles in the set, in the order of [`Role::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// How many roles the set holds.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The roles in either set.
    #[must_use]
    pub fn union(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 | other.0)
    }
}

impl fmt::Debug for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut set = RoleSet::empty();
        for role in iter {
            set.insert(role);
        }
        set
    }
}

impl From<Role> for RoleSet {
    fn from(role: Role) -> Self {
        RoleSet::single(role)
    }
}

// ---------------------------------------------------------------------------------------------
// Ports

/// The `[ports]` table: deployment-specific ports and ranges. `None` means the key was absent and
/// the default applies (the `DEFAULT_*` constants; the `*_or_default` methods apply them).
///
/// Each range is inclusive, `(first, last)` with `1 <= first <= last`, in the order written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortOverrides {
    /// `client_media`: the clients' media port range (`ClientMediaPortRange`). Default 1024-65535.
    pub client_media: Option<Vec<(u16, u16)>>,
    /// `edge_media`: the A/V Edge relay port range. Default 50000-59999.
    pub edge_media: Option<Vec<(u16, u16)>>,
    /// `conference_audio`: the AV MCU audio range on the Front End. Default 49152-57500.
    pub conference_audio: Option<Vec<(u16, u16)>>,
    /// `conference_video`: the AV MCU video range on the Front End. Default 57501-65535.
    pub conference_video: Option<Vec<(u16, u16)>>,
    /// `mediation_media`: the Mediation Server's media range. Default 49152-57500.
    pub mediation_media: Option<Vec<(u16, u16)>>,
    /// `gateway_media`: the PSTN gateway's media range. Default: any port.
    pub gateway_media: Option<Vec<(u16, u16)>>,
    /// `gateway_sip`: the PSTN gateway's SIP listening ports. Default 5060 and 5061.
    pub gateway_sip: Option<Vec<(u16, u16)>>,
    /// `vis_trunk`: the Video Interop Server's SIP trunk port for the video gateway. Default 6001.
    pub vis_trunk: Option<Vec<(u16, u16)>>,
}

/// The keys of `[ports]`, in the order of [`PortOverrides`]' fields.
pub const PORT_KEYS: [&str; 8] = [
    "client_media",
    "edge_media",
    "conference_audio",
    "conference_video",
    "mediation_media",
    "gateway_media",
    "gateway_sip",
    "vis_trunk",
];

impl PortOverrides {
    /// Default of `client_media`: 1024-65535.
    pub const DEFAULT_CLIENT_MEDIA: &'static [(u16, u16)] = &[(1024, 65535)];
    /// Default of `edge_media`: 50000-59999.
    pub const DEFAULT_EDGE_MEDIA: &'static [(u16, u16)] = &[(50000, 59999)];
    /// Default of `conference_audio`: 49152-57500.
    pub const DEFAULT_CONFERENCE_AUDIO: &'static [(u16, u16)] = &[(49152, 57500)];
    /// Default of `conference_video`: 57501-65535.
    pub const DEFAULT_CONFERENCE_VIDEO: &'static [(u16, u16)] = &[(57501, 65535)];
    /// Default of `mediation_media`: 49152-57500.
    pub const DEFAULT_MEDIATION_MEDIA: &'static [(u16, u16)] = &[(49152, 57500)];
    /// Default of `gateway_media`: any port (1-65535).
    pub const DEFAULT_GATEWAY_MEDIA: &'static [(u16, u16)] = &[(1, 65535)];
    /// Default of `gateway_sip`: 5060 and 5061.
    pub const DEFAULT_GATEWAY_SIP: &'static [(u16, u16)] = &[(5060, 5060), (5061, 5061)];
    /// Default of `vis_trunk`: 6001.
    pub const DEFAULT_VIS_TRUNK: &'static [(u16, u16)] = &[(6001, 6001)];

    /// `client_media`, or its default.
    pub fn client_media_or_default(&self) -> &[(u16, u16)] {
        self.client_media
            .as_deref()
            .unwrap_or(Self::DEFAULT_CLIENT_MEDIA)
    }

    /// `edge_media`, or its default.
    pub fn edge_media_or_default(&self) -> &[(u16, u16)] {
        self.edge_media
            .as_deref()
            .unwrap_or(Self::DEFAULT_EDGE_MEDIA)
    }

    /// `conference_audio`, or its default.
    pub fn conference_audio_or_default(&self) -> &[(u16, u16)] {
        self.conference_audio
            .as_deref()
            .unwrap_or(Self::DEFAULT_CONFERENCE_AUDIO)
    }

    /// `conference_video`, or its default.
    pub fn conference_video_or_default(&self) -> &[(u16, u16)] {
        self.conference_video
            .as_deref()
            .unwrap_or(Self::DEFAULT_CONFERENCE_VIDEO)
    }

    /// `mediation_media`, or its default.
    pub fn mediation_media_or_default(&self) -> &[(u16, u16)] {
        self.mediation_media
            .as_deref()
            .unwrap_or(Self::DEFAULT_MEDIATION_MEDIA)
    }

    /// `gateway_media`, or its default (any port).
    pub fn gateway_media_or_default(&self) -> &[(u16, u16)] {
        self.gateway_media
            .as_deref()
            .unwrap_or(Self::DEFAULT_GATEWAY_MEDIA)
    }

    /// `gateway_sip`, or its default.
    pub fn gateway_sip_or_default(&self) -> &[(u16, u16)] {
        self.gateway_sip
            .as_deref()
            .unwrap_or(Self::DEFAULT_GATEWAY_SIP)
    }

    /// `vis_trunk`, or its default.
    pub fn vis_trunk_or_default(&self) -> &[(u16, u16)] {
        self.vis_trunk.as_deref().unwrap_or(Self::DEFAULT_VIS_TRUNK)
    }

    fn slot(&mut self, key: &str) -> Option<&mut Option<Vec<(u16, u16)>>> {
        Some(match key {
            "client_media" => &mut self.client_media,
            "edge_media" => &mut self.edge_media,
            "conference_audio" => &mut self.conference_audio,
            "conference_video" => &mut self.conference_video,
            "mediation_media" => &mut self.mediation_media,
            "gateway_media" => &mut self.gateway_media,
            "gateway_sip" => &mut self.gateway_sip,
            "vis_trunk" => &mut self.vis_trunk,
            _ => return None,
        })
    }
}

/// Whether `port` lies in one of the inclusive `ranges`.
pub fn ranges_contain(ranges: &[(u16, u16)], port: u16) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= port && port <= hi)
}

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem in a topology file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyProblem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for TopologyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A topology file that could not be read or is not valid.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum TopologyError {
    /// The file could not be read.
    #[error("cannot read topology file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid topology: every problem found, sorted by line. Displayed one per
    /// line as `topology.toml:12: unknown role `frontend` (did you mean `front_end`?)`, or
    /// `line 12: ...` when the text did not come from a file.
    #[error("{}", render_problems(path.as_deref(), problems))]
    Invalid {
        /// The file, when the text came from one.
        path: Option<PathBuf>,
        /// Every problem found, at least one.
        problems: Vec<TopologyProblem>,
    },
}

fn render_problems(path: Option<&Path>, problems: &[TopologyProblem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match path {
            Some(path) => out.push_str(&format!("{}:{}: {}", path.display(), p.line, p.message)),
            None => out.push_str(&p.to_string()),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Prefix tables

trait AddrBits: Copy + Eq + Hash {
    fn masked(self, len: u8) -> Self;
}

impl AddrBits for u32 {
    fn masked(self, len: u8) -> Self {
        self & u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0)
    }
}

impl AddrBits for u128 {
    fn masked(self, len: u8) -> Self {
        self & u128::MAX
            .checked_shl(128 - u32::from(len.min(128)))
            .unwrap_or(0)
    }
}

/// Prefixes of one address family, grouped by length, longest first.
#[derive(Debug, Clone)]
struct PrefixTable<A> {
    groups: Vec<(u8, HashMap<A, RoleSet>)>,
}

impl<A> Default for PrefixTable<A> {
    fn default() -> Self {
        PrefixTable { groups: Vec::new() }
    }
}

impl<A: AddrBits> PrefixTable<A> {
    fn insert(&mut self, addr: A, len: u8, role: Role) {
        let pos = match self.groups.binary_search_by(|(l, _)| len.cmp(l)) {
            Ok(pos) => pos,
            Err(pos) => {
                self.groups.insert(pos, (len, HashMap::new()));
                pos
            }
        };
        if let Some((_, map)) = self.groups.get_mut(pos) {
            map.entry(addr.masked(len)).or_default().insert(role);
        }
    }

    fn lookup(&self, addr: A) -> Option<(A, u8, RoleSet)> {
        self.groups.iter().find_map(|(len, map)| {
            let key = addr.masked(*len);
            map.get(&key).map(|set| (key, *len, *set))
        })
    }

    fn len(&self) -> usize {
        self.groups.iter().map(|(_, m)| m.len()).sum()
    }

    fn iter(&self) -> impl Iterator<Item = (A, u8, RoleSet)> + '_ {
        self.groups
            .iter()
            .flat_map(|(len, map)| map.iter().map(move |(a, s)| (*a, *len, *s)))
    }
}

// ---------------------------------------------------------------------------------------------
// Topology

/// A deployment topology: domains, the roles of address prefixes, and port overrides.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// `sip_domain`: the SIP domain, lower case, no trailing dot.
    pub sip_domain: Option<String>,
    /// `ad_domain`: the Active Directory domain, lower case, no trailing dot.
    pub ad_domain: Option<String>,
    /// The `[ports]` table.
    pub ports: PortOverrides,
    v4: PrefixTable<u32>,
    v6: PrefixTable<u128>,
    listed: RoleSet,
}

impl Topology {
    /// Every role the topology lists for some address.
    pub fn listed_roles(&self) -> RoleSet {
        self.listed
    }

    /// Parses a topology from TOML text. Every problem is reported, each with its line.
    pub fn from_toml(text: &str) -> Result<Topology, TopologyError> {
        parse(text).map_err(|problems| TopologyError::Invalid {
            path: None,
            problems,
        })
    }

    /// Reads and parses a topology file; errors name the file.
    pub fn from_path(path: &Path) -> Result<Topology, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|source| TopologyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        parse(&text).map_err(|problems| TopologyError::Invalid {
            path: Some(path.to_path_buf()),
            problems,
        })
    }

    /// The roles of an address: those of the longest matching prefix (a /32 or /128 for a plain
    /// address), that is every role listed at that prefix. Empty when no prefix matches (the
    /// address is outside the topology). An IPv4-mapped IPv6 address is looked up as IPv4.
    pub fn roles_of(&self, addr: IpAddr) -> RoleSet {
        self.lookup(addr).map(|(_, set)| set).unwrap_or_default()
    }

    /// Like [`Topology::roles_of`], also returning the matching prefix (for evidence in reports).
    /// `None` when no prefix matches.
    pub fn lookup(&self, addr: IpAddr) -> Option<(IpNet, RoleSet)> {
        match canonical(addr) {
            IpAddr::V4(a) => self
                .v4
                .lookup(u32::from(a))
                .and_then(|(net, len, set)| Some((v4_net(net, len)?, set))),
            IpAddr::V6(a) => self
                .v6
                .lookup(u128::from(a))
                .and_then(|(net, len, set)| Some((v6_net(net, len)?, set))),
        }
    }

    /// Whether the topology lists no address at all.
    pub fn is_empty(&self) -> bool {
        self.v4.groups.is_empty() && self.v6.groups.is_empty()
    }

    /// How many distinct prefixes the topology lists (a prefix under several roles counts once).
    pub fn prefix_count(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Every distinct prefix with its roles, longest prefixes first within each family (IPv4
    /// first); the order within one prefix length is unspecified.
    pub fn prefixes(&self) -> impl Iterator<Item = (IpNet, RoleSet)> + '_ {
        let v4 = self
            .v4
            .iter()
            .filter_map(|(a, len, set)| Some((v4_net(a, len)?, set)));
        let v6 = self
            .v6
            .iter()
            .filter_map(|(a, len, set)| Some((v6_net(a, len)?, set)));
        v4.chain(v6)
    }

    /// Adds `role` to `net` (host bits are cleared; an IPv4-mapped IPv6 prefix is stored as
    /// IPv4). For building a topology in code; files go through [`Topology::from_toml`].
    pub fn insert(&mut self, net: IpNet, role: Role) {
        self.listed.insert(role);
        match canonical_net(net.trunc()) {
            IpNet::V4(n) => self.v4.insert(u32::from(n.network()), n.prefix_len(), role),
            IpNet::V6(n) => self
                .v6
                .insert(u128::from(n.network()), n.prefix_len(), role),
        }
    }
}

impl FromStr for Topology {
    type Err = TopologyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topology::from_toml(s)
    }
}

fn v4_net(addr: u32, len: u8) -> Option<IpNet> {
    Ipv4Net::new(Ipv4Addr::from(addr), len).ok().map(IpNet::V4)
}

fn v6_net(addr: u128, len: u8) -> Option<IpNet> {
    Ipv6Net::new(Ipv6Addr::from(addr), len).ok().map(IpNet::V6)
}

/// An IPv4-mapped IPv6 address as IPv4; any other address as it is.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(a),
        },
        v4 => v4,
    }
}

/// A prefix inside `::ffff:0:0/96` as the IPv4 prefix it maps; any other prefix as it is.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(n) = net
        && n.prefix_len() >= 96
        && let Some(v4) = n.network().to_ipv4_mapped()
        && let Ok(v4net) = Ipv4Net::new(v4, n.prefix_len() - 96)
    {
        return IpNet::V4(v4net);
    }
    net
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Byte offsets to 1-based line and column.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line_idx).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line_idx + 1, column + 1)
    }
}

struct Ctx<'a> {
    lines: Lines<'a>,
    problems: Vec<TopologyProblem>,
}

impl Ctx<'_> {
    fn problem(&mut self, span: Range<usize>, message: String) {
        let (line, column) = self.lines.position(span.start);
        self.problems.push(TopologyProblem {
            line,
            column,
            message,
        });
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        self.lines.position(span.start).0
    }
}

const TOP_KEYS: [&str; 4] = ["sip_domain", "ad_domain", "roles", "ports"];

fn parse(text: &str) -> Result<Topology, Vec<TopologyProblem>> {
    let lines = Lines::new(text);
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let (line, column) = lines.position(span.start);
            let mut message = format!("TOML syntax: {}", e.message().trim_end());
            if let Some(key) = text
                .get(span)
                .filter(|k| !k.is_empty() && !k.contains('\n'))
                && message.ends_with("duplicate key")
            {
                message.push_str(&format!(" `{key}`"));
            }
            return Err(vec![TopologyProblem {
                line,
                column,
                message,
            }]);
        }
    };
    let mut cx = Ctx {
        lines,
        problems: Vec::new(),
    };
    let mut topo = Topology::default();

    for (key, value) in doc.get_ref().iter() {
        let name: &str = key.get_ref();
        match name {
            "sip_domain" => topo.sip_domain = domain(&mut cx, name, value),
            "ad_domain" => topo.ad_domain = domain(&mut cx, name, value),
            "roles" => roles(&mut cx, value, &mut topo),
            "ports" => ports(&mut cx, value, &mut topo.ports),
            _ => {
                let hint = if Role::from_name(name).is_some() {
                    " (role names go in the [roles] table)".to_string()
                } else if PORT_KEYS.contains(&name) {
                    " (port keys go in the [ports] table)".to_string()
                } else {
                    did_you_mean(name, TOP_KEYS.iter().copied())
                };
                cx.problem(
                    key.span(),
                    format!(
                        "unknown key `{name}`{hint}; expected one of sip_domain, ad_domain, [roles], [ports]"
                    ),
                );
            }
        }
    }

    if cx.problems.is_empty() {
        Ok(topo)
    } else {
        let mut problems = cx.problems;
        problems.sort_by_key(|p| (p.line, p.column));
        Err(problems)
    }
}

fn describe(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn domain(cx: &mut Ctx<'_>, key: &str, value: &Spanned<DeValue<'_>>) -> Option<String> {
    let DeValue::String(s) = value.get_ref() else {
        cx.problem(
            value.span(),
            format!(
                "`{key}` must be a string (a DNS name such as \"contoso.com\"), found {}",
                describe(value.get_ref())
            ),
        );
        return None;
    };
    match check_dns_name(s) {
        Ok(name) => Some(name),
        Err(why) => {
            cx.problem(
                value.span(),
                format!("`{key}` = \"{s}\" is not a DNS name: {why}"),
            );
            None
        }
    }
}

/// A DNS name (RFC 1123 host name syntax), lower-cased, without a trailing dot.
fn check_dns_name(s: &str) -> Result<String, String> {
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() {
        return Err("it is empty".to_string());
    }
    if name.len() > 253 {
        return Err(format!("it is {} characters long, over 253", name.len()));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (two dots in a row, or a leading dot)".to_string());
        }
        if label.len() > 63 {
            return Err(format!("label `{label}` is over 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "label `{label}` holds `{c}`: only letters, digits and `-` are allowed"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label `{label}` starts or ends with `-`"));
        }
    }
    Ok(name.to_ascii_lowercase())
}

fn table<'a, 'i>(
    cx: &mut Ctx<'_>,
    key: &str,
    value: &'a Spanned<DeValue<'i>>,
) -> Option<&'a DeTable<'i>> {
    match value.get_ref() {
        DeValue::Table(t) => Some(t),
        other => {
            cx.problem(
                value.span(),
                format!(
                    "`{key}` must be a table ([{key}]), found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

fn roles(cx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>, topo: &mut Topology) {
    let Some(table) = table(cx, "roles", value) else {
        return;
    };
    // (prefix, role) -> line of its first listing, for duplicates.
    let mut seen: HashMap<(IpNet, Role), usize> = HashMap::new();
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        let role = Role::from_name(name);
        if role.is_none() {
            if TOP_KEYS.contains(&name) {
                cx.problem(key.span(), misplaced_top_key(name, "roles"));
                continue;
            }
            let hint = suggest_role(name);
            cx.problem(key.span(), format!("unknown role `{name}`{hint}"));
        }
        let items: &DeArray<'_> = match value.get_ref() {
            DeValue::Array(a) => a,
            other => {
                cx.problem(
                    value.span(),
                    format!(
                        "role `{name}` must be an array of address strings such as [\"10.1.3.10\", \"10.20.0.0/16\"], found {}",
                        describe(other)
                    ),
                );
                continue;
            }
        };
        for item in items.iter() {
            let DeValue::String(s) = item.get_ref() else {
                cx.problem(
                    item.span(),
                    format!(
                        "role `{name}`: each entry must be a string holding an address or prefix, found {}",
                        describe(item.get_ref())
                    ),
                );
                continue;
            };
            let net = match parse_prefix(s) {
                Ok(net) => net,
                Err(why) => {
                    cx.problem(item.span(), format!("role `{name}`: {why}"));
                    continue;
                }
            };
            let Some(role) = role else { continue };
            let line = cx.line_of(&item.span());
            if let Some(first) = seen.get(&(net, role)) {
                let first = *first;
                cx.problem(
                    item.span(),
                    format!(
                        "duplicate entry `{s}` under `{name}`: prefix {net} is already listed on line {first}"
                    ),
                );
                continue;
            }
            seen.insert((net, role), line);
            topo.insert(net, role);
        }
    }
}

/// An address (a /32 or /128) or a CIDR prefix with its host bits clear. An IPv4-mapped IPv6
/// prefix comes back as IPv4.
fn parse_prefix(text: &str) -> Result<IpNet, String> {
    let s = text.trim();
    let net = match s.split_once('/') {
        None => IpNet::from(
            s.parse::<IpAddr>()
                .map_err(|_| format!("`{text}` is not an IPv4 or IPv6 address or CIDR prefix"))?,
        ),
        Some((addr_text, len_text)) => {
            let addr = addr_text.parse::<IpAddr>().map_err(|_| {
                format!(
                    "`{text}` is not a CIDR prefix: `{addr_text}` is not an IPv4 or IPv6 address"
                )
            })?;
            let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
            let len = match len_text.parse::<u8>() {
                Ok(len) if len_text.bytes().all(|b| b.is_ascii_digit()) && len <= max => len,
                _ => {
                    return Err(format!(
                        "`{text}`: prefix length `/{len_text}` is not a number from 0 to {max}"
                    ));
                }
            };
            let net = IpNet::new(addr, len)
                .map_err(|_| format!("`{text}`: prefix length /{len} is over {max}"))?;
            let trunc = net.trunc();
            if trunc != net {
                return Err(format!(
                    "`{text}` has host bits set: write `{trunc}` for the subnet or `{addr}` for the single host"
                ));
            }
            net
        }
    };
    Ok(canonical_net(net))
}

fn ports(cx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>, ports: &mut PortOverrides) {
    let Some(table) = table(cx, "ports", value) else {
        return;
    };
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        if TOP_KEYS.contains(&name) {
            cx.problem(key.span(), misplaced_top_key(name, "ports"));
            continue;
        }
        let ranges = port_value(cx, name, value);
        match ports.slot(name) {
            Some(slot) => *slot = ranges,
            None => {
                let hint = did_you_mean(name, PORT_KEYS.iter().copied());
                cx.problem(
                    key.span(),
                    format!(
                        "unknown port key `{name}`{hint}; known keys: {}",
                        PORT_KEYS.join(", ")
                    ),
                );
            }
        }
    }
}

/// A `[ports]` value: an integer port, a string of comma-separated ports and ranges
/// ("5060,5061", "50000-50059"), or an array of those. `None` after reporting a problem.
fn port_value(
    cx: &mut Ctx<'_>,
    key: &str,
    value: &Spanned<DeValue<'_>>,
) -> Option<Vec<(u16, u16)>> {
    let mut out = Vec::new();
    let mut ok = true;
    let single = std::slice::from_ref(value);
    let items: &[Spanned<DeValue<'_>>] = match value.get_ref() {
        DeValue::Array(a) => {
            if a.is_empty() {
                cx.problem(value.span(), format!("`{key}` lists no port"));
                return None;
            }
            a.as_ref()
        }
        _ => single,
    };
    for item in items {
        let parsed = match item.get_ref() {
            DeValue::Integer(i) => i
                .as_str()
                .parse::<i64>()
                .ok()
                .filter(|_| i.radix() == 10)
                .ok_or_else(|| format!("`{}` is not a decimal port number", i.as_str()))
                .and_then(|n| port_number_int(n).map(|p| vec![(p, p)])),
            DeValue::String(s) => parse_port_list(s),
            other => Err(format!(
                "expected a port (5060), a range (\"50000-50059\") or a list (\"5060,5061\"), found {}",
                describe(other)
            )),
        };
        match parsed {
            Ok(ranges) => out.extend(ranges),
            Err(why) => {
                ok = false;
                cx.problem(item.span(), format!("`{key}`: {why}"));
            }
        }
    }
    ok.then_some(out)
}

fn port_number_int(n: i64) -> Result<u16, String> {
    match u16::try_from(n) {
        Ok(0) => Err("port 0 is not a valid port (1-65535)".to_string()),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("port {n} is out of range 1-65535")),
    }
}

fn port_number(text: &str) -> Result<u16, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("a port is missing".to_string());
    }
    if !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{t}` is not a port number"));
    }
    match t.parse::<u32>() {
        Ok(n) => port_number_int(i64::from(n)),
        Err(_) => Err(format!("port {t} is out of range 1-65535")),
    }
}

/// "5060", "50000-50059", "5060, 5061, 5070-5071".
fn parse_port_list(text: &str) -> Result<Vec<(u16, u16)>, String> {
    if text.trim().is_empty() {
        return Err("an empty string is not a port or range".to_string());
    }
    text.split(',')
        .map(|part| {
            let part = part.trim();
            match part.split_once('-') {
                None => port_number(part).map(|p| (p, p)),
                Some((a, b)) => {
                    let (lo, hi) = (port_number(a)?, port_number(b)?);
                    if lo > hi {
                        Err(format!("range `{part}` runs backwards: {lo} > {hi}"))
                    } else {
                        Ok((lo, hi))
                    }
                }
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Suggestions

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            if let Some(c) = cur.get_mut(j + 1) {
                *c = sub.min(del).min(ins);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

/// The closest candidate to `name`, if close enough to be a likely typo.
fn closest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let squashed = squash(name);
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        // Same letters, other case or separators: FrontEnd, front-end, frontend.
        let d = if squash(cand) == squashed {
            0
        } else {
            levenshtein(&name.to_ascii_lowercase(), cand)
        };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    let (d, cand) = best?;
    let limit = (name.chars().count() / 3).max(2);
    (d <= limit).then_some(cand)
}

fn misplaced_top_key(name: &str, table: &str) -> String {
    format!(
        "`{name}` is not a key of [{table}]: top-level keys such as `{name}` go before the first [table] header"
    )
}

fn did_you_mean<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> String {
    closest(name, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn suggest_role(name: &str) -> String {
    match closest(name, Role::ALL.iter().map(|r| r.as_str())) {
        Some(c) => format!(" (did you mean `{c}`?)"),
        None => " (see `sfbflow topology init` for the 38 role names)".to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Template

/// A commented topology file for `sfbflow topology init`: every key, every one of the 38 roles
/// with an example, all commented out. It parses as it is (to an empty topology).
pub fn template() -> &'static str {
    include_str!("topology/template.toml")
}
