//! Capture reading: bytes to [`Record`]s, for classic pcap (microsecond, nanosecond and
//! "modified" variants, either byte order) and pcapng (any number of sections, interfaces and
//! byte orders), from any [`std::io::Read`] (a file or standard input) through one bounded,
//! reused buffer.
//!
//! ```no_run
//! # fn main() -> Result<(), sfbflow_capture::Error> {
//! let file = std::fs::File::open("input.pcapng").map_err(|source| {
//!     sfbflow_capture::Error::Io { offset: 0, source }
//! })?;
//! let mut reader = sfbflow_capture::CaptureReader::new(file)?;
//! while let Some(record) = reader.next_record()? {
//!     let _ = (record.ts_nanos, record.linktype, record.data);
//! }
//! for warning in reader.warnings() {
//!     let _ = warning.to_string();
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Design:
//! - One code path for files and pipes: a reused buffer filled by `read()` (short reads and
//!   `Interrupted` are handled), compacted when a record straddles its end, grown only when a
//!   single record is larger than the buffer and never past [`MAX_RECORD_BYTES`]. No seeking, no
//!   whole-file loads, no allocation per record.
//! - The file header (and for pcapng the first section header block) is validated once at
//!   construction; accessors cannot panic.
//! - Input that simply stops inside a record or block is not an error: everything before it is
//!   returned, then `Ok(None)`, and a [`Warning::TruncatedRecord`] is recorded. Input that is
//!   structurally wrong (impossible lengths, mismatched trailers, unsupported versions) is an
//!   [`Error::Corrupt`] naming the byte offset of the offending record or block.
//! - pcapng interface options are walked with bounds checks; an option running past its block
//!   ends the walk (the options before it still apply) and records a
//!   [`Warning::MalformedOptions`] rather than failing the whole capture.
//! - Each kind of [`Warning`] is recorded at most once, so memory stays bounded; the
//!   [`ReaderStats`] counters say how often things happened.

mod follow;
mod parseahead;
mod reader;

#[cfg(test)]
mod tests;

pub use follow::{FOLLOW_POLL, Follow};
pub use parseahead::{
    NoteFn, ParseAhead, Queued, READ_AHEAD_CHUNK, READ_AHEAD_DEPTH, READ_AHEAD_HEADROOM,
    end_of_inputs,
};
pub use reader::{CaptureReader, Source};

/// A reader of records, one lent at a time: a [`CaptureReader`] (reads and parses on the
/// caller's thread) or a [`ParseAhead`] (reads and parses on a thread of its own). Both return
/// the same records, errors, warnings and counters for the same input.
pub trait Records {
    /// The next record, `Ok(None)` at the end of input; see [`CaptureReader::next_record`].
    ///
    /// # Errors
    /// [`Error::Corrupt`] for structurally invalid input, [`Error::Io`] if reading fails.
    fn next_record(&mut self) -> Result<Option<Record<'_>>, Error>;
    /// The detected container format.
    fn format(&self) -> Format;
    /// Input bytes consumed so far.
    fn offset(&self) -> u64;
    /// Warnings so far (each kind at most once).
    fn warnings(&self) -> &[Warning];
    /// Counters so far.
    fn stats(&self) -> &ReaderStats;
}

impl<R: Source> Records for CaptureReader<R> {
    #[inline]
    fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        CaptureReader::next_record(self)
    }
    fn format(&self) -> Format {
        CaptureReader::format(self)
    }
    fn offset(&self) -> u64 {
        CaptureReader::offset(self)
    }
    fn warnings(&self) -> &[Warning] {
        CaptureReader::warnings(self)
    }
    fn stats(&self) -> &ReaderStats {
        CaptureReader::stats(self)
    }
}

/// Largest record (classic pcap: record header plus captured bytes) or block (pcapng: total
/// block length) accepted. Anything claiming more is [`Error::Corrupt`]; the reader's buffer
/// never grows past this.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// A link-layer header type (LINKTYPE_* / DLT_* number). Open newtype: any value can appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP (RFC 1661 protocol field first).
    pub const PPP: LinkType = LinkType(9);
    /// Raw IP (OpenBSD value).
    pub const RAW_12: LinkType = LinkType(12);
    /// Raw IP (alternative value).
    pub const RAW_14: LinkType = LinkType(14);
    /// PPP in HDLC-like framing.
    pub const PPP_HDLC: LinkType = LinkType(50);
    /// Raw IPv4 or IPv6, decided by the version nibble.
    pub const RAW: LinkType = LinkType(101);
    /// IEEE 802.11 without radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// OpenBSD loopback: address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// IEEE 802.11 with a radiotap header.
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    /// Per-Packet Information header.
    pub const PPI: LinkType = LinkType(192);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux netfilter NFLOG.
    pub const NFLOG: LinkType = LinkType(239);
    /// Apple PKTAP.
    pub const PKTAP: LinkType = LinkType(258);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// The container format of the input, as detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format.
    Pcap {
        /// Timestamps carry nanoseconds (magic `a1b23c4d`) rather than microseconds.
        nanos: bool,
        /// The file was written big-endian.
        big_endian: bool,
        /// The "modified" (Alexey Kuznetsov) variant, magic `a1b2cd34`, with 24-byte record
        /// headers (the usual 16 bytes, then ifindex, protocol, packet type and padding).
        modified: bool,
    },
    /// pcapng; byte order may change from one section to the next.
    PcapNg,
}

/// One captured frame. `data` borrows the reader's buffer until the next call to the reader.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Capture time in nanoseconds since the Unix epoch, UTC (saturating at the `i64` range).
    /// pcapng Simple Packet Blocks carry no timestamp: their records have `ts_nanos == 0`.
    pub ts_nanos: i64,
    /// Link-layer type of the interface the frame was captured on.
    pub linktype: LinkType,
    /// pcapng interface id within its section (0 for classic pcap).
    pub interface: u32,
    /// Bytes captured; equals `data.len()`.
    pub caplen: u32,
    /// Length of the frame on the wire.
    pub origlen: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Byte offset of this record's header (pcapng: its block) in the input.
    pub offset: u64,
}

/// Something odd in the input that did not stop reading. Each kind is recorded at most once
/// per reader, so the list stays small whatever the input; [`ReaderStats`] has the counts.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The input ended inside a record or block (or its header): that partial record was
    /// dropped, everything before it was returned.
    TruncatedRecord {
        /// Byte offset of the cut-off record or block.
        offset: u64,
        /// Bytes the record or block (or, if its length was not yet known, its header) needs.
        needed: u64,
        /// Bytes of it that the input actually held.
        available: u64,
    },
    /// A pcapng packet block refers to an interface that no Interface Description Block of its
    /// section described. The record is skipped; only the first is reported here, all are
    /// counted in [`ReaderStats::unknown_interface_records`].
    UnknownInterface {
        /// Byte offset of the packet block.
        offset: u64,
        /// The interface id it names.
        interface: u32,
    },
    /// A pcapng Interface Description Block's options run past the end of the block. The
    /// options before the bad one are used, the rest ignored (only the first such block is
    /// reported).
    MalformedOptions {
        /// Byte offset of the Interface Description Block.
        offset: u64,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::TruncatedRecord {
                offset,
                needed,
                available,
            } => write!(
                f,
                "input ends inside the record at byte {offset}: it needs {needed} bytes, \
                 only {available} present (partial record dropped)"
            ),
            Warning::UnknownInterface { offset, interface } => write!(
                f,
                "packet block at byte {offset} refers to undescribed interface {interface} \
                 (skipped; later ones are only counted)"
            ),
            Warning::MalformedOptions { offset } => write!(
                f,
                "interface description block at byte {offset} has options running past its \
                 end (remaining options ignored)"
            ),
        }
    }
}

/// Why a capture could not be read (further).
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// The underlying reader failed.
    #[error("read error at byte {offset}")]
    Io {
        /// Input position at which the read was attempted.
        offset: u64,
        /// The error returned by the reader.
        #[source]
        source: std::io::Error,
    },
    /// The input holds zero bytes.
    #[error("empty input (zero bytes): expected a pcap or pcapng file header at byte 0")]
    Empty,
    /// The first four bytes are no pcap or pcapng magic number.
    #[error(
        "not a pcap or pcapng file (starts with 0x{:02x}{:02x}{:02x}{:02x}): expected at byte 0 \
         a pcap magic number (a1b2c3d4, a1b23c4d or a1b2cd34, either byte order) or a pcapng \
         section header block (0a0d0d0a)",
        magic[0], magic[1], magic[2], magic[3]
    )]
    NotACapture {
        /// The first four bytes of the input (zero-padded if shorter).
        magic: [u8; 4],
    },
    /// The input ends inside the file header (pcapng: inside the first section header block).
    #[error(
        "input ends inside the file header at byte {available}: expected 24 bytes of pcap \
         header or a pcapng section header block of at least 28"
    )]
    ShortHeader {
        /// Bytes the input held.
        available: u64,
    },
    /// The input is structurally invalid at `offset` (the start of the offending record or
    /// block, or of the offending header field).
    #[error("corrupt capture at byte {offset}: {reason}")]
    Corrupt {
        /// Byte offset of the offending record, block or field.
        offset: u64,
        /// What is wrong, with the numbers involved.
        reason: String,
    },
}

/// Counters kept while reading.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// Records returned.
    pub records: u64,
    /// Input bytes consumed (file header, records and blocks, including skipped ones).
    pub bytes: u64,
    /// pcapng section header blocks seen (0 for classic pcap).
    pub sections: u32,
    /// pcapng interface description blocks seen, over all sections (0 for classic pcap).
    pub interfaces: u32,
    /// pcapng blocks skipped: name resolution, statistics, decryption secrets, custom, unknown.
    pub blocks_skipped: u64,
    /// pcapng packet blocks skipped because they name an undescribed interface.
    pub unknown_interface_records: u64,
}
