//! Every documented flow of the built-in catalogue is exercised through the real pipeline: for
//! each rule the test lays out a deployment (one address per role), builds that flow as packets
//! (a TCP connection with its handshake, or a UDP exchange) on the rule's port, runs the capture
//! through `Pipeline` with the topology, and checks the verdict names that rule. A rule added to
//! the catalogue is covered automatically; one that no flow can reach fails the test.

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::Pcap;
use sfbflow::catalogue::{Catalogue, Role};
use sfbflow::flow::Transport;

/// Rules that no flow can reach by roles, transport and port, because an earlier rule documents
/// the same roles on the same port: (shadowed rule, the rule that wins, what tells them apart).
/// A new entry here is a deliberate decision; an unlisted shadowed rule fails the test.
const SHADOWED: &[(&str, &str, &str)] = &[
    (
        "av.int-client-to-fe-asmcu-tcp-49152-65535",
        "av.int-client-to-fe-avmcu-srtp-49152-65535",
        "application sharing (RDP) vs A/V media over TCP: payload only",
    ),
    (
        "av.int-client-to-int-client-p2p-appshare-tcp",
        "av.int-client-to-int-client-p2p-srtp",
        "peer-to-peer application sharing vs media: payload only",
    ),
    (
        "av.int-client-to-int-client-p2p-filetransfer-tcp",
        "av.int-client-to-int-client-p2p-srtp",
        "peer-to-peer file transfer vs media: payload only",
    ),
    (
        "bc.client-to-cloud-key-https-443",
        "bc.client-to-cloud-joinpage-https-443",
        "Broadcast key service vs join page, both HTTPS 443: TLS server name only",
    ),
    (
        "bc.client-to-cloud-stream-https-443",
        "bc.client-to-cloud-joinpage-https-443",
        "Broadcast streaming vs join page, both HTTPS 443: TLS server name only",
    ),
    (
        "bc.client-to-cloud-ucwa-https-443",
        "bc.client-to-cloud-joinpage-https-443",
        "Broadcast pool (UCWA) vs join page, both HTTPS 443: TLS server name only",
    ),
];

/// One address per role: 10.0.<index+1>.10.
fn addr(role: Role) -> Ipv4Addr {
    let i = Role::ALL.iter().position(|r| *r == role).unwrap_or(0);
    Ipv4Addr::new(10, 0, u8::try_from(i + 1).unwrap_or(250), 10)
}

fn topology_text() -> String {
    let mut t = String::from("sip_domain = \"contoso.com\"\n\n[roles]\n");
    for r in Role::ALL {
        t.push_str(&format!("{} = [\"{}\"]\n", r.as_str(), addr(r)));
    }
    t
}

/// The lowest port a spec contains.
fn first_port(contains: impl Fn(u16) -> bool) -> Option<u16> {
    (1..=u16::MAX).find(|p| contains(*p))
}

/// Runs `pcap` through the pipeline with the one-address-per-role topology.
fn classify(pcap: &Pcap) -> Vec<serde_json::Value> {
    common::run(pcap, Some(&topology_text()))
}

#[test]
fn every_rule_is_matched_by_a_flow_built_for_it() {
    let cat = Catalogue::builtin();
    let rules = cat.rules();
    assert!(rules.len() >= 144, "catalogue has {} rules", rules.len());
    let mut pcap = Pcap::new();
    // rule id -> (initiator, initiator port, responder, responder port, transport)
    let mut built = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        let udp_only = !rule.transport.contains(Transport::Tcp);
        let initiator = rule.initiator.unwrap_or(Role::InternalClient);
        let (ia, ra) = (addr(initiator), addr(rule.responder));
        let rport = first_port(|p| rule.ports.contains(p)).expect("rule has a port");
        let offset = u16::try_from(i).unwrap_or(0);
        let iport = match &rule.initiator_ports {
            // A fixed client port (DHCP's 68) is used as it is; a range gets a distinct port.
            Some(spec) if matches!(spec.ranges(), [(a, b)] if a == b) => spec.ranges()[0].0,
            Some(spec) => {
                first_port(|p| spec.contains(p)).map_or(40000, |p| p.saturating_add(offset))
            }
            None => 20000 + offset,
        };
        if udp_only {
            pcap.udp_exchange(ia, iport, ra, rport, b"", b"");
        } else {
            pcap.tcp_conversation(ia, iport, ra, rport, b"", b"");
        }
        let t = if udp_only { "udp" } else { "tcp" };
        built.insert(
            rule.id.clone(),
            (ia.to_string(), iport, ra.to_string(), rport, t),
        );
    }
    let rows = classify(&pcap);
    assert_eq!(rows.len(), rules.len(), "one flow per rule");
    let mut wrong = Vec::new();
    for rule in rules {
        let (ia, iport, ra, rport, t) = &built[&rule.id];
        let row = rows.iter().find(|r| {
            let ends = [
                (r["initiator_ip"].as_str(), r["initiator_port"].as_u64()),
                (r["responder_ip"].as_str(), r["responder_port"].as_u64()),
            ];
            r["transport"] == *t
                && ends.contains(&(Some(ia.as_str()), Some(u64::from(*iport))))
                && ends.contains(&(Some(ra.as_str()), Some(u64::from(*rport))))
        });
        let Some(row) = row else {
            wrong.push(format!("{}: no flow", rule.id));
            continue;
        };
        let shadow = SHADOWED.iter().find(|(id, _, _)| *id == rule.id);
        let want = shadow.map_or(rule.id.as_str(), |(_, winner, _)| *winner);
        if row["rule_id"] != want || row["documented"] != true {
            wrong.push(format!(
                "{}: got rule_id {} documented {} finding {} ({} {}:{} -> {}:{})",
                rule.id, row["rule_id"], row["documented"], row["finding"], t, ia, iport, ra, rport
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rules not matched:\n{}",
        wrong.len(),
        rules.len(),
        wrong.join("\n")
    );
    for (id, winner, _) in SHADOWED {
        assert!(
            cat.rule(id).is_some() && cat.rule(winner).is_some(),
            "stale SHADOWED entry {id}"
        );
    }
}
