//! The lab capture (`captures/lab-sfb`: real SIP, TURN, DNS, TLS and TCP software on loopback
//! addresses laid out as a deployment, with its topology and the verdicts expected from the
//! documentation) scored by `scripts/lab/score_lab.py` against the targets of the project:
//! verdict and roles right for 95 % of flows, the finding for 80 % of the undocumented ones,
//! app_protocol for 90 %.

#![expect(clippy::print_stderr, reason = "a skipped check says why")]

use std::path::Path;
use std::process::Command;

#[test]
fn lab_capture_verdicts_match_the_documentation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = match Command::new("python3")
        .arg(root.join("scripts/lab/score_lab.py"))
        .arg(env!("CARGO_BIN_EXE_sfbflow"))
        .arg(root.join("captures/lab-sfb"))
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have python3: {e}"
            );
            eprintln!("skipped: python3 not available ({e})");
            return;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    let score: serde_json::Value = serde_json::from_str(last).expect("score JSON");
    assert_eq!(score["expected"], 50, "{text}");
    assert_eq!(score["flows"], 50, "{text}");
    let verdict = score["verdict_and_roles"].as_f64().unwrap_or(0.0);
    let finding = score["finding"].as_f64().unwrap_or(0.0);
    let app = score["app_protocol"].as_f64().unwrap_or(0.0);
    assert!(
        verdict >= 0.95,
        "documented/undocumented and roles right for {verdict}:\n{text}"
    );
    assert!(
        finding >= 0.80,
        "finding right for {finding} of the undocumented:\n{text}"
    );
    assert!(app >= 0.90, "app_protocol right for {app}:\n{text}");
}

#[test]
fn topology_infer_proposes_a_loadable_topology_that_agrees_with_the_lab() {
    use sfbflow::catalogue::{Role, Topology};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_sfbflow"))
        .args(["topology", "infer"])
        .arg(root.join("captures/lab-sfb/input.pcap"))
        .output()
        .expect("run sfbflow");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let inferred = Topology::from_toml(&text).expect("the proposal is a valid topology file");
    let actual =
        Topology::from_path(&root.join("captures/lab-sfb/topology.toml")).expect("lab topology");
    let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("address");
    // Hosts whose service ports say what they are: the guess must include the real role.
    for (host, role) in [
        ("127.0.6.10", Role::BackEndSql),
        ("127.0.4.10", Role::Mediation),
        ("127.0.7.53", Role::DnsServer),
        ("127.0.2.10", Role::EdgeInternal),
        ("127.0.1.10", Role::FrontEnd),
        ("127.0.5.10", Role::PstnGateway),
        ("127.0.20.23", Role::InternalClient),
    ] {
        assert!(
            actual.roles_of(ip(host)).contains(role),
            "lab topology: {host} is {role}"
        );
        assert!(
            inferred.roles_of(ip(host)).contains(role),
            "inferred {host} lacks {role}:\n{text}"
        );
    }
    // Every guess it makes is one of at most three roles, with its evidence beside it.
    for (net, roles) in inferred.prefixes() {
        assert!(roles.len() <= 3, "{net}: {roles:?}");
    }
    assert!(
        text.contains("answered tcp/1433"),
        "evidence is printed:\n{text}"
    );
}
