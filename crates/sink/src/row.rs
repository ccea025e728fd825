//! The flat output row: one per flow, the columns of `flows.parquet`.

use std::net::IpAddr;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::time::format_rfc3339_nanos;

/// One finished flow with its verdict, borrowed from the pipeline's own types.
/// Field names are the column names of `flows.parquet` and the keys of the JSON lines.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow<'a> {
    /// Creation order of the flow in the run: a stable id.
    pub flow_id: u64,
    /// First packet, nanoseconds since the Unix epoch (UTC).
    pub first_ts_nanos: i64,
    /// Last packet, nanoseconds since the Unix epoch (UTC).
    pub last_ts_nanos: i64,
    /// `tcp` or `udp`.
    pub transport: &'static str,
    /// Initiator address.
    pub initiator_ip: IpAddr,
    /// Responder address.
    pub responder_ip: IpAddr,
    /// Initiator port.
    pub initiator_port: u16,
    /// Responder port.
    pub responder_port: u16,
    /// Frames sent by the initiator.
    pub initiator_packets: u64,
    /// Frames sent by the responder.
    pub responder_packets: u64,
    /// Original frame lengths sent by the initiator.
    pub initiator_bytes: u64,
    /// Original frame lengths sent by the responder.
    pub responder_bytes: u64,
    /// Transport payload bytes sent by the initiator.
    pub initiator_payload_bytes: u64,
    /// Transport payload bytes sent by the responder.
    pub responder_payload_bytes: u64,
    /// `syn`, `first_packet` or `port`.
    pub direction_basis: &'static str,
    /// Initiator role from the topology.
    pub initiator_role: Option<&'a str>,
    /// Responder role from the topology.
    pub responder_role: Option<&'a str>,
    /// What the bytes are (`unknown` when no probe recognised them).
    pub app_protocol: &'a str,
    /// Server name from a TLS ClientHello.
    pub tls_sni: Option<&'a str>,
    /// SIP Call-ID of the flow or of the dialog that announced its media.
    pub sip_call_id: Option<&'a str>,
    /// Workload of the matching documented flow.
    pub workload: Option<&'a str>,
    /// Service name of the matching documented flow.
    pub service: Option<&'a str>,
    /// Id of the matching documented flow.
    pub rule_id: Option<&'a str>,
    /// `port`, `payload` or `port+payload`.
    pub basis: &'static str,
    /// Whether the flow matches a documented role pair, port and protocol.
    pub documented: bool,
    /// Finding code when not documented.
    pub finding: Option<&'a str>,
    /// Why the flow ended: `fin`, `rst`, `idle`, `reused`, `evicted`, `end_of_input`.
    pub end_reason: &'static str,
    /// Outermost 802.1Q VLAN id of the first packet.
    pub vlan: Option<u16>,
    /// Tunnel the flow was carried in (`gre`, `erspan`, `vxlan`, `geneve`, ...), if any.
    pub tunnel: Option<&'static str>,
    /// TLS version negotiated (`TLS 1.2`, ...), or offered when the server's answer was not seen.
    pub tls_version: Option<&'a str>,
    /// Subject common name of the server's certificate (visible up to TLS 1.2).
    pub tls_cert_subject: Option<&'a str>,
    /// DNS names of the server certificate's subject alternative names, joined with `,`.
    pub tls_cert_sans: Option<&'a str>,
    /// Certificate problems against the poster's requirements for the responder's role, codes
    /// joined with `,` (details in `findings.parquet`).
    pub cert_problem: Option<&'a str>,
    /// First SIP request method seen on the flow (`REGISTER`, `INVITE`, ...).
    pub sip_method: Option<&'a str>,
    /// First SIP User-Agent (or Server) header seen on the flow.
    pub sip_user_agent: Option<&'a str>,
    /// STUN family seen on the flow (`STUN`, `TURN`, `MS-TURN`), also when media followed.
    pub stun_seen: Option<&'a str>,
    /// First STUN message of the flow (`Binding request`, `Allocate request`, ...).
    pub stun_method: Option<&'a str>,
    /// RTP payload type's codec for static types (`PCMU`, `G722`, ...), `dynamic(N)` otherwise.
    pub rtp_codec: Option<&'a str>,
    /// First name asked for on a DNS flow.
    pub dns_query: Option<&'a str>,
}

impl Serialize for FlowRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(40))?;
        m.serialize_entry("flow_id", &self.flow_id)?;
        m.serialize_entry("first_ts", &format_rfc3339_nanos(self.first_ts_nanos))?;
        m.serialize_entry("last_ts", &format_rfc3339_nanos(self.last_ts_nanos))?;
        m.serialize_entry("transport", self.transport)?;
        m.serialize_entry("initiator_ip", &self.initiator_ip)?;
        m.serialize_entry("initiator_port", &self.initiator_port)?;
        m.serialize_entry("responder_ip", &self.responder_ip)?;
        m.serialize_entry("responder_port", &self.responder_port)?;
        m.serialize_entry("initiator_packets", &self.initiator_packets)?;
        m.serialize_entry("responder_packets", &self.responder_packets)?;
        m.serialize_entry("initiator_bytes", &self.initiator_bytes)?;
        m.serialize_entry("responder_bytes", &self.responder_bytes)?;
        m.serialize_entry("initiator_payload_bytes", &self.initiator_payload_bytes)?;
        m.serialize_entry("responder_payload_bytes", &self.responder_payload_bytes)?;
        m.serialize_entry("direction_basis", self.direction_basis)?;
        m.serialize_entry("initiator_role", &self.initiator_role)?;
        m.serialize_entry("responder_role", &self.responder_role)?;
        m.serialize_entry("app_protocol", self.app_protocol)?;
        m.serialize_entry("tls_sni", &self.tls_sni)?;
        m.serialize_entry("sip_call_id", &self.sip_call_id)?;
        m.serialize_entry("workload", &self.workload)?;
        m.serialize_entry("service", &self.service)?;
        m.serialize_entry("rule_id", &self.rule_id)?;
        m.serialize_entry("basis", self.basis)?;
        m.serialize_entry("documented", &self.documented)?;
        m.serialize_entry("finding", &self.finding)?;
        m.serialize_entry("end_reason", self.end_reason)?;
        m.serialize_entry("vlan", &self.vlan)?;
        m.serialize_entry("tunnel", &self.tunnel)?;
        m.serialize_entry("tls_version", &self.tls_version)?;
        m.serialize_entry("tls_cert_subject", &self.tls_cert_subject)?;
        m.serialize_entry("tls_cert_sans", &self.tls_cert_sans)?;
        m.serialize_entry("cert_problem", &self.cert_problem)?;
        m.serialize_entry("sip_method", &self.sip_method)?;
        m.serialize_entry("sip_user_agent", &self.sip_user_agent)?;
        m.serialize_entry("stun_seen", &self.stun_seen)?;
        m.serialize_entry("stun_method", &self.stun_method)?;
        m.serialize_entry("rtp_codec", &self.rtp_codec)?;
        m.serialize_entry("dns_query", &self.dns_query)?;
        m.end()
    }
}
