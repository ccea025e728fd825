//! The run's counters, gathered by the pipeline and reported by the sinks.

/// What happened to one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputStats {
    /// The input as named on the command line (`-` for standard input).
    pub name: String,
    /// `pcap (microseconds, little-endian)`, `pcapng`, ...
    pub format: String,
    /// Input bytes consumed.
    pub bytes: u64,
    /// Records read.
    pub records: u64,
    /// Non-fatal problems (truncated last record, ...), one line each.
    pub warnings: Vec<String>,
    /// The error that ended reading this input early, if any.
    pub error: Option<String>,
}

/// How far (either way) a frame's timestamp may lie from the capture's clock, the latest time
/// seen, before it counts as a jump: 30 days. Captures do not pause that long between two
/// frames; corrupt or hand-made timestamps do.
pub const MAX_TIME_JUMP_NANOS: i64 = 30 * 86_400 * 1_000_000_000;

/// Counters of a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    /// One entry per input, in order.
    pub inputs: Vec<InputStats>,
    /// Frames read.
    pub packets: u64,
    /// Original (on-the-wire) bytes of those frames.
    pub wire_bytes: u64,
    /// Frames that made a TCP or UDP packet (fragments of a reassembled datagram included).
    pub transport_packets: u64,
    /// IP frames of other protocols, by IP protocol number, sorted.
    pub other_ip: Vec<(u8, u64)>,
    /// Non-IP frames (ARP, LLDP, ...).
    pub not_ip: u64,
    /// Frames with an unsupported link type, by link type, sorted.
    pub unsupported_link: Vec<(u32, u64)>,
    /// Malformed frames by reason, sorted by reason.
    pub malformed: Vec<(&'static str, u64)>,
    /// IP datagrams reassembled from fragments.
    pub datagrams_reassembled: u64,
    /// Fragment frames dropped: their datagram never completed in time.
    pub fragments_expired: u64,
    /// Fragment frames dropped to keep reassembly within its memory bound.
    pub fragments_evicted: u64,
    /// Fragment frames dropped with a malformed datagram (overlaps, bad lengths).
    pub fragments_discarded: u64,
    /// Flows ended early because the table was full.
    pub flows_evicted: u64,
    /// Most flows live at once.
    pub peak_live_flows: u64,
    /// Frames whose timestamp went backwards.
    pub packets_out_of_order: u64,
    /// Frames whose timestamp lay more than [`MAX_TIME_JUMP_NANOS`] away from the capture's
    /// clock (a corrupt timestamp, a clock set wrong): each kept its time for its flow but
    /// moved no clock, so no timeout or rotation followed it.
    pub frames_off_clock: u64,
    /// Times two frames in a row agreed on a time more than [`MAX_TIME_JUMP_NANOS`] away from
    /// the clock, and the clock moved there: forward, the live flows idled out; backward, they
    /// were ended at once. Idle timeouts and rotation went on from the new time.
    pub clock_jumps: u64,
    /// Each client's sign-in discovery (the poster's DNS lookup order), one line per client and
    /// domain, at most a bounded number of clients. Empty at the end of a run without a sink
    /// that shows them ([`Sink::shows_signin_paths`](crate::Sink::shows_signin_paths)).
    pub signin_paths: Vec<String>,
    /// A signal ended the run: the flows live at that moment were ended and written.
    pub stopped_by_signal: bool,
    /// Payload inspection counters (`tcp streams with a gap`, `SIP messages too large`, ...),
    /// only the non-zero ones, by name.
    pub inspection: Vec<(&'static str, u64)>,
}

impl RunStats {
    /// Total malformed frames.
    pub fn malformed_total(&self) -> u64 {
        self.malformed.iter().map(|(_, n)| n).sum()
    }

    /// Whether any input had a warning or an error.
    pub fn had_problems(&self) -> bool {
        self.inputs
            .iter()
            .any(|i| !i.warnings.is_empty() || i.error.is_some())
    }
}
