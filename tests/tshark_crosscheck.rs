//! Cross-check of sfbflow's flows against tshark on the corpus in `captures/`.
//!
//! Runs `scripts/tshark_compare.py --strict` (see its docstring for how the
//! comparison works) with the sfbflow binary built for this test.  Needs
//! `python3` and `tshark`: when either is missing the tests fail under CI
//! (the `CI` environment variable is set; CI installs tshark) and are skipped
//! with a message otherwise.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Known, explained differences between tshark and sfbflow in `captures/`, passed to the script
/// as `--expect-differ DIR=ENDPOINT,...`: each may differ only on flows naming those endpoints.
/// Remove an entry when sfbflow changes to agree (the script then reports it as stale).
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[
    // Zeek's fragmented-1: the non-last fragment (frame 1) is 18 bytes, not a multiple of 8, and
    // frame 3 overlaps with other data and runs past the end of the datagram. sfbflow drops the
    // train as malformed (bad_fragment_length, fragment_inconsistent_length); tshark
    // reassembles it anyway, flagging overlap, conflict and "too long".
    ("/ipv4-fragments/", "164.1.123.163:123"),
];

/// One run of the comparison script, shared by the tests of this file.
struct ScriptRun {
    output: Output,
    report: PathBuf,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// True when `program --version` can be run.
fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// The script's run, or `None` when tshark/python3 are missing outside CI.
fn script_run() -> Option<&'static ScriptRun> {
    static RUN: OnceLock<Option<ScriptRun>> = OnceLock::new();
    RUN.get_or_init(|| {
        let missing: Vec<&str> = ["python3", "tshark"]
            .into_iter()
            .filter(|program| !available(program))
            .collect();
        if !missing.is_empty() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {} not installed: CI must install tshark and python3",
                missing.join(" and ")
            );
            eprintln!(
                "skipped: tshark not installed ({} missing); install tshark to run the cross-check",
                missing.join(", ")
            );
            return None;
        }
        let report = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("tshark_crosscheck_{}.json", std::process::id()));
        let mut command = Command::new("python3");
        command
            .arg(root().join("scripts/tshark_compare.py"))
            .arg("--strict")
            .arg("--sfbflow")
            .arg(env!("CARGO_BIN_EXE_sfbflow"))
            .arg("--json")
            .arg(&report);
        for (dir, endpoints) in EXPECTED_DIFFERENCES {
            command
                .arg("--expect-differ")
                .arg(format!("{dir}={endpoints}"));
        }
        let output = command
            .arg(root().join("captures"))
            .output()
            .expect("run python3 scripts/tshark_compare.py");
        Some(ScriptRun { output, report })
    })
    .as_ref()
}

/// Number of `captures/*/` directories holding an `input.*` capture.
fn capture_dirs_with_input() -> usize {
    let entries = std::fs::read_dir(root().join("captures")).expect("read captures/");
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter(|entry| {
            std::fs::read_dir(entry.path())
                .map(|files| {
                    files.filter_map(Result::ok).any(|file| {
                        file.file_name().to_string_lossy().starts_with("input.")
                            && file.path().is_file()
                    })
                })
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn sfbflow_agrees_with_tshark_on_every_capture() {
    let Some(run) = script_run() else { return };
    println!("{}", String::from_utf8_lossy(&run.output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&run.output.stderr));
    assert!(
        run.output.status.success(),
        "tshark_compare.py --strict failed ({}): see the lines above for the files that differ",
        run.output.status
    );
}

#[test]
fn tshark_report_covers_every_capture_dir() {
    let Some(run) = script_run() else { return };
    let text = std::fs::read_to_string(&run.report).unwrap_or_else(|error| {
        panic!(
            "no JSON report at {} ({error}); script stderr:\n{}",
            run.report.display(),
            String::from_utf8_lossy(&run.output.stderr)
        )
    });
    let report: serde_json::Value = serde_json::from_str(&text).expect("parse the JSON report");
    let compared = report["summary"]["compared"]
        .as_u64()
        .expect("summary.compared is a number");
    let expected = capture_dirs_with_input();
    assert!(expected > 0, "captures/ has no input files");
    assert_eq!(
        usize::try_from(compared).expect("compared fits usize"),
        expected,
        "the script compared {compared} files that tshark reads, but captures/ has {expected} \
         directories with an input file"
    );
}

/// What sfbflow says the bytes are against tshark's dissection (`scripts/tshark_protocols.py`):
/// `app_protocol` agrees on at least 95 % of the flows of `captures/`, and where both name a
/// server name, Call-ID, SIP method, STUN kind, codec or DNS name, they name the same.
#[test]
fn payload_verdicts_agree_with_tshark_dissection() {
    if script_run().is_none() {
        return;
    }
    let report = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tshark_protocols_{}.json", std::process::id()));
    let output = Command::new("python3")
        .arg(root().join("scripts/tshark_protocols.py"))
        .arg("--sfbflow")
        .arg(env!("CARGO_BIN_EXE_sfbflow"))
        .arg("--json")
        .arg(&report)
        .arg(root().join("captures"))
        .output()
        .expect("run python3 scripts/tshark_protocols.py");
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = std::fs::read_to_string(&report).expect("report written");
    let r: serde_json::Value = serde_json::from_str(&json).expect("report JSON");
    let s = &r["summary"];
    let compared = s["flows_compared"].as_u64().unwrap_or(0);
    let agree = s["agree"].as_u64().unwrap_or(0);
    assert!(compared >= 400, "only {compared} flows compared");
    assert!(
        agree * 100 >= compared * 95,
        "app_protocol agrees on {agree}/{compared} flows"
    );
    assert_eq!(s["sfbflow_crashes"], 0);
    for col in [
        "tls_sni",
        "tls_version",
        "sip_call_id",
        "sip_method",
        "sip_user_agent",
        "stun_method",
        "rtp_codec",
        "dns_query",
    ] {
        let outcomes = &s["columns"][col]["outcomes"];
        assert!(
            outcomes["agree"].as_u64().unwrap_or(0) > 0,
            "{col}: nothing compared ({outcomes})"
        );
        assert!(
            outcomes["differ"].is_null() || outcomes["differ"] == 0,
            "{col} differs from tshark: {outcomes}"
        );
    }
}
