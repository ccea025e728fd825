//! The outputs read back by independent readers, standard input against the file run, and the
//! exit codes of the contract.

#![expect(clippy::print_stderr, reason = "a skipped check says why")]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, TimeUnit, UInt16Type, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_sfbflow");

fn capture(case: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(case);
    let pcap = dir.join("input.pcap");
    if pcap.exists() {
        pcap
    } else {
        dir.join("input.pcapng")
    }
}

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("test", name)
}

fn jsonl(args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let out = Command::new(BIN).args(args).output().expect("run sfbflow");
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        rows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn parquet_has_the_contract_columns_and_the_jsonl_values() {
    let dir = tmpdir("parquet");
    let input = capture("sfb-sample");
    let out = Command::new(BIN)
        .args([
            "classify",
            input.to_str().unwrap_or_default(),
            "--jsonl",
            "--quiet",
            "--out",
        ])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert!(rows.len() > 30, "sample has ~42 flows, got {}", rows.len());
    assert!(
        !dir.join(".flows.parquet.partial").exists(),
        "temporary file left behind"
    );

    let file = File::open(dir.join("flows.parquet")).expect("flows.parquet written");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let mut n = 0usize;
    for batch in reader {
        let batch = batch.expect("batch");
        let schema = batch.schema();
        let ty = |name: &str| {
            schema
                .field_with_name(name)
                .expect(name)
                .data_type()
                .clone()
        };
        assert_eq!(
            ty("first_ts"),
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
        );
        assert_eq!(ty("initiator_port"), DataType::UInt16);
        assert_eq!(ty("initiator_packets"), DataType::UInt64);
        assert_eq!(ty("responder_bytes"), DataType::UInt64);
        assert_eq!(ty("documented"), DataType::Boolean);
        for s in [
            "transport",
            "initiator_ip",
            "responder_ip",
            "direction_basis",
            "app_protocol",
            "basis",
            "initiator_role",
            "responder_role",
            "tls_sni",
            "sip_call_id",
            "workload",
            "service",
            "rule_id",
            "finding",
        ] {
            assert_eq!(ty(s), DataType::Utf8, "{s}");
        }
        let col = |name: &str| batch.column_by_name(name).expect(name).clone();
        let ip = col("initiator_ip");
        let ip = ip.as_string::<i32>();
        let port = col("responder_port");
        let port = port.as_primitive::<UInt16Type>();
        let bytes = col("initiator_bytes");
        let bytes = bytes.as_primitive::<UInt64Type>();
        let role = col("initiator_role");
        for i in 0..batch.num_rows() {
            let r = &rows[n + i];
            assert_eq!(ip.value(i), r["initiator_ip"].as_str().unwrap_or_default());
            assert_eq!(
                u64::from(port.value(i)),
                r["responder_port"].as_u64().unwrap_or(u64::MAX)
            );
            assert_eq!(
                bytes.value(i),
                r["initiator_bytes"].as_u64().unwrap_or(u64::MAX)
            );
            assert_eq!(role.is_null(i), r["initiator_role"].is_null());
        }
        n += batch.num_rows();
    }
    assert_eq!(n, rows.len());
    let _ = std::fs::remove_dir_all(&dir);
}

fn python_has(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn pyarrow_and_duckdb_read_flows_parquet() {
    if !python_has("pyarrow, duckdb") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have pyarrow and duckdb"
        );
        eprintln!("skipped: python3 with pyarrow and duckdb not installed");
        return;
    }
    let dir = tmpdir("pyarrow");
    // 600 UDP flows: enough for zstd (a row group under 256 rows is stored uncompressed).
    let mut many = common::Pcap::new();
    for i in 0..600u16 {
        let client = std::net::Ipv4Addr::new(10, 1, (i / 200) as u8, (i % 200) as u8 + 1);
        let server = std::net::Ipv4Addr::new(10, 0, 0, 10);
        many.push(&common::frame(
            client,
            50_000 + i,
            server,
            3478,
            true,
            0,
            0,
            b"x",
        ));
    }
    let many_path = dir.join("many.pcap");
    std::fs::write(&many_path, &many.bytes).expect("write many.pcap");
    for (input, compressed) in [(capture("sfb-sample"), false), (many_path, true)] {
        let out = dir.join(if compressed { "many" } else { "sample" });
        check_with_pyarrow_and_duckdb(&input, &out, compressed);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `input` into `dir` and has pyarrow and DuckDB read its `flows.parquet`.
fn check_with_pyarrow_and_duckdb(input: &Path, dir: &Path, compressed: bool) {
    let (code, rows, err) = jsonl(&[
        "classify",
        input.to_str().unwrap_or_default(),
        "--jsonl",
        "--quiet",
        "--out",
        dir.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        rows.len() >= if compressed { 600 } else { 40 },
        "{}",
        rows.len()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_parquet.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir.join("flows.parquet"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    // Column types as pyarrow sees them.
    let types = &report["pyarrow_types"];
    assert_eq!(types["first_ts"], "timestamp[ns, tz=UTC]");
    assert_eq!(types["initiator_port"], "uint16");
    assert_eq!(types["initiator_packets"], "uint64");
    assert_eq!(types["documented"], "bool");
    assert_eq!(types["initiator_role"], "string");
    // Row count and sums, from pyarrow and from DuckDB's SQL, against the JSON lines.
    let sum = |k: &str| rows.iter().map(|r| r[k].as_u64().unwrap_or(0)).sum::<u64>();
    for reader in ["pyarrow", "duckdb"] {
        assert_eq!(
            report[reader]["rows"].as_u64(),
            Some(rows.len() as u64),
            "{reader}"
        );
        assert_eq!(
            report[reader]["packets"].as_u64(),
            Some(sum("initiator_packets") + sum("responder_packets")),
            "{reader}"
        );
        assert_eq!(
            report[reader]["bytes"].as_u64(),
            Some(sum("initiator_bytes") + sum("responder_bytes")),
            "{reader}"
        );
    }
    let tcp = rows.iter().filter(|r| r["transport"] == "tcp").count() as u64;
    assert_eq!(report["duckdb"]["tcp_flows"].as_u64(), Some(tcp));
    assert_eq!(
        report["duckdb"]["min_first_ts"].as_str(),
        rows.iter().filter_map(|r| r["first_ts"].as_str()).min()
    );
    // Stored as documented: zstd (beside the uncompressed enumerations) only for a row group
    // of 256 rows or more; flow_id delta-encoded either way.
    let codecs = report["codecs"].as_array().cloned().unwrap_or_default();
    assert_eq!(codecs.iter().any(|c| c == "ZSTD"), compressed, "{codecs:?}");
    assert!(codecs.iter().any(|c| c == "UNCOMPRESSED"), "{codecs:?}");
    let encodings = report["flow_id_encodings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        encodings.iter().any(|e| e == "DELTA_BINARY_PACKED"),
        "{encodings:?}"
    );
}

#[test]
fn stdin_through_a_pipe_gives_the_flows_of_the_file_run() {
    for case in [
        "sfb-sample",
        "pcapng-multi-interface",
        "ipv6-fragmented-dns",
        "geneve",
    ] {
        let input = capture(case);
        let (code, file_rows, _) = jsonl(&[
            "classify",
            input.to_str().unwrap_or_default(),
            "--jsonl",
            "--quiet",
        ]);
        assert_eq!(code, 0, "{case}");
        let bytes = std::fs::read(&input).expect("read capture");
        let mut child = Command::new(BIN)
            .args(["classify", "-", "--jsonl", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || {
            // Odd-sized writes, as a pipe from tcpdump delivers them.
            for chunk in bytes.chunks(1021) {
                if stdin.write_all(chunk).is_err() {
                    break;
                }
            }
        });
        let out = child.wait_with_output().expect("wait");
        writer.join().expect("writer");
        assert_eq!(out.status.code(), Some(0), "{case}");
        let stdin_rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert!(!file_rows.is_empty(), "{case}: no flows");
        assert_eq!(stdin_rows, file_rows, "{case}: stdin and file runs differ");
    }
}

#[test]
fn exit_codes_follow_the_contract() {
    let dir = tmpdir("exit");
    // Not a capture: 2, with the reason.
    let text = dir.join("notes.txt");
    std::fs::write(&text, b"hello, this is not a capture\n").expect("write");
    let (code, rows, err) = jsonl(&["classify", text.to_str().unwrap_or_default(), "--jsonl"]);
    assert_eq!(code, 2);
    assert!(rows.is_empty());
    assert!(err.contains("not a pcap or pcapng file"), "{err}");
    // Missing file: 2, naming it.
    let (code, _, err) = jsonl(&["classify", "/nonexistent/x.pcap", "--quiet"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
    // Bad usage: 2.
    let (code, _, _) = jsonl(&["classify", "--no-such-flag", "x", "--quiet"]);
    assert_eq!(code, 2);

    // A cut-off last record: 1, the warning names the offset, every earlier flow is written.
    let full = std::fs::read(capture("sfb-sample")).expect("read");
    let (_, all_rows, _) = jsonl(&[
        "classify",
        capture("sfb-sample").to_str().unwrap_or_default(),
        "--jsonl",
        "--quiet",
    ]);
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &full[..full.len() - 7]).expect("write");
    let (code, rows, err) = jsonl(&[
        "classify",
        cut.to_str().unwrap_or_default(),
        "--jsonl",
        "--quiet",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("warning") && err.contains("byte"), "{err}");
    let pk = |rows: &[serde_json::Value]| {
        rows.iter()
            .map(|r| {
                r["initiator_packets"].as_u64().unwrap_or(0)
                    + r["responder_packets"].as_u64().unwrap_or(0)
            })
            .sum::<u64>()
    };
    assert_eq!(
        pk(&rows) + 1,
        pk(&all_rows),
        "exactly the last packet is lost"
    );

    // A corrupt record header in the middle: 1, flows before it written, error names the offset.
    let mut corrupt = full.clone();
    let mut off = 24usize;
    let mut records = 0;
    while records < 100 {
        let caplen = u32::from_le_bytes([
            corrupt[off + 8],
            corrupt[off + 9],
            corrupt[off + 10],
            corrupt[off + 11],
        ]) as usize;
        off += 16 + caplen;
        records += 1;
    }
    corrupt[off + 8..off + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let bad = dir.join("corrupt.pcap");
    std::fs::write(&bad, &corrupt).expect("write");
    let (code, rows, err) = jsonl(&[
        "classify",
        bad.to_str().unwrap_or_default(),
        "--jsonl",
        "--quiet",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("byte {off}")),
        "error names the record's offset {off}: {err}"
    );
    assert_eq!(
        pk(&rows),
        100,
        "the 100 records before the damage are in flows"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn summary_counts_flows_by_transport() {
    let (code, rows, _) = jsonl(&[
        "classify",
        capture("sfb-sample").to_str().unwrap_or_default(),
        "--jsonl",
        "--quiet",
    ]);
    assert_eq!(code, 0);
    let out = Command::new(BIN)
        .args([
            "classify",
            capture("sfb-sample").to_str().unwrap_or_default(),
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *by.entry(r["transport"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    assert!(text.contains(&format!("flows: {}", rows.len())), "{text}");
    for (t, n) in by {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&t) && l.contains(&format!(" {n} flows"))),
            "{t} {n}: {text}"
        );
    }
}
