//! Fixture cases: every `captures/<case>/` with an `input.pcap` or `input.pcapng` is run through
//! the real binary, and its output is diffed against the files beside it:
//!
//! - `expected.jsonl`: `sfbflow classify input.* --jsonl --quiet` (one flow per line);
//! - `expected.summary.txt`: the exit status, stdout and stderr of `sfbflow classify input.*`.
//!
//! `BLESS=1 cargo test --test fixtures` rewrites the expected files (review the diff!).
//! Arguments beyond the defaults can be given in a `cmdline` file in the case folder.

use std::path::{Path, PathBuf};
use std::process::Command;

fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

fn cases() -> Vec<(String, PathBuf, String)> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(captures_dir()).expect("captures/ exists");
    for e in entries.flatten() {
        let dir = e.path();
        for input in ["input.pcap", "input.pcapng"] {
            if dir.join(input).is_file() {
                let name = e.file_name().to_string_lossy().into_owned();
                out.push((name, dir.clone(), input.to_string()));
            }
        }
    }
    out.sort();
    out
}

fn extra_args(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("cmdline"))
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

fn run(dir: &Path, args: &[String]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sfbflow"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run sfbflow");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check(path: &Path, actual: &str, bless: bool, failures: &mut Vec<String>) {
    if bless {
        std::fs::write(path, actual).expect("write expected file");
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => {
            let first = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
            failures.push(format!(
                "{}: differs at line {}\n  expected: {}\n  actual:   {}",
                path.display(),
                first + 1,
                expected.lines().nth(first).unwrap_or("<end>"),
                actual.lines().nth(first).unwrap_or("<end>")
            ));
        }
        Err(_) => failures.push(format!("{}: missing (run with BLESS=1)", path.display())),
    }
}

#[test]
fn every_fixture_case_matches_its_expected_output() {
    let bless = std::env::var_os("BLESS").is_some();
    let cases = cases();
    assert!(
        cases.len() >= 20,
        "expected the fixture cases under captures/, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for (name, dir, input) in &cases {
        let extra = extra_args(dir);
        let mut args = vec![
            "classify".to_string(),
            input.clone(),
            "--jsonl".into(),
            "--quiet".into(),
        ];
        args.extend(extra.iter().cloned());
        let (code, stdout, stderr) = run(dir, &args);
        assert!(code == 0 || code == 1, "{name}: exit {code}: {stderr}");
        for line in stdout.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: bad JSON line {line:?}: {e}"));
            assert!(v.get("flow_id").is_some(), "{name}: line without flow_id");
        }
        check(&dir.join("expected.jsonl"), &stdout, bless, &mut failures);

        let mut args = vec!["classify".to_string(), input.clone()];
        args.extend(extra);
        let (code, stdout, stderr) = run(dir, &args);
        let summary = format!(
            "$ sfbflow {}\nexit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
            args.join(" ")
        );
        check(
            &dir.join("expected.summary.txt"),
            &summary,
            bless,
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "{} fixture differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
