//! Cross-check of the reader against `pcap-parser` on the project's real captures
//! (`captures/*/input.*`), plus a by-hand robustness scan of any directory.

use std::path::{Path, PathBuf};

use pcap_parser::nom;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{PcapBlockOwned, PcapError};
use sfbflow_capture::{CaptureReader, Error, ParseAhead, Records, Warning};

/// One packet as both readers should see it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Packet {
    ts_nanos: i64,
    linktype: u32,
    caplen: u32,
    origlen: u32,
    data: Vec<u8>,
}

/// What our reader made of a file.
#[derive(Debug)]
struct Ours {
    packets: Vec<Packet>,
    warnings: Vec<Warning>,
    error: Option<Error>,
}

fn read_ours(bytes: &[u8]) -> Result<Ours, Error> {
    drain_ours(CaptureReader::new(bytes)?)
}

/// Through a [`ParseAhead`] of `chunk`-byte chunks.
fn read_parsed_ahead(bytes: &[u8], chunk: usize) -> Ours {
    let reader = ParseAhead::with_chunks(std::io::Cursor::new(bytes.to_vec()), chunk, 2, None)
        .expect("opens");
    drain_ours(reader).expect("drains")
}

fn drain_ours(mut reader: impl Records) -> Result<Ours, Error> {
    let mut packets = Vec::new();
    let error = loop {
        match reader.next_record() {
            Ok(Some(r)) => {
                assert_eq!(r.data.len(), r.caplen as usize);
                packets.push(Packet {
                    ts_nanos: r.ts_nanos,
                    linktype: r.linktype.0,
                    caplen: r.caplen,
                    origlen: r.origlen,
                    data: r.data.to_vec(),
                });
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Ok(Ours {
        packets,
        warnings: reader.warnings().to_vec(),
        error,
    })
}

/// What pcap-parser made of a file: the packets, and `Some(reason)` if it stopped early.
struct Theirs {
    packets: Vec<Packet>,
    stopped: Option<String>,
}

fn stop_reason(e: &nom::Err<PcapError<&[u8]>>) -> String {
    match e {
        nom::Err::Incomplete(n) => format!("incomplete ({n:?})"),
        nom::Err::Error(e) | nom::Err::Failure(e) => format!("{e:?}"),
    }
}

/// Classic pcap through pcap-parser's per-frame parsers (its `parse_pcap` / `LegacyPcapSlice`
/// only handle little-endian frames, so the right frame parser is chosen here).
fn read_theirs_pcap(bytes: &[u8]) -> Result<Theirs, String> {
    let (mut rest, header) =
        pcap_parser::pcap::parse_pcap_header(bytes).map_err(|e| stop_reason(&e))?;
    let parse = if header.is_modified_format() {
        // pcap-parser's modified-format parser is little-endian only.
        if header.is_bigendian() {
            return Err("big-endian modified pcap unsupported by pcap-parser".into());
        }
        pcap_parser::pcap::parse_pcap_frame_modified
    } else if header.is_bigendian() {
        pcap_parser::pcap::parse_pcap_frame_be
    } else {
        pcap_parser::pcap::parse_pcap_frame
    };
    let mult: i64 = if header.is_nanosecond_precision() {
        1
    } else {
        1_000
    };
    let linktype = (header.network.0 as u32) & 0xFFFF;
    let mut packets = Vec::new();
    let mut stopped = None;
    while !rest.is_empty() {
        match parse(rest) {
            Ok((r, frame)) => {
                packets.push(Packet {
                    ts_nanos: i64::from(frame.ts_sec) * 1_000_000_000
                        + i64::from(frame.ts_usec) * mult,
                    linktype,
                    caplen: frame.caplen,
                    origlen: frame.origlen,
                    data: frame.data.to_vec(),
                });
                rest = r;
            }
            Err(e) => {
                stopped = Some(stop_reason(&e));
                break;
            }
        }
    }
    Ok(Theirs { packets, stopped })
}

/// pcapng through pcap-parser's block iterator, keeping the interface table here.
fn read_theirs_pcapng(bytes: &[u8]) -> Result<Theirs, String> {
    struct Iface {
        linktype: u32,
        snaplen: u32,
        resolution: Option<u64>,
        offset_secs: i64,
    }
    let to_nanos = |iface: &Iface, high: u32, low: u32| -> i64 {
        let units = (u64::from(high) << 32) | u64::from(low);
        let res = iface.resolution.unwrap_or(1_000_000);
        let secs = i128::from(units / res) + i128::from(iface.offset_secs);
        let frac = i128::from(units % res) * 1_000_000_000 / i128::from(res);
        i64::try_from(secs * 1_000_000_000 + frac).unwrap_or(i64::MAX)
    };
    let slice = pcap_parser::PcapNGSlice::from_slice(bytes).map_err(|e| stop_reason(&e))?;
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut packets = Vec::new();
    let mut stopped = None;
    for block in slice {
        let block = match block {
            Ok(PcapBlockOwned::NG(b)) => b,
            Ok(_) => continue,
            Err(e) => {
                stopped = Some(stop_reason(&e));
                break;
            }
        };
        match block {
            Block::SectionHeader(_) => ifaces.clear(),
            Block::InterfaceDescription(idb) => ifaces.push(Iface {
                linktype: u32::from(idb.linktype.0 as u16),
                snaplen: idb.snaplen,
                resolution: idb.ts_resolution(),
                offset_secs: idb.if_tsoffset,
            }),
            Block::EnhancedPacket(epb) => {
                let Some(iface) = ifaces.get(epb.if_id as usize) else {
                    continue;
                };
                packets.push(Packet {
                    ts_nanos: to_nanos(iface, epb.ts_high, epb.ts_low),
                    linktype: iface.linktype,
                    caplen: epb.caplen,
                    origlen: epb.origlen,
                    data: epb.packet_data().to_vec(),
                });
            }
            Block::SimplePacket(spb) => {
                let Some(iface) = ifaces.first() else {
                    continue;
                };
                let mut caplen = spb.origlen.min(spb.data.len() as u32);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen);
                }
                packets.push(Packet {
                    ts_nanos: 0,
                    linktype: iface.linktype,
                    caplen,
                    origlen: spb.origlen,
                    data: spb.data[..caplen as usize].to_vec(),
                });
            }
            // Obsolete Packet Blocks (type 2) are not parsed by pcap-parser: they come back as
            // Unknown, so files holding them cannot be cross-checked record for record.
            _ => {}
        }
    }
    Ok(Theirs { packets, stopped })
}

fn read_theirs(bytes: &[u8]) -> Result<Theirs, String> {
    if bytes.starts_with(&[0x0A, 0x0D, 0x0D, 0x0A]) {
        read_theirs_pcapng(bytes)
    } else {
        read_theirs_pcap(bytes)
    }
}

/// Whether the file holds a pcapng Obsolete Packet Block (which pcap-parser skips).
fn has_obsolete_packet_block(bytes: &[u8]) -> bool {
    let Ok(slice) = pcap_parser::PcapNGSlice::from_slice(bytes) else {
        return false;
    };
    slice.map_while(Result::ok).any(|b| {
        matches!(b, PcapBlockOwned::NG(Block::Unknown(u)) if u.block_type == 2 || u.block_type == 0x0200_0000)
    })
}

/// Compare both readers on one file: `Ok(description)` or `Err(mismatch)`.
fn compare(bytes: &[u8]) -> Result<String, String> {
    let ours = read_ours(bytes).map_err(|e| format!("our reader failed at open: {e}"))?;
    let theirs = read_theirs(bytes).map_err(|e| format!("pcap-parser failed at open: {e}"))?;
    if has_obsolete_packet_block(bytes) {
        return Ok(format!(
            "{} records; holds obsolete packet blocks (not cross-checked)",
            ours.packets.len()
        ));
    }
    if let Some(e) = &ours.error {
        return Err(format!(
            "our reader failed after {} records: {e}",
            ours.packets.len()
        ));
    }
    // When pcap-parser stops early (e.g. a truncated last record), we must agree on the
    // records before that point and say why we stopped.
    if theirs.stopped.is_some() {
        if ours.warnings.is_empty() {
            return Err(format!(
                "pcap-parser stopped ({:?}) but we gave no warning",
                theirs.stopped
            ));
        }
    } else if ours.packets.len() != theirs.packets.len() {
        return Err(format!(
            "record count: ours {} vs pcap-parser {}",
            ours.packets.len(),
            theirs.packets.len()
        ));
    }
    if ours.packets.len() != theirs.packets.len() {
        return Err(format!(
            "record count: ours {} vs pcap-parser {} (it stopped: {:?})",
            ours.packets.len(),
            theirs.packets.len(),
            theirs.stopped
        ));
    }
    for (i, (a, b)) in ours.packets.iter().zip(&theirs.packets).enumerate() {
        if a != b {
            return Err(format!(
                "record {i} differs: ours ts {} lt {} cap {} orig {} vs theirs ts {} lt {} cap {} orig {} (data equal: {})",
                a.ts_nanos,
                a.linktype,
                a.caplen,
                a.origlen,
                b.ts_nanos,
                b.linktype,
                b.caplen,
                b.origlen,
                a.data == b.data
            ));
        }
    }
    Ok(format!(
        "{} records, warnings {:?}",
        ours.packets.len(),
        ours.warnings
    ))
}

fn project_captures() -> Vec<PathBuf> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../captures"));
    let mut files = Vec::new();
    for dir in std::fs::read_dir(root).expect("captures directory") {
        let dir = dir.expect("directory entry").path();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            let is_input = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("input."));
            if is_input {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn project_captures_match_pcap_parser() {
    let files = project_captures();
    assert!(
        files.len() >= 20,
        "expected the project captures, found {files:?}"
    );
    let mut failures = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("read capture");
        if let Err(why) = compare(&bytes) {
            failures.push(format!("{}: {why}", path.display()));
        }
        // The same file through a pipe-like reader gives the same records.
        let whole = read_ours(&bytes).expect("opens");
        let piped = read_ours_piped(&bytes);
        assert_eq!(whole.packets, piped, "{}", path.display());
        // And parsed on a thread of its own, in small chunks, handed over in batches.
        for chunk in [700, 1 << 20] {
            let parsed = read_parsed_ahead(&bytes, chunk);
            assert_eq!(whole.packets, parsed.packets, "{}", path.display());
            assert_eq!(whole.warnings, parsed.warnings, "{}", path.display());
            assert_eq!(
                whole.error.as_ref().map(|e| e.to_string()),
                parsed.error.map(|e| e.to_string()),
                "{}",
                path.display()
            );
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

/// A reader that hands out at most 5 bytes per call, with a 64-byte starting buffer.
fn read_ours_piped(bytes: &[u8]) -> Vec<Packet> {
    struct Pipe<'a>(&'a [u8]);
    impl std::io::Read for Pipe<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = out.len().min(self.0.len()).min(5);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut reader = CaptureReader::with_capacity(Pipe(bytes), 64).expect("opens");
    let mut packets = Vec::new();
    while let Ok(Some(r)) = reader.next_record() {
        packets.push(Packet {
            ts_nanos: r.ts_nanos,
            linktype: r.linktype.0,
            caplen: r.caplen,
            origlen: r.origlen,
            data: r.data.to_vec(),
        });
    }
    packets
}

/// By-hand robustness scan: `SFBFLOW_SCAN_DIR=/some/dir cargo test -p sfbflow-capture --test
/// crosscheck -- --ignored --nocapture scan_dir`. Reads every file below the directory, prints
/// one line per file (records, warnings, errors, pcap-parser agreement) and a summary.
#[test]
#[ignore = "manual: needs SFBFLOW_SCAN_DIR"]
#[allow(clippy::print_stdout)]
fn scan_dir() {
    let Some(dir) = std::env::var_os("SFBFLOW_SCAN_DIR") else {
        println!("SFBFLOW_SCAN_DIR not set: nothing to scan");
        return;
    };
    let mut stack = vec![PathBuf::from(dir)];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut clean, mut warned, mut failed, mut mismatched) = (0, 0, 0, 0);
    for path in &files {
        let bytes = std::fs::read(path).expect("read");
        let verdict = match read_ours(&bytes) {
            Err(e) => {
                failed += 1;
                format!("OPEN-ERROR {e}")
            }
            Ok(ours) => {
                let agreement = match compare(&bytes) {
                    Ok(_) => "pcap-parser agrees".to_owned(),
                    Err(why) => {
                        mismatched += 1;
                        format!("pcap-parser differs: {why}")
                    }
                };
                if let Some(e) = &ours.error {
                    failed += 1;
                    format!(
                        "ERROR after {} records: {e}; {agreement}",
                        ours.packets.len()
                    )
                } else if !ours.warnings.is_empty() {
                    warned += 1;
                    let w: Vec<String> = ours.warnings.iter().map(ToString::to_string).collect();
                    format!(
                        "WARN {} records: {}; {agreement}",
                        ours.packets.len(),
                        w.join(" | ")
                    )
                } else {
                    clean += 1;
                    format!("OK {} records; {agreement}", ours.packets.len())
                }
            }
        };
        println!("{}\t{verdict}", path.display());
    }
    println!(
        "SUMMARY files {} clean {clean} warnings {warned} errors {failed} pcap-parser-mismatch {mismatched}",
        files.len()
    );
}
