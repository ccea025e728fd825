//! A folder given as an input: the capture files in it, in time order.
//!
//! Rotated captures come as folders of hundreds or thousands of files, and the shell's glob
//! sorts their names as text: `tcpdump -C` names them `cap`, `cap1`, ..., `cap10`, and
//! `cap10` comes before `cap2`. Given a folder, sfbflow reads the pcap and pcapng files
//! directly in it (not its subfolders, not hidden files) in the order of their first frames'
//! times, which is the capture's order whatever the names; files of the same first time, or
//! without a frame, follow in natural name order (`cap2` before `cap10`). What is not a capture
//! (a README, a Parquet file, a compressed capture) is skipped and named in a note.

use std::cmp::Ordering;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sfbflow::capture::{CaptureReader, Error};

/// Bytes first read from each file of a folder to find its first frame (the reader reads more
/// only for a first record that is larger).
const PROBE_BYTES: usize = 4 << 10;

/// The inputs with every folder among them replaced by its capture files, and the notes to
/// print about what the folders also held. Other inputs (files, `-`, named pipes) stay as
/// given, in place.
///
/// # Errors
/// A folder that cannot be listed, or holds no capture file.
pub(crate) fn expand(inputs: &[PathBuf]) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    let mut out = Vec::with_capacity(inputs.len());
    let mut notes = Vec::new();
    for input in inputs {
        if input.as_os_str() != "-" && std::fs::metadata(input).is_ok_and(|m| m.is_dir()) {
            let folder = read_folder(input)?;
            if let Some(note) = folder.note(input) {
                notes.push(note);
            }
            out.extend(folder.captures);
        } else {
            out.push(input.clone());
        }
    }
    Ok((out, notes))
}

/// What a folder holds.
#[derive(Default)]
struct Folder {
    /// Its capture files, in the order to read them.
    captures: Vec<PathBuf>,
    /// File names that are not captures.
    skipped: Vec<String>,
    /// Subfolders and other entries that are not files (named pipes, sockets).
    not_files: Vec<String>,
}

impl Folder {
    /// A note on what was skipped, if anything was.
    fn note(&self, folder: &Path) -> Option<String> {
        self.skipped_text().map(|skipped| {
            format!(
                "{}: read {} in the order of their first frames; {skipped}",
                folder.display(),
                count(self.captures.len(), "capture file", "capture files"),
            )
        })
    }

    /// `skipped ...`: what is not read, if anything.
    fn skipped_text(&self) -> Option<String> {
        let groups = [
            (
                &self.skipped,
                "file that is not pcap or pcapng",
                "files that are not pcap or pcapng",
                "",
            ),
            (
                &self.not_files,
                "entry that is not a file",
                "entries that are not files",
                "; folders are not entered",
            ),
        ];
        let parts: Vec<String> = groups
            .iter()
            .filter(|(names, ..)| !names.is_empty())
            .map(|(names, one, many, tail)| {
                format!(
                    "{} ({}{tail})",
                    count(names.len(), one, many),
                    listed(names)
                )
            })
            .collect();
        (!parts.is_empty()).then(|| format!("skipped {}", parts.join(" and ")))
    }
}

/// `1 file`, `3 files`.
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The first few names, and how many more.
fn listed(names: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut s = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(", and {} more", names.len() - SHOWN));
    }
    s
}

/// The capture files of `dir`, in time order, and what else it holds.
fn read_folder(dir: &Path) -> anyhow::Result<Folder> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("listing the folder {}", dir.display()))?;
    let mut folder = Folder::default();
    let mut found: Vec<(Option<i64>, String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("listing the folder {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Through symbolic links: a link to a capture is a capture.
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            folder.not_files.push(name);
            continue;
        }
        match first_frame(&path) {
            Probe::NotCapture => folder.skipped.push(name),
            Probe::Capture(first) => found.push((first, name, path)),
        }
    }
    folder.skipped.sort_by(|a, b| natural(a, b));
    folder.not_files.sort_by(|a, b| natural(a, b));
    anyhow::ensure!(
        !found.is_empty(),
        "{}: no pcap or pcapng file in this folder{}",
        dir.display(),
        folder
            .skipped_text()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default()
    );
    found.sort_by(|a, b| by_time_then_name((a.0, &a.1), (b.0, &b.1)));
    folder.captures = found.into_iter().map(|(_, _, p)| p).collect();
    Ok(folder)
}

/// What the start of a file says.
enum Probe {
    /// Not a capture (no pcap or pcapng magic; empty).
    NotCapture,
    /// A capture, with its first frame's time when it has a readable one. A capture whose
    /// header or first record is damaged is still read: the run reports where.
    Capture(Option<i64>),
}

fn first_frame(path: &Path) -> Probe {
    let Ok(file) = File::open(path) else {
        // Unreadable: listed as a capture, so that the run says why it cannot be read.
        return Probe::Capture(None);
    };
    match CaptureReader::with_capacity(file, PROBE_BYTES) {
        Ok(mut reader) => Probe::Capture(
            reader
                .next_record()
                .ok()
                .flatten()
                .map(|record| record.ts_nanos),
        ),
        Err(Error::Empty | Error::NotACapture { .. }) => Probe::NotCapture,
        Err(_) => Probe::Capture(None),
    }
}

/// Files with a first frame by its time, then those without; ties in natural name order.
fn by_time_then_name(a: (Option<i64>, &str), b: (Option<i64>, &str)) -> Ordering {
    let key = |t: Option<i64>| (t.is_none(), t);
    key(a.0).cmp(&key(b.0)).then_with(|| natural(a.1, b.1))
}

/// Names compared with their runs of digits as numbers: `cap2` before `cap10`, `a1b` before
/// `a01c`; names equal so but for leading zeros in byte order (`cap02` before `cap2`), so
/// that only equal names compare equal.
fn natural(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (p, rest_x) = split_digits(x);
                let (q, rest_y) = split_digits(y);
                let (p0, q0) = (trim_zeros(p), trim_zeros(q));
                let by_value = p0.len().cmp(&q0.len()).then_with(|| p0.cmp(q0));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                x = rest_x;
                y = rest_y;
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = x.get(1..).unwrap_or_default();
                y = y.get(1..).unwrap_or_default();
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    s.get(n..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_with_their_numbers_as_numbers() {
        let mut names = vec![
            "cap10",
            "cap",
            "cap2",
            "cap1",
            "cap02",
            "b",
            "cap_00003_x",
            "cap_00012_x",
        ];
        names.sort_by(|a, b| natural(a, b));
        assert_eq!(
            names,
            [
                "b",
                "cap",
                "cap1",
                "cap02",
                "cap2",
                "cap10",
                "cap_00003_x",
                "cap_00012_x"
            ]
        );
        assert_eq!(natural("x9y", "x10a"), Ordering::Less);
        assert_eq!(natural("x10a", "x10b"), Ordering::Less);
        assert_eq!(natural("same", "same"), Ordering::Equal);
    }

    #[test]
    fn files_sort_by_first_frame_then_name_and_files_without_a_frame_last() {
        let mut files = [
            (None, "cap0"),
            (Some(20), "cap1"),
            (Some(10), "cap10"),
            (Some(10), "cap9"),
            (None, "a"),
        ];
        files.sort_by(|a, b| by_time_then_name(*a, *b));
        let names: Vec<&str> = files.iter().map(|f| f.1).collect();
        assert_eq!(names, ["cap9", "cap10", "cap1", "a", "cap0"]);
    }

    #[test]
    fn plurals_and_lists_in_the_note() {
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(0, "file", "files"), "0 files");
        let names: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).into();
        assert_eq!(listed(&names), "a, b, c, and 2 more");
        assert_eq!(listed(&names[..2]), "a, b");
    }
}
