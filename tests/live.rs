//! Live runs: a capture streamed through a pipe that stays open, JSON lines that appear while
//! it runs, SIGINT and SIGTERM mid-stream, `--follow` on a growing file, and real
//! `tcpdump -i lo -U -w -` output of traffic the test makes itself.

#![expect(clippy::print_stderr, reason = "a skipped check says why")]

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{UInt16Type, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sfbflow");

mod common;

fn lab() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab-sfb/input.pcap"))
        .expect("the lab capture")
}

/// The first `n` whole records of a classic pcap (the 24-byte header included).
fn prefix(pcap: &[u8], n: usize) -> Vec<u8> {
    let mut at = 24usize;
    for _ in 0..n {
        let len = pcap
            .get(at + 8..at + 12)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .expect("record header");
        at += 16 + len;
    }
    pcap[..at].to_vec()
}

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("live", name)
}

/// Lines of a child's stdout, as they come, on a channel.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig}");
}

fn wait(mut child: Child, limit: Duration) -> i32 {
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("sfbflow did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read(path: &Path) -> RecordBatch {
    let file = File::open(path).expect("table written");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("a complete Parquet file")
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    let schema = batches.first().map(RecordBatch::schema).expect("a batch");
    arrow::compute::concat_batches(&schema, &batches).expect("concat")
}

/// (transport, endpoints, packets) of every row of a flows.parquet: what must match.
fn flow_set(b: &RecordBatch) -> BTreeSet<String> {
    let s = |c: &str| b.column_by_name(c).expect(c).as_string::<i32>().clone();
    let u16c = |c: &str| {
        b.column_by_name(c)
            .expect(c)
            .as_primitive::<UInt16Type>()
            .clone()
    };
    let u64c = |c: &str| {
        b.column_by_name(c)
            .expect(c)
            .as_primitive::<UInt64Type>()
            .clone()
    };
    let (t, ia, ra) = (s("transport"), s("initiator_ip"), s("responder_ip"));
    let (ip, rp) = (u16c("initiator_port"), u16c("responder_port"));
    let (ipk, rpk) = (u64c("initiator_packets"), u64c("responder_packets"));
    (0..b.num_rows())
        .map(|i| {
            format!(
                "{} {}:{} {}:{} {}/{}",
                t.value(i),
                ia.value(i),
                ip.value(i),
                ra.value(i),
                rp.value(i),
                ipk.value(i),
                rpk.value(i)
            )
        })
        .collect()
}

#[test]
fn json_lines_appear_while_the_pipe_is_still_open() {
    let pcap = lab();
    let part = prefix(&pcap, 500);
    let mut child = Command::new(BIN)
        .args(["classify", "-", "--jsonl", "--quiet", "--idle-timeout", "2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let lines = lines_of(&mut child);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&part).expect("write");
    stdin.flush().expect("flush");
    // The pipe stays open: the flows that ended in those 500 records must come out now.
    let first = lines
        .recv_timeout(Duration::from_secs(10))
        .expect("a JSON line while the capture is still running");
    let row: Value = serde_json::from_str(&first).expect("JSON");
    assert!(row["flow_id"].is_u64());
    // sfbflow asked for a larger pipe buffer than the default 64 KiB (fewer turns with the
    // writer: BENCHMARKS.md, standard input).
    #[cfg(target_os = "linux")]
    {
        let size = rustix::pipe::fcntl_getpipe_size(&stdin).expect("F_GETPIPE_SZ");
        assert!(size >= 256 * 1024, "pipe buffer of {size} bytes");
    }
    let mut seen = 1;
    while lines.recv_timeout(Duration::from_millis(500)).is_ok() {
        seen += 1;
    }
    assert!(seen >= 20, "only {seen} flows out of 500 records");
    drop(stdin);
    assert_eq!(wait(child, Duration::from_secs(20)), 0);
}

/// SIGINT or SIGTERM mid-stream, with the pipe open and idle: every file complete and readable,
/// holding the flows that ended before the signal and those live at it: the flows of a run
/// over the same records.
fn stop_mid_stream(sig: &str) {
    let pcap = lab();
    let part = prefix(&pcap, 400);
    let dir = tmpdir(&format!("stop{sig}"));
    let out = dir.join("out");
    let mut child = Command::new(BIN)
        .args(["classify", "-", "--jsonl", "--out"])
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let lines = lines_of(&mut child);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&part).expect("write");
    stdin.flush().expect("flush");
    // Wait until the records were read (flows come out), then signal with the pipe idle.
    lines
        .recv_timeout(Duration::from_secs(10))
        .expect("flows came out");
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, sig);
    let code = wait(child, Duration::from_secs(20));
    drop(stdin);
    assert_eq!(code, 0, "a signal ends the run cleanly");
    for t in ["flows", "dns", "sip", "findings"] {
        assert!(out.join(format!("{t}.parquet")).exists(), "{t}.parquet");
        assert!(!out.join(format!(".{t}.parquet.partial")).exists());
    }
    let stopped = flow_set(&read(&out.join("flows.parquet")));
    // The same records as a file.
    let file = dir.join("part.pcap");
    std::fs::write(&file, &part).expect("write part");
    let whole = dir.join("whole");
    let status = Command::new(BIN)
        .args(["classify", "--quiet", "--out"])
        .arg(&whole)
        .arg(&file)
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(0));
    let expected = flow_set(&read(&whole.join("flows.parquet")));
    assert!(!expected.is_empty());
    assert_eq!(stopped, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigint_mid_stream_writes_every_flow_in_complete_files() {
    stop_mid_stream("-INT");
}

#[test]
fn sigterm_mid_stream_writes_every_flow_in_complete_files() {
    stop_mid_stream("-TERM");
}

#[test]
fn follow_reads_a_growing_file_until_a_signal() {
    let pcap = lab();
    let dir = tmpdir("follow");
    let path = dir.join("growing.pcap");
    let half = prefix(&pcap, 400);
    std::fs::write(&path, &half).expect("write");
    let mut child = Command::new(BIN)
        .args(["classify", "--follow", "--jsonl", "--quiet"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let lines = lines_of(&mut child);
    lines
        .recv_timeout(Duration::from_secs(10))
        .expect("flows of the first half");
    // The writer appends the rest; sfbflow reads it without being restarted.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("append");
    f.write_all(pcap.get(half.len()..).expect("rest"))
        .expect("append");
    f.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "-INT");
    assert_eq!(wait(child, Duration::from_secs(20)), 0);
    let mut rows = 1;
    while lines.recv_timeout(Duration::from_millis(200)).is_ok() {
        rows += 1;
    }
    // Every flow of the whole capture: the same count as the file run.
    let whole = Command::new(BIN)
        .args(["classify", "--jsonl", "--quiet"])
        .arg(&path)
        .output()
        .expect("run");
    let expected = String::from_utf8_lossy(&whole.stdout).lines().count();
    assert_eq!(rows, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tcpdump -i lo -U -w - | sfbflow classify -` over loopback traffic this test makes: a TCP
/// connection and UDP datagrams between sockets of its own.
#[test]
fn tcpdump_on_loopback_through_a_pipe() {
    let port_tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let tcp_port = port_tcp.local_addr().expect("addr").port();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let udp_port = udp.local_addr().expect("addr").port();
    let filter = format!("port {tcp_port} or port {udp_port}");
    let tcpdump = Command::new("tcpdump")
        .args(["-i", "lo", "-U", "-s", "0", "-w", "-", &filter])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut tcpdump = match tcpdump {
        Ok(t) => t,
        Err(e) => {
            eprintln!("skipped: tcpdump cannot be started here ({e})");
            return;
        }
    };
    let capture = tcpdump.stdout.take().expect("stdout");
    let sfb = Command::new(BIN)
        .args(["classify", "-", "--jsonl", "--quiet"])
        .stdin(capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sfbflow");
    // Let tcpdump start capturing; if it cannot (no privileges), it exits at once.
    std::thread::sleep(Duration::from_millis(1500));
    if let Ok(Some(status)) = tcpdump.try_wait() {
        let mut err = String::new();
        if let Some(mut e) = tcpdump.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        eprintln!(
            "skipped: tcpdump cannot capture on lo ({status}: {})",
            err.trim()
        );
        let _ = sfb.wait_with_output();
        return;
    }
    // The traffic: one TCP exchange, three UDP datagrams.
    let accept = std::thread::spawn(move || {
        if let Ok((mut s, _)) = port_tcp.accept() {
            let _ = s.write_all(b"hello from the server");
        }
    });
    {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", tcp_port)).expect("connect");
        c.write_all(b"hello from the client").expect("send");
        let mut buf = [0u8; 64];
        let _ = std::io::Read::read(&mut c, &mut buf);
    }
    let _ = accept.join();
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp sender");
    for i in 0..3u8 {
        sender
            .send_to(&[i; 40], ("127.0.0.1", udp_port))
            .expect("send");
    }
    std::thread::sleep(Duration::from_millis(1500));
    signal(&tcpdump, "-INT");
    let _ = tcpdump.wait();
    let out = sfb.wait_with_output().expect("sfbflow");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let tcp = rows
        .iter()
        .find(|r| r["transport"] == "tcp" && r["responder_port"] == tcp_port)
        .expect("the TCP flow");
    assert_eq!(tcp["direction_basis"], "syn");
    assert!(tcp["initiator_payload_bytes"].as_u64() >= Some(21));
    // The sender's ephemeral port may fall in a documented media range, which makes it the
    // responder by port: find the flow by either end, and count the sender's side.
    let udp_row = rows
        .iter()
        .find(|r| {
            r["transport"] == "udp"
                && (r["responder_port"] == udp_port || r["initiator_port"] == udp_port)
        })
        .expect("the UDP flow");
    let side = if udp_row["responder_port"] == udp_port {
        "initiator"
    } else {
        "responder"
    };
    assert_eq!(udp_row[format!("{side}_packets")], 3, "{udp_row}");
    assert_eq!(udp_row[format!("{side}_payload_bytes")], 120, "{udp_row}");
}

/// SIGINT while the input, a named pipe, still waits for a program to write to it: the run ends
/// at the first signal (opening the pipe is not what it waits in), with exit status 0, a summary
/// that says it was stopped, and its four files complete and empty. Before, the signal was not seen until a second one killed the
/// process and left the `.partial` files behind.
#[test]
fn sigint_while_a_named_pipe_waits_for_its_writer_ends_the_run() {
    let dir = tmpdir("fifo-no-writer");
    let fifo = dir.join("later.pcap");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let out = dir.join("out");
    let mut child = Command::new(BIN)
        .args(["classify", "--out"])
        .arg(&out)
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let summary = lines_of(&mut child);
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "-INT");
    assert_eq!(wait(child, Duration::from_secs(20)), 0);
    let summary: Vec<String> = summary.iter().collect();
    assert!(
        summary.iter().any(|l| l.contains("stopped by a signal")),
        "the summary says the run was stopped: {summary:?}"
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("output folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "dns.parquet",
            "findings.parquet",
            "flows.parquet",
            "sip.parquet"
        ],
        "four complete files and nothing left half-written"
    );
    for name in &names {
        let file = File::open(out.join(name)).expect("table written");
        let rows = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("a complete Parquet file")
            .metadata()
            .file_metadata()
            .num_rows();
        assert_eq!(rows, 0, "{name}: nothing was read");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
