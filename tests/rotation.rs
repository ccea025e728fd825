//! `--rotate SECS` and `--partition hour|day`: the rotated files of a run, read in period order,
//! are its single-file run cut into consecutive pieces (flow for flow, every column, all four
//! tables); each file is named by its period and lies in its partition; each row is in the
//! period during which the pipeline handed it over (checked against the tick schedule the
//! capture's timestamps imply); no `.partial` file remains; DuckDB reads the partitioned folder.
//!
//! The rule being checked: the pipeline calls `Sink::tick(now)` at the first record and then at
//! the first record at least one second (capture time) after the previous tick, after the rows
//! that ended at that record; the sink switches to the period of `now` at a tick. So the rows of
//! a period's files were handed over between the tick that opened the period and the tick that
//! closed it (both records included), and a flow ended by a timeout is handed over at the first
//! packet at or after `last_ts + timeout`.

#![expect(clippy::print_stderr, reason = "a skipped check says why")]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Float64Type, TimeUnit, TimestampNanosecondType, UInt16Type, UInt32Type, UInt64Type,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sfbflow::sink::format_rfc3339_nanos;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_sfbflow");
const SEC: i64 = 1_000_000_000;
const TABLES: [&str; 4] = ["flows", "dns", "sip", "findings"];

use common::case;

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("rotation", name)
}

/// Runs `classify INPUT --quiet --out OUT EXTRA...` and expects exit status 0.
fn classify(input: &Path, out: &Path, extra: &[&str]) {
    let res = Command::new(BIN)
        .arg("classify")
        .arg(input)
        .arg("--quiet")
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run sfbflow");
    assert_eq!(
        res.status.code(),
        Some(0),
        "{extra:?}: {}",
        String::from_utf8_lossy(&res.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Classic pcap: record timestamps (for the tick schedule) and shifted copies.

struct Pcap {
    header: Vec<u8>,
    big_endian: bool,
    nanos: bool,
    /// (timestamp, the record's header and data).
    records: Vec<(i64, Vec<u8>)>,
}

impl Pcap {
    fn read(path: &Path) -> Pcap {
        let bytes = std::fs::read(path).expect("read pcap");
        let magic: [u8; 4] = bytes[..4].try_into().expect("magic");
        let (big_endian, nanos) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
            m => panic!("{}: not a classic pcap ({m:02x?})", path.display()),
        };
        let u32_at = |b: &[u8], at: usize| {
            let x: [u8; 4] = b[at..at + 4].try_into().expect("u32");
            if big_endian {
                u32::from_be_bytes(x)
            } else {
                u32::from_le_bytes(x)
            }
        };
        let mut records = Vec::new();
        let mut at = 24;
        while at + 16 <= bytes.len() {
            let secs = i64::from(u32_at(&bytes, at));
            let frac = i64::from(u32_at(&bytes, at + 4));
            let len = u32_at(&bytes, at + 8) as usize;
            let end = (at + 16 + len).min(bytes.len());
            let ts = secs * SEC + if nanos { frac } else { frac * 1000 };
            records.push((ts, bytes[at..end].to_vec()));
            at = end;
        }
        Pcap {
            header: bytes[..24].to_vec(),
            big_endian,
            nanos,
            records,
        }
    }

    fn timestamps(&self) -> Vec<i64> {
        self.records.iter().map(|r| r.0).collect()
    }

    /// The records of `self` moved by `shift_nanos` (a multiple of the timestamp unit).
    fn shifted(&self, shift_nanos: i64) -> Vec<(i64, Vec<u8>)> {
        let unit = if self.nanos { 1 } else { 1000 };
        self.records
            .iter()
            .map(|(ts, rec)| {
                let t = ts + shift_nanos;
                let secs = u32::try_from(t.div_euclid(SEC)).expect("secs");
                let frac = u32::try_from(t.rem_euclid(SEC) / unit).expect("frac");
                let mut rec = rec.clone();
                let put = |x: u32| {
                    if self.big_endian {
                        x.to_be_bytes()
                    } else {
                        x.to_le_bytes()
                    }
                };
                rec[..4].copy_from_slice(&put(secs));
                rec[4..8].copy_from_slice(&put(frac));
                (t, rec)
            })
            .collect()
    }

    /// Writes `records` (in time order) under this file's header.
    fn write(&self, path: &Path, mut records: Vec<(i64, Vec<u8>)>) {
        records.sort_by_key(|r| r.0);
        let mut out = self.header.clone();
        for (_, r) in records {
            out.extend_from_slice(&r);
        }
        std::fs::write(path, out).expect("write pcap");
    }
}

/// A classic pcap record (little-endian, microseconds) of `frame` at `ts_nanos`.
fn record(ts_nanos: i64, frame: &[u8]) -> (i64, Vec<u8>) {
    let secs = u32::try_from(ts_nanos.div_euclid(SEC)).expect("secs");
    let usecs = u32::try_from(ts_nanos.rem_euclid(SEC) / 1000).expect("usecs");
    let len = u32::try_from(frame.len()).expect("len");
    let mut r = Vec::with_capacity(16 + frame.len());
    for x in [secs, usecs, len, len] {
        r.extend_from_slice(&x.to_le_bytes());
    }
    r.extend_from_slice(frame);
    (ts_nanos, r)
}

// ---------------------------------------------------------------------------------------------
// The tick schedule and the periods it implies.

/// When the pipeline calls `Sink::tick` for records with these timestamps (one input).
fn ticks(timestamps: &[i64]) -> Vec<i64> {
    let mut next = i64::MIN;
    let mut out = Vec::new();
    for &ts in timestamps {
        if ts >= next {
            out.push(ts);
            next = ts.saturating_add(SEC);
        }
    }
    out
}

/// The capture times between which a period's rows are handed over: from the record of the tick
/// that made it current to the record of the tick that ended it (or the last record).
#[derive(Debug, Clone, Copy)]
struct Window {
    open: i64,
    close: i64,
}

/// Period start -> its hand-over window, for rotation every `secs`.
fn windows(timestamps: &[i64], secs: i64) -> BTreeMap<i64, Window> {
    let period = |t: i64| t.div_euclid(secs * SEC) * secs * SEC;
    let mut out = BTreeMap::new();
    let mut current: Option<(i64, i64)> = None;
    for t in ticks(timestamps) {
        let p = period(t);
        match current {
            Some((cp, open)) if p > cp => {
                out.insert(cp, Window { open, close: t });
                current = Some((p, t));
            }
            Some(_) => {}
            None => current = Some((p, t)),
        }
    }
    if let (Some((cp, open)), Some(&last)) = (current, timestamps.iter().max()) {
        out.insert(cp, Window { open, close: last });
    }
    out
}

/// The hour of `ts_nanos` as the partition folders write it: `0` to `23`.
fn hour(ts_nanos: i64) -> i64 {
    ts_nanos.rem_euclid(86_400 * SEC) / (3600 * SEC)
}

/// `20261124T130500Z` for the period starting at `ts_nanos`.
fn stamp(ts_nanos: i64) -> String {
    let s = format_rfc3339_nanos(ts_nanos);
    format!(
        "{}{}{}T{}{}{}Z",
        &s[0..4],
        &s[5..7],
        &s[8..10],
        &s[11..13],
        &s[14..16],
        &s[17..19]
    )
}

// ---------------------------------------------------------------------------------------------
// Reading the output back.

/// Every file below `dir`, relative to it with `/` separators, sorted.
fn all_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).expect("below the base");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The files of `table` below `dir`: stamp -> path relative to `dir`, in period order.
fn rotated_files(dir: &Path, table: &str) -> BTreeMap<String, String> {
    let prefix = format!("{table}-");
    let mut out = BTreeMap::new();
    for rel in all_files(dir) {
        let name = rel.rsplit('/').next().unwrap_or_default();
        if let Some(stamp) = name
            .strip_prefix(&prefix)
            .and_then(|n| n.strip_suffix(".parquet"))
        {
            assert!(
                out.insert(stamp.to_string(), rel.clone()).is_none(),
                "{rel}: period {stamp} in two folders"
            );
        }
    }
    out
}

/// Every row of a Parquet file, in file order.
fn read(path: &Path) -> RecordBatch {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder
        .build()
        .expect("reader")
        .map(|b| b.expect("batch"))
        .collect();
    arrow::compute::concat_batches(&schema, &batches).expect("concat")
}

/// One cell as text (`∅` for null), for comparing whole rows.
fn cell(col: &dyn Array, i: usize) -> String {
    if col.is_null(i) {
        return "∅".into();
    }
    match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
        DataType::UInt64 => col.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::UInt32 => col.as_primitive::<UInt32Type>().value(i).to_string(),
        DataType::UInt16 => col.as_primitive::<UInt16Type>().value(i).to_string(),
        DataType::Float64 => col.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Boolean => col.as_boolean().value(i).to_string(),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => col
            .as_primitive::<TimestampNanosecondType>()
            .value(i)
            .to_string(),
        other => panic!("unexpected column type {other}"),
    }
}

/// The rows of a batch, each as its cells joined (every column).
fn rows(b: &RecordBatch) -> Vec<String> {
    (0..b.num_rows())
        .map(|i| {
            b.columns()
                .iter()
                .map(|c| cell(c.as_ref(), i))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect()
}

/// A non-null timestamp or integer column's values.
fn ints(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let col = b.column_by_name(name).expect(name);
    (0..col.len())
        .map(|i| {
            (!col.is_null(i)).then(|| match col.data_type() {
                DataType::Timestamp(..) => col.as_primitive::<TimestampNanosecondType>().value(i),
                DataType::UInt64 => {
                    i64::try_from(col.as_primitive::<UInt64Type>().value(i)).expect("i64")
                }
                other => panic!("{name}: {other}"),
            })
        })
        .collect()
}

fn strings(b: &RecordBatch, name: &str) -> Vec<String> {
    let c = b.column_by_name(name).expect(name).as_string::<i32>();
    (0..c.len()).map(|i| c.value(i).to_string()).collect()
}

/// The latest capture time a row of `table` carries: it was handed over no earlier.
fn row_times(table: &str, b: &RecordBatch) -> Vec<i64> {
    match table {
        "dns" => ints(b, "query_ts")
            .into_iter()
            .zip(ints(b, "response_ts"))
            .map(|(q, r)| q.max(r).expect("a query or a response"))
            .collect(),
        _ => ints(b, "last_ts")
            .into_iter()
            .map(|t| t.expect("last_ts"))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// Options of one comparison: the capture, the rotation, and options both runs share.
struct Case<'a> {
    name: &'a str,
    input: &'a Path,
    extra: &'a [&'a str],
    /// Idle timeout (seconds) as the runs set it, for the timeout rule; `None`: the defaults.
    idle_secs: Option<i64>,
}

/// Runs `case` once without rotation and once with `--rotate secs` (and `partition`), and checks
/// the rotated files against the single ones and the tick schedule.
fn check_rotation(case: &Case<'_>, secs: i64, partition: Option<&str>) {
    let dir = tmpdir(&format!(
        "{}-{secs}-{}",
        case.name,
        partition.unwrap_or("flat")
    ));
    let single = dir.join("single");
    let rotated = dir.join("rotated");
    classify(case.input, &single, case.extra);
    let secs_arg = secs.to_string();
    let mut extra: Vec<&str> = case.extra.to_vec();
    extra.extend(["--rotate", &secs_arg]);
    if let Some(p) = partition {
        extra.extend(["--partition", p]);
    }
    classify(case.input, &rotated, &extra);

    let what = format!("{} --rotate {secs} {partition:?}", case.name);
    let pcap = Pcap::read(case.input);
    let timestamps = pcap.timestamps();
    assert!(timestamps.is_sorted(), "{what}: records out of time order");
    let windows = windows(&timestamps, secs);
    let by_stamp: BTreeMap<String, i64> = windows.keys().map(|&p| (stamp(p), p)).collect();

    // No temporary file anywhere; nothing but the four tables' files.
    let files = all_files(&rotated);
    for f in &files {
        let name = f.rsplit('/').next().unwrap_or_default();
        assert!(!name.starts_with('.'), "{what}: {f} left behind");
        assert!(
            TABLES.iter().any(|t| name.starts_with(&format!("{t}-"))),
            "{what}: unexpected file {f}"
        );
    }

    // The four tables rotate together: the same periods, in the same folders.
    let flows_files = rotated_files(&rotated, "flows");
    assert!(!flows_files.is_empty(), "{what}: no flows file");
    let periods = |t: &str| -> Vec<(String, String)> {
        rotated_files(&rotated, t)
            .into_iter()
            .map(|(stamp, rel)| {
                let folder = rel.rsplit_once('/').map(|x| x.0.to_string());
                (folder.unwrap_or_default(), stamp)
            })
            .collect()
    };
    for t in TABLES {
        assert_eq!(periods(t), periods("flows"), "{what}: {t} files");
    }

    // Every record of these captures is a TCP/UDP frame (the flows' frames add up to the
    // records): a flow ended by a timeout is handed over exactly at the first record at or after
    // its deadline, which the window check relies on.
    let single_flows = read(&single.join("flows.parquet"));
    let frames: i64 = ["initiator_packets", "responder_packets"]
        .iter()
        .flat_map(|c| ints(&single_flows, c))
        .flatten()
        .sum();
    assert_eq!(
        usize::try_from(frames).ok(),
        Some(timestamps.len()),
        "{what}: records that are no TCP/UDP frame"
    );

    let mut period_flow_ids: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for t in TABLES {
        let single_batch = read(&single.join(format!("{t}.parquet")));
        let files = rotated_files(&rotated, t);
        let mut all = Vec::new();
        let mut pieces = Vec::new();
        for (stamp, rel) in &files {
            // The name is a period's start, and a period the capture's ticks passed through.
            let period = *by_stamp
                .get(stamp)
                .unwrap_or_else(|| panic!("{what}: {rel} is not a period of the capture"));
            // The partition folder is that of the period's start.
            let s = format_rfc3339_nanos(period);
            let expected_folder = match partition {
                None => String::new(),
                Some("day") => format!("date={}/", &s[0..10]),
                Some(_) => format!("date={}/hour={}/", &s[0..10], hour(period)),
            };
            assert_eq!(
                rel,
                &format!("{expected_folder}{t}-{stamp}.parquet"),
                "{what}"
            );
            let b = read(&rotated.join(rel));
            let ctx = WindowCheck {
                idle_secs: case.idle_secs,
                window: windows[&period],
                timestamps: &timestamps,
            };
            ctx.check(t, &b, &format!("{what}: {rel}"));
            if t == "flows" || t == "findings" {
                let ids: BTreeSet<i64> = ints(&b, "flow_id").into_iter().flatten().collect();
                let entry = period_flow_ids.entry(stamp.clone()).or_default();
                if t == "flows" {
                    *entry = ids;
                } else {
                    // A finding is handed over right after its flow: same period.
                    assert!(
                        ids.is_subset(entry),
                        "{what}: {rel} finding without its flow"
                    );
                }
            }
            pieces.push(b.num_rows());
            all.extend(rows(&b));
        }
        let expected = rows(&single_batch);
        assert_eq!(all.len(), expected.len(), "{what}: {t} rows ({pieces:?})");
        // The same rows (every column), flow for flow ...
        let mut sorted_all = all.clone();
        let mut sorted_expected = expected.clone();
        sorted_all.sort();
        sorted_expected.sort();
        if let Some(i) = (0..sorted_all.len()).find(|&i| sorted_all[i] != sorted_expected[i]) {
            panic!(
                "{what}: {t} differs:\n rotated {}\n single  {}",
                sorted_all[i], sorted_expected[i]
            );
        }
        if t == "flows" {
            let mut ids: Vec<i64> = Vec::new();
            for rel in files.values() {
                ids.extend(
                    ints(&read(&rotated.join(rel)), "flow_id")
                        .into_iter()
                        .flatten(),
                );
            }
            let mut single_ids: Vec<i64> = ints(&single_batch, "flow_id")
                .into_iter()
                .flatten()
                .collect();
            ids.sort_unstable();
            single_ids.sort_unstable();
            assert_eq!(ids, single_ids, "{what}: flow_ids");
            let distinct: BTreeSet<&i64> = ids.iter().collect();
            assert_eq!(distinct.len(), ids.len(), "{what}: a flow in two files");
        }
        // ... and, read in period order, in the single file's order: consecutive pieces of it.
        assert!(all == expected, "{what}: {t} rows in another order");
    }

    // Flows that ended at the end of the input are in the last period's file.
    let last = flows_files.values().last().expect("a flows file");
    for (stamp, rel) in &flows_files {
        let b = read(&rotated.join(rel));
        let at_end = strings(&b, "end_reason")
            .iter()
            .filter(|r| *r == "end_of_input")
            .count();
        assert!(
            rel == last || at_end == 0,
            "{what}: {stamp} has {at_end} end_of_input flows before the last period"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a period's rows are checked against.
struct WindowCheck<'a> {
    idle_secs: Option<i64>,
    window: Window,
    timestamps: &'a [i64],
}

impl WindowCheck<'_> {
    /// Every row of a period's file was handed over within the period's window.
    fn check(&self, table: &str, b: &RecordBatch, what: &str) {
        let w = self.window;
        for (i, t) in row_times(table, b).into_iter().enumerate() {
            assert!(
                t <= w.close,
                "{what}: row {i} at {} after its period's last hand-over {}",
                format_rfc3339_nanos(t),
                format_rfc3339_nanos(w.close)
            );
        }
        if table != "flows" {
            return;
        }
        // A flow ended by a timeout is handed over at the first packet at or after its deadline:
        // within the window at both ends.
        let last_ts = ints(b, "last_ts");
        let transport = strings(b, "transport");
        for (i, reason) in strings(b, "end_reason").iter().enumerate() {
            let idle = self
                .idle_secs
                .map(|s| s * SEC)
                .unwrap_or(if transport[i] == "tcp" {
                    3600 * SEC
                } else {
                    120 * SEC
                });
            let wait = match reason.as_str() {
                "idle" => idle,
                "fin" | "rst" => idle.min(2 * SEC),
                _ => continue,
            };
            let deadline = last_ts[i].expect("last_ts") + wait;
            let at = self.timestamps.partition_point(|&t| t < deadline);
            let handed = *self
                .timestamps
                .get(at)
                .unwrap_or_else(|| panic!("{what}: row {i} ({reason}) ended before its deadline"));
            assert!(
                handed <= w.close,
                "{what}: row {i} ({reason}) due at {} after the period's end",
                format_rfc3339_nanos(handed)
            );
            assert!(
                handed >= w.open,
                "{what}: row {i} ({reason}) handed over at {} before its period opened at {}",
                format_rfc3339_nanos(handed),
                format_rfc3339_nanos(w.open)
            );
        }
    }
}

#[test]
fn rotated_files_are_the_single_run_cut_into_its_periods() {
    let lab = case("lab-sfb").join("input.pcap");
    let topology = case("lab-sfb").join("topology.toml");
    let topology = topology.to_str().unwrap_or_default();
    let lab_case = Case {
        name: "lab",
        input: &lab,
        extra: &["--topology", topology],
        idle_secs: None,
    };
    for secs in [1, 5, 7, 60] {
        check_rotation(&lab_case, secs, None);
    }
    // Short timeouts: flows end, and land in files, all through the capture.
    let lab_short = Case {
        name: "lab-short",
        input: &lab,
        extra: &["--topology", topology, "--idle-timeout", "3"],
        idle_secs: Some(3),
    };
    for secs in [1, 2, 10] {
        check_rotation(&lab_short, secs, None);
    }
    let sample = case("sfb-sample").join("input.pcap");
    let sample_case = Case {
        name: "sample",
        input: &sample,
        extra: &["--idle-timeout", "1"],
        idle_secs: Some(1),
    };
    for secs in [1, 3, 60] {
        check_rotation(&sample_case, secs, None);
    }
}

#[test]
fn a_generated_ten_minute_capture_rotates_every_minute() {
    let dir = tmpdir("generated");
    let pcap = dir.join("gen.pcap");
    if !common::generated(&pcap, &["--calls", "30", "--seconds", "600", "--seed", "3"]) {
        return;
    }
    let gen_case = Case {
        name: "generated",
        input: &pcap,
        extra: &["--idle-timeout", "30"],
        idle_secs: Some(30),
    };
    check_rotation(&gen_case, 60, Some("hour"));
    check_rotation(&gen_case, 7, None);
    let defaults = Case {
        name: "generated-defaults",
        input: &pcap,
        extra: &[],
        idle_secs: None,
    };
    check_rotation(&defaults, 60, None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// sfb-sample moved to end 4.5 s into a new year: periods and partitions across midnight.
fn midnight_capture(dir: &Path) -> PathBuf {
    let sample = Pcap::read(&case("sfb-sample").join("input.pcap"));
    let first = sample.records.first().expect("records").0;
    // 2024-12-31T23:59:55.5Z.
    let start = 1_735_689_595 * SEC + SEC / 2;
    let path = dir.join("midnight.pcap");
    sample.write(&path, sample.shifted(start - first));
    path
}

#[test]
fn partitions_follow_the_period_across_midnight() {
    let dir = tmpdir("midnight");
    let input = midnight_capture(&dir);
    let c = Case {
        name: "midnight",
        input: &input,
        extra: &["--idle-timeout", "2"],
        idle_secs: Some(2),
    };
    check_rotation(&c, 2, Some("hour"));
    check_rotation(&c, 60, Some("day"));
    let folders = |out: &Path| -> BTreeSet<String> {
        rotated_files(out, "flows")
            .into_values()
            .map(|rel| {
                rel.rsplit_once('/')
                    .map(|x| x.0.to_string())
                    .unwrap_or_default()
            })
            .collect()
    };
    let out = dir.join("hourly");
    classify(
        &input,
        &out,
        &[
            "--idle-timeout",
            "2",
            "--rotate",
            "2",
            "--partition",
            "hour",
        ],
    );
    assert_eq!(
        folders(&out),
        BTreeSet::from([
            "date=2024-12-31/hour=23".to_string(),
            "date=2025-01-01/hour=0".to_string()
        ])
    );

    // Without --rotate: the plain names, in one partition (that of the capture time at which
    // the first row was written).
    for (p, expected) in [
        ("day", "date=2024-12-31"),
        ("hour", "date=2024-12-31/hour=23"),
    ] {
        let out = dir.join(format!("single-{p}"));
        // --idle-timeout 1: the first flows end (and are written) before midnight.
        classify(&input, &out, &["--idle-timeout", "1", "--partition", p]);
        let files = all_files(&out);
        let expected_files: Vec<String> = ["dns", "findings", "flows", "sip"]
            .iter()
            .map(|t| format!("{expected}/{t}.parquet"))
            .collect();
        assert_eq!(files, expected_files, "--partition {p}");
        let flows = read(&out.join(expected).join("flows.parquet"));
        let single = dir.join("single-plain");
        classify(&input, &single, &["--idle-timeout", "1"]);
        assert_eq!(rows(&flows), rows(&read(&single.join("flows.parquet"))));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quiet_periods_leave_no_files_and_a_run_always_leaves_one_set() {
    let dir = tmpdir("quiet");
    // One UDP flow, a datagram every half second for twelve seconds, no timeout: the ticks pass
    // through thirteen one-second periods, but the flow's row is written at the end of the
    // input, and only that period has files.
    let sample = case("sfb-sample").join("input.pcap");
    let pcap = Pcap::read(&sample);
    let start = 1_704_067_200 * SEC + SEC / 5;
    let datagrams: Vec<(i64, Vec<u8>)> = (0..25)
        .map(|i| {
            let f = common::frame(
                Ipv4Addr::new(10, 0, 0, 1),
                40000,
                Ipv4Addr::new(10, 0, 0, 2),
                9999,
                true,
                0,
                0,
                b"x",
            );
            record(start + i * SEC / 2, &f)
        })
        .collect();
    let one_flow = dir.join("one-flow.pcap");
    pcap.write(&one_flow, datagrams);
    let out = dir.join("no-timeout");
    classify(&one_flow, &out, &["--idle-timeout", "0", "--rotate", "1"]);
    let expected: Vec<String> = ["dns", "findings", "flows", "sip"]
        .iter()
        .map(|t| format!("{t}-20240101T000012Z.parquet"))
        .collect();
    assert_eq!(all_files(&out), expected);
    assert_eq!(read(&out.join(&expected[2])).num_rows(), 1);

    // Two bursts ten minutes apart: nothing for the minutes between them.
    let gap = dir.join("gap.pcap");
    let mut records = pcap.shifted(0);
    records.extend(pcap.shifted(600 * SEC));
    pcap.write(&gap, records);
    let c = Case {
        name: "gap",
        input: &gap,
        extra: &["--idle-timeout", "5"],
        idle_secs: Some(5),
    };
    check_rotation(&c, 60, None);
    let out = dir.join("gap-out");
    classify(&gap, &out, &["--idle-timeout", "5", "--rotate", "60"]);
    let stamps: Vec<String> = rotated_files(&out, "flows").into_keys().collect();
    assert_eq!(
        stamps,
        ["20240424T230600Z", "20240424T231600Z"],
        "one period per burst"
    );

    // A capture without a single packet still leaves one set of (empty) files.
    let empty = dir.join("empty.pcap");
    pcap.write(&empty, Vec::new());
    let out = dir.join("empty-out");
    classify(&empty, &out, &["--rotate", "300"]);
    let expected: Vec<String> = ["dns", "findings", "flows", "sip"]
        .iter()
        .map(|t| format!("{t}-19700101T000000Z.parquet"))
        .collect();
    assert_eq!(all_files(&out), expected);
    for f in &expected {
        assert_eq!(read(&out.join(f)).num_rows(), 0, "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rotate_and_partition_need_out_and_a_period() {
    let input = case("sfb-sample").join("input.pcap");
    for args in [
        vec!["--rotate", "60"],
        vec!["--partition", "hour"],
        vec!["--rotate", "0", "--out", "x"],
        vec!["--partition", "week", "--out", "x"],
    ] {
        let res = Command::new(BIN)
            .arg("classify")
            .arg(&input)
            .args(&args)
            .output()
            .expect("run sfbflow");
        assert_eq!(res.status.code(), Some(2), "{args:?}");
        assert!(!Path::new("x").exists());
    }
}

fn python_has(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// DuckDB over the partitioned folder, one query per table; `date`/`hour` from the folders
/// checked against each file's period.
const DUCKDB_SCRIPT: &str = r#"
import json, sys
import duckdb
d = sys.argv[1]
con = duckdb.connect()
out = {}
for t in ["flows", "dns", "sip", "findings"]:
    src = f"read_parquet('{d}/**/{t}-*.parquet', hive_partitioning = true, filename = true)"
    rows, files, wrong = con.execute(f"""
        select count(*), count(distinct filename),
               count(*) filter (where strftime(date, '%Y%m%d') || 'T' || lpad(hour::varchar, 2, '0')
                                 <> regexp_extract(filename, '{t}-([0-9]{{8}}T[0-9]{{2}})', 1))
        from {src}""").fetchone()
    types = {r[0]: r[1] for r in con.execute(f"describe select date, hour from {src}").fetchall()}
    per_hour = con.execute(f"select strftime(date, '%Y-%m-%d') || ' ' || hour, count(*) from {src} group by all order by 1").fetchall()
    out[t] = {"rows": rows, "files": files, "wrong_partition": wrong, "types": types,
              "per_hour": {k: v for k, v in per_hour}}
print(json.dumps(out))
"#;

#[test]
fn duckdb_reads_the_partitioned_folder() {
    if !python_has("duckdb") {
        assert!(std::env::var_os("CI").is_none(), "CI must have duckdb");
        eprintln!("skipped: python3 with duckdb not installed");
        return;
    }
    let dir = tmpdir("duckdb");
    let input = midnight_capture(&dir);
    let out = dir.join("out");
    let single = dir.join("single");
    let topology = case("lab-sfb").join("topology.toml");
    let topology = topology.to_str().unwrap_or_default();
    let extra = ["--idle-timeout", "2", "--topology", topology];
    classify(&input, &single, &extra);
    let mut rotated = extra.to_vec();
    rotated.extend(["--rotate", "2", "--partition", "hour"]);
    classify(&input, &out, &rotated);
    let res = Command::new("python3")
        .args(["-c", DUCKDB_SCRIPT])
        .arg(&out)
        .output()
        .expect("python3");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&res.stdout).expect("report");
    for t in TABLES {
        let expected = read(&single.join(format!("{t}.parquet"))).num_rows();
        assert_eq!(r[t]["rows"].as_u64(), Some(expected as u64), "{t}: {r}");
        assert_eq!(r[t]["wrong_partition"], 0, "{t}: {r}");
        assert_eq!(r[t]["types"]["date"], "DATE", "{t}: {r}");
        assert_eq!(r[t]["types"]["hour"], "BIGINT", "{t}: {r}");
        // Both sides of midnight are there.
        let hours = r[t]["per_hour"].as_object().map(|o| o.len()).unwrap_or(0);
        if t == "flows" {
            assert_eq!(hours, 2, "{r}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
