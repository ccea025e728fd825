//! One test per finding code: flows built as packets, run through the real pipeline with a small
//! deployment topology (or without one, for port-only mode), and the verdict columns checked.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{Pcap, run};
use sfbflow::catalogue::{Catalogue, Classifier, Finding, FlowFacts, Topology};
use sfbflow::flow::Transport;

const TOPOLOGY: &str = r#"
sip_domain = "contoso.com"
[roles]
front_end       = ["10.1.3.10", "10.1.3.11"]
edge_internal   = ["10.1.2.10"]
back_end_sql    = ["10.1.6.10"]
internal_client = ["10.20.0.0/16"]
"#;

const FE: Ipv4Addr = Ipv4Addr::new(10, 1, 3, 10);
const FE2: Ipv4Addr = Ipv4Addr::new(10, 1, 3, 11);
const EDGE: Ipv4Addr = Ipv4Addr::new(10, 1, 2, 10);
const SQL: Ipv4Addr = Ipv4Addr::new(10, 1, 6, 10);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 20, 0, 5);
const STRANGER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 99);

/// The one flow of a capture with one TCP connection (no payload: the verdict rests on the
/// port) from `c` to `s:port`.
fn tcp_verdict(c: Ipv4Addr, s: Ipv4Addr, port: u16, topology: Option<&str>) -> serde_json::Value {
    let mut pcap = Pcap::new();
    pcap.tcp_conversation(c, 40001, s, port, b"", b"");
    let rows = run(&pcap, topology);
    assert_eq!(rows.len(), 1);
    rows.into_iter().next().unwrap_or_default()
}

#[test]
fn documented_flow_names_its_rule_roles_and_workload() {
    let v = tcp_verdict(CLIENT, FE, 5061, Some(TOPOLOGY));
    assert_eq!(v["documented"], true);
    assert_eq!(v["finding"], serde_json::Value::Null);
    assert_eq!(v["rule_id"], "im.int-client-to-fe-sip-tls-5061");
    assert_eq!(v["initiator_role"], "internal_client");
    assert_eq!(v["responder_role"], "front_end");
    assert_eq!(v["workload"], "im_presence");
    assert_eq!(v["basis"], "port");
}

#[test]
fn port_5062_means_im_conferencing_on_a_front_end_and_mras_on_the_edge() {
    let im = tcp_verdict(FE, FE2, 5062, Some(TOPOLOGY));
    assert_eq!(im["rule_id"], "im.fe-to-fe-imconf-sip-mtls-5062");
    assert_eq!(im["service"], "IM Conferencing service");
    let mras = tcp_verdict(FE, EDGE, 5062, Some(TOPOLOGY));
    assert_eq!(mras["documented"], true);
    assert_eq!(mras["responder_role"], "edge_internal");
    assert_ne!(mras["rule_id"], im["rule_id"]);
    assert!(
        mras["rule_id"]
            .as_str()
            .unwrap_or_default()
            .contains("5062")
    );
}

#[test]
fn undocumented_port() {
    // Clients talk to Front Ends, but not on 22.
    let v = tcp_verdict(CLIENT, FE, 22, Some(TOPOLOGY));
    assert_eq!(v["documented"], false);
    assert_eq!(v["finding"], "undocumented_port");
    assert_eq!(v["rule_id"], serde_json::Value::Null);
}

#[test]
fn undocumented_role_pair() {
    // Clients never talk to the Back End SQL Server.
    let v = tcp_verdict(CLIENT, SQL, 1433, Some(TOPOLOGY));
    assert_eq!(v["finding"], "undocumented_role_pair");
    assert_eq!(v["initiator_role"], "internal_client");
    assert_eq!(v["responder_role"], "back_end_sql");
}

#[test]
fn reversed_direction() {
    // A Front End opening a connection to a client's 5061 (documented only client -> FE).
    let v = tcp_verdict(FE, CLIENT, 5061, Some(TOPOLOGY));
    assert_eq!(v["documented"], false);
    assert_eq!(v["finding"], "reversed_direction");
    assert_eq!(v["rule_id"], "im.int-client-to-fe-sip-tls-5061");
    assert_eq!(v["direction_basis"], "syn");
}

#[test]
fn unknown_endpoint() {
    let v = tcp_verdict(STRANGER, FE, 5061, Some(TOPOLOGY));
    assert_eq!(v["finding"], "unknown_endpoint");
    assert_eq!(v["initiator_role"], serde_json::Value::Null);
    assert_eq!(v["responder_role"], "front_end");
}

#[test]
fn media_port_out_of_range() {
    // UDP between a client and a Front End (AV MCU) below the conferencing range.
    let mut pcap = Pcap::new();
    pcap.udp_exchange(CLIENT, 50010, FE, 40000, b"m", b"m");
    let v = &run(&pcap, Some(TOPOLOGY))[0];
    assert_eq!(v["finding"], "media_port_out_of_range");
    // ... and inside it the same flow is documented media.
    let mut pcap = Pcap::new();
    pcap.udp_exchange(CLIENT, 50010, FE, 50000, b"m", b"m");
    let v = &run(&pcap, Some(TOPOLOGY))[0];
    assert_eq!(v["documented"], true, "{v}");
    assert_eq!(v["workload"], "av_web_conf");
}

#[test]
fn a_configured_client_media_range_narrows_the_documented_media() {
    let narrowed = format!("{TOPOLOGY}\n[ports]\nclient_media = \"50000-50059\"\n");
    // Inside the configured range: documented media.
    let mut pcap = Pcap::new();
    pcap.udp_exchange(CLIENT, 50010, FE, 50000, b"m", b"m");
    assert_eq!(run(&pcap, Some(&narrowed))[0]["documented"], true);
    // The default client range (1024-65535) would allow 40010; the deployment's does not.
    let mut pcap = Pcap::new();
    pcap.udp_exchange(CLIENT, 40010, FE, 50000, b"m", b"m");
    assert_eq!(run(&pcap, Some(TOPOLOGY))[0]["documented"], true);
    let v = &run(&pcap, Some(&narrowed))[0];
    assert_eq!(v["documented"], false);
    assert_eq!(v["finding"], "media_port_out_of_range");
}

#[test]
fn media_answered_first_is_turned_round() {
    // The Front End's datagram is captured first: the flow table says the FE initiated, the
    // catalogue documents client -> AV MCU, and media matches in either direction.
    let mut pcap = Pcap::new();
    pcap.udp_exchange(FE, 50000, CLIENT, 50010, b"m", b"m");
    let v = &run(&pcap, Some(TOPOLOGY))[0];
    assert_eq!(v["documented"], true);
    assert_eq!(v["initiator_role"], "internal_client");
    assert_eq!(v["initiator_ip"], CLIENT.to_string());
    assert_eq!(v["responder_port"], 50000);
    assert_eq!(v["direction_basis"], "port");
}

#[test]
fn unknown_port_without_topology() {
    let v = tcp_verdict(CLIENT, FE, 31337, None);
    assert_eq!(v["finding"], "unknown_port");
    assert_eq!(v["documented"], false);
    let v = tcp_verdict(CLIENT, FE, 5075, None);
    assert_eq!(v["documented"], true);
    assert_eq!(v["service"], "Call Park service");
    assert_eq!(
        v["initiator_role"],
        serde_json::Value::Null,
        "no topology, no roles"
    );
}

#[test]
fn protocol_mismatch_from_payload_evidence() {
    let topo = Topology::from_toml(TOPOLOGY).expect("topology");
    let c = Classifier::new(Catalogue::builtin(), Some(&topo));
    let facts = |app| FlowFacts {
        transport: Transport::Tcp,
        initiator: (IpAddr::V4(CLIENT), 40000),
        responder: (IpAddr::V4(FE), 5061),
        direction_known: true,
        app_protocol: app,
    };
    // Cleartext SIP where SIP/TLS is documented.
    let v = c.classify(&facts(Some("SIP"))).verdict;
    assert_eq!(v.finding, Some(Finding::ProtocolMismatch));
    assert!(!v.documented);
    assert_eq!(v.basis.as_str(), "port+payload");
    // TLS agrees: documented on port and payload.
    let v = c.classify(&facts(Some("TLS"))).verdict;
    assert!(v.documented);
    assert_eq!(v.basis.as_str(), "port+payload");
    // Nothing known: port alone.
    let v = c.classify(&facts(None)).verdict;
    assert!(v.documented);
    assert_eq!(v.basis.as_str(), "port");
}

#[test]
fn protocol_mismatch_through_the_pipeline() {
    // Cleartext SIP to the Front End's SIP/TLS port, with the handshake: the bytes say SIP.
    let mut pcap = Pcap::new();
    let register = b"REGISTER sip:contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.20.0.5\r\n\r\n";
    pcap.tcp_conversation(CLIENT, 40001, FE, 5061, register, b"SIP/2.0 200 OK\r\n\r\n");
    // A TLS record to the same port is documented, on port and payload.
    pcap.tcp_conversation(
        CLIENT,
        40002,
        FE,
        5061,
        &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0],
        b"",
    );
    let rows = run(&pcap, Some(TOPOLOGY));
    let by_port = |p: u64| {
        rows.iter()
            .find(|r| r["initiator_port"] == p)
            .cloned()
            .unwrap_or_default()
    };
    let sip = by_port(40001);
    assert_eq!(sip["app_protocol"], "SIP");
    assert_eq!(sip["finding"], "protocol_mismatch");
    assert_eq!(sip["documented"], false);
    assert_eq!(sip["basis"], "port+payload");
    assert_eq!(sip["rule_id"], "im.int-client-to-fe-sip-tls-5061");
    let tls = by_port(40002);
    assert_eq!(tls["app_protocol"], "TLS");
    assert_eq!(tls["documented"], true);
    assert_eq!(tls["basis"], "port+payload");
}

#[test]
fn every_finding_code_is_covered_here() {
    // The tests above cover these; a new code must get its own test.
    let covered = [
        "undocumented_port",
        "undocumented_role_pair",
        "reversed_direction",
        "protocol_mismatch",
        "media_port_out_of_range",
        "unknown_endpoint",
        "unknown_port",
    ];
    let all: Vec<&str> = Finding::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(all, covered);
}
