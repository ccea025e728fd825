//! The DuckDB queries of `docs/dashboards.md` run as written: every ```sql block of the doc, with
//! its folder (`/var/lib/sfbflow`) replaced by an output folder made here from the lab capture,
//! once plain (`--out`) and once rotated into Hive partitions (`--rotate 10 --partition hour`).
//! Each must run and, since the lab capture has rows for all of them, return rows.
//!
//! DuckDB is run from Python (`pip install duckdb`, as `.ci/run` does): without it the test is
//! skipped with a message, and fails under CI (the `CI` environment variable is set).

#![expect(clippy::print_stderr, reason = "a skipped check says why")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sfbflow");
const FOLDER: &str = "/var/lib/sfbflow";

/// Runs each query of stdin (a JSON list) in its own DuckDB connection; prints a JSON list of
/// row counts, or of error messages.
const RUNNER: &str = r#"
import json, sys, duckdb
out = []
for q in json.load(sys.stdin):
    try:
        out.append(len(duckdb.connect().sql(q).fetchall()))
    except Exception as e:
        out.append(f"{type(e).__name__}: {e}")
print(json.dumps(out))
"#;

fn sql_blocks(doc: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match &mut current {
            None if line.trim_end() == "```sql" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```sql block");
    blocks
}

fn duckdb_available() -> bool {
    Command::new("python3")
        .args(["-c", "import duckdb"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn classify_lab(out: &Path, extra: &[&str]) {
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab-sfb");
    let res = Command::new(BIN)
        .arg("classify")
        .arg(lab.join("input.pcap"))
        .arg("--topology")
        .arg(lab.join("topology.toml"))
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .expect("run sfbflow classify");
    assert_eq!(
        res.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
}

fn run_queries(queries: &[String]) -> Vec<serde_json::Value> {
    let mut child = Command::new("python3")
        .args(["-c", RUNNER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let input = serde_json::to_vec(queries).expect("JSON");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write queries");
    let out = child.wait_with_output().expect("python3 output");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON list of results")
}

#[test]
fn the_dashboard_queries_run_as_written() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dashboards.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/dashboards.md");
    let blocks = sql_blocks(&doc);
    assert!(blocks.len() >= 6, "{} sql blocks", blocks.len());
    for b in &blocks {
        assert!(b.contains(FOLDER), "a query without the folder:\n{b}");
        assert!(
            b.contains("hive_partitioning = true, union_by_name = true"),
            "a query that would miss rotated or partitioned files:\n{b}"
        );
    }
    if !duckdb_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have python3 with duckdb"
        );
        eprintln!("skipped: python3 with duckdb not installed");
        return;
    }
    let dir: PathBuf =
        std::env::temp_dir().join(format!("sfbflow-dashboards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let plain = dir.join("plain");
    let rotated = dir.join("rotated");
    classify_lab(&plain, &[]);
    classify_lab(&rotated, &["--rotate", "10", "--partition", "hour"]);
    for tree in [&plain, &rotated] {
        let folder = tree.to_string_lossy();
        let queries: Vec<String> = blocks.iter().map(|b| b.replace(FOLDER, &folder)).collect();
        let results = run_queries(&queries);
        assert_eq!(results.len(), queries.len());
        for (q, r) in queries.iter().zip(&results) {
            match r.as_u64() {
                Some(n) => assert!(n > 0, "no rows over {folder}:\n{q}"),
                None => panic!("failed over {folder}: {r}\n{q}"),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
