//! `classify --each`: unrelated captures read in parallel, each into `DIR/input=NAME/`, with
//! exactly the files and the summary of a run over that capture alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_sfbflow");
const TABLES: [&str; 4] = ["flows", "dns", "sip", "findings"];

mod common;
use common::case;

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("each", name)
}

fn sfbflow(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run sfbflow")
}

/// `classify --each --quiet --out OUT INPUT...`.
fn each_quiet(out: &Path, inputs: &[&str]) -> Output {
    let mut args = vec!["classify", "--each", "--quiet", "--out", s(out)];
    args.extend_from_slice(inputs);
    sfbflow(&args)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The four Parquet files of a folder, byte for byte.
fn tables(dir: &Path) -> Vec<Vec<u8>> {
    TABLES
        .iter()
        .map(|t| std::fs::read(dir.join(format!("{t}.parquet"))).expect("table written"))
        .collect()
}

/// Three different captures (pcap and pcapng, SIP, TLS, several link layers) under names of
/// their own: each folder of one `--each` run equals the run of that capture alone, file for
/// file and byte for byte, and the summaries come in the order given, whatever finished first.
#[test]
fn each_input_gets_exactly_the_output_of_its_own_run() {
    let dir = tmpdir("same");
    let inputs = [
        ("lab.pcap", case("lab-sfb/input.pcap")),
        ("multi.pcapng", case("pcapng-multi-interface/input.pcapng")),
        ("sip.pcap", case("sip-udp-rtp/input.pcap")),
    ];
    let mut paths = Vec::new();
    for (name, from) in &inputs {
        let to = dir.join(name);
        std::fs::copy(from, &to).expect("copy capture");
        paths.push(to);
    }
    let out = dir.join("each");
    let mut args = vec!["classify", "--each", "--jobs", "2", "--out", s(&out)];
    args.extend(paths.iter().map(|p| s(p)));
    let each = sfbflow(&args);
    assert_eq!(
        each.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&each.stderr)
    );

    let mut summaries = Vec::new();
    for (path, (name, _)) in paths.iter().zip(&inputs) {
        let single_dir = dir.join(format!("single-{name}"));
        let single = sfbflow(&["classify", s(path), "--out", s(&single_dir)]);
        assert_eq!(single.status.code(), Some(0));
        summaries.extend_from_slice(&single.stdout);
        let folder = out.join(format!("input={name}"));
        let got = tables(&folder);
        let want = tables(&single_dir);
        for ((t, g), w) in TABLES.iter().zip(&got).zip(&want) {
            assert!(g == w, "{name}: {t}.parquet differs from the single run's");
        }
        assert!(got[0].len() > 1000, "{name}: flows.parquet has rows");
    }
    let mut folders: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        ["input=lab.pcap", "input=multi.pcapng", "input=sip.pcap"]
    );
    assert_eq!(
        String::from_utf8_lossy(&each.stdout),
        String::from_utf8_lossy(&summaries),
        "the summaries, in the order the inputs were given"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Inputs that share a file name are told apart by their paths.
#[test]
fn inputs_with_one_file_name_get_folders_named_by_path() {
    let dir = tmpdir("names");
    let out = dir.join("out");
    let r = each_quiet(
        &out,
        &[
            "captures/lab-sfb/input.pcap",
            "captures/sip-udp-rtp/input.pcap",
        ],
    );
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    for folder in [
        "input=captures_lab-sfb_input.pcap",
        "input=captures_sip-udp-rtp_input.pcap",
    ] {
        assert!(out.join(folder).join("flows.parquet").is_file(), "{folder}");
    }
    // The same input twice would write one folder twice: refused before anything is read.
    let r = sfbflow(&[
        "classify",
        "--each",
        "--out",
        s(&dir.join("twice")),
        "captures/lab-sfb/input.pcap",
        "captures/lab-sfb/input.pcap",
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("given twice"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file that is no capture ends its own run with exit status 2 and its name; the others are
/// read and written all the same.
#[test]
fn an_unreadable_input_does_not_stop_the_others() {
    let dir = tmpdir("bad");
    let bad = dir.join("notes.txt");
    std::fs::write(&bad, "not a capture, only some words of text\n").expect("write");
    let good = case("sip-udp-rtp/input.pcap");
    let out = dir.join("out");
    let r = each_quiet(&out, &[s(&bad), s(&good)]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("notes.txt"), "{err}");
    assert!(err.contains("1 of 2 inputs"), "{err}");
    let single = dir.join("single");
    let one = sfbflow(&["classify", s(&good), "--quiet", "--out", s(&single)]);
    assert_eq!(one.status.code(), Some(0));
    assert!(tables(&out.join("input=input.pcap")) == tables(&single));
}

/// `--each` needs files and a folder to write into.
#[test]
fn each_is_refused_without_out_or_with_standard_input() {
    let r = sfbflow(&["classify", "--each", "captures/lab-sfb/input.pcap"]);
    assert_eq!(r.status.code(), Some(2));
    let dir = tmpdir("usage");
    let r = sfbflow(&["classify", "--each", "--out", s(&dir), "-"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("standard input"));
    let r = sfbflow(&[
        "classify",
        "--each",
        "--jsonl",
        "--out",
        s(&dir),
        "captures/lab-sfb/input.pcap",
    ]);
    assert_eq!(
        r.status.code(),
        Some(2),
        "JSON lines of several captures would interleave"
    );
}

/// DuckDB reads the whole tree at once, the folder names becoming an `input` column, with the
/// row counts of the single runs. Skipped without DuckDB for Python, except under CI.
#[test]
fn duckdb_reads_the_tree_with_an_input_column() {
    let have_duckdb = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_duckdb {
        assert!(
            std::env::var_os("CI").is_none(),
            "DuckDB for Python is missing under CI"
        );
        #[expect(clippy::print_stderr, reason = "a skipped check says why")]
        {
            eprintln!("skipped: python3 -c 'import duckdb' failed");
        }
        return;
    }
    let dir = tmpdir("duckdb");
    let out = dir.join("out");
    let inputs = [case("lab-sfb/input.pcap"), case("sip-udp-rtp/input.pcap")];
    let names: Vec<&str> = inputs.iter().map(|p| s(p)).collect();
    assert_eq!(each_quiet(&out, &names).status.code(), Some(0));
    let query = |sql: String| -> String {
        let o = Command::new("python3")
            .args([
                "-c",
                "import sys, duckdb; print(duckdb.connect().sql(sys.argv[1]).fetchall())",
                &sql,
            ])
            .output()
            .expect("python3");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let tree = query(format!(
        "select input, count(*) from read_parquet('{}/*/flows.parquet', hive_partitioning=true) \
         group by input order by input",
        s(&out)
    ));
    let mut expected = Vec::new();
    for (i, p) in inputs.iter().enumerate() {
        let single = dir.join(format!("single-{i}"));
        let r = sfbflow(&["classify", s(p), "--quiet", "--out", s(&single)]);
        assert_eq!(r.status.code(), Some(0));
        let n = query(format!(
            "select count(*) from read_parquet('{}/flows.parquet')",
            s(&single)
        ));
        let n = n
            .trim_start_matches("[(")
            .trim_end_matches(",)]")
            .to_string();
        assert_ne!(n, "0", "the capture has flows");
        // The file names repeat: the folders are named by the (absolute) paths.
        let name = s(p).trim_start_matches('/').replace('/', "_");
        expected.push(format!("('{name}', {n})"));
    }
    assert_eq!(tree, format!("[{}]", expected.join(", ")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGINT while the first input (a pipe) is idle: that run ends, its files are complete and
/// hold what a run over the same bytes writes, the next input is not started and the run says
/// so; exit status 0, as for a single capture stopped by a signal.
#[test]
fn a_signal_ends_the_run_under_way_and_starts_no_other() {
    use std::io::Write;
    let dir = tmpdir("signal");
    let fifo = dir.join("live.pcap");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let bytes = std::fs::read(case("sip-udp-rtp/input.pcap")).expect("capture");
    let out = dir.join("out");
    let child = Command::new(BIN)
        .args([
            "classify",
            "--each",
            "--jobs",
            "1",
            "--quiet",
            "--out",
            s(&out),
        ])
        .arg(&fifo)
        .arg(case("lab-sfb/input.pcap"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Opening the pipe waits for sfbflow to open it; it then stays open and idle.
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open the pipe");
    w.write_all(&bytes).expect("write");
    w.flush().expect("flush");
    // Time to read what was written (a fraction of it is needed).
    std::thread::sleep(std::time::Duration::from_millis(1000));
    interrupt(&child);
    let done = child.wait_with_output().expect("wait");
    drop(w);
    assert_eq!(done.status.code(), Some(0));
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("1 of 2 inputs were not read"), "{err}");
    assert!(
        !out.join("input=input.pcap").exists(),
        "the second input was not started"
    );
    let file = dir.join("same.pcap");
    std::fs::write(&file, &bytes).expect("write");
    let single = dir.join("single");
    let r = sfbflow(&["classify", s(&file), "--quiet", "--out", s(&single)]);
    assert_eq!(r.status.code(), Some(0));
    let got = out.join("input=live.pcap");
    assert_eq!(partial_files(&got), 0, "no file left unfinished");
    let flows = |d: &Path| std::fs::read(d.join("flows.parquet")).expect("flows.parquet");
    assert!(
        flows(&got) == flows(&single),
        "the flows of a run over the same bytes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// With several jobs, inputs that are pipes are read on threads of their own: one SIGINT while
/// two pipes are idle ends both runs (before, each worker sat in a read that no flag reaches,
/// until a second signal killed the process). Both folders are complete and hold what a run
/// over the same bytes writes; exit status 0.
#[test]
fn a_signal_ends_idle_pipes_read_by_several_jobs() {
    use std::io::Write;
    let dir = tmpdir("signal-jobs");
    let sources = [
        ("a.pcap", case("sip-udp-rtp/input.pcap")),
        ("b.pcap", case("lab-sfb/input.pcap")),
    ];
    let names = sources.clone().map(|(name, _)| name);
    let (mut child, fifos, out) = each_over_pipes(&dir, &names);
    // Each pipe stays open and idle once its bytes are written.
    let mut writers = Vec::new();
    for ((_, source), fifo) in sources.iter().zip(&fifos) {
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(fifo)
            .expect("open the pipe");
        w.write_all(&std::fs::read(source).expect("capture"))
            .expect("write");
        w.flush().expect("flush");
        writers.push(w);
    }
    std::thread::sleep(std::time::Duration::from_millis(1000));
    interrupt(&child);
    let status = ends_on_its_own(&mut child);
    drop(writers);
    assert_eq!(status.code(), Some(0));
    for (name, source) in &sources {
        let single = dir.join(format!("single-{name}"));
        let r = sfbflow(&["classify", s(source), "--quiet", "--out", s(&single)]);
        assert_eq!(r.status.code(), Some(0));
        let got = out.join(format!("input={name}"));
        assert_eq!(
            tables(&got),
            tables(&single),
            "{name}: the files of its own run"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Named pipes `names` in `dir`, and `classify --each --jobs 2 --quiet --out DIR/out` started
/// over them: the child, the pipes' paths and the output folder.
fn each_over_pipes(dir: &Path, names: &[&str]) -> (std::process::Child, Vec<PathBuf>, PathBuf) {
    let mut fifos = Vec::new();
    for name in names {
        let fifo = dir.join(name);
        let made = Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        fifos.push(fifo);
    }
    let out = dir.join("out");
    let child = Command::new(BIN)
        .args([
            "classify",
            "--each",
            "--jobs",
            "2",
            "--quiet",
            "--out",
            s(&out),
        ])
        .args(&fifos)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    (child, fifos, out)
}

/// Sends SIGINT to `child`.
fn interrupt(child: &std::process::Child) {
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()), "kill -INT");
}

/// Files of `dir` still under their temporary `.partial` name.
fn partial_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .count()
}

/// The child's exit status once it ends on its own; fails the test if it is still running after
/// 20 s (one signal should have been enough), killing it.
fn ends_on_its_own(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match child.try_wait().expect("wait") {
            Some(status) => return status,
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("one SIGINT did not end the run");
            }
        }
    }
}

/// SIGINT while two named pipes, on two jobs, still wait for a program to write to them: both
/// runs end at the first signal, each folder's four files complete, exit status 0.
#[test]
fn a_signal_ends_runs_whose_pipes_wait_for_a_writer() {
    let dir = tmpdir("signal-no-writer");
    let (mut child, _fifos, out) = each_over_pipes(&dir, &["a.pcap", "b.pcap"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    interrupt(&child);
    assert_eq!(ends_on_its_own(&mut child).code(), Some(0));
    for name in ["a.pcap", "b.pcap"] {
        let got = out.join(format!("input={name}"));
        let files = tables(&got);
        assert!(
            files
                .iter()
                .all(|f| f.starts_with(b"PAR1") && f.ends_with(b"PAR1")),
            "{name}: complete Parquet files"
        );
        assert_eq!(partial_files(&got), 0, "{name}: nothing left half-written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
