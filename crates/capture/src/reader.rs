//! The streaming reader: one reused buffer, one record loop per format.
//!
//! The file header (and for pcapng the first section header block) is validated once at
//! construction; accessors cannot panic. Every read of input-derived data goes through `get()`
//! and checked arithmetic: bad input yields an [`Error`] or a [`Warning`], never a panic, and
//! the buffer never grows past [`MAX_RECORD_BYTES`].

use std::io::{ErrorKind, Read};

use crate::{Error, Format, LinkType, MAX_RECORD_BYTES, ReaderStats, Record, Warning};

/// Default buffer size used by [`CaptureReader::new`].
const DEFAULT_BUFFER_BYTES: usize = 1 << 20;
/// Smallest buffer [`CaptureReader::with_capacity`] accepts (smaller requests are raised).
const MIN_BUFFER_BYTES: usize = 64;
/// Most interfaces one pcapng section may describe; more is [`Error::Corrupt`] (keeps the
/// interface table bounded whatever the input).
const MAX_INTERFACES: usize = 1 << 16;

const PCAP_FILE_HEADER: usize = 24;
const PCAP_RECORD_HEADER: usize = 16;
const PCAP_MODIFIED_RECORD_HEADER: usize = 24;

const NG_SHB: u32 = 0x0A0D_0D0A;
const NG_IDB: u32 = 1;
const NG_OPB: u32 = 2;
const NG_SPB: u32 = 3;
const NG_EPB: u32 = 6;
const NG_BOM: u32 = 0x1A2B_3C4D;
const NG_BOM_SWAPPED: u32 = 0x4D3C_2B1A;
/// Block type, block length, trailing block length.
const NG_BLOCK_OVERHEAD: usize = 12;
const NG_OPT_END: u16 = 0;
const NG_OPT_IF_TSRESOL: u16 = 9;
const NG_OPT_IF_TSOFFSET: u16 = 14;

/// Magic numbers as they appear in the first four bytes of the file.
const MAGICS: [[u8; 4]; 7] = [
    [0xD4, 0xC3, 0xB2, 0xA1], // pcap µs, little-endian
    [0xA1, 0xB2, 0xC3, 0xD4], // pcap µs, big-endian
    [0x4D, 0x3C, 0xB2, 0xA1], // pcap ns, little-endian
    [0xA1, 0xB2, 0x3C, 0x4D], // pcap ns, big-endian
    [0x34, 0xCD, 0xB2, 0xA1], // modified pcap, little-endian
    [0xA1, 0xB2, 0xCD, 0x34], // modified pcap, big-endian
    [0x0A, 0x0D, 0x0D, 0x0A], // pcapng section header block
];

#[inline(always)]
fn u16_from(b: [u8; 2], big_endian: bool) -> u16 {
    if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

#[inline(always)]
fn u32_from(b: [u8; 4], big_endian: bool) -> u32 {
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// `N` bytes of `buf` at `at`, if present.
#[inline(always)]
fn array_at<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[inline(always)]
fn u16_at(buf: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    array_at::<2>(buf, at).map(|b| u16_from(b, big_endian))
}

#[inline(always)]
fn u32_at(buf: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    array_at::<4>(buf, at).map(|b| u32_from(b, big_endian))
}

/// How a pcapng interface's timestamp units become nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsScale {
    /// Units of 10^-n s with n <= 9: multiply.
    Mul(u64),
    /// Units of 10^-n s with n > 9: divide; 0 stands for a divisor beyond `u128` (result 0).
    Div(u128),
    /// Units of 2^-n s: multiply by 10^9, shift right by n (n <= 127).
    Shift(u32),
}

impl TsScale {
    /// Decode an `if_tsresol` option byte.
    fn from_tsresol(resol: u8) -> TsScale {
        let exp = u32::from(resol & 0x7F);
        if resol & 0x80 != 0 {
            TsScale::Shift(exp)
        } else if let Some(down) = 9u32.checked_sub(exp) {
            TsScale::Mul(10u64.pow(down))
        } else {
            TsScale::Div(10u128.checked_pow(exp - 9).unwrap_or(0))
        }
    }

    #[inline]
    fn nanos(self, units: u64) -> u128 {
        let units = u128::from(units);
        match self {
            TsScale::Mul(m) => units * u128::from(m),
            TsScale::Div(0) => 0,
            TsScale::Div(d) => units / d,
            TsScale::Shift(n) => (units * 1_000_000_000).checked_shr(n).unwrap_or(0),
        }
    }
}

/// Nanoseconds of `units` in `scale`, plus `offset_ns`, saturated to `i64`.
#[inline]
fn ng_ts_nanos(units: u64, scale: TsScale, offset_ns: i128) -> i64 {
    // nanos() < 2^64 * 10^9 < 2^94, so it fits i128, and adding offset_ns (< 2^94) cannot
    // overflow either.
    let ns = i128::try_from(scale.nanos(units)).unwrap_or(i128::MAX);
    let total = ns.saturating_add(offset_ns);
    i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX })
}

/// One described pcapng interface.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: LinkType,
    snaplen: u32,
    scale: TsScale,
    /// `if_tsoffset` in nanoseconds.
    offset_ns: i128,
}

/// Per-format parsing state.
#[derive(Debug)]
enum State {
    Pcap {
        big_endian: bool,
        nanos: bool,
        header_len: usize,
        linktype: LinkType,
    },
    PcapNg {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

/// Where the next record's fields and bytes are (indices into the buffer), computed before the
/// record is borrowed so the parsing loops need not hold a borrow of the buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) ts_nanos: i64,
    pub(crate) linktype: LinkType,
    pub(crate) interface: u32,
    pub(crate) caplen: u32,
    pub(crate) origlen: u32,
    pub(crate) data_start: usize,
    pub(crate) offset: u64,
}

/// Where a [`CaptureReader`] gets its bytes: any [`Read`] (copied into the reader's buffer), or
/// the reading thread of a [`ParseAhead`](crate::ParseAhead), whose filled chunks become the
/// reader's buffer without a copy.
pub trait Source {
    /// Makes more input follow the unconsumed bytes `buf[start..end]` and returns where they
    /// now lie, `(start, end)` with `end` past the old data; `None` at the end of input. May
    /// move the unconsumed bytes, or swap `buf` for another buffer that holds them first. `need`
    /// (at most [`MAX_RECORD_BYTES`]) is how many unconsumed bytes the reader waits for: the
    /// buffer grows to hold them, never further.
    ///
    /// # Errors
    /// The source's read error.
    fn more(
        &mut self,
        buf: &mut Vec<u8>,
        start: usize,
        end: usize,
        need: usize,
    ) -> std::io::Result<Option<(usize, usize)>>;
}

impl<R: Read> Source for R {
    fn more(
        &mut self,
        buf: &mut Vec<u8>,
        mut start: usize,
        mut end: usize,
        _need: usize,
    ) -> std::io::Result<Option<(usize, usize)>> {
        if start > 0 {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        if end >= buf.len() {
            // One record larger than the buffer: grow (doubling, so the allocation stays
            // proportional to the bytes actually delivered), never past the limit (callers
            // never wait for more than it).
            let new_len = buf.len().saturating_mul(2).clamp(1, MAX_RECORD_BYTES);
            if new_len <= buf.len() {
                return Ok(None);
            }
            buf.resize(new_len, 0);
        }
        read_after(self, buf, start, end)
    }
}

/// One `read()` into `buf[end..]` (retried when interrupted): `(start, end + got)`, or `None`
/// at the end of input.
pub(crate) fn read_after<R: Read>(
    source: &mut R,
    buf: &mut [u8],
    start: usize,
    end: usize,
) -> std::io::Result<Option<(usize, usize)>> {
    let Some(room) = buf.get_mut(end..) else {
        return Ok(None);
    };
    let room_len = room.len();
    loop {
        match source.read(room) {
            Ok(0) => return Ok(None),
            // A misbehaving reader may claim more than it was given: clamp.
            Ok(got) => return Ok(Some((start, end + got.min(room_len)))),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Streaming reader of classic pcap and pcapng captures from any [`Source`].
///
/// Built by [`CaptureReader::new`], which detects the format and validates the file header;
/// then [`CaptureReader::next_record`] yields records until `Ok(None)`. After an error or the
/// end of input the reader is finished: further calls return `Ok(None)`.
#[derive(Debug)]
pub struct CaptureReader<R> {
    inner: R,
    /// `buf[start..end]` holds input bytes not yet consumed; `stats.bytes` is the input offset
    /// of `buf[start]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    finished: bool,
    format: Format,
    state: State,
    warnings: Vec<Warning>,
    stats: ReaderStats,
}

impl<R: Source> CaptureReader<R> {
    /// Detect the format and read and validate the file header (pcapng: the first section
    /// header block), with a 1 MiB buffer.
    ///
    /// # Errors
    /// [`Error::Empty`], [`Error::NotACapture`], [`Error::ShortHeader`], [`Error::Corrupt`]
    /// (e.g. an unsupported version) or [`Error::Io`].
    pub fn new(inner: R) -> Result<Self, Error> {
        Self::with_capacity(inner, DEFAULT_BUFFER_BYTES)
    }

    /// Like [`CaptureReader::new`] with an initial buffer of `buffer_bytes` (raised to at
    /// least 64, capped at [`MAX_RECORD_BYTES`]). The buffer grows, up to
    /// [`MAX_RECORD_BYTES`], only if one record does not fit.
    ///
    /// # Errors
    /// As [`CaptureReader::new`].
    pub fn with_capacity(inner: R, buffer_bytes: usize) -> Result<Self, Error> {
        Self::with_buffer(inner, buffer_bytes, Vec::new())
    }

    /// Like [`CaptureReader::with_capacity`], in `buf` (a buffer of an earlier reader, its
    /// contents ignored) when it is large enough: no new allocation, no zeroing.
    pub(crate) fn with_buffer(
        inner: R,
        buffer_bytes: usize,
        mut buf: Vec<u8>,
    ) -> Result<Self, Error> {
        let size = buffer_bytes.clamp(MIN_BUFFER_BYTES, MAX_RECORD_BYTES);
        if buf.len() < size {
            buf = vec![0; size];
        } else {
            buf.truncate(size);
        }
        let mut reader = CaptureReader {
            inner,
            buf,
            start: 0,
            end: 0,
            eof: false,
            finished: false,
            format: Format::PcapNg,
            state: State::PcapNg {
                big_endian: false,
                interfaces: Vec::new(),
            },
            warnings: Vec::new(),
            stats: ReaderStats::default(),
        };
        reader.read_file_header()?;
        Ok(reader)
    }

    /// The next record, `Ok(None)` at the end of input (or when the input stops inside a
    /// record: see [`Warning::TruncatedRecord`]). The record borrows the reader's buffer.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for structurally invalid input, [`Error::Io`] if reading fails.
    /// Either finishes the reader.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        let Some(meta) = self.next_meta()? else {
            return Ok(None);
        };
        let caplen = meta.caplen as usize; // u32 -> usize: lossless on supported targets
        let data = meta
            .data_start
            .checked_add(caplen)
            .and_then(|stop| self.buf.get(meta.data_start..stop));
        let Some(data) = data else {
            // Unreachable: every path checked these bounds before consuming the record.
            self.finished = true;
            return Err(Error::Corrupt {
                offset: meta.offset,
                reason: "internal error: record outside the buffer".to_owned(),
            });
        };
        Ok(Some(Record {
            ts_nanos: meta.ts_nanos,
            linktype: meta.linktype,
            interface: meta.interface,
            caplen: meta.caplen,
            origlen: meta.origlen,
            data,
            offset: meta.offset,
        }))
    }

    /// The next record's fields and where its bytes lie in the buffer (`data_start`, checked
    /// to hold `caplen` bytes), without borrowing the buffer: as [`next_record`](Self::next_record).
    #[inline]
    pub(crate) fn next_meta(&mut self) -> Result<Option<Meta>, Error> {
        if self.finished {
            return Ok(None);
        }
        let step = match self.state {
            State::Pcap {
                big_endian,
                nanos,
                header_len,
                linktype,
            } => self.next_pcap(big_endian, nanos, header_len, linktype),
            State::PcapNg { .. } => self.next_pcapng(),
        };
        match step {
            Ok(Some(meta)) => Ok(Some(meta)),
            Ok(None) => {
                self.finished = true;
                Ok(None)
            }
            Err(e) => {
                self.finished = true;
                Err(e)
            }
        }
    }

    /// The bytes of the record `m` just returned by [`next_meta`](Self::next_meta) (empty if
    /// the buffer moved since).
    pub(crate) fn meta_data(&self, m: &Meta) -> &[u8] {
        m.data_start
            .checked_add(m.caplen as usize)
            .and_then(|stop| self.buf.get(m.data_start..stop))
            .unwrap_or_default()
    }

    /// The source, for a [`Source`] that keeps state between its calls.
    pub(crate) fn source_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Takes the buffer out (the reader is finished and empty after it).
    pub(crate) fn take_buffer(&mut self) -> Vec<u8> {
        self.finished = true;
        self.start = 0;
        self.end = 0;
        std::mem::take(&mut self.buf)
    }

    /// The detected container format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Input bytes consumed so far (file header and every record or block returned or skipped).
    pub fn offset(&self) -> u64 {
        self.stats.bytes
    }

    /// Warnings so far (each kind at most once).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReaderStats {
        &self.stats
    }

    /// The underlying reader. Bytes already read into the buffer but not consumed are lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    // ----- buffer -----

    /// Unconsumed bytes in the buffer.
    #[inline(always)]
    fn available(&self) -> usize {
        self.end - self.start
    }

    /// Make at least `n` (<= `MAX_RECORD_BYTES`) unconsumed bytes available; `Ok(false)` if the
    /// input ends first.
    #[inline(always)]
    fn fill(&mut self, n: usize) -> Result<bool, Error> {
        if self.available() >= n {
            return Ok(true);
        }
        self.fill_slow(n)
    }

    #[cold]
    #[inline(never)]
    fn fill_slow(&mut self, n: usize) -> Result<bool, Error> {
        while !self.eof && self.available() < n {
            match self.inner.more(&mut self.buf, self.start, self.end, n) {
                Ok(Some((start, end))) if start <= end && end <= self.buf.len() => {
                    self.start = start;
                    self.end = end;
                }
                Ok(_) => self.eof = true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io {
                        offset: self.stats.bytes.saturating_add(self.available() as u64),
                        source,
                    });
                }
            }
        }
        Ok(self.available() >= n)
    }

    /// Consume `n` bytes (already known to be available).
    #[inline(always)]
    fn consume(&mut self, n: usize) {
        self.start += n;
        self.stats.bytes += n as u64;
    }

    /// The input ended after `self.available()` bytes of a record that needs `needed` bytes:
    /// warn unless nothing at all was left, and end.
    #[cold]
    fn truncated(&mut self, needed: usize) -> Result<Option<Meta>, Error> {
        let available = self.available();
        if available > 0 {
            self.warnings.push(Warning::TruncatedRecord {
                offset: self.stats.bytes,
                needed: needed as u64,
                available: available as u64,
            });
        }
        Ok(None)
    }

    fn corrupt<T>(offset: u64, reason: String) -> Result<T, Error> {
        Err(Error::Corrupt { offset, reason })
    }

    // ----- file header -----

    fn read_file_header(&mut self) -> Result<(), Error> {
        let have_magic = self.fill(4)?;
        let available = self.available();
        let head = self.buf.get(self.start..self.end).unwrap_or_default();
        if available == 0 {
            return Err(Error::Empty);
        }
        if !have_magic {
            let prefix_of_magic = MAGICS.iter().any(|m| m.starts_with(head));
            if prefix_of_magic {
                return Err(Error::ShortHeader {
                    available: available as u64,
                });
            }
            let mut magic = [0u8; 4];
            for (dst, src) in magic.iter_mut().zip(head) {
                *dst = *src;
            }
            return Err(Error::NotACapture { magic });
        }
        let magic = array_at::<4>(&self.buf, self.start).unwrap_or_default();
        let (big_endian, nanos, modified) = match magic {
            [0xD4, 0xC3, 0xB2, 0xA1] => (false, false, false),
            [0xA1, 0xB2, 0xC3, 0xD4] => (true, false, false),
            [0x4D, 0x3C, 0xB2, 0xA1] => (false, true, false),
            [0xA1, 0xB2, 0x3C, 0x4D] => (true, true, false),
            [0x34, 0xCD, 0xB2, 0xA1] => (false, false, true),
            [0xA1, 0xB2, 0xCD, 0x34] => (true, false, true),
            [0x0A, 0x0D, 0x0D, 0x0A] => return self.read_first_shb(),
            other => return Err(Error::NotACapture { magic: other }),
        };
        if !self.fill(PCAP_FILE_HEADER)? {
            return Err(Error::ShortHeader {
                available: self.available() as u64,
            });
        }
        let hdr = array_at::<PCAP_FILE_HEADER>(&self.buf, self.start).unwrap_or_default();
        let major = u16_from([hdr[4], hdr[5]], big_endian);
        let minor = u16_from([hdr[6], hdr[7]], big_endian);
        if major != 2 {
            return Self::corrupt(
                4,
                format!("unsupported pcap version {major}.{minor} (expected 2.x)"),
            );
        }
        // Snaplen (bytes 16..20) is not needed: caplen > snaplen is tolerated, snaplen 0 too.
        // The link type is the low 16 bits of the network field; the upper bits hold FCS
        // information and reserved flags.
        let network = u32_from([hdr[20], hdr[21], hdr[22], hdr[23]], big_endian);
        self.format = Format::Pcap {
            nanos,
            big_endian,
            modified,
        };
        self.state = State::Pcap {
            big_endian,
            nanos,
            header_len: if modified {
                PCAP_MODIFIED_RECORD_HEADER
            } else {
                PCAP_RECORD_HEADER
            },
            linktype: LinkType(network & 0xFFFF),
        };
        self.consume(PCAP_FILE_HEADER);
        Ok(())
    }

    fn read_first_shb(&mut self) -> Result<(), Error> {
        self.format = Format::PcapNg;
        let short = |r: &Self| Error::ShortHeader {
            available: r.available() as u64,
        };
        if !self.fill(NG_BLOCK_OVERHEAD)? {
            return Err(short(self));
        }
        let (big_endian, len) = self.ng_block_head(NG_SHB)?;
        if !self.fill(len)? {
            return Err(short(self));
        }
        self.ng_check_trailer(len, big_endian)?;
        self.ng_section_header(len, big_endian)?;
        self.consume(len);
        Ok(())
    }

    // ----- classic pcap -----

    #[inline(always)]
    fn next_pcap(
        &mut self,
        big_endian: bool,
        nanos: bool,
        header_len: usize,
        linktype: LinkType,
    ) -> Result<Option<Meta>, Error> {
        if !self.fill(header_len)? {
            return self.truncated(header_len);
        }
        let Some(h) = array_at::<PCAP_RECORD_HEADER>(&self.buf, self.start) else {
            return self.truncated(header_len);
        };
        let ts_sec = u32_from([h[0], h[1], h[2], h[3]], big_endian);
        let ts_frac = u32_from([h[4], h[5], h[6], h[7]], big_endian);
        let caplen = u32_from([h[8], h[9], h[10], h[11]], big_endian);
        let origlen = u32_from([h[12], h[13], h[14], h[15]], big_endian);
        let offset = self.stats.bytes;
        let total = (caplen as usize).saturating_add(header_len);
        if total > MAX_RECORD_BYTES {
            return Self::corrupt(
                offset,
                format!(
                    "record claims {} bytes (limit {MAX_RECORD_BYTES})",
                    u64::from(caplen) + header_len as u64
                ),
            );
        }
        if !self.fill(total)? {
            return self.truncated(total);
        }
        // Seconds are unsigned (as libpcap and Wireshark read them); u32::MAX * 10^9 plus a
        // fraction of at most u32::MAX * 1000 fits i64, so this cannot overflow. A fraction
        // beyond one second (invalid) is simply added.
        let frac_nanos = if nanos {
            i64::from(ts_frac)
        } else {
            i64::from(ts_frac) * 1_000
        };
        let ts_nanos = i64::from(ts_sec) * 1_000_000_000 + frac_nanos;
        let data_start = self.start + header_len;
        self.consume(total);
        self.stats.records += 1;
        Ok(Some(Meta {
            ts_nanos,
            linktype,
            interface: 0,
            caplen,
            origlen,
            data_start,
            offset,
        }))
    }

    // ----- pcapng -----

    /// With at least 12 bytes available and the block type known: the block's byte order
    /// (from the byte-order magic for a section header, else the section's) and its validated
    /// total length.
    fn ng_block_head(&self, block_type: u32) -> Result<(bool, usize), Error> {
        let offset = self.stats.bytes;
        let big_endian = if block_type == NG_SHB {
            match u32_at(&self.buf, self.start + 8, false) {
                Some(NG_BOM) => false,
                Some(NG_BOM_SWAPPED) => true,
                other => {
                    return Self::corrupt(
                        offset + 8,
                        format!(
                            "pcapng byte-order magic 0x{:08x} is neither 0x1a2b3c4d nor its \
                             byte swap",
                            other.unwrap_or(0)
                        ),
                    );
                }
            }
        } else {
            match &self.state {
                State::PcapNg { big_endian, .. } => *big_endian,
                State::Pcap { .. } => false,
            }
        };
        let len = u32_at(&self.buf, self.start + 4, big_endian).unwrap_or(0);
        if !len.is_multiple_of(4) {
            return Self::corrupt(
                offset,
                format!("pcapng block length {len} is not a multiple of 4"),
            );
        }
        if len < NG_BLOCK_OVERHEAD as u32 {
            return Self::corrupt(
                offset,
                format!("pcapng block length {len} is less than the minimum of 12"),
            );
        }
        if len as usize > MAX_RECORD_BYTES {
            return Self::corrupt(
                offset,
                format!("pcapng block claims {len} bytes (limit {MAX_RECORD_BYTES})"),
            );
        }
        Ok((big_endian, len as usize))
    }

    /// With the whole block of `len` bytes available: its trailing length must repeat `len`.
    fn ng_check_trailer(&self, len: usize, big_endian: bool) -> Result<(), Error> {
        let trailer = u32_at(&self.buf, self.start + len - 4, big_endian).unwrap_or(0);
        if trailer as usize != len {
            return Self::corrupt(
                self.stats.bytes,
                format!("trailing block length {trailer} differs from {len}"),
            );
        }
        Ok(())
    }

    /// Validate a section header block of `len` bytes at `start` and open its section.
    fn ng_section_header(&mut self, len: usize, big_endian: bool) -> Result<(), Error> {
        let offset = self.stats.bytes;
        // Body: byte-order magic (4), major (2), minor (2), section length (8), options.
        if len < NG_BLOCK_OVERHEAD + 16 {
            return Self::corrupt(
                offset,
                format!("pcapng section header block length {len} is less than 28"),
            );
        }
        let major = u16_at(&self.buf, self.start + 12, big_endian).unwrap_or(0);
        let minor = u16_at(&self.buf, self.start + 14, big_endian).unwrap_or(0);
        if major != 1 {
            return Self::corrupt(
                offset + 12,
                format!("unsupported pcapng version {major}.{minor} (expected 1.x)"),
            );
        }
        self.stats.sections = self.stats.sections.saturating_add(1);
        match &mut self.state {
            State::PcapNg {
                big_endian: section_be,
                interfaces,
            } => {
                // A new section starts a new interface table (the allocation is reused).
                *section_be = big_endian;
                interfaces.clear();
            }
            State::Pcap { .. } => {
                self.state = State::PcapNg {
                    big_endian,
                    interfaces: Vec::new(),
                };
            }
        }
        Ok(())
    }

    /// Parse an interface description block of `len` bytes at `start` into its section's table.
    fn ng_interface(&mut self, len: usize, big_endian: bool) -> Result<(), Error> {
        let offset = self.stats.bytes;
        let body_start = self.start + 8;
        let body_end = self.start + len - 4;
        // Body: link type (2), reserved (2), snaplen (4), options.
        if len < NG_BLOCK_OVERHEAD + 8 {
            return Self::corrupt(
                offset,
                format!("pcapng interface description block length {len} is less than 20"),
            );
        }
        let linktype = u16_at(&self.buf, body_start, big_endian).unwrap_or(0);
        let snaplen = u32_at(&self.buf, body_start + 4, big_endian).unwrap_or(0);
        let mut scale = TsScale::Mul(1_000);
        let mut offset_secs: i64 = 0;
        let mut malformed = false;
        let mut at = body_start + 8;
        // Options: code (2), length (2), value padded to 4; opt_endofopt or the block's end
        // stops the walk. An option running past the block ends the walk: the options before it
        // are kept, a MalformedOptions warning is recorded.
        while at < body_end {
            let (Some(code), Some(opt_len)) = (
                u16_at(&self.buf, at, big_endian),
                u16_at(&self.buf, at + 2, big_endian),
            ) else {
                malformed = true;
                break;
            };
            if code == NG_OPT_END {
                break;
            }
            let value_start = at + 4;
            let value_end = value_start + usize::from(opt_len);
            let padded_end = value_start + usize::from(opt_len).next_multiple_of(4);
            if padded_end > body_end {
                malformed = true;
                break;
            }
            let value = self.buf.get(value_start..value_end).unwrap_or_default();
            match code {
                NG_OPT_IF_TSRESOL => {
                    if let Some(&resol) = value.first() {
                        scale = TsScale::from_tsresol(resol);
                    }
                }
                NG_OPT_IF_TSOFFSET => {
                    if let Some(b) = array_at::<8>(value, 0) {
                        offset_secs = if big_endian {
                            i64::from_be_bytes(b)
                        } else {
                            i64::from_le_bytes(b)
                        };
                    }
                }
                _ => {}
            }
            at = padded_end;
        }
        if malformed
            && !self
                .warnings
                .iter()
                .any(|w| matches!(w, Warning::MalformedOptions { .. }))
        {
            self.warnings.push(Warning::MalformedOptions { offset });
        }
        let State::PcapNg { interfaces, .. } = &mut self.state else {
            return Ok(());
        };
        if interfaces.len() >= MAX_INTERFACES {
            return Self::corrupt(
                offset,
                format!("more than {MAX_INTERFACES} interfaces in one pcapng section"),
            );
        }
        interfaces.push(Interface {
            linktype: LinkType(u32::from(linktype)),
            snaplen,
            scale,
            offset_ns: i128::from(offset_secs) * 1_000_000_000,
        });
        self.stats.interfaces = self.stats.interfaces.saturating_add(1);
        Ok(())
    }

    /// The interface `id` of the current section, or record the skip and `None`.
    fn ng_lookup(&mut self, id: u32) -> Option<Interface> {
        let found = match &self.state {
            State::PcapNg { interfaces, .. } => interfaces.get(id as usize).copied(),
            State::Pcap { .. } => None,
        };
        if found.is_none() {
            if self.stats.unknown_interface_records == 0 {
                self.warnings.push(Warning::UnknownInterface {
                    offset: self.stats.bytes,
                    interface: id,
                });
            }
            self.stats.unknown_interface_records += 1;
        }
        found
    }

    fn next_pcapng(&mut self) -> Result<Option<Meta>, Error> {
        loop {
            if !self.fill(8)? {
                return self.truncated(8);
            }
            let section_be = match &self.state {
                State::PcapNg { big_endian, .. } => *big_endian,
                State::Pcap { .. } => false,
            };
            // The section header's type is a palindrome, so reading it in the old byte order is
            // fine; its own byte order comes from its byte-order magic.
            let block_type = u32_at(&self.buf, self.start, section_be).unwrap_or(0);
            if block_type == NG_SHB && !self.fill(NG_BLOCK_OVERHEAD)? {
                return self.truncated(NG_BLOCK_OVERHEAD);
            }
            let (big_endian, len) = self.ng_block_head(block_type)?;
            if !self.fill(len)? {
                return self.truncated(len);
            }
            self.ng_check_trailer(len, big_endian)?;
            let offset = self.stats.bytes;
            let body = self.start + 8;
            let body_len = len - NG_BLOCK_OVERHEAD;
            match block_type {
                NG_SHB => {
                    self.ng_section_header(len, big_endian)?;
                    self.consume(len);
                }
                NG_IDB => {
                    self.ng_interface(len, big_endian)?;
                    self.consume(len);
                }
                NG_EPB | NG_OPB => {
                    // EPB body: interface (4), ts high (4), ts low (4), caplen (4), origlen (4).
                    // OPB body: interface (2), drops (2), then the same.
                    if body_len < 20 {
                        return Self::corrupt(
                            offset,
                            format!("pcapng packet block length {len} is less than 32"),
                        );
                    }
                    let interface = if block_type == NG_EPB {
                        u32_at(&self.buf, body, big_endian).unwrap_or(0)
                    } else {
                        u32::from(u16_at(&self.buf, body, big_endian).unwrap_or(0))
                    };
                    let ts_high = u32_at(&self.buf, body + 4, big_endian).unwrap_or(0);
                    let ts_low = u32_at(&self.buf, body + 8, big_endian).unwrap_or(0);
                    let caplen = u32_at(&self.buf, body + 12, big_endian).unwrap_or(0);
                    let origlen = u32_at(&self.buf, body + 16, big_endian).unwrap_or(0);
                    if caplen as usize > body_len - 20 {
                        return Self::corrupt(
                            offset,
                            format!(
                                "packet block caplen {caplen} exceeds its body ({} bytes)",
                                body_len - 20
                            ),
                        );
                    }
                    let Some(iface) = self.ng_lookup(interface) else {
                        self.consume(len);
                        continue;
                    };
                    let units = (u64::from(ts_high) << 32) | u64::from(ts_low);
                    self.consume(len);
                    self.stats.records += 1;
                    return Ok(Some(Meta {
                        ts_nanos: ng_ts_nanos(units, iface.scale, iface.offset_ns),
                        linktype: iface.linktype,
                        interface,
                        caplen,
                        origlen,
                        data_start: body + 20,
                        offset,
                    }));
                }
                NG_SPB => {
                    // Body: origlen (4), data padded to 4.
                    if body_len < 4 {
                        return Self::corrupt(
                            offset,
                            format!("pcapng simple packet block length {len} is less than 16"),
                        );
                    }
                    let origlen = u32_at(&self.buf, body, big_endian).unwrap_or(0);
                    let Some(iface) = self.ng_lookup(0) else {
                        self.consume(len);
                        continue;
                    };
                    let room = u32::try_from(body_len - 4).unwrap_or(u32::MAX);
                    let mut caplen = origlen.min(room);
                    if iface.snaplen != 0 {
                        caplen = caplen.min(iface.snaplen);
                    }
                    self.consume(len);
                    self.stats.records += 1;
                    return Ok(Some(Meta {
                        ts_nanos: 0,
                        linktype: iface.linktype,
                        interface: 0,
                        caplen,
                        origlen,
                        data_start: body + 4,
                        offset,
                    }));
                }
                _ => {
                    // Name resolution, interface statistics, decryption secrets, custom,
                    // systemd journal, process information, unknown: not needed here.
                    self.stats.blocks_skipped += 1;
                    self.consume(len);
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    /// Timestamp of `units` for an interface with `if_tsresol = resol` and
    /// `if_tsoffset = offset_secs`.
    pub(crate) fn ts(units: u64, resol: u8, offset_secs: i64) -> i64 {
        super::ng_ts_nanos(
            units,
            super::TsScale::from_tsresol(resol),
            i128::from(offset_secs) * 1_000_000_000,
        )
    }
}
