//! Several inputs without `--each` are one capture (a rotated set): cut at any record, the
//! files give exactly the output of the whole capture, flows, DNS lookups and SIP dialogs
//! continuing from one file into the next; an input that starts earlier than the frames read
//! before it (files given out of time order) is named in a warning.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_sfbflow");
const TABLES: [&str; 4] = ["flows", "dns", "sip", "findings"];

mod common;
use common::case;

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("many", name)
}

/// A classic pcap file: its header and where each record (header and data) lies.
struct Pcap {
    bytes: Vec<u8>,
    little_endian: bool,
    records: Vec<Range<usize>>,
}

impl Pcap {
    fn read(path: &Path) -> Pcap {
        let bytes = std::fs::read(path).expect("read pcap");
        let little_endian = match bytes.get(..4) {
            Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]) => true,
            Some([0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]) => false,
            m => panic!("{}: not a classic pcap ({m:02x?})", path.display()),
        };
        let mut records = Vec::new();
        let mut at = 24;
        while let Some(len) = bytes.get(at + 8..at + 12) {
            let len: [u8; 4] = len.try_into().expect("4 bytes");
            let len = if little_endian {
                u32::from_le_bytes(len)
            } else {
                u32::from_be_bytes(len)
            };
            let end = at + 16 + len as usize;
            assert!(end <= bytes.len(), "{}: a whole capture", path.display());
            records.push(at..end);
            at = end;
        }
        Pcap {
            bytes,
            little_endian,
            records,
        }
    }

    /// Writes records `range` as a capture of their own, with the file's header.
    fn write_part(&self, range: Range<usize>, path: &Path) {
        let mut out = self.bytes[..24].to_vec();
        for r in &self.records[range] {
            out.extend_from_slice(&self.bytes[r.clone()]);
        }
        std::fs::write(path, out).expect("write part");
    }

    /// Cuts the capture before each record of `cuts` (ascending) into files `DIR/partN.pcap`.
    fn cut(&self, cuts: &[usize], dir: &Path) -> Vec<PathBuf> {
        cut_files(self.records.len(), cuts, dir, "pcap", |r, path| {
            self.write_part(r, path);
        })
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b: [u8; 4] = self.bytes[at..at + 4].try_into().expect("4 bytes");
        if self.little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    }

    /// Seconds field of record `i`.
    fn secs(&self, i: usize) -> u32 {
        self.u32_at(self.records[i].start)
    }

    fn set_secs(&mut self, i: usize, secs: u32) {
        let at = self.records[i].start;
        let b = if self.little_endian {
            secs.to_le_bytes()
        } else {
            secs.to_be_bytes()
        };
        self.bytes[at..at + 4].copy_from_slice(&b);
    }
}

/// Writes the records `0..n` cut before each record of `cuts` (ascending) into files
/// `DIR/partN.EXT`, with `write`; returns their paths in order.
fn cut_files(
    n: usize,
    cuts: &[usize],
    dir: &Path,
    ext: &str,
    write: impl Fn(Range<usize>, &Path),
) -> Vec<PathBuf> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(n);
    bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let path = dir.join(format!("part{i}.{ext}"));
            write(w[0]..w[1], &path);
            path
        })
        .collect()
}

/// The records of a little-endian microsecond pcap as pcapng, as a `dumpcap` ring buffer
/// writes them: every file opens with a section header and the interface descriptions, then
/// one enhanced packet block per record, here on two interfaces in turn.
struct PcapNg {
    head: Vec<u8>,
    packets: Vec<Vec<u8>>,
}

impl PcapNg {
    fn from_pcap(p: &Pcap) -> PcapNg {
        assert!(
            p.little_endian && p.bytes[..4] == [0xd4, 0xc3, 0xb2, 0xa1],
            "a little-endian microsecond pcap"
        );
        let linktype = u16::try_from(p.u32_at(20)).expect("a 16-bit link type");
        let mut head = Vec::new();
        // Section header block: byte-order magic, version 1.0, section length unknown.
        head.extend_from_slice(&0x0a0d_0d0a_u32.to_le_bytes());
        head.extend_from_slice(&28u32.to_le_bytes());
        head.extend_from_slice(&0x1a2b_3c4d_u32.to_le_bytes());
        head.extend_from_slice(&[1, 0, 0, 0]);
        head.extend_from_slice(&(-1i64).to_le_bytes());
        head.extend_from_slice(&28u32.to_le_bytes());
        for _ in 0..2 {
            // Interface description block: the link type, no snap length, no options.
            head.extend_from_slice(&1u32.to_le_bytes());
            head.extend_from_slice(&20u32.to_le_bytes());
            head.extend_from_slice(&linktype.to_le_bytes());
            head.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            head.extend_from_slice(&20u32.to_le_bytes());
        }
        let packets = p
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let micros =
                    u64::from(p.u32_at(r.start)) * 1_000_000 + u64::from(p.u32_at(r.start + 4));
                let data = &p.bytes[r.start + 16..r.end];
                let padded = data.len().div_ceil(4) * 4;
                let len = u32::try_from(32 + padded).expect("a block length");
                let mut b = Vec::with_capacity(32 + padded);
                b.extend_from_slice(&6u32.to_le_bytes());
                b.extend_from_slice(&len.to_le_bytes());
                b.extend_from_slice(&u32::try_from(i % 2).expect("0 or 1").to_le_bytes());
                b.extend_from_slice(&u32::try_from(micros >> 32).expect("high").to_le_bytes());
                b.extend_from_slice(&(micros as u32).to_le_bytes());
                b.extend_from_slice(&p.u32_at(r.start + 8).to_le_bytes());
                b.extend_from_slice(&p.u32_at(r.start + 12).to_le_bytes());
                b.extend_from_slice(data);
                b.resize(28 + padded, 0);
                b.extend_from_slice(&len.to_le_bytes());
                b
            })
            .collect();
        PcapNg { head, packets }
    }

    fn write(&self, range: Range<usize>, path: &Path) {
        let mut out = self.head.clone();
        for b in &self.packets[range] {
            out.extend_from_slice(b);
        }
        std::fs::write(path, out).expect("write pcapng");
    }

    fn cut(&self, cuts: &[usize], dir: &Path) -> Vec<PathBuf> {
        cut_files(self.packets.len(), cuts, dir, "pcapng", |r, path| {
            self.write(r, path);
        })
    }
}

/// `classify INPUTS... --out OUT --jsonl EXTRA...`: the process's output.
fn classify(inputs: &[PathBuf], out: &Path, extra: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .arg("classify")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .arg("--jsonl")
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("run sfbflow")
}

/// The summary (on stderr beside `--jsonl`) without the lines that name the inputs.
fn summary_body(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.starts_with("  input "))
        .map(str::to_owned)
        .collect()
}

/// Runs `capture` whole and cut at each set of `cuts`, and checks that every cut run wrote the
/// whole run's four Parquet files byte for byte, its JSON lines and its summary.
fn check_cuts(
    name: &str,
    capture: &Path,
    extra: &[&str],
    cuts: &[Vec<usize>],
    cut_into: &dyn Fn(&[usize], &Path) -> Vec<PathBuf>,
) {
    let dir = tmpdir(&format!("cuts-{name}"));
    let cwd = capture.parent().expect("a folder");
    let whole_out = dir.join("whole");
    let whole = classify(&[capture.to_path_buf()], &whole_out, extra, cwd);
    assert_eq!(whole.status.code(), Some(0), "{name}: whole run");
    let rows = whole.stdout.iter().filter(|&&b| b == b'\n').count();
    assert!(rows > 10, "{name}: {rows} flows, too few to say much");
    for (k, cut) in cuts.iter().enumerate() {
        let parts_dir = dir.join(format!("cut{k}"));
        std::fs::create_dir_all(&parts_dir).expect("parts dir");
        let parts = cut_into(cut, &parts_dir);
        let out = parts_dir.join("out");
        let run = classify(&parts, &out, extra, cwd);
        let what = format!("{name}: {} files cut before records {cut:?}", parts.len());
        assert_eq!(
            run.status.code(),
            Some(0),
            "{what}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        for t in TABLES {
            let a = std::fs::read(whole_out.join(format!("{t}.parquet"))).expect("whole table");
            let b = std::fs::read(out.join(format!("{t}.parquet"))).expect("cut table");
            assert!(a == b, "{what}: {t}.parquet differs from the whole run's");
        }
        assert!(
            whole.stdout == run.stdout,
            "{what}: JSON lines differ from the whole run's"
        );
        assert_eq!(
            summary_body(&whole.stderr),
            summary_body(&run.stderr),
            "{what}: summary"
        );
        let inputs = String::from_utf8_lossy(&run.stderr)
            .lines()
            .filter(|l| l.starts_with("  input "))
            .count();
        assert_eq!(inputs, parts.len(), "{what}: one summary line per input");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Cut points: the middle; the first and last record alone; seven cuts spread by a fixed
/// pseudo-random sequence; and a file every `every` records.
fn cut_sets(records: usize, every: usize) -> Vec<Vec<usize>> {
    let mut lcg: u64 = 0x2545_f491_4f6c_dd1d;
    let mut spread: Vec<usize> = (0..7)
        .map(|_| {
            lcg = lcg.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            1 + (lcg >> 33) as usize % (records - 1)
        })
        .collect();
    spread.sort_unstable();
    spread.dedup();
    vec![
        vec![records / 2],
        vec![1, records - 1],
        spread,
        (every..records).step_by(every).collect(),
    ]
}

/// The lab capture (SIP over TLS, DNS sign-in lookups, STUN, media, with its topology) and the
/// sample capture, cut at many places: the flows, lookups and dialogs that cross a boundary
/// continue as in the whole capture.
#[test]
fn a_capture_cut_into_files_gives_the_output_of_the_whole() {
    let lab = case("lab-sfb").join("input.pcap");
    let pcap = Pcap::read(&lab);
    check_cuts(
        "lab",
        &lab,
        &["--topology", "topology.toml"],
        &cut_sets(pcap.records.len(), 97),
        &|c, d| pcap.cut(c, d),
    );
    let sample = case("sfb-sample").join("input.pcap");
    let pcap = Pcap::read(&sample);
    check_cuts(
        "sample",
        &sample,
        &[],
        &cut_sets(pcap.records.len(), 61),
        &|c, d| pcap.cut(c, d),
    );
}

/// A generated capture of two minutes (30 calls, sign-ins, conferences), cut into files as
/// `tcpdump -C` would, and the same packets as pcapng on two interfaces, cut as a `dumpcap`
/// ring buffer would; with a short idle timeout so that flows also end inside the files.
#[test]
fn a_generated_capture_cut_into_files_gives_the_output_of_the_whole() {
    let dir = tmpdir("generated");
    let path = dir.join("gen.pcap");
    if !common::generated(&path, &["--calls", "30", "--seconds", "120", "--seed", "5"]) {
        return;
    }
    let pcap = Pcap::read(&path);
    let n = pcap.records.len();
    let extra = ["--idle-timeout", "5"];
    check_cuts("generated", &path, &extra, &cut_sets(n, n / 9), &|c, d| {
        pcap.cut(c, d)
    });
    let ng = PcapNg::from_pcap(&pcap);
    let ng_path = dir.join("gen.pcapng");
    ng.write(0..n, &ng_path);
    check_cuts(
        "generated-ng",
        &ng_path,
        &extra,
        &cut_sets(n, n / 9),
        &|c, d| ng.cut(c, d),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Files given out of time order: the input that starts earlier than the frames read before
/// it is named in a warning (stderr and the summary, exit status 1) with the input that came
/// before; in time order, or starting less than a second early, there is none.
#[test]
fn an_input_that_starts_before_the_frames_before_it_is_named() {
    let dir = tmpdir("order");
    let mut pcap = Pcap::read(&case("sfb-sample").join("input.pcap"));
    let n = pcap.records.len();
    let parts = pcap.cut(&[n / 3, 2 * n / 3], &dir);
    assert!(
        pcap.secs(2 * n / 3 - 1) > pcap.secs(n / 3) + 1,
        "the middle file spans more than a second"
    );

    let shuffled = [parts[0].clone(), parts[2].clone(), parts[1].clone()];
    let run = classify(&shuffled, &dir.join("shuffled"), &[], &dir);
    assert_eq!(run.status.code(), Some(1), "a warning: exit status 1");
    let stderr = String::from_utf8_lossy(&run.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("sfbflow: warning:"))
        .collect();
    let p1 = parts[1].display().to_string();
    let p2 = parts[2].display().to_string();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].starts_with(&format!("sfbflow: warning: {p1}: starts at ")),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains(&format!("before the latest frame read before it (in {p2})")),
        "{}",
        warnings[0]
    );
    assert!(
        stderr.contains("    warning: starts at "),
        "in the summary too: {stderr}"
    );

    let in_order = classify(&parts, &dir.join("in-order"), &[], &dir);
    assert_eq!(in_order.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&in_order.stderr).contains("warning"));

    // The third file's first frame moved to just under a second before the second file's
    // last: a capture's own small reordering, no warning.
    let last = pcap.secs(2 * n / 3 - 1);
    let first = 2 * n / 3;
    pcap.set_secs(first, last);
    pcap.write_part(first..n, &parts[2]);
    let slack = classify(&parts, &dir.join("slack"), &[], &dir);
    let stderr = String::from_utf8_lossy(&slack.stderr);
    assert_eq!(slack.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    // Two seconds before: a warning.
    pcap.set_secs(first, last - 2);
    pcap.write_part(first..n, &parts[2]);
    let early = classify(&parts, &dir.join("early"), &[], &dir);
    let stderr = String::from_utf8_lossy(&early.stderr);
    assert_eq!(early.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("sfbflow: warning: {p2}: starts at ")),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A folder as the input: its capture files are read in the order of their first frames,
/// whatever their names (here a permutation of the order; `tcpdump -C` names `cap10` before
/// `cap2` in a glob), and give the whole capture's output; a README, an empty file (the next
/// file of a ring buffer just opened), a subfolder and a hidden file are skipped, all but the
/// hidden file named in a note. A folder without captures is an error.
#[test]
fn a_folder_is_read_in_the_order_of_its_files_first_frames() {
    let dir = tmpdir("folder");
    let sample = case("sfb-sample").join("input.pcap");
    let pcap = Pcap::read(&sample);
    let n = pcap.records.len();
    let files = 12;
    let folder = dir.join("ring");
    std::fs::create_dir_all(folder.join("old")).expect("folder");
    let per = n.div_ceil(files);
    let mut in_time_order = Vec::new();
    for i in 0..files {
        let path = folder.join(format!("f{:02}.pcap", (5 * i + 3) % files));
        pcap.write_part(i * per..((i + 1) * per).min(n), &path);
        in_time_order.push(path.display().to_string());
    }
    std::fs::write(folder.join("README.txt"), "ring buffer of the lab").expect("readme");
    std::fs::write(folder.join("f99.pcap"), b"").expect("empty file");
    std::fs::write(folder.join(".f00.pcap.swp"), b"\xd4\xc3\xb2\xa1").expect("hidden file");

    let cwd = sample.parent().expect("a folder");
    let whole = classify(std::slice::from_ref(&sample), &dir.join("whole"), &[], cwd);
    assert_eq!(whole.status.code(), Some(0));
    let run = classify(std::slice::from_ref(&folder), &dir.join("folder"), &[], cwd);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    for t in TABLES {
        let a = std::fs::read(dir.join("whole").join(format!("{t}.parquet"))).expect("whole");
        let b = std::fs::read(dir.join("folder").join(format!("{t}.parquet"))).expect("folder");
        assert!(a == b, "{t}.parquet differs from the whole capture's");
    }
    assert!(whole.stdout == run.stdout, "JSON lines differ");
    let without_note = |s: &[u8]| -> Vec<String> {
        summary_body(s)
            .into_iter()
            .filter(|l| !l.starts_with("sfbflow: note: "))
            .collect()
    };
    assert_eq!(without_note(&whole.stderr), without_note(&run.stderr));
    let read: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  input "))
        .filter_map(|l| l.split(": pcap").next())
        .collect();
    assert_eq!(read, in_time_order, "read in time order");
    let note = format!(
        "sfbflow: note: {}: read 12 capture files in the order of their first frames; skipped 2 \
         files that are not pcap or pcapng (README.txt, f99.pcap) and 1 entry that is not a file \
         (old; folders are not entered)",
        folder.display()
    );
    assert!(stderr.lines().any(|l| l == note), "{stderr}");

    // With --each, every capture file of the folder is a capture of its own.
    let each_out = dir.join("each");
    let each = Command::new(BIN)
        .args(["classify", "--each", "--quiet", "--out"])
        .arg(&each_out)
        .arg(&folder)
        .output()
        .expect("run sfbflow");
    assert_eq!(each.status.code(), Some(0));
    let mut made: Vec<String> = std::fs::read_dir(&each_out)
        .expect("each output")
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .filter(|name| each_out.join(name).join("flows.parquet").is_file())
        .collect();
    made.sort();
    let want: Vec<String> = (0..files).map(|k| format!("input=f{k:02}.pcap")).collect();
    assert_eq!(made, want);

    let empty = classify(&[folder.join("old")], &dir.join("empty"), &[], cwd);
    assert_eq!(empty.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: no pcap or pcapng file in this folder",
            folder.join("old").display()
        )),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
