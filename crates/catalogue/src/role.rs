//! The role vocabulary of catalogue.md §1: the logical endpoints of the poster.

use std::fmt;

/// A logical endpoint of the poster. One host can hold several roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// SfB/Lync client or UC device on the corporate network.
    InternalClient,
    /// SfB client on the Internet: remote, anonymous or federated meeting participant.
    ExternalClient,
    /// Another organisation's Edge (Access Edge SIP and A/V Edge media).
    FederatedPartner,
    /// Public IM connectivity provider.
    PublicIm,
    /// XMPP federated server.
    XmppPartner,
    /// Skype Directory Search service.
    SkypeDirectory,
    /// HTTP reverse proxy.
    ReverseProxy,
    /// Edge external interface, Access Edge service IP.
    AccessEdge,
    /// Edge external interface, Web Conferencing Edge service IP.
    WebconfEdge,
    /// Edge external interface, A/V Edge service IP (TURN/STUN relay).
    AvEdge,
    /// Edge internal interface.
    EdgeInternal,
    /// Director server or pool.
    Director,
    /// Front End Server, Enterprise pool or Standard Edition server.
    FrontEnd,
    /// The Front End pool or Standard Edition server that hosts the Central Management Store.
    CmsMaster,
    /// Any SfB server running ClsAgent and holding a CMS replica.
    SfbServer,
    /// Back End SQL Server.
    BackEndSql,
    /// Mediation Server or pool.
    Mediation,
    /// IP-PSTN gateway, IP-PBX, Direct SIP peer or SIP-trunk SBC.
    PstnGateway,
    /// Survivable Branch Appliance or Server.
    Sba,
    /// Exchange Unified Messaging.
    ExchangeUm,
    /// Office Web Apps Server / Office Online Server.
    OfficeWebApps,
    /// SfB file store.
    FileShare,
    /// Persistent Chat Front End Server.
    PersistentChat,
    /// Persistent Chat Compliance service or server.
    PersistentChatCompliance,
    /// Video Interop Server.
    Vis,
    /// Cisco CUCM acting as the video gateway.
    VideoGateway,
    /// Third-party video teleconferencing endpoint.
    Vtc,
    /// Active Directory domain controller.
    AdDs,
    /// AD FS farm.
    Adfs,
    /// AD FS proxy / Web Application Proxy.
    AdfsProxy,
    /// Directory synchronisation (DirSync / Azure AD Connect).
    Dirsync,
    /// Office 365 cloud.
    Office365,
    /// Computer running the SfB Management Shell or admin tools.
    MgmtHost,
    /// DNS resolver.
    DnsServer,
    /// DHCP server.
    DhcpServer,
    /// Any Internet host (CRL distribution points).
    InternetAny,
    /// Skype Meeting Broadcast attendee or producer.
    BroadcastClient,
    /// Azure-hosted Skype Meeting Broadcast services.
    BroadcastCloud,
}

impl Role {
    /// Every role, in the order of catalogue.md §1.
    pub const ALL: [Role; 38] = [
        Role::InternalClient,
        Role::ExternalClient,
        Role::FederatedPartner,
        Role::PublicIm,
        Role::XmppPartner,
        Role::SkypeDirectory,
        Role::ReverseProxy,
        Role::AccessEdge,
        Role::WebconfEdge,
        Role::AvEdge,
        Role::EdgeInternal,
        Role::Director,
        Role::FrontEnd,
        Role::CmsMaster,
        Role::SfbServer,
        Role::BackEndSql,
        Role::Mediation,
        Role::PstnGateway,
        Role::Sba,
        Role::ExchangeUm,
        Role::OfficeWebApps,
        Role::FileShare,
        Role::PersistentChat,
        Role::PersistentChatCompliance,
        Role::Vis,
        Role::VideoGateway,
        Role::Vtc,
        Role::AdDs,
        Role::Adfs,
        Role::AdfsProxy,
        Role::Dirsync,
        Role::Office365,
        Role::MgmtHost,
        Role::DnsServer,
        Role::DhcpServer,
        Role::InternetAny,
        Role::BroadcastClient,
        Role::BroadcastCloud,
    ];

    /// The role's name in topology files and output columns (`front_end`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::InternalClient => "internal_client",
            Role::ExternalClient => "external_client",
            Role::FederatedPartner => "federated_partner",
            Role::PublicIm => "public_im",
            Role::XmppPartner => "xmpp_partner",
            Role::SkypeDirectory => "skype_directory",
            Role::ReverseProxy => "reverse_proxy",
            Role::AccessEdge => "access_edge",
            Role::WebconfEdge => "webconf_edge",
            Role::AvEdge => "av_edge",
            Role::EdgeInternal => "edge_internal",
            Role::Director => "director",
            Role::FrontEnd => "front_end",
            Role::CmsMaster => "cms_master",
            Role::SfbServer => "sfb_server",
            Role::BackEndSql => "back_end_sql",
            Role::Mediation => "mediation",
            Role::PstnGateway => "pstn_gateway",
            Role::Sba => "sba",
            Role::ExchangeUm => "exchange_um",
            Role::OfficeWebApps => "office_web_apps",
            Role::FileShare => "file_share",
            Role::PersistentChat => "persistent_chat",
            Role::PersistentChatCompliance => "persistent_chat_compliance",
            Role::Vis => "vis",
            Role::VideoGateway => "video_gateway",
            Role::Vtc => "vtc",
            Role::AdDs => "ad_ds",
            Role::Adfs => "adfs",
            Role::AdfsProxy => "adfs_proxy",
            Role::Dirsync => "dirsync",
            Role::Office365 => "office365",
            Role::MgmtHost => "mgmt_host",
            Role::DnsServer => "dns_server",
            Role::DhcpServer => "dhcp_server",
            Role::InternetAny => "internet_any",
            Role::BroadcastClient => "broadcast_client",
            Role::BroadcastCloud => "broadcast_cloud",
        }
    }

    /// The role of a name, if it is one.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Role::ALL {
            assert_eq!(Role::from_name(r.as_str()), Some(r));
            assert!(seen.insert(r.as_str()));
        }
        assert_eq!(seen.len(), 38);
        assert_eq!(Role::from_name("frontend"), None);
    }
}
