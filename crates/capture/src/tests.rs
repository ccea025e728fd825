//! Unit tests on small hand-built captures, plus property tests (split reads, arbitrary bytes).

use std::io::{self, Read};

use proptest::prelude::*;

use super::*;

// ----- builders -----

/// Classic pcap variant: (big_endian, nanos, modified).
#[derive(Debug, Clone, Copy)]
struct PcapKind {
    be: bool,
    nanos: bool,
    modified: bool,
}

const PCAP_KINDS: [PcapKind; 6] = [
    PcapKind {
        be: false,
        nanos: false,
        modified: false,
    },
    PcapKind {
        be: true,
        nanos: false,
        modified: false,
    },
    PcapKind {
        be: false,
        nanos: true,
        modified: false,
    },
    PcapKind {
        be: true,
        nanos: true,
        modified: false,
    },
    PcapKind {
        be: false,
        nanos: false,
        modified: true,
    },
    PcapKind {
        be: true,
        nanos: false,
        modified: true,
    },
];

fn put16(out: &mut Vec<u8>, v: u16, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put32(out: &mut Vec<u8>, v: u32, be: bool) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn pcap_header(kind: PcapKind, major: u16, minor: u16, snaplen: u32, network: u32) -> Vec<u8> {
    let magic: u32 = if kind.modified {
        0xA1B2_CD34
    } else if kind.nanos {
        0xA1B2_3C4D
    } else {
        0xA1B2_C3D4
    };
    let mut out = Vec::new();
    put32(&mut out, magic, kind.be);
    put16(&mut out, major, kind.be);
    put16(&mut out, minor, kind.be);
    put32(&mut out, 0, kind.be); // thiszone
    put32(&mut out, 0, kind.be); // sigfigs
    put32(&mut out, snaplen, kind.be);
    put32(&mut out, network, kind.be);
    out
}

fn pcap_record(out: &mut Vec<u8>, kind: PcapKind, sec: u32, frac: u32, data: &[u8], orig: u32) {
    put32(out, sec, kind.be);
    put32(out, frac, kind.be);
    put32(out, data.len() as u32, kind.be);
    put32(out, orig, kind.be);
    if kind.modified {
        put32(out, 7, kind.be); // ifindex
        put16(out, 0x0800, kind.be); // protocol
        out.push(0); // pkt_type
        out.push(0); // pad
    }
    out.extend_from_slice(data);
}

/// A pcapng block: type, length, body padded to 4, trailing length.
fn block(be: bool, block_type: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().next_multiple_of(4);
    let len = (12 + padded) as u32;
    let mut out = Vec::new();
    put32(&mut out, block_type, be);
    put32(&mut out, len, be);
    out.extend_from_slice(body);
    out.resize(8 + padded, 0);
    put32(&mut out, len, be);
    out
}

fn shb(be: bool) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, 0x1A2B_3C4D, be);
    put16(&mut body, 1, be);
    put16(&mut body, 0, be);
    body.extend_from_slice(&u64::MAX.to_le_bytes()); // section length unknown (-1)
    block(be, 0x0A0D_0D0A, &body)
}

/// IDB with options given as (code, value).
fn idb(be: bool, linktype: u16, snaplen: u32, options: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    put16(&mut body, linktype, be);
    put16(&mut body, 0, be);
    put32(&mut body, snaplen, be);
    for (code, value) in options {
        put16(&mut body, *code, be);
        put16(&mut body, value.len() as u16, be);
        body.extend_from_slice(value);
        body.resize(body.len().next_multiple_of(4), 0);
    }
    if !options.is_empty() {
        put32(&mut body, 0, be); // opt_endofopt
    }
    block(be, 1, &body)
}

fn tsoffset(be: bool, secs: i64) -> (u16, Vec<u8>) {
    (
        14,
        if be {
            secs.to_be_bytes().to_vec()
        } else {
            secs.to_le_bytes().to_vec()
        },
    )
}

fn epb(be: bool, if_id: u32, ts: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, if_id, be);
    put32(&mut body, (ts >> 32) as u32, be);
    put32(&mut body, ts as u32, be);
    put32(&mut body, data.len() as u32, be);
    put32(&mut body, orig, be);
    body.extend_from_slice(data);
    block(be, 6, &body)
}

fn opb(be: bool, if_id: u16, ts: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    put16(&mut body, if_id, be);
    put16(&mut body, 0, be); // drops
    put32(&mut body, (ts >> 32) as u32, be);
    put32(&mut body, ts as u32, be);
    put32(&mut body, data.len() as u32, be);
    put32(&mut body, orig, be);
    body.extend_from_slice(data);
    block(be, 2, &body)
}

fn spb(be: bool, orig: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, orig, be);
    body.extend_from_slice(data);
    block(be, 3, &body)
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

// ----- reading helpers -----

/// An owned copy of a record, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    ts_nanos: i64,
    linktype: LinkType,
    interface: u32,
    caplen: u32,
    origlen: u32,
    data: Vec<u8>,
    offset: u64,
}

/// Everything a reader produced: construction error, records, final error, warnings, stats.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    records: Vec<Owned>,
    error: Option<String>,
    warnings: Vec<Warning>,
    stats: ReaderStats,
    offset: u64,
}

fn drain<C: Records>(reader: Result<C, Error>) -> Outcome {
    let mut reader = match reader {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                records: Vec::new(),
                error: Some(format!("new: {e}")),
                warnings: Vec::new(),
                stats: ReaderStats::default(),
                offset: 0,
            };
        }
    };
    let mut records = Vec::new();
    let mut error = None;
    loop {
        match reader.next_record() {
            Ok(Some(r)) => {
                assert_eq!(r.data.len(), r.caplen as usize);
                records.push(Owned {
                    ts_nanos: r.ts_nanos,
                    linktype: r.linktype,
                    interface: r.interface,
                    caplen: r.caplen,
                    origlen: r.origlen,
                    data: r.data.to_vec(),
                    offset: r.offset,
                });
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    // Finished readers stay finished.
    assert!(matches!(reader.next_record(), Ok(None)));
    Outcome {
        records,
        error,
        warnings: reader.warnings().to_vec(),
        stats: reader.stats().clone(),
        offset: reader.offset(),
    }
}

fn read_bytes(bytes: &[u8]) -> Outcome {
    drain(CaptureReader::new(bytes))
}

/// Records of a capture that must read cleanly.
fn records_ok(bytes: &[u8]) -> Vec<Owned> {
    let out = read_bytes(bytes);
    assert_eq!(out.error, None);
    assert_eq!(out.warnings, vec![]);
    out.records
}

/// The error a capture must end with (construction or reading).
fn read_err(bytes: &[u8]) -> Error {
    let mut reader = match CaptureReader::new(bytes) {
        Ok(r) => r,
        Err(e) => return e,
    };
    loop {
        match reader.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("expected an error, got a clean end"),
            Err(e) => return e,
        }
    }
}

fn assert_corrupt(bytes: &[u8], want_offset: u64, reason_part: &str) {
    match read_err(bytes) {
        Error::Corrupt { offset, reason } => {
            assert_eq!(offset, want_offset, "reason: {reason}");
            assert!(
                reason.contains(reason_part),
                "reason {reason:?} lacks {reason_part:?}"
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// A `Read` delivering the input in chunks of the given sizes (cycled), with an `Interrupted`
/// error before every third chunk.
struct Chunky<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    calls: usize,
}

impl Read for Chunky<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(3) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        let size = self
            .sizes
            .get(self.calls % self.sizes.len().max(1))
            .copied();
        let n = size.unwrap_or(1).max(1).min(out.len()).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        out[..n].copy_from_slice(head);
        self.data = rest;
        Ok(n)
    }
}

fn read_chunky(bytes: &[u8], sizes: Vec<usize>, capacity: usize) -> Outcome {
    drain(CaptureReader::with_capacity(
        Chunky {
            data: bytes,
            sizes,
            calls: 0,
        },
        capacity,
    ))
}

/// An owned source handing out `step` bytes per read, for a [`ParseAhead`]'s thread.
struct Steps {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for Steps {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(out.len()).min(self.step);
        out[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// The input through a [`ParseAhead`] of `chunk`-byte chunks, read `step` bytes at a time:
/// parsed on its thread, records handed over in batches.
fn parse_ahead(bytes: &[u8], chunk: usize, step: usize) -> Outcome {
    let src = Steps {
        data: bytes.to_vec(),
        pos: 0,
        step,
    };
    drain(ParseAhead::with_chunks(src, chunk, 2, None))
}

// ----- classic pcap -----

#[test]
fn pcap_every_variant() {
    for kind in PCAP_KINDS {
        // Upper bits of the network field (FCS flags) must be masked off.
        let mut file = pcap_header(kind, 2, 4, 65535, 0x1400_0001);
        pcap_record(&mut file, kind, 1_700_000_000, 123_456, b"abcdef", 60);
        pcap_record(&mut file, kind, 1, 999_999, b"", 0);
        pcap_record(&mut file, kind, 2, 5, &[0xEE; 300], 300);
        let reader = CaptureReader::new(file.as_slice()).expect("valid header");
        assert_eq!(
            reader.format(),
            Format::Pcap {
                nanos: kind.nanos,
                big_endian: kind.be,
                modified: kind.modified,
            }
        );
        let recs = records_ok(&file);
        assert_eq!(recs.len(), 3, "{kind:?}");
        let mult = if kind.nanos { 1 } else { 1000 };
        let hdr = if kind.modified { 24 } else { 16 };
        assert_eq!(recs[0].ts_nanos, 1_700_000_000_000_000_000 + 123_456 * mult);
        assert_eq!(recs[0].linktype, LinkType::ETHERNET);
        assert_eq!(recs[0].interface, 0);
        assert_eq!(recs[0].data, b"abcdef");
        assert_eq!((recs[0].caplen, recs[0].origlen), (6, 60));
        assert_eq!(recs[0].offset, 24);
        assert_eq!(recs[1].ts_nanos, 1_000_000_000 + 999_999 * mult);
        assert_eq!(recs[1].data, b"");
        assert_eq!(recs[1].offset, 24 + hdr + 6);
        assert_eq!(recs[2].data, vec![0xEE; 300]);
        assert_eq!(recs[2].offset, 24 + 2 * hdr + 6);
        let out = read_bytes(&file);
        assert_eq!(out.offset, file.len() as u64);
        assert_eq!(out.stats.records, 3);
        assert_eq!(out.stats.bytes, file.len() as u64);
        assert_eq!(out.stats.sections, 0);
    }
}

#[test]
fn pcap_snaplen_zero_and_caplen_over_snaplen_tolerated() {
    let kind = PCAP_KINDS[0];
    let mut file = pcap_header(kind, 2, 4, 0, 101);
    pcap_record(&mut file, kind, 0, 0, &[0x45; 40], 40);
    let mut file2 = pcap_header(kind, 2, 2, 10, 101);
    pcap_record(&mut file2, kind, 0, 0, &[0x45; 40], 40);
    for f in [file, file2] {
        let recs = records_ok(&f);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].linktype, LinkType::RAW);
        assert_eq!(recs[0].caplen, 40);
    }
}

#[test]
fn pcap_bad_version_is_corrupt_at_4() {
    for kind in PCAP_KINDS {
        let file = pcap_header(kind, 1, 0, 65535, 1);
        match CaptureReader::new(file.as_slice()) {
            Err(Error::Corrupt { offset, reason }) => {
                assert_eq!(offset, 4);
                assert_eq!(reason, "unsupported pcap version 1.0 (expected 2.x)");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}

#[test]
fn pcap_huge_record_is_corrupt_without_allocating() {
    let kind = PCAP_KINDS[0];
    let mut file = pcap_header(kind, 2, 4, 65535, 1);
    pcap_record(&mut file, kind, 0, 0, b"ok", 2);
    let bad_at = file.len() as u64;
    put32(&mut file, 0, false);
    put32(&mut file, 0, false);
    put32(&mut file, 0x8000_0000, false);
    put32(&mut file, 0x8000_0000, false);
    let out = read_bytes(&file);
    assert_eq!(out.records.len(), 1);
    assert_corrupt(
        &file,
        bad_at,
        "record claims 2147483664 bytes (limit 16777216)",
    );
}

#[test]
fn pcap_record_at_the_size_limit() {
    let kind = PCAP_KINDS[1];
    let fits = vec![0xAB; MAX_RECORD_BYTES - 16];
    let mut file = pcap_header(kind, 2, 4, 65535, 1);
    pcap_record(&mut file, kind, 0, 0, &fits, 1);
    pcap_record(&mut file, kind, 0, 0, b"tail", 4);
    // Starts with a tiny buffer: grows to exactly the limit.
    let out = drain(CaptureReader::with_capacity(file.as_slice(), 10));
    assert_eq!(out.error, None);
    assert_eq!(out.records.len(), 2);
    assert_eq!(out.records[0].data.len(), MAX_RECORD_BYTES - 16);
    assert_eq!(out.records[1].data, b"tail");

    let mut file = pcap_header(kind, 2, 4, 65535, 1);
    pcap_record(&mut file, kind, 0, 0, &vec![0; MAX_RECORD_BYTES - 15], 1);
    assert_corrupt(&file, 24, "limit 16777216");
}

#[test]
fn pcap_truncated_last_record() {
    for kind in PCAP_KINDS {
        let hdr = if kind.modified { 24 } else { 16 };
        let mut file = pcap_header(kind, 2, 4, 65535, 1);
        pcap_record(&mut file, kind, 1, 0, b"first", 5);
        let second_at = file.len();
        pcap_record(&mut file, kind, 2, 0, b"second record", 13);
        // Cut inside the second record's header, and inside its data.
        for cut in [second_at + 1, second_at + hdr - 1, second_at + hdr + 4] {
            let out = read_bytes(&file[..cut]);
            assert_eq!(out.error, None);
            assert_eq!(out.records.len(), 1);
            assert_eq!(out.records[0].data, b"first");
            let needed = if cut < second_at + hdr { hdr } else { hdr + 13 };
            assert_eq!(
                out.warnings,
                vec![Warning::TruncatedRecord {
                    offset: second_at as u64,
                    needed: needed as u64,
                    available: (cut - second_at) as u64,
                }]
            );
            assert_eq!(out.offset, second_at as u64);
        }
        // Cut exactly between records: clean end.
        let out = read_bytes(&file[..second_at]);
        assert_eq!(out.records.len(), 1);
        assert_eq!(out.warnings, vec![]);
    }
}

#[test]
fn header_errors() {
    assert!(matches!(CaptureReader::new(&b""[..]), Err(Error::Empty)));
    match CaptureReader::new(&b"hello world, not a capture"[..]) {
        Err(e @ Error::NotACapture { magic }) => {
            assert_eq!(&magic, b"hell");
            assert!(
                e.to_string()
                    .starts_with("not a pcap or pcapng file (starts with 0x68656c6c): expected"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Too short for a magic, but not a prefix of one either.
    assert!(matches!(
        CaptureReader::new(&b"hi"[..]),
        Err(Error::NotACapture {
            magic: [b'h', b'i', 0, 0]
        })
    ));
    // A prefix of a magic, then nothing.
    assert!(matches!(
        CaptureReader::new(&[0xD4u8, 0xC3][..]),
        Err(Error::ShortHeader { available: 2 })
    ));
    let full = pcap_header(PCAP_KINDS[0], 2, 4, 65535, 1);
    for cut in [4, 10, 23] {
        match CaptureReader::new(&full[..cut]) {
            Err(Error::ShortHeader { available }) => assert_eq!(available, cut as u64),
            other => panic!("{other:?}"),
        }
    }
    let header_only = CaptureReader::new(full.as_slice());
    let out = drain(header_only);
    assert_eq!(out.records, vec![]);
    assert_eq!(out.warnings, vec![]);
    assert_eq!(out.offset, 24);
    // pcapng: a cut-off first section header block.
    let ng = shb(false);
    for cut in [4, 11, 12, ng.len() - 1] {
        match CaptureReader::new(&ng[..cut]) {
            Err(Error::ShortHeader { available }) => assert_eq!(available, cut as u64),
            other => panic!("{other:?}"),
        }
    }
    let out = read_bytes(&ng);
    assert_eq!(out.error, None);
    assert_eq!(out.stats.sections, 1);
}

// ----- pcapng -----

#[test]
fn pcapng_basic_both_byte_orders() {
    for be in [false, true] {
        let file = cat(&[
            shb(be),
            idb(be, 1, 65535, &[]),
            epb(be, 0, 1_700_000_000_123_456, b"hello", 64),
            epb(be, 0, 1, b"abcd", 4),
        ]);
        let reader = CaptureReader::new(file.as_slice()).expect("valid");
        assert_eq!(reader.format(), Format::PcapNg);
        let out = read_bytes(&file);
        assert_eq!(out.error, None);
        assert_eq!(out.warnings, vec![]);
        let recs = &out.records;
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].ts_nanos, 1_700_000_000_123_456_000);
        assert_eq!(recs[0].linktype, LinkType::ETHERNET);
        assert_eq!(recs[0].data, b"hello");
        assert_eq!((recs[0].caplen, recs[0].origlen), (5, 64));
        assert_eq!(recs[0].offset, 28 + 20);
        assert_eq!(recs[1].ts_nanos, 1_000);
        assert_eq!(recs[1].data, b"abcd");
        assert_eq!(recs[1].offset, 28 + 20 + 40);
        assert_eq!(out.stats.sections, 1);
        assert_eq!(out.stats.interfaces, 1);
        assert_eq!(out.stats.records, 2);
        assert_eq!(out.stats.bytes, file.len() as u64);
    }
}

#[test]
fn pcapng_sections_switch_byte_order_and_reset_interfaces() {
    let file = cat(&[
        shb(false),
        idb(false, 1, 0, &[]),
        idb(false, 113, 0, &[]),
        epb(false, 1, 5, b"sll", 3),
        shb(true),
        idb(true, 101, 0, &[(9, vec![9])]),
        epb(true, 0, 7, b"raw", 3),
        // Interface 1 belonged to the first section only.
        epb(true, 1, 7, b"gone", 4),
        shb(false),
        idb(false, 276, 0, &[]),
        epb(false, 0, 9, b"sll2", 4),
    ]);
    let out = read_bytes(&file);
    assert_eq!(out.error, None);
    let got: Vec<_> = out
        .records
        .iter()
        .map(|r| (r.linktype, r.interface, r.ts_nanos, r.data.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (LinkType::LINUX_SLL, 1, 5_000, b"sll".to_vec()),
            (LinkType::RAW, 0, 7, b"raw".to_vec()),
            (LinkType::LINUX_SLL2, 0, 9_000, b"sll2".to_vec()),
        ]
    );
    assert_eq!(out.stats.sections, 3);
    assert_eq!(out.stats.interfaces, 4);
    assert_eq!(out.stats.unknown_interface_records, 1);
    assert!(matches!(
        out.warnings.as_slice(),
        [Warning::UnknownInterface { interface: 1, .. }]
    ));
}

#[test]
fn pcapng_interfaces_with_resolutions_and_offsets() {
    for be in [false, true] {
        let file = cat(&[
            shb(be),
            idb(be, 1, 0, &[(2, b"eth0".to_vec()), (9, vec![9])]),
            idb(be, 101, 0, &[(9, vec![0x8A]), tsoffset(be, 100)]),
            idb(be, 113, 0, &[tsoffset(be, -5)]),
            idb(be, 228, 0, &[(9, vec![3])]),
            epb(be, 0, 1_700_000_000_123_456_789, b"a", 1),
            epb(be, 1, 5 * 1024 + 512, b"b", 1),
            epb(be, 2, 2_000_000, b"c", 1),
            epb(be, 3, 42, b"d", 1),
            opb(be, 1, 1024, b"e", 1),
        ]);
        let out = read_bytes(&file);
        assert_eq!(out.error, None);
        assert_eq!(out.warnings, vec![]);
        let got: Vec<_> = out
            .records
            .iter()
            .map(|r| (r.interface, r.linktype, r.ts_nanos))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, LinkType::ETHERNET, 1_700_000_000_123_456_789),
                (1, LinkType::RAW, 105_500_000_000),
                (2, LinkType::LINUX_SLL, -3_000_000_000),
                (3, LinkType::IPV4, 42_000_000),
                (1, LinkType::RAW, 101_000_000_000),
            ]
        );
    }
}

#[test]
fn timestamp_scales_saturate() {
    assert_eq!(reader::tests_support::ts(u64::MAX, 9, 0), i64::MAX);
    assert_eq!(reader::tests_support::ts(1, 9, i64::MIN), i64::MIN);
    // 10^-20 and 10^-127 (beyond u128): tiny units.
    assert_eq!(reader::tests_support::ts(10u64.pow(19), 20, 0), 100_000_000);
    assert_eq!(reader::tests_support::ts(u64::MAX, 127, 0), 0);
    // 2^-127: still representable, rounds down to 0.
    assert_eq!(reader::tests_support::ts(u64::MAX, 0xFF, 0), 0);
    // 2^0: seconds.
    assert_eq!(reader::tests_support::ts(3, 0x80, 1), 4_000_000_000);
    // 10^0: seconds.
    assert_eq!(reader::tests_support::ts(3, 0, 0), 3_000_000_000);
}

#[test]
fn pcapng_spb_and_opb() {
    for be in [false, true] {
        let file = cat(&[
            shb(be),
            idb(be, 1, 4, &[]), // snaplen 4
            spb(be, 10, b"abcd"),
            opb(be, 0, 3, b"opb!", 9),
            shb(be),
            idb(be, 101, 0, &[]), // no snaplen
            spb(be, 3, b"xyz"),   // padded to 4: caplen must stop at origlen
            spb(be, 100, b"short"),
        ]);
        let out = read_bytes(&file);
        assert_eq!(out.error, None);
        let got: Vec<_> = out
            .records
            .iter()
            .map(|r| (r.caplen, r.origlen, r.data.clone(), r.ts_nanos, r.linktype))
            .collect();
        assert_eq!(
            got,
            vec![
                (4, 10, b"abcd".to_vec(), 0, LinkType::ETHERNET),
                (4, 9, b"opb!".to_vec(), 3_000, LinkType::ETHERNET),
                (3, 3, b"xyz".to_vec(), 0, LinkType::RAW),
                // Body holds "short" plus 3 padding bytes: capped by the body length.
                (8, 100, b"short\0\0\0".to_vec(), 0, LinkType::RAW),
            ]
        );
    }
}

#[test]
fn pcapng_other_blocks_skipped() {
    let be = false;
    let file = cat(&[
        shb(be),
        block(be, 4, &[0; 4]),            // NRB
        idb(be, 1, 0, &[]),               // IDB
        block(be, 5, &[0; 12]),           // ISB
        epb(be, 0, 1, b"one", 3),         // EPB
        block(be, 0x0A, b"secrets"),      // DSB
        block(be, 0x0BAD, b"custom"),     // custom, copiable
        block(be, 0x4000_0BAD, b"nocpy"), // custom, not copiable
        block(be, 0x1234_5678, b""),      // unknown
        block(be, 9, b"journal"),         // systemd journal
        epb(be, 0, 2, b"two", 3),
    ]);
    let out = read_bytes(&file);
    assert_eq!(out.error, None);
    assert_eq!(out.records.len(), 2);
    assert_eq!(out.stats.blocks_skipped, 7);
    assert_eq!(out.stats.bytes, file.len() as u64);
}

#[test]
fn pcapng_corrupt_block_lengths() {
    let be = false;
    let prefix = cat(&[shb(be), idb(be, 1, 0, &[]), epb(be, 0, 1, b"ok", 2)]);
    let at = prefix.len() as u64;
    let with_len = |len: u32, trailer: u32| {
        let mut f = prefix.clone();
        put32(&mut f, 5, be);
        put32(&mut f, len, be);
        f.extend_from_slice(&[0; 32]);
        put32(&mut f, trailer, be);
        f
    };
    assert_corrupt(&with_len(0, 0), at, "pcapng block length 0 is less than");
    assert_corrupt(&with_len(4, 4), at, "pcapng block length 4 is less than");
    assert_corrupt(
        &with_len(7, 7),
        at,
        "pcapng block length 7 is not a multiple of 4",
    );
    assert_corrupt(
        &with_len(0x8000_0000, 0),
        at,
        "pcapng block claims 2147483648 bytes (limit 16777216)",
    );
    assert_corrupt(
        &with_len(44, 40),
        at,
        "trailing block length 40 differs from 44",
    );
    // Records before the bad block were returned.
    let out = read_bytes(&with_len(7, 7));
    assert_eq!(out.records.len(), 1);
    // A bad first block: offset 0.
    let mut bad_shb = shb(be);
    bad_shb[4] = 27;
    match CaptureReader::new(bad_shb.as_slice()) {
        Err(Error::Corrupt { offset: 0, reason }) => assert!(reason.contains("multiple of 4")),
        other => panic!("{other:?}"),
    }
    // Trailer of the first SHB.
    let mut bad_shb = shb(be);
    let n = bad_shb.len();
    bad_shb[n - 4] = 0;
    assert!(matches!(
        CaptureReader::new(bad_shb.as_slice()),
        Err(Error::Corrupt { offset: 0, .. })
    ));
    // A later SHB with a bad byte-order magic.
    let mut f = prefix.clone();
    let mut s = shb(be);
    s[8] = 0;
    f.extend_from_slice(&s);
    assert_corrupt(&f, at + 8, "byte-order magic");
    // Unsupported SHB version.
    let mut f = prefix.clone();
    let mut s = shb(be);
    s[12] = 2;
    f.extend_from_slice(&s);
    assert_corrupt(&f, at + 12, "unsupported pcapng version 2.0");
    // Too-short packet blocks and SHB/IDB.
    for (t, want) in [
        (6u32, "less than 32"),
        (2, "less than 32"),
        (3, "less than 16"),
    ] {
        let mut f = prefix.clone();
        f.extend_from_slice(&block(be, t, &[]));
        assert_corrupt(&f, at, want);
    }
    let mut f = prefix.clone();
    f.extend_from_slice(&block(be, 1, &[0; 4]));
    assert_corrupt(&f, at, "less than 20");
    let mut f = prefix.clone();
    f.extend_from_slice(&block(
        be,
        0x0A0D_0D0A,
        &[0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0],
    ));
    assert_corrupt(&f, at, "less than 28");
}

#[test]
fn pcapng_caplen_beyond_block_is_corrupt() {
    for be in [false, true] {
        let mut bad = epb(be, 0, 1, b"12345678", 8);
        // caplen field: type 4, len 4, if 4, ts 8 -> offset 20.
        let caplen = if be {
            9u32.to_be_bytes()
        } else {
            9u32.to_le_bytes()
        };
        bad[20..24].copy_from_slice(&caplen);
        let prefix = cat(&[shb(be), idb(be, 1, 0, &[])]);
        let at = prefix.len() as u64;
        assert_corrupt(
            &cat(&[prefix, bad]),
            at,
            "caplen 9 exceeds its body (8 bytes)",
        );
    }
}

#[test]
fn pcapng_undescribed_interface() {
    let be = true;
    let file = cat(&[
        shb(be),
        epb(be, 0, 1, b"before any idb", 14),
        idb(be, 1, 0, &[]),
        epb(be, 0, 1, b"ok", 2),
        epb(be, 3, 1, b"no such", 7),
        spb(be, 2, b"ok"),
        opb(be, 9, 1, b"nope", 4),
    ]);
    let out = read_bytes(&file);
    assert_eq!(out.error, None);
    assert_eq!(out.records.len(), 2);
    assert_eq!(
        out.warnings,
        vec![Warning::UnknownInterface {
            offset: 28,
            interface: 0,
        }]
    );
    assert_eq!(out.stats.unknown_interface_records, 3);
    assert!(out.warnings[0].to_string().contains("byte 28"));
}

#[test]
fn pcapng_truncated_last_block() {
    for be in [false, true] {
        let head = cat(&[shb(be), idb(be, 1, 0, &[]), epb(be, 0, 1, b"first", 5)]);
        let last = epb(be, 0, 2, b"second", 6);
        let at = head.len();
        for cut in [1, 7, 8, 20, last.len() - 1] {
            let file = cat(&[head.clone(), last[..cut].to_vec()]);
            let out = read_bytes(&file);
            assert_eq!(out.error, None);
            assert_eq!(out.records.len(), 1, "cut {cut}");
            let needed = if cut < 8 { 8 } else { last.len() };
            assert_eq!(
                out.warnings,
                vec![Warning::TruncatedRecord {
                    offset: at as u64,
                    needed: needed as u64,
                    available: cut as u64,
                }]
            );
        }
        // A cut-off later SHB: needs 12 bytes to learn its byte order.
        let file = cat(&[head.clone(), shb(!be)[..10].to_vec()]);
        let out = read_bytes(&file);
        assert_eq!(out.records.len(), 1);
        assert!(matches!(
            out.warnings.as_slice(),
            [Warning::TruncatedRecord {
                needed: 12,
                available: 10,
                ..
            }]
        ));
    }
}

#[test]
fn pcapng_malformed_options_keep_earlier_ones() {
    let be = false;
    let mut body = Vec::new();
    put16(&mut body, 1, be);
    put16(&mut body, 0, be);
    put32(&mut body, 0, be);
    put16(&mut body, 9, be); // if_tsresol = 9
    put16(&mut body, 1, be);
    body.extend_from_slice(&[9, 0, 0, 0]);
    put16(&mut body, 2, be); // if_name claiming 200 bytes
    put16(&mut body, 200, be);
    body.extend_from_slice(b"eth0");
    let file = cat(&[
        shb(be),
        block(be, 1, &body),
        block(be, 1, &body),
        epb(be, 1, 77, b"x", 1),
    ]);
    let out = read_bytes(&file);
    assert_eq!(out.error, None);
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.records[0].ts_nanos, 77);
    assert_eq!(out.warnings, vec![Warning::MalformedOptions { offset: 28 }]);
}

// ----- I/O behaviour -----

struct FailAfter<'a> {
    data: &'a [u8],
    interrupted: bool,
}

impl Read for FailAfter<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.interrupted {
            self.interrupted = true;
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        if self.data.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = out.len().min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn io_errors_carry_offset_and_source() {
    let kind = PCAP_KINDS[0];
    let mut file = pcap_header(kind, 2, 4, 65535, 1);
    pcap_record(&mut file, kind, 0, 0, b"abc", 3);
    let mut reader = CaptureReader::new(FailAfter {
        data: &file,
        interrupted: false,
    })
    .expect("header");
    assert!(matches!(reader.next_record(), Ok(Some(r)) if r.data == b"abc"));
    match reader.next_record() {
        Err(e @ Error::Io { offset, .. }) => {
            assert_eq!(offset, file.len() as u64);
            assert_eq!(e.to_string(), format!("read error at byte {}", file.len()));
            let source = std::error::Error::source(&e).map(ToString::to_string);
            assert_eq!(source.as_deref(), Some("disk on fire"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(reader.next_record(), Ok(None)));
}

#[test]
fn into_inner_and_display() {
    let file = pcap_header(PCAP_KINDS[0], 2, 4, 65535, 1);
    let reader = CaptureReader::new(file.as_slice()).expect("header");
    let rest: &[u8] = reader.into_inner();
    assert!(rest.is_empty());
    let w = Warning::TruncatedRecord {
        offset: 99,
        needed: 10,
        available: 3,
    };
    assert!(w.to_string().contains("byte 99"));
    assert!(!w.to_string().contains('\n'));
    let e = Error::Corrupt {
        offset: 7,
        reason: "x".into(),
    };
    assert_eq!(e.to_string(), "corrupt capture at byte 7: x");
}

#[test]
fn tiny_buffers_and_pipes_match_whole_reads() {
    let be = false;
    let file = cat(&[
        shb(be),
        idb(be, 1, 0, &[(9, vec![9])]),
        epb(be, 0, 1, &[1; 1000], 1000),
        spb(be, 3, b"abc"),
        block(be, 0x0BAD, &[7; 500]),
        epb(be, 0, 2, &[2; 3000], 3000),
    ]);
    let whole = read_bytes(&file);
    assert_eq!(whole.records.len(), 3);
    for sizes in [vec![1], vec![7, 1, 3], vec![4096]] {
        for cap in [1, 64, 100, 1 << 20] {
            assert_eq!(read_chunky(&file, sizes.clone(), cap), whole);
        }
    }
}

// ----- properties -----

/// A random but valid capture: pcap of any variant, or pcapng with random sections,
/// interfaces and blocks.
fn arb_capture() -> impl Strategy<Value = Vec<u8>> {
    let data = prop::collection::vec(any::<u8>(), 0..300);
    let pcap = (
        0usize..PCAP_KINDS.len(),
        prop::collection::vec(
            (any::<u32>(), any::<u32>(), data.clone(), any::<u32>()),
            0..12,
        ),
    )
        .prop_map(|(k, recs)| {
            let kind = PCAP_KINDS[k];
            let mut out = pcap_header(kind, 2, 4, 65535, 1);
            for (sec, frac, data, orig) in recs {
                pcap_record(&mut out, kind, sec, frac, &data, orig);
            }
            out
        });
    let ng_block = (0u8..8, any::<u64>(), data, any::<u8>(), any::<bool>());
    let ng = (any::<bool>(), prop::collection::vec(ng_block, 0..16)).prop_map(|(be0, blocks)| {
        let mut be = be0;
        let mut out = shb(be);
        for (kind, ts, data, small, flip) in blocks {
            let part = match kind {
                0 => {
                    if flip {
                        be = !be;
                    }
                    shb(be)
                }
                1 => idb(
                    be,
                    u16::from(small),
                    u32::from(small) * 8,
                    &[(9, vec![small]), tsoffset(be, i64::from(small) - 100)],
                ),
                2 | 3 => epb(be, u32::from(small % 3), ts, &data, data.len() as u32),
                4 => spb(be, u32::from(small), &data),
                5 => opb(be, u16::from(small % 3), ts, &data, 9999),
                6 => block(be, 0x0BAD, &data),
                _ => block(be, 5, &data),
            };
            out.extend_from_slice(&part);
        }
        out
    });
    prop_oneof![pcap, ng]
}

fn check_invariants(input_len: usize, out: &Outcome) {
    let mut last: Option<u64> = None;
    for r in &out.records {
        assert_eq!(r.data.len(), r.caplen as usize);
        if let Some(prev) = last {
            assert!(r.offset > prev, "offsets must increase");
        }
        last = Some(r.offset);
        assert!(r.offset + u64::from(r.caplen) <= input_len as u64);
    }
    assert!(out.offset <= input_len as u64);
    assert_eq!(out.stats.records, out.records.len() as u64);
    assert!(out.warnings.len() <= 3);
}

proptest! {
    #[test]
    fn prop_split_reads_match_whole_read(
        file in arb_capture(),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
        sizes in prop::collection::vec(1usize..8, 1..16),
        cap in 0usize..200,
        chunk in 1usize..300,
        step in 1usize..64,
    ) {
        let input = if do_cut { &file[..cut.index(file.len() + 1)] } else { &file[..] };
        let whole = read_bytes(input);
        if !do_cut {
            prop_assert_eq!(&whole.error, &None);
            let only_unknown = whole
                .warnings
                .iter()
                .all(|w| matches!(w, Warning::UnknownInterface { .. }));
            prop_assert!(only_unknown);
            prop_assert_eq!(whole.offset, input.len() as u64);
        }
        check_invariants(input.len(), &whole);
        let split = read_chunky(input, sizes, cap);
        prop_assert_eq!(&split, &whole);
        let parsed = parse_ahead(input, chunk, step);
        prop_assert_eq!(parsed, whole);
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(
        prefix in 0usize..4,
        junk in prop::collection::vec(any::<u8>(), 0..600),
        sizes in prop::collection::vec(1usize..8, 1..8),
    ) {
        let mut input = match prefix {
            0 => Vec::new(),
            1 => pcap_header(PCAP_KINDS[0], 2, 4, 65535, 1),
            2 => pcap_header(PCAP_KINDS[5], 2, 4, 65535, 1),
            _ => cat(&[shb(false), idb(false, 1, 0, &[])]),
        };
        input.extend_from_slice(&junk);
        let whole = read_bytes(&input);
        check_invariants(input.len(), &whole);
        prop_assert_eq!(&parse_ahead(&input, 64, 5), &whole);
        prop_assert_eq!(read_chunky(&input, sizes, 64), whole);
    }

    #[test]
    fn prop_mutated_captures_never_panic(
        file in arb_capture(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut input = file;
        for (at, byte) in flips {
            let i = at.index(input.len());
            input[i] = byte;
        }
        let whole = read_bytes(&input);
        check_invariants(input.len(), &whole);
        prop_assert_eq!(&parse_ahead(&input, 97, 13), &whole);
        prop_assert_eq!(read_chunky(&input, vec![3, 1, 7], 64), whole);
    }
}

// ----- ParseAhead -----

/// Records larger than the room kept in front of a chunk, cut by chunk boundaries, and a
/// truncated last record: the same records, warnings, counters and offset as read whole.
#[test]
fn parse_ahead_joins_records_longer_than_the_headroom() {
    let kind = PCAP_KINDS[0];
    let mut file = pcap_header(kind, 2, 4, 0, 1);
    for (i, len) in [10usize, 200_000, 70_000, 3, 1 << 20, 60]
        .into_iter()
        .enumerate()
    {
        let data: Vec<u8> = (0..len).map(|j| (i * 7 + j) as u8).collect();
        pcap_record(&mut file, kind, i as u32, 0, &data, len as u32);
    }
    let whole_len = file.len();
    file.extend_from_slice(&[1, 2, 3, 4, 5]); // a cut record header
    let whole = read_bytes(&file);
    assert_eq!(whole.records.len(), 6);
    assert_eq!(whole.offset, whole_len as u64);
    assert_eq!(whole.warnings.len(), 1);
    for (chunk, step) in [
        (64 << 10, 1 << 20),
        (100_000, 33_333),
        (1 << 20, 4096),
        (7, 3),
    ] {
        assert_eq!(
            parse_ahead(&file, chunk, step),
            whole,
            "chunk {chunk} step {step}"
        );
    }
}

#[test]
fn parse_ahead_reports_what_the_reader_reports_for_a_bad_header() {
    for input in [&b""[..], b"GIF89a......", b"\xd4\xc3\xb2\xa1\x02\x00"] {
        assert_eq!(parse_ahead(input, 64, 1), read_bytes(input));
    }
}

/// A source that gives its bytes, then blocks until released (an idle pipe).
struct Idle {
    data: Vec<u8>,
    given: bool,
    release: std::sync::mpsc::Receiver<()>,
}

impl Read for Idle {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.given && !self.data.is_empty() {
            self.given = true;
            let n = self.data.len().min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            return Ok(n);
        }
        let _ = self.release.recv();
        Ok(0)
    }
}

#[test]
fn parse_ahead_hands_over_a_short_read_at_once_and_a_stop_ends_an_idle_input() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let kind = PCAP_KINDS[0];
    let mut file = pcap_header(kind, 2, 4, 0, 1);
    pcap_record(&mut file, kind, 5, 0, b"one packet", 10);
    let (release, rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let src = Idle {
        data: file.clone(),
        given: false,
        release: rx,
    };
    let mut r = ParseAhead::with_chunks(src, 1 << 20, 2, Some(Arc::clone(&stop))).expect("opens");
    // The record arrives although its 1 MiB chunk is far from full.
    let rec = r.next_record().expect("reads").expect("a record");
    assert_eq!(rec.data, b"one packet");
    assert_eq!(r.offset(), file.len() as u64);
    // The source now blocks; raising the flag ends the input within a poll or two.
    let t0 = Instant::now();
    stop.store(true, Ordering::Relaxed);
    assert!(r.next_record().expect("ends").is_none());
    assert!(r.stopped());
    assert_eq!(r.stats().records, 1);
    assert!(t0.elapsed() < Duration::from_secs(2));
    drop(r); // must not wait for the blocked thread
    let _ = release.send(());

    // Raised before the file header came: the input is empty.
    let (release, rx) = std::sync::mpsc::channel();
    let src = Idle {
        data: Vec::new(),
        given: false,
        release: rx,
    };
    let stop = Arc::new(AtomicBool::new(true));
    assert!(matches!(
        ParseAhead::with_chunks(src, 1 << 20, 2, Some(stop)),
        Err(Error::Empty)
    ));
    let _ = release.send(());
}

#[test]
fn parse_ahead_dropped_early_ends_its_thread() {
    let kind = PCAP_KINDS[0];
    let mut file = pcap_header(kind, 2, 4, 0, 1);
    for i in 0..20_000u32 {
        pcap_record(&mut file, kind, i, 0, &[0x45; 500], 500);
    }
    let src = Steps {
        data: file,
        pos: 0,
        step: 1 << 16,
    };
    let mut r = ParseAhead::with_chunks(src, 1 << 16, 2, None).expect("opens");
    assert!(r.next_record().expect("reads").is_some());
    drop(r); // must not hang
}

/// The note of each record is computed from that record's bytes and link type, also for records
/// joined across chunks.
#[test]
fn parse_ahead_notes_each_record_from_its_own_bytes() {
    fn note(lt: LinkType, data: &[u8]) -> (u32, usize, u8, u8) {
        let first = data.first().copied().unwrap_or(0);
        let last = data.last().copied().unwrap_or(0);
        (lt.0, data.len(), first, last)
    }
    let mut file = cat(&[shb(false), idb(false, 1, 0, &[]), idb(false, 101, 0, &[])]);
    for i in 0..300u32 {
        let data: Vec<u8> = (0..(i * 37 % 1500)).map(|j| (i + j) as u8).collect();
        file.extend_from_slice(&epb(false, i % 2, u64::from(i), &data, data.len() as u32));
    }
    let whole = read_bytes(&file);
    assert_eq!(whole.records.len(), 300);
    for chunk in [100, 4096, 1 << 20] {
        let src = Steps {
            data: file.clone(),
            pos: 0,
            step: 777,
        };
        let mut r = ParseAhead::with_notes(src, chunk, 2, None, note).expect("opens");
        let mut n = 0;
        while let Some((rec, noted)) = r.next_noted().expect("reads") {
            let want = &whole.records[n];
            assert_eq!(rec.data, &want.data[..]);
            assert_eq!(
                noted,
                note(want.linktype, &want.data),
                "record {n}, chunk {chunk}"
            );
            n += 1;
        }
        assert_eq!(n, 300);
    }
}

/// Inputs queued behind one being read (the next files of a rotated set) are read in turn,
/// each exactly as a reader reads it, in chunk buffers the inputs before them used; one
/// dropped before its turn holds up none of the others.
#[test]
fn queued_inputs_are_read_after_the_one_before_them_each_whole() {
    let kind = PCAP_KINDS[0];
    let files: Vec<Vec<u8>> = (0..5u8)
        .map(|f| {
            let mut file = pcap_header(kind, 2, 4, 0, 1);
            for i in 0..200 * (u32::from(f) + 1) {
                let data = vec![f; 300 + (i as usize * 37) % 700];
                pcap_record(&mut file, kind, i, 0, &data, data.len() as u32);
            }
            file
        })
        .collect();
    let source = |bytes: &Vec<u8>| Steps {
        data: bytes.clone(),
        pos: 0,
        step: 4096,
    };
    let first = ParseAhead::with_chunks(source(&files[0]), 1 << 14, 2, None);
    let mut queued: Vec<_> = files[1..]
        .iter()
        .map(|f| ParseAhead::queue(source(f), 1 << 14, 2, |_, _| ()).expect("queued"))
        .collect();
    assert_eq!(drain(first), read_bytes(&files[0]));
    drop(queued.remove(0));
    for (q, f) in queued.into_iter().zip(&files[2..]) {
        let whole = read_bytes(f);
        assert!(whole.records.len() >= 600);
        assert_eq!(drain(q.start()), whole);
    }
}
