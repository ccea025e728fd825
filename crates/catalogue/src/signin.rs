//! The poster's sign-in discovery: which DNS names a client looks up to find its server, in which
//! order, and where the lookups end (`shared/spec/catalogue.md` §4.1, §7 A9).
//!
//! # The two orders
//!
//! The poster (P-IM) gives two lists. An external user looks up 1a `lyncdiscoverinternal`, 1b
//! `lyncdiscover`, 1c `_sipinternaltls._tcp`, 1d `_sipinternal._tcp`, 1e `_sip._tls`, 1f
//! `sipinternal`, 1g `sip`, 1h `sipexternal`; an internal user 1a-1d as above, then 1e
//! `sipinternal`, 1f `sip`. Each name is `<label>.<sip-domain>`. The docs give one seven-name list
//! without `_sipinternal._tcp`; the catalogue keeps the poster's (§7 A9), and so does this module.
//! [`discovery_step`] also knows `_sipfederationtls._tcp` and `_xmpp-server._tcp` (§4.2, external
//! DNS 1 and 3): these are federation lookups made by servers, not sign-in steps; they are kept in a
//! path but take no part in its order or its end.
//!
//! The internal list is the external one without `_sip._tls` and `sipexternal`, in the same
//! relative order. So one ranking, the external one, judges both: a client follows the poster's
//! order when the names it looked up come in increasing external rank.
//!
//! # What the tracker decides, and why
//!
//! [`SigninTracker`] is fed every finished lookup; those of discovery names are grouped per client
//! address and domain into a [`SigninPath`].
//!
//! - **Steps.** A step is one discovery name. Every lookup of a name already taken merges into that
//!   step: a retry after a timeout, the AAAA lookup a dual-stack resolver sends beside the A, the
//!   same discovery run again by a later sign-in. The step keeps its first lookup's time, the query
//!   types seen, how many lookups there were, and the best result among them (an answer beats
//!   NODATA, which beats NXDOMAIN, then another error, then no answer seen), so that an A answered
//!   beside an AAAA without data counts as resolved. Steps are ordered by their first lookup's
//!   time (`ts_nanos`, the query's time), not by the order of the calls; equal times by rank.
//! - **Order.** [`SigninPath::order_ok`] is true when the sign-in steps, in that order, have
//!   increasing rank. Gaps are allowed: a client stops as soon as a step resolves (one that
//!   resolves `lyncdiscoverinternal` goes no further), a client without Autodiscover support
//!   starts at the SRV lookups, and a resolver cache answers some names without a packet on the
//!   wire. The names of the path's list that lie before its last step and were not looked up are
//!   listed in [`SigninPath::skipped`].
//! - **Path.** `_sip._tls` and `sipexternal` are on the external list only, and `sipinternal` and
//!   `sip` come after the point where the lists part (internal 1e, external 1f). Hence
//!   [`PathKind`]: `External` when the client looked up an external-only name; `Internal` when it
//!   got past the fork (`sipinternal` or `sip`) without one; `Mixed` when it looked up `_sip._tls`
//!   after `sipinternal` or `sip`, that is it ran the internal list past its fork and then took an
//!   external-only step (never the poster's order); `Undetermined` when it stopped within 1a-1d,
//!   where both lists agree, usually because a step resolved; `Federation` when only federation
//!   names were looked up.
//! - **End.** [`SigninPath::ended_at`] is the step whose answer the client uses, per the poster
//!   and the docs ("The Autodiscover service is always favored … the others are fallback
//!   methods", §4.1): the resolved step of lowest rank, so `lyncdiscoverinternal`, then
//!   `lyncdiscover`, then the first SRV or A record in the poster's order. A step is resolved
//!   when a NOERROR response with answers was seen. `None` means nothing resolved. Steps looked up
//!   after the one that resolved are kept as they are: a real client stops, a script (the lab's
//!   `dig` runs) or a second sign-in may not.
//!
//! The tracker holds at most [`SigninTracker::MAX_CLIENTS`] paths; every path has at most one
//! step per [`DiscoveryStep`], so its size is fixed. Lookups for further clients are counted in
//! [`SigninTracker::dropped`].

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// The longest query name [`discovery_step`] considers: a DNS name in presentation form without
/// escapes is at most 253 characters (RFC 1035 §2.3.4, 255 bytes in wire form), and no discovery
/// name needs escapes.
pub const MAX_QNAME_LEN: usize = 253;

/// One of the poster's discovery names (its first label or two), plus the two federation SRV names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiscoveryStep {
    /// `lyncdiscoverinternal`: internal Autodiscover (A/CNAME). External and internal 1a.
    LyncDiscoverInternal,
    /// `lyncdiscover`: Autodiscover through the reverse proxy (A/CNAME). External and internal 1b.
    LyncDiscover,
    /// `_sipinternaltls._tcp`: SRV, port 5061. External and internal 1c.
    SipInternalTls,
    /// `_sipinternal._tcp`: SRV, legacy SIP/TCP (not in the docs' list, §7 A9). External and
    /// internal 1d.
    SipInternal,
    /// `_sip._tls`: SRV, port 443 on the Access Edge. External 1e only.
    SipTls,
    /// `sipinternal`: A. External 1f, internal 1e.
    SipInternalA,
    /// `sip`: A. External 1g, internal 1f.
    Sip,
    /// `sipexternal`: A, the Access Edge. External 1h only.
    SipExternal,
    /// `_sipfederationtls._tcp`: federation SRV, Access Edge port 5061 (§4.2); not a sign-in step.
    SipFederationTls,
    /// `_xmpp-server._tcp`: XMPP federation SRV, port 5269 (§4.2); not a sign-in step.
    XmppServer,
}

impl DiscoveryStep {
    /// Whether only Lync and Skype for Business clients look this name up: every step but the
    /// generic `sip.<domain>` and `_sip._tls.<domain>` (any SIP client's), and the federation
    /// names. Without a configured SIP domain, a domain counts as a sign-in only when one of
    /// these was asked for.
    pub fn is_lync_specific(self) -> bool {
        !matches!(
            self,
            DiscoveryStep::Sip
                | DiscoveryStep::SipTls
                | DiscoveryStep::SipFederationTls
                | DiscoveryStep::XmppServer
        )
    }

    /// Every step: the external sign-in order, then the two federation names.
    pub const ALL: [DiscoveryStep; 10] = [
        DiscoveryStep::LyncDiscoverInternal,
        DiscoveryStep::LyncDiscover,
        DiscoveryStep::SipInternalTls,
        DiscoveryStep::SipInternal,
        DiscoveryStep::SipTls,
        DiscoveryStep::SipInternalA,
        DiscoveryStep::Sip,
        DiscoveryStep::SipExternal,
        DiscoveryStep::SipFederationTls,
        DiscoveryStep::XmppServer,
    ];
    /// The external user's order, 1a-1h (catalogue.md §4.1).
    pub const EXTERNAL_ORDER: [DiscoveryStep; 8] = [
        DiscoveryStep::LyncDiscoverInternal,
        DiscoveryStep::LyncDiscover,
        DiscoveryStep::SipInternalTls,
        DiscoveryStep::SipInternal,
        DiscoveryStep::SipTls,
        DiscoveryStep::SipInternalA,
        DiscoveryStep::Sip,
        DiscoveryStep::SipExternal,
    ];
    /// The internal user's order, 1a-1f (catalogue.md §4.1).
    pub const INTERNAL_ORDER: [DiscoveryStep; 6] = [
        DiscoveryStep::LyncDiscoverInternal,
        DiscoveryStep::LyncDiscover,
        DiscoveryStep::SipInternalTls,
        DiscoveryStep::SipInternal,
        DiscoveryStep::SipInternalA,
        DiscoveryStep::Sip,
    ];

    /// The DNS label(s) before the SIP domain, e.g. `"_sipinternaltls._tcp"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscoveryStep::LyncDiscoverInternal => "lyncdiscoverinternal",
            DiscoveryStep::LyncDiscover => "lyncdiscover",
            DiscoveryStep::SipInternalTls => "_sipinternaltls._tcp",
            DiscoveryStep::SipInternal => "_sipinternal._tcp",
            DiscoveryStep::SipTls => "_sip._tls",
            DiscoveryStep::SipInternalA => "sipinternal",
            DiscoveryStep::Sip => "sip",
            DiscoveryStep::SipExternal => "sipexternal",
            DiscoveryStep::SipFederationTls => "_sipfederationtls._tcp",
            DiscoveryStep::XmppServer => "_xmpp-server._tcp",
        }
    }

    /// The step's number in the poster's external list (`"1a"`-`"1h"`), if it is on it.
    pub fn step_external(self) -> Option<&'static str> {
        match self {
            DiscoveryStep::LyncDiscoverInternal => Some("1a"),
            DiscoveryStep::LyncDiscover => Some("1b"),
            DiscoveryStep::SipInternalTls => Some("1c"),
            DiscoveryStep::SipInternal => Some("1d"),
            DiscoveryStep::SipTls => Some("1e"),
            DiscoveryStep::SipInternalA => Some("1f"),
            DiscoveryStep::Sip => Some("1g"),
            DiscoveryStep::SipExternal => Some("1h"),
            DiscoveryStep::SipFederationTls | DiscoveryStep::XmppServer => None,
        }
    }

    /// The step's number in the poster's internal list (`"1a"`-`"1f"`), if it is on it.
    pub fn step_internal(self) -> Option<&'static str> {
        match self {
            DiscoveryStep::LyncDiscoverInternal => Some("1a"),
            DiscoveryStep::LyncDiscover => Some("1b"),
            DiscoveryStep::SipInternalTls => Some("1c"),
            DiscoveryStep::SipInternal => Some("1d"),
            DiscoveryStep::SipInternalA => Some("1e"),
            DiscoveryStep::Sip => Some("1f"),
            DiscoveryStep::SipTls
            | DiscoveryStep::SipExternal
            | DiscoveryStep::SipFederationTls
            | DiscoveryStep::XmppServer => None,
        }
    }

    /// Whether this is a sign-in step (on the external list, which holds the internal one).
    pub fn is_signin(self) -> bool {
        self.step_external().is_some()
    }

    /// Whether the poster documents an SRV record for this name (else an A/CNAME record).
    pub fn is_srv(self) -> bool {
        self.as_str().starts_with('_')
    }

    /// What the record is for, per catalogue.md §4.1 and §4.2.
    pub fn purpose(self) -> &'static str {
        match self {
            DiscoveryStep::LyncDiscoverInternal => "internal Autodiscover",
            DiscoveryStep::LyncDiscover => "Autodiscover via the reverse proxy",
            DiscoveryStep::SipInternalTls => "internal SIP/TLS SRV, port 5061",
            DiscoveryStep::SipInternal => "legacy SIP/TCP SRV",
            DiscoveryStep::SipTls => "Access Edge SRV, port 443",
            DiscoveryStep::SipInternalA => "internal SIP A record",
            DiscoveryStep::Sip => "SIP A record",
            DiscoveryStep::SipExternal => "Access Edge A record",
            DiscoveryStep::SipFederationTls => "federation SRV, Access Edge port 5061",
            DiscoveryStep::XmppServer => "XMPP federation SRV, port 5269",
        }
    }

    /// Position in [`DiscoveryStep::ALL`]: the external rank for sign-in steps.
    fn rank(self) -> usize {
        self as usize
    }

    /// The step for the first label(s) of a name.
    fn from_labels(labels: &str) -> Option<DiscoveryStep> {
        DiscoveryStep::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(labels))
    }
}

impl fmt::Display for DiscoveryStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which discovery step `qname` is, and its domain part.
///
/// `qname` is lower-case without a trailing dot (a trailing dot and upper case are tolerated).
/// With `sip_domain`, only names of that domain count (compared without case and trailing dot);
/// without it, any non-empty domain. The step is the first label, or the first two when the name
/// starts with `_` (`_sipinternaltls._tcp`), matched whole: `sip.corp.contoso.com` is `sip` for
/// the domain `corp.contoso.com`, and `sipinternal2.contoso.com` is nothing.
pub fn discovery_step<'a>(
    qname: &'a str,
    sip_domain: Option<&str>,
) -> Option<(DiscoveryStep, &'a str)> {
    let name = qname.strip_suffix('.').unwrap_or(qname);
    if name.len() > MAX_QNAME_LEN {
        return None;
    }
    let first_dot = name.find('.')?;
    let split = if name.starts_with('_') {
        let rest = name.get(first_dot + 1..)?;
        first_dot + 1 + rest.find('.')?
    } else {
        first_dot
    };
    let labels = name.get(..split)?;
    let domain = name.get(split + 1..)?;
    if domain.is_empty() || domain.starts_with('.') {
        return None;
    }
    if let Some(want) = sip_domain {
        let want = want.strip_suffix('.').unwrap_or(want);
        if !domain.eq_ignore_ascii_case(want) {
            return None;
        }
    }
    Some((DiscoveryStep::from_labels(labels)?, domain))
}

/// What the lookups of one step got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepResult {
    /// A NOERROR response with at least one answer record.
    Resolved,
    /// NOERROR without answers (NODATA: the name exists, not with this type).
    NoData,
    /// NXDOMAIN: the name does not exist.
    NxDomain,
    /// Another response code (SERVFAIL, REFUSED, ...).
    Failed(u8),
    /// No response was seen: a timeout, or the capture missed it.
    Unanswered,
}

impl StepResult {
    /// From one lookup's response code (`None`: no response) and whether it had answers.
    pub fn from_lookup(rcode: Option<u8>, answered: bool) -> StepResult {
        match rcode {
            None => StepResult::Unanswered,
            Some(0) if answered => StepResult::Resolved,
            Some(0) => StepResult::NoData,
            Some(3) => StepResult::NxDomain,
            Some(r) => StepResult::Failed(r),
        }
    }

    /// Which of two results a step keeps: the more informative.
    fn strength(self) -> u8 {
        match self {
            StepResult::Resolved => 4,
            StepResult::NoData => 3,
            StepResult::NxDomain => 2,
            StepResult::Failed(_) => 1,
            StepResult::Unanswered => 0,
        }
    }
}

impl fmt::Display for StepResult {
    /// Short words for summaries: `ok`, `nodata`, `nxdomain`, `servfail`, `refused`,
    /// `rcode N`, `no answer`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepResult::Resolved => f.write_str("ok"),
            StepResult::NoData => f.write_str("nodata"),
            StepResult::NxDomain => f.write_str("nxdomain"),
            StepResult::Failed(2) => f.write_str("servfail"),
            StepResult::Failed(5) => f.write_str("refused"),
            StepResult::Failed(r) => write!(f, "rcode {r}"),
            StepResult::Unanswered => f.write_str("no answer"),
        }
    }
}

/// The query types seen for one step, as a small set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QTypes(u8);

impl QTypes {
    const KNOWN: [(u16, &'static str); 5] = [
        (1, "A"),
        (28, "AAAA"),
        (5, "CNAME"),
        (33, "SRV"),
        (255, "ANY"),
    ];
    const OTHER: u8 = 1 << 5;

    fn bit(qtype: u16) -> u8 {
        Self::KNOWN
            .iter()
            .position(|(t, _)| *t == qtype)
            .map_or(Self::OTHER, |i| 1 << i)
    }

    /// Adds one query type.
    pub fn insert(&mut self, qtype: u16) {
        self.0 |= Self::bit(qtype);
    }

    /// Whether `qtype` was seen (any type other than A, AAAA, CNAME, SRV and ANY counts as one
    /// "other" type).
    pub fn contains(self, qtype: u16) -> bool {
        self.0 & Self::bit(qtype) != 0
    }

    /// How many distinct types (the "other" types as one).
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether no type was seen.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for QTypes {
    /// `A/AAAA`, `SRV`, `other` for the types not named.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let names = Self::KNOWN
            .iter()
            .enumerate()
            .map(|(i, (_, n))| (1u8 << i, *n));
        for (bit, name) in names.chain([(Self::OTHER, "other")]) {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str("/")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// What one step's lookups got, merged (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    /// The best result among the lookups.
    pub result: StepResult,
    /// The query types asked.
    pub qtypes: QTypes,
    /// How many lookups of this name (retries and each query type count).
    pub lookups: u32,
    /// Time of the first lookup (ns since the epoch).
    pub first_ts_nanos: i64,
}

impl StepOutcome {
    fn merge(&mut self, ts_nanos: i64, qtype: u16, result: StepResult) {
        self.qtypes.insert(qtype);
        self.lookups = self.lookups.saturating_add(1);
        self.first_ts_nanos = self.first_ts_nanos.min(ts_nanos);
        if result.strength() > self.result.strength() {
            self.result = result;
        }
    }
}

/// Which of the poster's two lists a client's steps fit (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// Past the lists' fork (`sipinternal` or `sip`) without an external-only name.
    Internal,
    /// An external-only name (`_sip._tls`, `sipexternal`) was looked up.
    External,
    /// `_sip._tls` after `sipinternal` or `sip`: the internal list past its fork, then an
    /// external-only name.
    Mixed,
    /// Only names of 1a-1d, where both lists agree.
    Undetermined,
    /// Only the federation names (`_sipfederationtls._tcp`, `_xmpp-server._tcp`).
    Federation,
}

impl PathKind {
    /// `internal`, `external`, `mixed`, `undetermined` or `federation`.
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::Internal => "internal",
            PathKind::External => "external",
            PathKind::Mixed => "mixed",
            PathKind::Undetermined => "undetermined",
            PathKind::Federation => "federation",
        }
    }

    /// The poster's list this kind is judged against (`None` for federation).
    pub fn order(self) -> Option<&'static [DiscoveryStep]> {
        match self {
            PathKind::Internal => Some(&DiscoveryStep::INTERNAL_ORDER),
            PathKind::External | PathKind::Mixed => Some(&DiscoveryStep::EXTERNAL_ORDER),
            PathKind::Undetermined => DiscoveryStep::INTERNAL_ORDER.get(..4),
            PathKind::Federation => None,
        }
    }
}

/// One client's sign-in discovery for one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninPath {
    /// The client's address.
    pub client: IpAddr,
    /// The domain part of the names (the SIP domain), lower-case.
    pub domain: String,
    /// The steps in the order taken (by first lookup), each with its merged outcome.
    pub steps: Vec<(DiscoveryStep, StepOutcome)>,
    /// Which of the poster's lists the steps fit.
    pub kind: PathKind,
    /// Whether the sign-in steps come in the poster's order (gaps allowed).
    pub order_ok: bool,
    /// The step whose answer the client uses: the resolved sign-in step the poster ranks first.
    /// `None`: nothing resolved.
    pub ended_at: Option<DiscoveryStep>,
    /// Names of the path's list before its last step that were not looked up.
    pub skipped: Vec<DiscoveryStep>,
    /// Lookups fed for this path.
    pub lookups: u32,
    /// First lookup (ns since the epoch).
    pub first_ts_nanos: i64,
    /// Last lookup (ns since the epoch).
    pub last_ts_nanos: i64,
}

impl SigninPath {
    /// The path as one line for a summary, e.g.
    /// `127.0.20.21 contoso.com: lyncdiscoverinternal A ok -> lyncdiscover A nxdomain; internal
    /// path (1a-1f), poster's order; ended at lyncdiscoverinternal (internal Autodiscover)`.
    pub fn describe(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for SigninPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.client, self.domain)?;
        for (i, (step, o)) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "{step} {} {}", o.qtypes, o.result)?;
            if o.lookups > o.qtypes.len() {
                write!(f, " ({} lookups)", o.lookups)?;
            }
        }
        let list = match self.kind {
            PathKind::Internal => " (1a-1f)",
            PathKind::External | PathKind::Mixed => " (1a-1h)",
            PathKind::Undetermined => " (1a-1d, common to both)",
            PathKind::Federation => "",
        };
        write!(f, "; {} path{list}", self.kind.as_str())?;
        if self.kind != PathKind::Federation {
            f.write_str(if self.order_ok {
                ", poster's order"
            } else {
                ", NOT the poster's order"
            })?;
        }
        for (i, s) in self.skipped.iter().enumerate() {
            f.write_str(if i == 0 { ", skipped " } else { ", " })?;
            f.write_str(s.as_str())?;
        }
        match self.ended_at {
            Some(s) => write!(f, "; ended at {s} ({})", s.purpose()),
            None if self.kind == PathKind::Federation => Ok(()),
            None => f.write_str("; nothing resolved"),
        }
    }
}

/// One (client, domain) path being followed.
#[derive(Debug, Clone)]
struct PathState {
    client: IpAddr,
    domain: String,
    /// Indexed by [`DiscoveryStep::rank`].
    steps: [Option<StepOutcome>; 10],
    lookups: u32,
    first_ts_nanos: i64,
    last_ts_nanos: i64,
}

impl PathState {
    fn path(&self) -> SigninPath {
        let mut steps: Vec<(DiscoveryStep, StepOutcome)> = DiscoveryStep::ALL
            .into_iter()
            .zip(self.steps)
            .filter_map(|(s, o)| Some((s, o?)))
            .collect();
        steps.sort_by_key(|(s, o)| (o.first_ts_nanos, s.rank()));
        let signin: Vec<DiscoveryStep> = steps
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| s.is_signin())
            .collect();
        let order_ok = signin.windows(2).all(|w| match w {
            [a, b] => a.rank() < b.rank(),
            _ => true,
        });
        let taken = |s: DiscoveryStep| signin.contains(&s);
        let position = |s: DiscoveryStep| signin.iter().position(|t| *t == s);
        let kind = if signin.is_empty() {
            PathKind::Federation
        } else if taken(DiscoveryStep::SipTls) || taken(DiscoveryStep::SipExternal) {
            let after_fork = [DiscoveryStep::SipInternalA, DiscoveryStep::Sip]
                .into_iter()
                .filter_map(position)
                .min();
            match (after_fork, position(DiscoveryStep::SipTls)) {
                (Some(fork), Some(tls)) if fork < tls => PathKind::Mixed,
                _ => PathKind::External,
            }
        } else if taken(DiscoveryStep::SipInternalA) || taken(DiscoveryStep::Sip) {
            PathKind::Internal
        } else {
            PathKind::Undetermined
        };
        let last_rank = signin.iter().map(|s| s.rank()).max();
        let skipped = match (kind.order(), last_rank) {
            (Some(order), Some(last)) => order
                .iter()
                .copied()
                .filter(|s| s.rank() < last && !taken(*s))
                .collect(),
            _ => Vec::new(),
        };
        let ended_at = steps
            .iter()
            .filter(|(s, o)| s.is_signin() && o.result == StepResult::Resolved)
            .map(|(s, _)| *s)
            .min_by_key(|s| s.rank());
        SigninPath {
            client: self.client,
            domain: self.domain.clone(),
            steps,
            kind,
            order_ok,
            ended_at,
            skipped,
            lookups: self.lookups,
            first_ts_nanos: self.first_ts_nanos,
            last_ts_nanos: self.last_ts_nanos,
        }
    }
}

/// Follows each client's sign-in discovery: fed one lookup at a time (capture time order),
/// bounded clients.
#[derive(Debug, Clone, Default)]
pub struct SigninTracker {
    /// Lower-case, without a trailing dot.
    sip_domain: Option<String>,
    paths: Vec<PathState>,
    /// Per client address, indices into `paths`.
    by_client: HashMap<IpAddr, Vec<usize>>,
    dropped: u64,
}

impl SigninTracker {
    /// (client, domain) paths held at most; lookups that would start a further path are dropped
    /// and counted in [`SigninTracker::dropped`]. Each path has a fixed size (one slot per
    /// [`DiscoveryStep`]) plus its domain name.
    pub const MAX_CLIENTS: usize = 4096;

    /// A tracker. With `sip_domain` (the topology's), only names of that domain count; without
    /// it, any domain, each a path of its own.
    pub fn new(sip_domain: Option<String>) -> Self {
        let sip_domain = sip_domain.map(|d| {
            let d = d.strip_suffix('.').unwrap_or(&d);
            d.to_ascii_lowercase()
        });
        SigninTracker {
            sip_domain,
            ..SigninTracker::default()
        }
    }

    /// The SIP domain names are checked against, if any.
    pub fn sip_domain(&self) -> Option<&str> {
        self.sip_domain.as_deref()
    }

    /// One finished lookup (query paired with its answer, or unanswered): client address, time,
    /// name, qtype, rcode (None = no answer seen), whether it had answers.
    ///
    /// `ts_nanos` should be the query's time (the response's when no query was seen). Names that
    /// are not discovery names are ignored.
    pub fn lookup(
        &mut self,
        client: IpAddr,
        ts_nanos: i64,
        qname: &str,
        qtype: u16,
        rcode: Option<u8>,
        answered: bool,
    ) {
        let Some((step, domain)) = discovery_step(qname, self.sip_domain.as_deref()) else {
            return;
        };
        let result = StepResult::from_lookup(rcode, answered);
        let existing = self.by_client.get(&client).and_then(|ids| {
            ids.iter().copied().find(|i| {
                self.paths
                    .get(*i)
                    .is_some_and(|p| p.domain.eq_ignore_ascii_case(domain))
            })
        });
        let index = match existing {
            Some(i) => i,
            None if self.paths.len() >= Self::MAX_CLIENTS => {
                self.dropped = self.dropped.saturating_add(1);
                return;
            }
            None => {
                let i = self.paths.len();
                self.paths.push(PathState {
                    client,
                    domain: domain.to_ascii_lowercase(),
                    steps: [None; 10],
                    lookups: 0,
                    first_ts_nanos: ts_nanos,
                    last_ts_nanos: ts_nanos,
                });
                self.by_client.entry(client).or_default().push(i);
                i
            }
        };
        let Some(path) = self.paths.get_mut(index) else {
            return;
        };
        path.lookups = path.lookups.saturating_add(1);
        path.first_ts_nanos = path.first_ts_nanos.min(ts_nanos);
        path.last_ts_nanos = path.last_ts_nanos.max(ts_nanos);
        if let Some(slot) = path.steps.get_mut(step.rank()) {
            match slot {
                Some(o) => o.merge(ts_nanos, qtype, result),
                None => {
                    let mut qtypes = QTypes::default();
                    qtypes.insert(qtype);
                    *slot = Some(StepOutcome {
                        result,
                        qtypes,
                        lookups: 1,
                        first_ts_nanos: ts_nanos,
                    });
                }
            }
        }
    }

    /// Per client: the steps in the order taken, which path (internal / external / mixed),
    /// whether the order follows the poster's, and where it ended (the step whose answer the
    /// client would use, per the poster: Autodiscover favoured, else the first SRV/A that
    /// resolved) or that nothing resolved.
    ///
    /// Sorted by first lookup, then client address, then domain.
    pub fn paths(&self) -> Vec<SigninPath> {
        let mut out: Vec<SigninPath> = self.paths.iter().map(PathState::path).collect();
        out.sort_by(|a, b| {
            (a.first_ts_nanos, a.client, &a.domain).cmp(&(b.first_ts_nanos, b.client, &b.domain))
        });
        out
    }

    /// Lookups dropped because [`SigninTracker::MAX_CLIENTS`] paths were already held.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// How many paths are held.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether no discovery lookup was seen.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use DiscoveryStep::*;

    const A: u16 = 1;
    const AAAA: u16 = 28;
    const SRV: u16 = 33;
    const OK: Option<u8> = Some(0);
    const NX: Option<u8> = Some(3);

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 1, 20, last))
    }

    /// Feeds `(ts, label, qtype, rcode, answered)` for one client of contoso.com.
    fn feed(t: &mut SigninTracker, client: IpAddr, lookups: &[(i64, &str, u16, Option<u8>, bool)]) {
        for (ts, label, qtype, rcode, answered) in lookups {
            t.lookup(
                client,
                *ts,
                &format!("{label}.contoso.com"),
                *qtype,
                *rcode,
                *answered,
            );
        }
    }

    fn one_path(lookups: &[(i64, &str, u16, Option<u8>, bool)]) -> SigninPath {
        let mut t = SigninTracker::new(Some("contoso.com".into()));
        feed(&mut t, ip(21), lookups);
        let mut paths = t.paths();
        assert_eq!(paths.len(), 1);
        paths.remove(0)
    }

    fn step_names(p: &SigninPath) -> Vec<DiscoveryStep> {
        p.steps.iter().map(|(s, _)| *s).collect()
    }

    #[test]
    fn names_and_poster_numbers() {
        let ext: Vec<_> = DiscoveryStep::EXTERNAL_ORDER
            .iter()
            .map(|s| (s.as_str(), s.step_external().unwrap_or("-")))
            .collect();
        assert_eq!(
            ext,
            [
                ("lyncdiscoverinternal", "1a"),
                ("lyncdiscover", "1b"),
                ("_sipinternaltls._tcp", "1c"),
                ("_sipinternal._tcp", "1d"),
                ("_sip._tls", "1e"),
                ("sipinternal", "1f"),
                ("sip", "1g"),
                ("sipexternal", "1h"),
            ]
        );
        let int: Vec<_> = DiscoveryStep::INTERNAL_ORDER
            .iter()
            .map(|s| (s.as_str(), s.step_internal().unwrap_or("-")))
            .collect();
        assert_eq!(
            int,
            [
                ("lyncdiscoverinternal", "1a"),
                ("lyncdiscover", "1b"),
                ("_sipinternaltls._tcp", "1c"),
                ("_sipinternal._tcp", "1d"),
                ("sipinternal", "1e"),
                ("sip", "1f"),
            ]
        );
        for s in [SipTls, SipExternal, SipFederationTls, XmppServer] {
            assert_eq!(s.step_internal(), None, "{s}");
        }
        for s in [SipFederationTls, XmppServer] {
            assert_eq!(s.step_external(), None);
            assert!(!s.is_signin() && s.is_srv());
        }
        assert!(SipInternalTls.is_srv() && !SipInternalA.is_srv());
        // The internal list is the external one without `_sip._tls` and `sipexternal`, in the
        // same order: one ranking judges both.
        let filtered: Vec<_> = DiscoveryStep::EXTERNAL_ORDER
            .into_iter()
            .filter(|s| s.step_internal().is_some())
            .collect();
        assert_eq!(filtered, DiscoveryStep::INTERNAL_ORDER);
        // The rank is the position in ALL, whose first eight are the external order.
        for (i, s) in DiscoveryStep::ALL.into_iter().enumerate() {
            assert_eq!(s.rank(), i);
        }
        assert_eq!(DiscoveryStep::ALL[..8], DiscoveryStep::EXTERNAL_ORDER);
    }

    #[test]
    fn recognising_discovery_names() {
        let d = Some("contoso.com");
        for step in DiscoveryStep::ALL {
            let name = format!("{}.contoso.com", step.as_str());
            assert_eq!(
                discovery_step(&name, d),
                Some((step, "contoso.com")),
                "{name}"
            );
            assert_eq!(discovery_step(&name, None), Some((step, "contoso.com")));
        }
        // Tolerated: a trailing dot, upper case, the domain given with a dot or in capitals.
        assert_eq!(
            discovery_step("LyncDiscover.Contoso.COM.", Some("contoso.com.")),
            Some((LyncDiscover, "Contoso.COM"))
        );
        assert_eq!(
            discovery_step("sip.contoso.com", Some("CONTOSO.com")),
            Some((Sip, "contoso.com"))
        );
        // Another domain: only without a SIP domain.
        assert_eq!(discovery_step("sip.fabrikam.com", d), None);
        assert_eq!(
            discovery_step("sip.fabrikam.com", None),
            Some((Sip, "fabrikam.com"))
        );
        // A subdomain is another domain.
        assert_eq!(discovery_step("sip.corp.contoso.com", d), None);
        assert_eq!(
            discovery_step("_sipinternaltls._tcp.corp.contoso.com", None),
            Some((SipInternalTls, "corp.contoso.com"))
        );
        // Whole labels only, and a domain is needed.
        for name in [
            "sipinternal2.contoso.com",
            "xsip.contoso.com",
            "_sip._udp.contoso.com",
            "_sip._tcp.contoso.com",
            "_sipinternaltls.contoso.com",
            "lyncdiscover",
            "lyncdiscover.",
            "_sip._tls",
            "_sip._tls.",
            "sip..contoso.com",
            "contoso.com",
            "www.contoso.com",
            "",
            ".",
        ] {
            assert_eq!(discovery_step(name, None), None, "{name:?}");
        }
        // Too long to be a name.
        let long = format!("sip.{}.com", "a".repeat(MAX_QNAME_LEN));
        assert_eq!(discovery_step(&long, None), None);
        let longest = format!("sip.{}", "a".repeat(MAX_QNAME_LEN - 4));
        assert!(discovery_step(&longest, None).is_some());
    }

    /// The first question of a DNS message (RFC 1035 §4.1), enough for these tests: the question
    /// name of a query or a response is never compressed. The full parser is
    /// `sfbflow_inspect::dns::parse_dns`, which a test in that crate runs on the same bytes.
    fn question(m: &[u8]) -> (u16, bool, u8, u16, String, u16) {
        let be16 = |at: usize| u16::from_be_bytes([m[at], m[at + 1]]);
        let mut labels = Vec::new();
        let mut pos = 12;
        while m[pos] != 0 {
            let n = usize::from(m[pos]);
            labels.push(String::from_utf8(m[pos + 1..pos + 1 + n].to_vec()).expect("ascii"));
            pos += 1 + n;
        }
        let flags = be16(2);
        (
            be16(0),
            flags & 0x8000 != 0,
            (flags & 0x0f) as u8,
            be16(6),
            labels.join(".").to_ascii_lowercase(),
            be16(pos + 1),
        )
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// The lab capture's discovery lookups, each query paired with its response by (client,
    /// port, id) and fed at the query's time.
    fn lab_tracker(sip_domain: Option<&str>) -> SigninTracker {
        let data = include_str!("../../inspect/tests/data/dns/lab-sfb-discovery.tsv");
        struct Query {
            client: IpAddr,
            port: u16,
            id: u16,
            ts: i64,
            name: String,
            qtype: u16,
        }
        let mut queries: Vec<Query> = Vec::new();
        let mut answers: HashMap<(IpAddr, u16, u16), (u8, bool)> = HashMap::new();
        for line in data.lines().filter(|l| !l.starts_with('#')) {
            let c: Vec<&str> = line.split('\t').collect();
            let (id, response, rcode, ancount, name, qtype) = question(&unhex(c[6]));
            if response {
                let client = c[4].parse().expect("address");
                let port = c[5].parse().expect("port");
                answers.insert((client, port, id), (rcode, ancount > 0));
            } else {
                queries.push(Query {
                    client: c[2].parse().expect("address"),
                    port: c[3].parse().expect("port"),
                    id,
                    ts: c[1].parse().expect("ns"),
                    name,
                    qtype,
                });
            }
        }
        assert_eq!(queries.len(), 14);
        let mut t = SigninTracker::new(sip_domain.map(String::from));
        for q in &queries {
            let a = answers.get(&(q.client, q.port, q.id));
            t.lookup(
                q.client,
                q.ts,
                &q.name,
                q.qtype,
                a.map(|a| a.0),
                a.is_some_and(|a| a.1),
            );
        }
        t
    }

    #[test]
    fn lab_capture_internal_and_external_orders() {
        let t = lab_tracker(Some("contoso.com"));
        let paths = t.paths();
        assert_eq!(paths.len(), 2);
        // alice, frames 1-12: the internal order 1a-1f; lyncdiscoverinternal, the SRV and sip
        // resolve. A real client would stop at 1a; dig goes on, and the order still holds.
        let alice = &paths[0];
        assert_eq!(alice.client, IpAddr::V4(Ipv4Addr::new(127, 0, 20, 21)));
        assert_eq!(alice.domain, "contoso.com");
        assert_eq!(step_names(alice), DiscoveryStep::INTERNAL_ORDER);
        assert_eq!(alice.kind, PathKind::Internal);
        assert!(alice.order_ok);
        assert!(alice.skipped.is_empty());
        assert_eq!(alice.ended_at, Some(LyncDiscoverInternal));
        assert_eq!(alice.lookups, 6);
        assert_eq!(
            alice.describe(),
            "127.0.20.21 contoso.com: lyncdiscoverinternal A ok -> lyncdiscover A nxdomain -> \
             _sipinternaltls._tcp SRV ok -> _sipinternal._tcp SRV nxdomain -> sipinternal A \
             nxdomain -> sip A ok; internal path (1a-1f), poster's order; ended at \
             lyncdiscoverinternal (internal Autodiscover)"
        );
        // carol, frames 56-71: the external order 1a-1h against the public DNS; lyncdiscover,
        // _sip._tls and sip resolve: Autodiscover through the reverse proxy is used.
        let carol = &paths[1];
        assert_eq!(carol.client, IpAddr::V4(Ipv4Addr::new(127, 0, 30, 31)));
        assert_eq!(step_names(carol), DiscoveryStep::EXTERNAL_ORDER);
        assert_eq!(carol.kind, PathKind::External);
        assert!(carol.order_ok);
        assert_eq!(carol.ended_at, Some(LyncDiscover));
        let resolved: Vec<_> = carol
            .steps
            .iter()
            .filter(|(_, o)| o.result == StepResult::Resolved)
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(resolved, [LyncDiscover, SipTls, Sip]);
        assert_eq!(
            carol.describe(),
            "127.0.30.31 contoso.com: lyncdiscoverinternal A nxdomain -> lyncdiscover A ok -> \
             _sipinternaltls._tcp SRV nxdomain -> _sipinternal._tcp SRV nxdomain -> _sip._tls \
             SRV ok -> sipinternal A nxdomain -> sip A ok -> sipexternal A nxdomain; external \
             path (1a-1h), poster's order; ended at lyncdiscover (Autodiscover via the reverse \
             proxy)"
        );
        // Without a SIP domain the same two paths; with another, none.
        assert_eq!(lab_tracker(None).paths(), paths);
        assert!(lab_tracker(Some("fabrikam.com")).is_empty());
    }

    #[test]
    fn retries_and_a_with_aaaa_merge_into_one_step() {
        let p = one_path(&[
            (100, "lyncdiscoverinternal", A, None, false), // timed out
            (200, "lyncdiscoverinternal", AAAA, NX, false),
            (201, "lyncdiscoverinternal", A, NX, false), // the retry
            (300, "lyncdiscover", AAAA, OK, false),      // NODATA
            (301, "lyncdiscover", A, OK, true),
        ]);
        assert_eq!(step_names(&p), [LyncDiscoverInternal, LyncDiscover]);
        let (_, ldi) = p.steps[0];
        assert_eq!(ldi.result, StepResult::NxDomain);
        assert_eq!(ldi.lookups, 3);
        assert_eq!(ldi.first_ts_nanos, 100);
        assert!(ldi.qtypes.contains(A) && ldi.qtypes.contains(AAAA));
        assert_eq!(p.steps[1].1.result, StepResult::Resolved);
        assert!(p.order_ok);
        assert_eq!(p.kind, PathKind::Undetermined);
        assert_eq!(p.ended_at, Some(LyncDiscover));
        assert_eq!(
            p.describe(),
            "10.1.20.21 contoso.com: lyncdiscoverinternal A/AAAA nxdomain (3 lookups) -> \
             lyncdiscover A/AAAA ok; undetermined path (1a-1d, common to both), poster's order; \
             ended at lyncdiscover (Autodiscover via the reverse proxy)"
        );
    }

    #[test]
    fn stopping_early_is_the_poster_order() {
        // An internal client that resolves 1a goes no further.
        let p = one_path(&[(1, "lyncdiscoverinternal", A, OK, true)]);
        assert!(p.order_ok);
        assert_eq!(p.kind, PathKind::Undetermined);
        assert!(p.skipped.is_empty());
        assert_eq!(p.ended_at, Some(LyncDiscoverInternal));
        // A client without Autodiscover (Lync 2010, a phone) starts at the SRV records.
        let p = one_path(&[(1, "_sipinternaltls._tcp", SRV, OK, true)]);
        assert!(p.order_ok);
        assert_eq!(p.skipped, [LyncDiscoverInternal, LyncDiscover]);
        assert_eq!(p.ended_at, Some(SipInternalTls));
    }

    #[test]
    fn external_and_internal_with_gaps() {
        let p = one_path(&[
            (1, "lyncdiscoverinternal", A, NX, false),
            (2, "lyncdiscover", A, NX, false),
            (3, "_sip._tls", SRV, OK, true),
        ]);
        assert_eq!(p.kind, PathKind::External);
        assert!(p.order_ok);
        assert_eq!(p.skipped, [SipInternalTls, SipInternal]);
        assert_eq!(p.ended_at, Some(SipTls));
        assert!(p.describe().contains(
            "external path (1a-1h), poster's order, skipped _sipinternaltls._tcp, \
             _sipinternal._tcp; ended at _sip._tls (Access Edge SRV, port 443)"
        ));
        // Internal: past the fork without `_sip._tls`; `_sip._tls` is not a gap there.
        let p = one_path(&[
            (1, "_sipinternaltls._tcp", SRV, NX, false),
            (2, "sip", A, OK, true),
        ]);
        assert_eq!(p.kind, PathKind::Internal);
        assert!(p.order_ok);
        assert_eq!(
            p.skipped,
            [
                LyncDiscoverInternal,
                LyncDiscover,
                SipInternal,
                SipInternalA
            ]
        );
        assert_eq!(p.ended_at, Some(Sip));
        // `sipexternal` after `sip` is the external order (1g, 1h).
        let p = one_path(&[(1, "sip", A, NX, false), (2, "sipexternal", A, OK, true)]);
        assert_eq!(p.kind, PathKind::External);
        assert!(p.order_ok);
    }

    #[test]
    fn out_of_order_and_mixed() {
        // `sip` first, then Autodiscover.
        let p = one_path(&[
            (1, "sip", A, OK, true),
            (2, "lyncdiscoverinternal", A, OK, true),
        ]);
        assert!(!p.order_ok);
        assert_eq!(step_names(&p), [Sip, LyncDiscoverInternal]);
        // Autodiscover is favoured whatever the order.
        assert_eq!(p.ended_at, Some(LyncDiscoverInternal));
        assert!(p.describe().contains("NOT the poster's order"));
        // The internal list to its end, then `_sip._tls`: mixed.
        let p = one_path(&[
            (1, "_sipinternaltls._tcp", SRV, NX, false),
            (2, "sipinternal", A, NX, false),
            (3, "sip", A, NX, false),
            (4, "_sip._tls", SRV, NX, false),
        ]);
        assert_eq!(p.kind, PathKind::Mixed);
        assert!(!p.order_ok);
        assert_eq!(p.ended_at, None);
        assert!(p.describe().ends_with("; nothing resolved"));
        // 1a and 1b swapped.
        let p = one_path(&[
            (1, "lyncdiscover", A, NX, false),
            (2, "lyncdiscoverinternal", A, NX, false),
        ]);
        assert!(!p.order_ok);
    }

    #[test]
    fn order_is_by_query_time_not_by_calls() {
        // Fed as the answers came back (1b answered first), with the queries' times.
        let p = one_path(&[
            (20, "lyncdiscover", A, OK, true),
            (10, "lyncdiscoverinternal", A, NX, false),
        ]);
        assert_eq!(step_names(&p), [LyncDiscoverInternal, LyncDiscover]);
        assert!(p.order_ok);
        assert_eq!((p.first_ts_nanos, p.last_ts_nanos), (10, 20));
        // Equal times: by rank.
        let p = one_path(&[
            (5, "lyncdiscover", A, NX, false),
            (5, "lyncdiscoverinternal", A, NX, false),
        ]);
        assert!(p.order_ok);
        // A later sign-in running discovery again merges: no order broken.
        let p = one_path(&[
            (1, "lyncdiscoverinternal", A, NX, false),
            (2, "lyncdiscover", A, OK, true),
            (1_000, "lyncdiscoverinternal", A, NX, false),
            (1_001, "lyncdiscover", A, OK, true),
        ]);
        assert!(p.order_ok);
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.lookups, 4);
    }

    #[test]
    fn results_are_merged_to_the_most_informative() {
        let r = |rcode, answered| StepResult::from_lookup(rcode, answered);
        assert_eq!(r(None, false), StepResult::Unanswered);
        assert_eq!(r(OK, true), StepResult::Resolved);
        assert_eq!(r(OK, false), StepResult::NoData);
        assert_eq!(r(NX, false), StepResult::NxDomain);
        assert_eq!(r(Some(2), false), StepResult::Failed(2));
        assert_eq!(r(Some(2), true), StepResult::Failed(2));
        let p = one_path(&[
            (1, "sipinternal", A, Some(2), false),
            (2, "sipinternal", A, None, false),
            (3, "sip", A, Some(5), false),
            (4, "sip", A, Some(9), false),
        ]);
        assert_eq!(p.steps[0].1.result, StepResult::Failed(2));
        assert_eq!(p.steps[1].1.result, StepResult::Failed(5));
        assert_eq!(p.ended_at, None);
        assert_eq!(
            p.describe(),
            "10.1.20.21 contoso.com: sipinternal A servfail (2 lookups) -> sip A refused \
             (2 lookups); internal path (1a-1f), poster's order, skipped lyncdiscoverinternal, \
             lyncdiscover, _sipinternaltls._tcp, _sipinternal._tcp; nothing resolved"
        );
        assert_eq!(StepResult::Failed(4).to_string(), "rcode 4");
        assert_eq!(StepResult::Unanswered.to_string(), "no answer");
    }

    #[test]
    fn federation_names() {
        let p = one_path(&[
            (1, "_sipfederationtls._tcp", SRV, OK, true),
            (2, "_xmpp-server._tcp", SRV, NX, false),
        ]);
        assert_eq!(p.kind, PathKind::Federation);
        assert_eq!(p.ended_at, None);
        assert_eq!(
            p.describe(),
            "10.1.20.21 contoso.com: _sipfederationtls._tcp SRV ok -> _xmpp-server._tcp SRV \
             nxdomain; federation path"
        );
        // Beside sign-in steps they are kept and take no part in the order or the end.
        let p = one_path(&[
            (1, "_sipfederationtls._tcp", SRV, OK, true),
            (2, "lyncdiscoverinternal", A, NX, false),
            (3, "lyncdiscover", A, NX, false),
        ]);
        assert_eq!(p.kind, PathKind::Undetermined);
        assert!(p.order_ok);
        assert_eq!(p.ended_at, None);
        assert_eq!(p.steps.len(), 3);
    }

    #[test]
    fn clients_and_domains_are_separate_paths() {
        let mut t = SigninTracker::new(None);
        t.lookup(ip(2), 5, "lyncdiscover.fabrikam.com", A, NX, false);
        t.lookup(ip(1), 5, "lyncdiscover.contoso.com", A, OK, true);
        t.lookup(ip(1), 1, "sip.contoso.com", A, OK, true);
        t.lookup(ip(1), 9, "LYNCDISCOVER.FABRIKAM.COM", A, NX, false);
        t.lookup(ip(1), 9, "www.contoso.com", A, OK, true); // not a discovery name
        let keys: Vec<_> = t
            .paths()
            .iter()
            .map(|p| (p.client, p.domain.clone(), p.lookups))
            .collect();
        assert_eq!(
            keys,
            [
                (ip(1), "contoso.com".to_string(), 2),
                (ip(2), "fabrikam.com".to_string(), 1),
                (ip(1), "fabrikam.com".to_string(), 1),
            ]
        );
        // With the SIP domain, only contoso.com counts.
        let mut t = SigninTracker::new(Some("Contoso.com.".into()));
        assert_eq!(t.sip_domain(), Some("contoso.com"));
        t.lookup(ip(2), 5, "lyncdiscover.fabrikam.com", A, NX, false);
        t.lookup(ip(1), 5, "lyncdiscover.contoso.com", A, OK, true);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn bounded_clients() {
        let mut t = SigninTracker::new(Some("contoso.com".into()));
        let extra = 10;
        for i in 0..SigninTracker::MAX_CLIENTS + extra {
            let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32));
            t.lookup(client, i as i64, "lyncdiscover.contoso.com", A, OK, true);
        }
        assert_eq!(t.len(), SigninTracker::MAX_CLIENTS);
        assert_eq!(t.dropped(), extra as u64);
        // A client already held is still followed; every path has one slot per step.
        let first = IpAddr::V4(Ipv4Addr::from(0x0a00_0000));
        for n in 0..1_000 {
            t.lookup(first, n, "sip.contoso.com", A, NX, false);
        }
        assert_eq!(t.dropped(), extra as u64);
        let p = t
            .paths()
            .into_iter()
            .find(|p| p.client == first)
            .expect("held");
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.lookups, 1_001);
    }

    #[test]
    fn qtype_sets() {
        let mut q = QTypes::default();
        assert!(q.is_empty());
        for t in [AAAA, A, A, 65, 99] {
            q.insert(t);
        }
        assert_eq!(q.len(), 3);
        assert!(q.contains(65) && q.contains(12) && !q.contains(SRV));
        assert_eq!(q.to_string(), "A/AAAA/other");
    }
}
