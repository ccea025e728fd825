//! In-order reassembly of one direction of a TCP stream, bounded, for the parsers that need a
//! message whole (a ClientHello split across segments, a SIP message with its SDP body).
//!
//! Segments are placed by sequence number: the next expected one is appended, a retransmission
//! or an overlap contributes only its new bytes, and a segment that arrives early waits (at most
//! [`MAX_PENDING`] of them, within the buffer's bound) until the gap before it closes. A gap that
//! never closes, or a segment cut short by the capture's snapshot length, ends the stream: what
//! was reassembled before stays readable. Nothing here can grow beyond the capacity given.

/// Early segments held at most while waiting for a gap to close.
pub const MAX_PENDING: usize = 8;

/// Why a stream stopped taking bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The buffer reached its capacity.
    Full,
    /// A gap did not close (lost or unseen segments), or a segment was cut by the snapshot length.
    Gap,
}

/// One direction of a TCP stream, reassembled in order.
#[derive(Debug, Clone, Default)]
pub struct StreamBuf {
    /// Sequence number of the next byte expected (after `data`).
    next_seq: Option<u32>,
    /// Bytes in order, not yet consumed.
    data: Vec<u8>,
    /// Bytes consumed from the front so far.
    consumed: u64,
    /// Early segments: (sequence number, bytes).
    pending: Vec<(u32, Vec<u8>)>,
    end: Option<StreamEnd>,
    cap: usize,
}

impl StreamBuf {
    /// A stream that holds at most `cap` unconsumed bytes.
    pub fn new(cap: usize) -> Self {
        StreamBuf {
            cap,
            ..StreamBuf::default()
        }
    }

    /// The unconsumed bytes, in order.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Why the stream stopped taking bytes, if it did.
    pub fn end(&self) -> Option<StreamEnd> {
        self.end
    }

    /// Bytes consumed so far (the stream offset of `data()[0]`).
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Drops `n` bytes from the front (a parsed message).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.data.len());
        self.data.drain(..n);
        self.consumed += n as u64;
    }

    /// Drops everything: the caller has finished with the stream.
    pub fn close(&mut self) {
        self.data = Vec::new();
        self.pending = Vec::new();
        self.end.get_or_insert(StreamEnd::Full);
    }

    /// Adds one segment. `complete` is false when the capture cut the segment short (its bytes
    /// are not all there). Returns whether new in-order bytes were added.
    pub fn push(&mut self, seq: u32, payload: &[u8], complete: bool) -> bool {
        if self.end.is_some() || payload.is_empty() {
            return false;
        }
        let Some(next) = self.next_seq else {
            // The first segment seen starts the stream.
            self.next_seq = Some(seq);
            return self.place(seq, payload, complete);
        };
        let ahead = seq.wrapping_sub(next);
        if ahead == 0 || ahead > u32::MAX / 2 {
            // In order, or starting before `next` (a retransmission or an overlap).
            let grew = self.place(seq, payload, complete);
            let grew_more = self.drain_pending();
            return grew || grew_more;
        }
        // Early: hold it until the gap closes.
        if !complete {
            self.end = Some(StreamEnd::Gap);
            return false;
        }
        let held: usize = self.pending.iter().map(|(_, b)| b.len()).sum();
        if self.pending.len() >= MAX_PENDING || self.data.len() + held + payload.len() > self.cap {
            self.end = Some(StreamEnd::Gap);
            self.pending = Vec::new();
            return false;
        }
        if !self.pending.iter().any(|(s, _)| *s == seq) {
            self.pending.push((seq, payload.to_vec()));
        }
        false
    }

    /// Appends the part of a segment at `seq` that lies at or after `next_seq`.
    fn place(&mut self, seq: u32, payload: &[u8], complete: bool) -> bool {
        let Some(next) = self.next_seq else {
            return false;
        };
        let skip = next.wrapping_sub(seq) as usize;
        let Some(new) = payload.get(skip..) else {
            // Wholly old bytes: a retransmission.
            return false;
        };
        if new.is_empty() {
            return false;
        }
        if !complete {
            // The capture cut this segment: the stream cannot go on past its start.
            self.end = Some(StreamEnd::Gap);
            return false;
        }
        let room = self.cap.saturating_sub(self.data.len());
        let take = new.len().min(room);
        let Some(part) = new.get(..take) else {
            return false;
        };
        self.data.extend_from_slice(part);
        self.next_seq = Some(next.wrapping_add(take as u32));
        if take < new.len() {
            self.end = Some(StreamEnd::Full);
            self.pending = Vec::new();
        }
        take > 0
    }

    /// Moves early segments that are now in order into the data.
    fn drain_pending(&mut self) -> bool {
        let mut grew = false;
        loop {
            let Some(next) = self.next_seq else {
                return grew;
            };
            // A held segment that starts at or before `next` (and is not wholly old) fits now.
            let Some(i) = self
                .pending
                .iter()
                .position(|(s, _)| next.wrapping_sub(*s) <= u32::MAX / 2)
            else {
                return grew;
            };
            let (seq, bytes) = self.pending.swap_remove(i);
            grew |= self.place(seq, &bytes, true);
            if self.end.is_some() {
                return grew;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_segments_join() {
        let mut s = StreamBuf::new(64);
        assert!(s.push(1000, b"hello ", true));
        assert!(s.push(1006, b"world", true));
        assert_eq!(s.data(), b"hello world");
        s.consume(6);
        assert_eq!(s.data(), b"world");
        assert_eq!(s.consumed(), 6);
        assert!(s.push(1011, b"!", true));
        assert_eq!(s.data(), b"world!");
    }

    #[test]
    fn retransmissions_and_overlaps_add_only_new_bytes() {
        let mut s = StreamBuf::new(64);
        s.push(1, b"abcd", true);
        assert!(!s.push(1, b"abcd", true));
        assert!(s.push(3, b"cdef", true));
        assert_eq!(s.data(), b"abcdef");
    }

    #[test]
    fn early_segments_wait_for_the_gap() {
        let mut s = StreamBuf::new(64);
        s.push(10, b"ab", true);
        assert!(!s.push(14, b"ef", true));
        assert_eq!(s.data(), b"ab");
        assert!(s.push(12, b"cd", true));
        assert_eq!(s.data(), b"abcdef");
        assert_eq!(s.end(), None);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut s = StreamBuf::new(64);
        s.push(u32::MAX - 1, b"ab", true);
        assert!(s.push(0, b"cd", true));
        assert_eq!(s.data(), b"abcd");
    }

    #[test]
    fn the_capacity_bounds_the_buffer() {
        let mut s = StreamBuf::new(5);
        s.push(0, b"abc", true);
        s.push(3, b"defgh", true);
        assert_eq!(s.data(), b"abcde");
        assert_eq!(s.end(), Some(StreamEnd::Full));
        assert!(!s.push(8, b"x", true));
    }

    #[test]
    fn too_many_early_segments_end_the_stream() {
        let mut s = StreamBuf::new(1 << 20);
        s.push(0, b"a", true);
        for i in 0..=MAX_PENDING as u32 {
            s.push(100 + 10 * i, b"zz", true);
        }
        assert_eq!(s.end(), Some(StreamEnd::Gap));
        assert_eq!(s.data(), b"a");
    }

    #[test]
    fn a_cut_segment_ends_the_stream_after_what_came_before() {
        let mut s = StreamBuf::new(64);
        s.push(0, b"abc", true);
        assert!(!s.push(3, b"de", false));
        assert_eq!(s.end(), Some(StreamEnd::Gap));
        assert_eq!(s.data(), b"abc");
    }

    proptest::proptest! {
        /// Any split of a message into segments, delivered in any order with duplicates,
        /// reassembles to the message (within the pending bound).
        #[test]
        fn any_split_reassembles(msg in proptest::collection::vec(proptest::num::u8::ANY, 1..400),
                                 cuts in proptest::collection::vec(1usize..400, 0..6),
                                 order_seed in proptest::num::u64::ANY,
                                 isn in proptest::num::u32::ANY) {
            let mut points: Vec<usize> = cuts.into_iter().filter(|c| *c < msg.len()).collect();
            points.sort_unstable();
            points.dedup();
            let mut bounds = vec![0];
            bounds.extend(points);
            bounds.push(msg.len());
            let mut segs: Vec<(u32, &[u8])> = bounds
                .windows(2)
                .filter_map(|w| Some((isn.wrapping_add(*w.first()? as u32), msg.get(*w.first()?..*w.get(1)?)?)))
                .collect();
            // The first segment first (it sets the start), the rest shuffled, one duplicated.
            let rest = segs.split_off(1);
            let mut rest: Vec<(u32, &[u8])> = rest;
            let n = rest.len();
            if n > 1 {
                for i in 0..n {
                    let j = ((order_seed >> (i % 60)) as usize + i) % n;
                    rest.swap(i, j);
                }
            }
            if let Some(d) = rest.first().copied() {
                rest.push(d);
            }
            let mut s = StreamBuf::new(4096);
            for (seq, b) in segs.iter().chain(rest.iter()) {
                s.push(*seq, b, true);
            }
            proptest::prop_assert_eq!(s.data(), &msg[..]);
        }
    }
}
