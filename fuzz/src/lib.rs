//! Shared checks of the fuzz targets: each target feeds its bytes to one part of sfbflow and
//! asserts the invariants written here, so that a finding is a broken promise, not only a
//! panic. The same functions run the committed regression inputs in `tests/` of the crates.

use std::io::{Cursor, Read};

use sfbflow::capture::{CaptureReader, ParseAhead, Records, Warning};

/// A reader handing out its bytes in short, uneven pieces (1 to 13 bytes, a pattern taken from
/// the input itself): the capture reader must give the same records whatever the read sizes.
#[derive(Debug)]
pub struct Chunked<'a> {
    data: &'a [u8],
    pos: usize,
    turn: usize,
}

impl<'a> Chunked<'a> {
    /// A reader of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Chunked {
            data,
            pos: 0,
            turn: 0,
        }
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let pattern = self.data.get(self.turn % self.data.len().max(1)).copied();
        self.turn += 1;
        let want = usize::from(pattern.unwrap_or(0) % 13) + 1;
        let n = want.min(buf.len()).min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

/// One record, owned, for comparing two reads of the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// Timestamp.
    pub ts_nanos: i64,
    /// Link type number.
    pub linktype: u32,
    /// Interface id.
    pub interface: u32,
    /// Captured length.
    pub caplen: u32,
    /// Wire length.
    pub origlen: u32,
    /// Offset of the record's header or block.
    pub offset: u64,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Everything one read of a capture produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read1 {
    /// The header error, if the reader could not even start.
    pub open_error: Option<String>,
    /// The records in order.
    pub records: Vec<Owned>,
    /// The error that ended the records, with its text.
    pub error: Option<String>,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// Bytes consumed at the end.
    pub offset: u64,
    /// Records counted by the reader.
    pub counted: u64,
}

/// Reads a capture from `input` with a buffer of `capacity` bytes.
pub fn read_capture<R: Read>(input: R, capacity: usize) -> Read1 {
    drain(CaptureReader::with_capacity(input, capacity))
}

/// Reads a capture through a [`ParseAhead`] of `chunk`-byte chunks (parsed on its own thread).
pub fn read_parsed_ahead(data: &[u8], chunk: usize) -> Read1 {
    drain(ParseAhead::with_chunks(Cursor::new(data.to_vec()), chunk, 2, None))
}

fn drain<C: Records>(reader: Result<C, sfbflow::capture::Error>) -> Read1 {
    let mut out = Read1 {
        open_error: None,
        records: Vec::new(),
        error: None,
        warnings: Vec::new(),
        offset: 0,
        counted: 0,
    };
    let mut reader = match reader {
        Ok(r) => r,
        Err(e) => {
            out.open_error = Some(e.to_string());
            return out;
        }
    };
    loop {
        match reader.next_record() {
            Ok(Some(r)) => out.records.push(Owned {
                ts_nanos: r.ts_nanos,
                linktype: r.linktype.0,
                interface: r.interface,
                caplen: r.caplen,
                origlen: r.origlen,
                offset: r.offset,
                data: r.data.to_vec(),
            }),
            Ok(None) => break,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        }
    }
    // After the end, the reader stays at its end.
    assert!(matches!(reader.next_record(), Ok(None)));
    out.warnings = reader.warnings().to_vec();
    out.offset = reader.offset();
    out.counted = reader.stats().records;
    out
}

/// Header lengths before a record's bytes: pcapng SPB; classic pcap; modified pcap; pcapng
/// EPB and OPB.
const DATA_AT: [u64; 4] = [12, 16, 24, 28];

/// Reads `data` twice (one large buffer and whole reads; the smallest buffer and reads of a few
/// bytes) and asserts the capture reader's promises: both reads agree, every record's bytes are
/// the input's bytes at the place its header says, offsets rise and stay inside the input, a
/// truncation warning names the real end of the input, and an error names a byte offset
/// inside it.
pub fn check_capture(data: &[u8]) {
    let whole = read_capture(Cursor::new(data), 1 << 20);
    let pieces = read_capture(Chunked::new(data), 64);
    assert_eq!(whole, pieces, "the read sizes changed the records");
    // Parsed on a thread of its own, in chunks of a few hundred bytes (for one input in four:
    // each read starts a thread).
    if data.len().is_multiple_of(4) {
        let ahead = read_parsed_ahead(data, 300);
        assert_eq!(whole, ahead, "parsing ahead changed the records");
    }
    let len = data.len() as u64;
    assert!(whole.offset <= len, "consumed past the input");
    assert_eq!(whole.counted, whole.records.len() as u64);
    let mut last: Option<u64> = None;
    for r in &whole.records {
        assert!(last.is_none_or(|l| r.offset > l), "offsets must rise");
        last = Some(r.offset);
        assert!(r.offset < len, "record outside the input");
        assert_eq!(r.data.len() as u64, u64::from(r.caplen));
        let found = DATA_AT.iter().any(|h| {
            let at = (r.offset + h) as usize;
            data.get(at..at + r.data.len()) == Some(&r.data[..])
        });
        assert!(found, "record bytes are not the input's at {}", r.offset);
    }
    for w in &whole.warnings {
        if let Warning::TruncatedRecord {
            offset,
            needed,
            available,
        } = w
        {
            assert_eq!(offset + available, len, "truncation must name the input's end");
            assert!(available < needed);
            assert!(whole.error.is_none());
        }
    }
    for e in whole.error.iter().chain(whole.open_error.iter()) {
        assert!(!e.is_empty());
        if let Some(rest) = e.split("at byte ").nth(1) {
            let n: u64 = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse().ok())
                .unwrap_or(u64::MAX);
            assert!(n <= len, "error offset {n} outside the input ({len} bytes): {e}");
        }
    }
}

/// Splits fuzzer bytes into pieces: each piece is a one-byte tag and then a one-byte length
/// and that many bytes (the last piece takes what is left).
pub fn pieces(mut data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let [tag, len, rest @ ..] = data {
        let n = usize::from(*len).min(rest.len());
        out.push((*tag, &rest[..n]));
        data = &rest[n..];
    }
    out
}

pub mod pipeline;
