//! What the page calls things: the roles as the poster names them and where they stand, the
//! traffic types of the poster's legends and their colours, the workloads.

use sfbflow_catalogue::{Protocol, Role, Rule, Security};

/// The poster's zones, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Zone {
    External,
    Perimeter,
    Internal,
    Pstn,
}

impl Zone {
    pub(crate) const ALL: [Zone; 4] = [Zone::External, Zone::Perimeter, Zone::Internal, Zone::Pstn];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Zone::External => "External",
            Zone::Perimeter => "Perimeter",
            Zone::Internal => "Internal",
            Zone::Pstn => "PSTN",
        }
    }

    pub(crate) fn class(self) -> &'static str {
        match self {
            Zone::External => "external",
            Zone::Perimeter => "perimeter",
            Zone::Internal => "internal",
            Zone::Pstn => "pstn",
        }
    }
}

/// The columns of the diagram, left to right: each belongs to a zone.
pub(crate) const COLUMNS: [Zone; 6] = [
    Zone::External,
    Zone::Perimeter,
    Zone::Internal,
    Zone::Internal,
    Zone::Internal,
    Zone::Pstn,
];

/// The pseudo-role of an address outside the topology.
pub(crate) const UNKNOWN: &str = "unknown";

/// A role's fixed place: (column, rank within the column). Roles not in the vocabulary go
/// under the external ones.
pub(crate) fn place(role: &str) -> (usize, usize) {
    let Some(r) = Role::from_name(role) else {
        return (0, if role == UNKNOWN { 98 } else { 99 });
    };
    use Role::*;
    match r {
        ExternalClient => (0, 0),
        FederatedPartner => (0, 1),
        PublicIm => (0, 2),
        XmppPartner => (0, 3),
        SkypeDirectory => (0, 4),
        Office365 => (0, 5),
        BroadcastClient => (0, 6),
        BroadcastCloud => (0, 7),
        InternetAny => (0, 8),
        ReverseProxy => (1, 0),
        AdfsProxy => (1, 1),
        AccessEdge => (1, 2),
        WebconfEdge => (1, 3),
        AvEdge => (1, 4),
        EdgeInternal => (2, 0),
        Director => (2, 1),
        Adfs => (2, 2),
        DnsServer => (2, 3),
        DhcpServer => (2, 4),
        FrontEnd => (3, 0),
        CmsMaster => (3, 1),
        SfbServer => (3, 2),
        PersistentChat => (3, 3),
        PersistentChatCompliance => (3, 4),
        Vis => (3, 5),
        BackEndSql => (3, 6),
        FileShare => (3, 7),
        OfficeWebApps => (3, 8),
        ExchangeUm => (3, 9),
        AdDs => (3, 10),
        Dirsync => (3, 11),
        MgmtHost => (3, 12),
        InternalClient => (4, 0),
        Sba => (4, 1),
        Mediation => (4, 2),
        PstnGateway => (5, 0),
        VideoGateway => (5, 1),
        Vtc => (5, 2),
    }
}

/// The poster's name for a role.
pub(crate) fn title(role: &str) -> &str {
    let Some(r) = Role::from_name(role) else {
        return if role == UNKNOWN {
            "Not in topology"
        } else {
            role
        };
    };
    use Role::*;
    match r {
        InternalClient => "Internal users",
        ExternalClient => "External users",
        FederatedPartner => "Federated partner",
        PublicIm => "Public IM",
        XmppPartner => "XMPP partner",
        SkypeDirectory => "Skype Directory",
        ReverseProxy => "Reverse proxy",
        AccessEdge => "Access Edge",
        WebconfEdge => "Web Conf Edge",
        AvEdge => "A/V Edge",
        EdgeInternal => "Edge (internal)",
        Director => "Director",
        FrontEnd => "Front End pool",
        CmsMaster => "CMS master",
        SfbServer => "SfB server (CMS)",
        BackEndSql => "Back-end SQL",
        Mediation => "Mediation pool",
        PstnGateway => "PSTN gateway",
        Sba => "Branch Appliance",
        ExchangeUm => "Exchange UM",
        OfficeWebApps => "Office Web Apps",
        FileShare => "File share",
        PersistentChat => "Persistent Chat",
        PersistentChatCompliance => "PChat compliance",
        Vis => "Video Interop",
        VideoGateway => "CUCM",
        Vtc => "VTC",
        AdDs => "AD DS",
        Adfs => "AD FS",
        AdfsProxy => "AD FS proxy",
        Dirsync => "DirSync",
        Office365 => "Office 365",
        MgmtHost => "Management host",
        DnsServer => "DNS server",
        DhcpServer => "DHCP server",
        InternetAny => "Internet (CRL)",
        BroadcastClient => "Broadcast client",
        BroadcastCloud => "Broadcast cloud",
    }
}

/// The traffic types of the poster's legends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Traffic {
    Sip,
    Https,
    Xmpp,
    Media,
    Psom,
    Ice,
    Cac,
    Data,
    Infra,
    Mgmt,
    Other,
}

impl Traffic {
    pub(crate) const ALL: [Traffic; 11] = [
        Traffic::Sip,
        Traffic::Https,
        Traffic::Xmpp,
        Traffic::Media,
        Traffic::Psom,
        Traffic::Ice,
        Traffic::Cac,
        Traffic::Data,
        Traffic::Infra,
        Traffic::Mgmt,
        Traffic::Other,
    ];

    pub(crate) fn of(p: Protocol) -> Traffic {
        match p {
            Protocol::Sip => Traffic::Sip,
            Protocol::Http | Protocol::Https | Protocol::C3p => Traffic::Https,
            Protocol::Xmpp => Traffic::Xmpp,
            Protocol::Rtp | Protocol::FileTransfer => Traffic::Media,
            Protocol::Psom => Traffic::Psom,
            Protocol::Stun => Traffic::Ice,
            Protocol::Cac => Traffic::Cac,
            Protocol::Sql | Protocol::SqlBrowser | Protocol::Smb => Traffic::Data,
            Protocol::Dns | Protocol::Dhcp | Protocol::Ldap => Traffic::Infra,
            Protocol::Msmq | Protocol::Wcf | Protocol::Cls | Protocol::Rpc => Traffic::Mgmt,
        }
    }

    /// The type of an observed `app_protocol`, for flows without a rule.
    pub(crate) fn of_app(app: &str) -> Traffic {
        match app {
            "SIP" => Traffic::Sip,
            "TLS" | "HTTP" => Traffic::Https,
            "XMPP" => Traffic::Xmpp,
            "RTP" | "RTCP" => Traffic::Media,
            "STUN" | "TURN" | "MS-TURN" => Traffic::Ice,
            "DNS" => Traffic::Infra,
            _ => Traffic::Other,
        }
    }

    pub(crate) fn key(self) -> &'static str {
        match self {
            Traffic::Sip => "sip",
            Traffic::Https => "https",
            Traffic::Xmpp => "xmpp",
            Traffic::Media => "media",
            Traffic::Psom => "psom",
            Traffic::Ice => "ice",
            Traffic::Cac => "cac",
            Traffic::Data => "data",
            Traffic::Infra => "infra",
            Traffic::Mgmt => "mgmt",
            Traffic::Other => "other",
        }
    }

    pub(crate) fn legend(self) -> &'static str {
        match self {
            Traffic::Sip => "SIP: signalling and IM",
            Traffic::Https => "HTTP(S) and C3P",
            Traffic::Xmpp => "XMPP",
            Traffic::Media => "RTP/SRTP media",
            Traffic::Psom => "PSOM: web conferencing",
            Traffic::Ice => "ICE: STUN/TURN",
            Traffic::Cac => "Call admission control",
            Traffic::Data => "SQL and SMB",
            Traffic::Infra => "DNS, DHCP, LDAP",
            Traffic::Mgmt => "CLS, MSMQ, RPC",
            Traffic::Other => "other",
        }
    }

    pub(crate) fn colour(self) -> &'static str {
        match self {
            Traffic::Sip => "#1f5fbf",
            Traffic::Https => "#2e8b3e",
            Traffic::Xmpp => "#7b3fa8",
            Traffic::Media => "#e07b00",
            Traffic::Psom => "#008b8b",
            Traffic::Ice => "#b8860b",
            Traffic::Cac => "#8b5a2b",
            Traffic::Data => "#5f6b7a",
            Traffic::Infra => "#4a7ca8",
            Traffic::Mgmt => "#8a6d8f",
            Traffic::Other => "#7a7a7a",
        }
    }
}

/// The colour of what the documentation does not account for.
pub(crate) const UNDOCUMENTED: &str = "#d62728";

/// A documented flow's label as the poster writes it: `SIP/MTLS`, `HTTPS`, `STUN/UDP`,
/// `SRTP/UDP`.
pub(crate) fn rule_protocol(rule: &Rule, transport: &str) -> String {
    let t = transport.to_ascii_uppercase();
    let sec = match rule.security {
        Security::Tls => "/TLS",
        Security::Mtls => "/MTLS",
        _ => "",
    };
    match rule.protocol {
        Protocol::Https | Protocol::Http | Protocol::C3p => rule.protocol.as_str().to_owned(),
        Protocol::Rtp if rule.security == Security::Srtp => format!("SRTP/{t}"),
        Protocol::Rtp | Protocol::Stun | Protocol::Dns | Protocol::Sql | Protocol::SqlBrowser => {
            format!("{}/{t}", rule.protocol.as_str())
        }
        p => format!("{}{sec}", p.as_str()),
    }
}

/// An undocumented flow's label from what its bytes are: `TLS/TCP`, `SIP/TCP`, `RTP/UDP`.
pub(crate) fn app_label(app: &str, transport: &str) -> String {
    let t = transport.to_ascii_uppercase();
    match app {
        "unknown" | "" => t,
        a => format!("{a}/{t}"),
    }
}

/// The poster's workloads in the poster's order, with the page's titles.
pub(crate) const WORKLOADS: [(&str, &str); 7] = [
    ("signin_discovery", "Sign-in and DNS discovery"),
    ("im_presence", "IM and Presence"),
    ("av_web_conf", "A/V and Web Conferencing"),
    ("enterprise_voice", "Enterprise Voice"),
    ("cms", "Central Management Store"),
    ("mgmt", "Management and logging"),
    ("broadcast", "Broadcast Conferencing"),
];

/// The workloads the poster draws a section for (the others get one when seen).
pub(crate) const POSTER_WORKLOADS: usize = 5;

/// A workload's colour in the timeline.
pub(crate) fn workload_colour(i: usize) -> &'static str {
    const C: [&str; 8] = [
        "#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#9c755f", "#edc948", "#d62728",
    ];
    C.get(i).copied().unwrap_or("#999999")
}

/// A finding code for people: `undocumented_port` → `undocumented port`.
pub(crate) fn finding_words(code: &str) -> String {
    code.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_its_own_place_and_a_title() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Role::ALL {
            let p = place(r.as_str());
            assert!(p.0 < COLUMNS.len());
            assert!(seen.insert(p), "{r} shares a place");
            assert_ne!(title(r.as_str()), r.as_str());
        }
    }
}
