//! Payload evidence through the whole pipeline: SIP dialogs and the media their SDP announced,
//! DNS lookups and the poster's sign-in discovery, TLS server names and certificates against
//! the poster's rules, STUN kinds, and the `dns`, `sip` and `findings` tables read back by
//! sfbflow's own Parquet reader and, where installed, by pyarrow and DuckDB.

#![expect(clippy::print_stderr, reason = "a skipped check says why")]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{UInt16Type, UInt32Type, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sfbflow");

mod common;

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("evidence", name)
}

/// Runs `classify` with `args` and `--jsonl --quiet`, returns the flows.
fn flows(args: &[&Path], extra: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN)
        .arg("classify")
        .args(args)
        .args(extra)
        .args(["--jsonl", "--quiet", "--idle-timeout", "0"])
        .output()
        .expect("run sfbflow");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn lab(out: &Path, topology: &Path) -> Vec<Value> {
    let input = case("lab-sfb").join("input.pcap");
    let t = topology.to_str().unwrap_or_default();
    let o = out.to_str().unwrap_or_default();
    flows(&[&input], &["--topology", t, "--out", o])
}

fn read(path: &Path) -> RecordBatch {
    let file = File::open(path).expect("table written");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    let schema = batches
        .first()
        .map(RecordBatch::schema)
        .expect("one batch at least");
    arrow::compute::concat_batches(&schema, &batches).expect("concat")
}

fn strings(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    let c = b.column_by_name(col).expect(col).as_string::<i32>();
    (0..c.len())
        .map(|i| c.is_valid(i).then(|| c.value(i).to_string()))
        .collect()
}

#[test]
fn the_lab_sip_call_and_its_media_share_the_call_id() {
    let dir = tmpdir("lab-sip");
    let rows = lab(&dir, &case("lab-sfb").join("topology.toml"));
    // Mediation -> gateway SIP/TCP 5060 carries the INVITE whose SDP announced the RTP between
    // the gateway's 20000 and the Mediation's 60000.
    let sip = rows
        .iter()
        .find(|r| r["responder_port"] == 5060 && r["transport"] == "tcp")
        .expect("the SIP trunk flow");
    assert_eq!(sip["app_protocol"], "SIP");
    assert_eq!(sip["sip_method"], "INVITE");
    let call_id = sip["sip_call_id"].as_str().expect("call id").to_string();
    let media: Vec<&Value> = rows
        .iter()
        .filter(|r| r["sip_call_id"] == call_id.as_str() && r["transport"] == "udp")
        .collect();
    assert_eq!(media.len(), 1, "one RTP flow announced by the SDP");
    assert_eq!(media[0]["app_protocol"], "RTP");
    assert_eq!(media[0]["rtp_codec"], "PCMA");
    let media_bytes = media[0]["initiator_bytes"].as_u64().unwrap_or(0)
        + media[0]["responder_bytes"].as_u64().unwrap_or(0);
    // The RTP of calls whose SIP the capture does not hold is not linked to any dialog.
    assert!(
        rows.iter()
            .filter(|r| r["app_protocol"] == "RTP")
            .any(|r| r["sip_call_id"].is_null())
    );

    let t = read(&dir.join("sip.parquet"));
    let ids = strings(&t, "call_id");
    let at = ids
        .iter()
        .position(|c| c.as_deref() == Some(&call_id))
        .expect("the dialog has a row");
    assert_eq!(strings(&t, "first_request")[at].as_deref(), Some("INVITE"));
    assert_eq!(strings(&t, "state")[at].as_deref(), Some("ended"));
    let status = t
        .column_by_name("final_status")
        .expect("col")
        .as_primitive::<UInt16Type>();
    assert_eq!(status.value(at), 200);
    let mf = t
        .column_by_name("media_flows")
        .expect("col")
        .as_primitive::<UInt32Type>();
    assert_eq!(mf.value(at), 1);
    let mb = t
        .column_by_name("media_bytes")
        .expect("col")
        .as_primitive::<UInt64Type>();
    assert_eq!(mb.value(at), media_bytes);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_lab_sign_in_lookups_follow_the_poster_order() {
    let dir = tmpdir("lab-dns");
    let rows = lab(&dir, &case("lab-sfb").join("topology.toml"));
    let t = read(&dir.join("dns.parquet"));
    let clients = strings(&t, "client_ip");
    let steps = strings(&t, "signin_step");
    let roles = strings(&t, "client_role");
    let mut by_client: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in 0..t.num_rows() {
        if let (Some(c), Some(s)) = (&clients[i], &steps[i]) {
            by_client.entry(c.clone()).or_default().push(s.clone());
        }
    }
    // catalogue.md §4.1: the internal user's six lookups and the external user's eight.
    assert_eq!(
        by_client.get("127.0.20.21").map(Vec::len),
        Some(6),
        "{by_client:?}"
    );
    assert_eq!(
        by_client.get("127.0.20.21").map(|v| v.join(",")).as_deref(),
        Some(
            "lyncdiscoverinternal,lyncdiscover,_sipinternaltls._tcp,_sipinternal._tcp,sipinternal,sip"
        )
    );
    assert_eq!(
        by_client.get("127.0.30.31").map(|v| v.join(",")).as_deref(),
        Some(
            "lyncdiscoverinternal,lyncdiscover,_sipinternaltls._tcp,_sipinternal._tcp,_sip._tls,sipinternal,sip,sipexternal"
        )
    );
    let role_of = |ip: &str| {
        clients
            .iter()
            .zip(&roles)
            .find(|(c, _)| c.as_deref() == Some(ip))
            .and_then(|(_, r)| r.clone())
    };
    assert_eq!(role_of("127.0.20.21").as_deref(), Some("internal_client"));
    assert_eq!(role_of("127.0.30.31").as_deref(), Some("external_client"));
    // Every DNS flow names its first question.
    for r in rows.iter().filter(|r| r["app_protocol"] == "DNS") {
        assert!(
            r["dns_query"]
                .as_str()
                .is_some_and(|q| q.ends_with("contoso.com")),
            "{r}"
        );
    }
    // The summary says where each client's discovery ended.
    let out = Command::new(BIN)
        .arg("classify")
        .arg(case("lab-sfb").join("input.pcap"))
        .arg("--topology")
        .arg(case("lab-sfb").join("topology.toml"))
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("127.0.20.21 contoso.com:") && text.contains("ended at lyncdiscoverinternal"),
        "{text}"
    );
    assert!(
        text.contains("external path (1a-1h), poster's order; ended at lyncdiscover"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_undocumented_flow_has_a_finding_row_that_explains_it() {
    let dir = tmpdir("lab-findings");
    let rows = lab(&dir, &case("lab-sfb").join("topology.toml"));
    let t = read(&dir.join("findings.parquet"));
    let flow_ids = t
        .column_by_name("flow_id")
        .expect("col")
        .as_primitive::<UInt64Type>();
    let codes = strings(&t, "code");
    let details = strings(&t, "detail");
    let undocumented: Vec<&Value> = rows.iter().filter(|r| !r["finding"].is_null()).collect();
    assert_eq!(undocumented.len(), 9);
    assert_eq!(t.num_rows(), undocumented.len(), "no certificate problems");
    for r in undocumented {
        let id = r["flow_id"].as_u64().expect("id");
        let i = (0..t.num_rows())
            .find(|i| flow_ids.value(*i) == id)
            .expect("a finding row per undocumented flow");
        assert_eq!(codes[i].as_deref(), r["finding"].as_str());
        assert!(details[i].as_deref().is_some_and(|d| !d.is_empty()));
    }
    let said = |code: &str| {
        codes
            .iter()
            .zip(&details)
            .filter(|(c, _)| c.as_deref() == Some(code))
            .filter_map(|(_, d)| d.clone())
            .collect::<Vec<_>>()
    };
    assert!(
        said("protocol_mismatch")
            .iter()
            .any(|d| d.contains("SIP over TLS") && d.contains("cleartext SIP")),
        "{:?}",
        said("protocol_mismatch")
    );
    assert!(
        said("unknown_endpoint")
            .iter()
            .any(|d| d.contains("127.0.99.9"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn certificates_are_checked_against_the_topology_sip_domain() {
    // The same capture under another SIP domain: the Edge and reverse-proxy certificates
    // (named for contoso.com) lack sip.fabrikam.com and lyncdiscover.fabrikam.com.
    let dir = tmpdir("lab-certs");
    let topo = std::fs::read_to_string(case("lab-sfb").join("topology.toml")).expect("topology");
    let other: String = topo
        .lines()
        .map(|l| {
            if l.starts_with("sip_domain") {
                "sip_domain = \"fabrikam.com\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.join("fabrikam.toml");
    std::fs::write(&path, other).expect("write topology");
    let out = dir.join("out");
    let rows = lab(&out, &path);
    let flagged: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|r| Some((r["responder_role"].as_str()?, r["cert_problem"].as_str()?)))
        .collect();
    assert!(
        flagged
            .iter()
            .any(|(role, p)| *role == "access_edge" && p.contains("cert_missing_name")),
        "{flagged:?}"
    );
    assert!(
        flagged
            .iter()
            .any(|(role, p)| *role == "reverse_proxy" && p.contains("cert_missing_name")),
        "{flagged:?}"
    );
    // Under the lab's own domain nothing is flagged.
    let dir2 = tmpdir("lab-certs-ok");
    let ok = lab(&dir2, &case("lab-sfb").join("topology.toml"));
    assert!(ok.iter().all(|r| r["cert_problem"].is_null()));
    // Every flagged flow has a certificate row in findings.parquet.
    let t = read(&out.join("findings.parquet"));
    let kinds = strings(&t, "kind");
    let certs = kinds
        .iter()
        .filter(|k| k.as_deref() == Some("certificate"))
        .count();
    assert!(certs >= flagged.len(), "{certs} rows for {flagged:?}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

#[test]
fn public_fixture_evidence() {
    // Arkime's stun.pcap: classic STUN, a real MS-TURN Allocate, and non-STUN bytes on 3478.
    let stun = flows(&[&case("stun").join("input.pcap")], &[]);
    let by_ip = |ip: &str| {
        stun.iter()
            .find(|r| r["initiator_ip"] == ip)
            .unwrap_or_else(|| panic!("flow from {ip}"))
    };
    assert_eq!(by_ip("10.0.0.3")["app_protocol"], "MS-TURN");
    assert_eq!(by_ip("10.0.0.1")["stun_seen"], "STUN");
    assert_eq!(by_ip("10.0.0.9")["finding"], "protocol_mismatch");
    assert_eq!(by_ip("10.0.0.9")["basis"], "port+payload");
    // suricata-verify's sip.pcap: the RTP and the RTCP next to it carry the call's Call-ID.
    let sip = flows(&[&case("sip-udp-rtp").join("input.pcap")], &[]);
    let linked: BTreeMap<u64, &str> = sip
        .iter()
        .filter(|r| r["transport"] == "udp" && r["app_protocol"] != "SIP")
        .filter_map(|r| Some((r["responder_port"].as_u64()?, r["sip_call_id"].as_str()?)))
        .collect();
    assert_eq!(linked.get(&30000), Some(&"11894297-4432a9f8@192.168.1.2"));
    assert_eq!(linked.get(&30001), Some(&"11894297-4432a9f8@192.168.1.2"));
    // Arkime's tls-split-client-hello: the ClientHello spans two segments.
    let tls = flows(&[&case("tls-split-client-hello").join("input.pcap")], &[]);
    assert!(
        tls.iter()
            .any(|r| r["tls_sni"] == "clients2.google.com" && r["tls_version"] == "TLS 1.3"),
        "{tls:?}"
    );
}

fn python_has(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn pyarrow_and_duckdb_read_the_evidence_tables() {
    if !python_has("pyarrow, duckdb") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have pyarrow and duckdb"
        );
        eprintln!("skipped: python3 with pyarrow and duckdb not installed");
        return;
    }
    let dir = tmpdir("lab-python");
    let rows = lab(&dir, &case("lab-sfb").join("topology.toml"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_parquet.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("--tables")
        .arg(&dir)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(
        r["dns"]["pyarrow_types"]["query_ts"],
        "timestamp[ns, tz=UTC]"
    );
    assert_eq!(r["dns"]["pyarrow_types"]["latency_ms"], "double");
    assert_eq!(r["sip"]["pyarrow_types"]["final_status"], "uint16");
    assert_eq!(r["findings"]["pyarrow_types"]["bytes"], "uint64");
    for t in ["dns", "sip", "findings"] {
        assert_eq!(r[t]["pyarrow_rows"], r[t]["duckdb"]["rows"], "{t}");
    }
    let dns_flows = rows.iter().filter(|f| f["app_protocol"] == "DNS").count();
    assert_eq!(r["dns"]["duckdb"]["rows"].as_u64(), Some(dns_flows as u64));
    assert_eq!(r["dns"]["duckdb"]["signin"], 14);
    assert_eq!(r["dns"]["duckdb"]["by_rcode"]["NXDOMAIN"], 8);
    let undocumented = rows.iter().filter(|f| !f["finding"].is_null()).count();
    assert_eq!(
        r["findings"]["duckdb"]["rows"].as_u64(),
        Some(undocumented as u64)
    );
    assert_eq!(
        r["findings"]["duckdb"]["by_kind_code"]["flow/protocol_mismatch"],
        3
    );
    assert_eq!(r["findings"]["duckdb"]["empty_details"], 0);
    let dialogs = &r["sip"]["duckdb"]["dialogs"];
    let call = rows
        .iter()
        .find(|f| f["sip_method"] == "INVITE")
        .and_then(|f| f["sip_call_id"].as_str())
        .expect("the INVITE flow");
    assert_eq!(dialogs[call][0], "INVITE");
    assert_eq!(dialogs[call][2], "ended");
    assert_eq!(dialogs[call][3], 1);
    let _ = std::fs::remove_dir_all(&dir);
}
