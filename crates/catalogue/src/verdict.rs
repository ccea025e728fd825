//! What sfbflow concludes about one flow.

/// The poster's workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Sign-in and DNS discovery, web services.
    SigninDiscovery,
    /// IM and presence.
    ImPresence,
    /// A/V and web conferencing.
    AvWebConf,
    /// Enterprise Voice.
    EnterpriseVoice,
    /// Central Management Store.
    Cms,
    /// Management and logging.
    Mgmt,
    /// Skype Meeting Broadcast.
    Broadcast,
}

impl Workload {
    /// The name used in the output columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::SigninDiscovery => "signin_discovery",
            Workload::ImPresence => "im_presence",
            Workload::AvWebConf => "av_web_conf",
            Workload::EnterpriseVoice => "enterprise_voice",
            Workload::Cms => "cms",
            Workload::Mgmt => "mgmt",
            Workload::Broadcast => "broadcast",
        }
    }
}

/// Why a flow is not documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Finding {
    /// The role pair talks, but not on this port.
    UndocumentedPort,
    /// These roles never talk to each other.
    UndocumentedRolePair,
    /// Documented, but opened from the other side.
    ReversedDirection,
    /// Documented port, but the bytes are another protocol.
    ProtocolMismatch,
    /// Media outside the documented port ranges.
    MediaPortOutOfRange,
    /// An address outside the topology.
    UnknownEndpoint,
    /// Port-only mode: no documented flow uses this port.
    UnknownPort,
}

impl Finding {
    /// Every finding code, in a stable order.
    pub const ALL: [Finding; 7] = [
        Finding::UndocumentedPort,
        Finding::UndocumentedRolePair,
        Finding::ReversedDirection,
        Finding::ProtocolMismatch,
        Finding::MediaPortOutOfRange,
        Finding::UnknownEndpoint,
        Finding::UnknownPort,
    ];

    /// The code used in the output columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::UndocumentedPort => "undocumented_port",
            Finding::UndocumentedRolePair => "undocumented_role_pair",
            Finding::ReversedDirection => "reversed_direction",
            Finding::ProtocolMismatch => "protocol_mismatch",
            Finding::MediaPortOutOfRange => "media_port_out_of_range",
            Finding::UnknownEndpoint => "unknown_endpoint",
            Finding::UnknownPort => "unknown_port",
        }
    }
}

/// What a verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Basis {
    /// Transport and port (and the topology's roles) alone.
    Port,
    /// Payload evidence alone.
    Payload,
    /// Port and payload agree.
    PortPayload,
}

impl Basis {
    /// The name used in the output columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Port => "port",
            Basis::Payload => "payload",
            Basis::PortPayload => "port+payload",
        }
    }
}

/// The classification of one flow. The rule's names borrow the catalogue (`'c`): a verdict is
/// made for each ended flow, and copying them was most of the allocations at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'c> {
    /// Role of the initiator from the topology.
    pub initiator_role: Option<&'static str>,
    /// Role of the responder from the topology.
    pub responder_role: Option<&'static str>,
    /// Workload of the matching documented flow.
    pub workload: Option<Workload>,
    /// Service name of the matching documented flow.
    pub service: Option<&'c str>,
    /// Id of the matching documented flow.
    pub rule_id: Option<&'c str>,
    /// What the verdict rests on.
    pub basis: Basis,
    /// Whether the flow matches a documented role pair, port and protocol.
    pub documented: bool,
    /// Why not, when it is not documented (and a reason is known).
    pub finding: Option<Finding>,
}

impl Verdict<'_> {
    /// The verdict before any classification: nothing known, port basis.
    pub fn unclassified() -> Self {
        Verdict {
            initiator_role: None,
            responder_role: None,
            workload: None,
            service: None,
            rule_id: None,
            basis: Basis::Port,
            documented: false,
            finding: None,
        }
    }
}
