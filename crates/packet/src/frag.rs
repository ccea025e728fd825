//! IPv4/IPv6 fragment reassembly.
//!
//! Fragments are copied into a per-datagram buffer (the decoder's only allocation). A datagram
//! completes when its last fragment has been seen and the fragments cover it without a hole.
//! Policies:
//! - duplicate fragments (and overlaps whose common captured bytes agree) are accepted; their
//!   frames count in the completed datagram's `frames` / `wire_len`;
//! - overlapping fragments whose common captured bytes differ, two last fragments disagreeing on
//!   the length, data past the last fragment, a non-last fragment that is empty or not a multiple
//!   of 8 bytes, a datagram longer than IP allows, or more than [`MAX_FRAMES`] frames drop the
//!   whole datagram: the offending frame is returned as malformed, the frames already held are
//!   counted in `fragments_discarded`;
//! - fragments cut by the snapshot length are accepted: the bytes not captured are zero-filled,
//!   and the completed datagram exposes only its captured prefix (its declared length still
//!   counts);
//! - datagrams expire `frag_timeout_nanos` after their first fragment (capture time, checked
//!   lazily at each decode, in arrival order); past `frag_max_datagrams` or `frag_max_bytes`
//!   the oldest datagrams are evicted.
//!
//! Accounting invariant (tested): every frame answered `FragmentHeld` ends up exactly once in
//! the `frames` of a completed datagram, or in `fragments_expired`, `fragments_evicted`,
//! `fragments_discarded`, or is still pending.

use std::collections::VecDeque;

use foldhash::fast::RandomState;
use hashbrown::HashMap;

use crate::decoder::{DecodeStats, DecoderConfig};
use crate::parse::FragPiece;
use crate::types::{Addr, Malformed};

/// Most frames (duplicates included) one datagram may be made of.
pub(crate) const MAX_FRAMES: u32 = 2048;
/// `FragKey::proto` marker for IPv6 (IPv4 protocols fit in 8 bits).
const V6: u16 = 0x100;

/// Identity of a datagram being reassembled: (src, dst, id, protocol) for IPv4, (src, dst, id)
/// for IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    src: Addr,
    dst: Addr,
    id: u32,
    proto: u16,
}

impl FragKey {
    /// An IPv4 datagram.
    pub(crate) fn v4(src: Addr, dst: Addr, id: u16, proto: u8) -> Self {
        FragKey {
            src,
            dst,
            id: u32::from(id),
            proto: u16::from(proto),
        }
    }

    /// An IPv6 datagram.
    pub(crate) fn v6(src: Addr, dst: Addr, id: u32) -> Self {
        FragKey {
            src,
            dst,
            id,
            proto: V6,
        }
    }

    /// True for IPv6.
    pub(crate) fn is_v6(&self) -> bool {
        self.proto == V6
    }

    /// Source address.
    pub(crate) fn src(&self) -> Addr {
        self.src
    }

    /// Destination address.
    pub(crate) fn dst(&self) -> Addr {
        self.dst
    }
}

/// A datagram in progress.
#[derive(Debug)]
struct Datagram {
    /// Arrival order, to match `FragTable::order` entries.
    seq: u64,
    /// Frames held.
    frames: u32,
    /// Wire length of those frames.
    wire_len: u64,
    /// Data, zero-filled where not captured; as long as the furthest fragment end seen.
    buf: Vec<u8>,
    /// Byte ranges covered according to the headers (sorted, disjoint, merged).
    covered: Vec<(u32, u32)>,
    /// Byte ranges actually captured (sorted, disjoint, merged).
    captured: Vec<(u32, u32)>,
    /// Datagram length, once the last fragment has been seen.
    total: Option<u32>,
    /// Protocol of the fragmentable part, once the first fragment has been seen.
    next_header: Option<u8>,
}

/// A datagram completed by the current fragment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completed {
    /// Frames it was made of.
    pub(crate) frames: u32,
    /// Their summed wire length.
    pub(crate) wire_len: u64,
    /// Protocol of the fragmentable part.
    pub(crate) next_header: u8,
    /// Length of the datagram's fragmentable part according to the headers.
    pub(crate) total_len: u32,
}

/// Outcome of [`FragTable::insert`].
#[derive(Debug)]
pub(crate) enum Insert {
    /// Buffered (or dropped at once by the bounds, counted as evicted).
    Held,
    /// The fragment is malformed; its datagram was dropped.
    Malformed(Malformed),
    /// The datagram is complete: its bytes are [`FragTable::completed`].
    Complete(Completed),
}

/// The datagrams being reassembled.
#[derive(Debug, Default)]
pub(crate) struct FragTable {
    map: HashMap<FragKey, Datagram, RandomState>,
    /// (seq, first capture time, key) in arrival order; entries of datagrams that completed or
    /// were dropped stay until they reach the front or the queue is compacted.
    order: VecDeque<(u64, i64, FragKey)>,
    next_seq: u64,
    /// Sum of the buffers' lengths.
    bytes: usize,
    /// Frames held.
    frames: u64,
    /// Last completed datagram (valid until the next insert).
    completed: Vec<u8>,
    /// Captured prefix length of `completed`.
    completed_captured: usize,
}

/// Add `[s, e)` to a sorted, disjoint, merged range list.
fn add_range(v: &mut Vec<(u32, u32)>, s: u32, e: u32) {
    if s >= e {
        return;
    }
    let i = v.partition_point(|&(_, re)| re < s);
    let (mut ns, mut ne) = (s, e);
    let mut j = i;
    while let Some(&(rs, re)) = v.get(j) {
        if rs > ne {
            break;
        }
        ns = ns.min(rs);
        ne = ne.max(re);
        j += 1;
    }
    v.splice(i..j, [(ns, ne)]);
}

impl FragTable {
    /// True when some datagram may have reached its timeout at `now` (cheap: no hashing).
    #[inline]
    pub(crate) fn may_expire(&self, now: i64, timeout: i64) -> bool {
        self.order
            .front()
            .is_some_and(|&(_, ts, _)| now.saturating_sub(ts) > timeout)
    }

    /// The bytes of the last completed datagram that were captured (a prefix of the datagram).
    pub(crate) fn completed(&self) -> &[u8] {
        self.completed
            .get(..self.completed_captured)
            .unwrap_or_default()
    }

    /// Drop the datagrams whose first fragment is older than the timeout, in arrival order.
    pub(crate) fn expire(&mut self, now: i64, cfg: &DecoderConfig, stats: &mut DecodeStats) {
        while let Some(&(seq, ts, key)) = self.order.front() {
            if now.saturating_sub(ts) <= cfg.frag_timeout_nanos {
                break;
            }
            self.order.pop_front();
            if self.map.get(&key).is_some_and(|d| d.seq == seq)
                && let Some(dg) = self.remove(&key)
            {
                stats.fragments_expired += u64::from(dg.frames);
            }
        }
        self.sync(stats);
    }

    /// Drop everything, counting held frames as expired.
    pub(crate) fn flush(&mut self, stats: &mut DecodeStats) {
        for (_, dg) in self.map.drain() {
            stats.fragments_expired += u64::from(dg.frames);
        }
        self.order.clear();
        self.bytes = 0;
        self.frames = 0;
        self.sync(stats);
    }

    /// Remove a datagram, keeping the byte and frame totals.
    fn remove(&mut self, key: &FragKey) -> Option<Datagram> {
        let dg = self.map.remove(key)?;
        self.bytes = self.bytes.saturating_sub(dg.buf.len());
        self.frames = self.frames.saturating_sub(u64::from(dg.frames));
        Some(dg)
    }

    /// Drop the datagram of `key` (if any) for a malformed fragment.
    fn discard(&mut self, key: &FragKey, m: Malformed, stats: &mut DecodeStats) -> Insert {
        if let Some(dg) = self.remove(key) {
            stats.fragments_discarded += u64::from(dg.frames);
        }
        self.sync(stats);
        Insert::Malformed(m)
    }

    /// Evict the oldest datagram other than `except`; false when there is none.
    fn evict_oldest(&mut self, except: Option<&FragKey>, stats: &mut DecodeStats) -> bool {
        let mut kept = None;
        let mut evicted = false;
        while let Some((seq, ts, key)) = self.order.pop_front() {
            if self.map.get(&key).is_none_or(|d| d.seq != seq) {
                continue;
            }
            if except == Some(&key) {
                kept = Some((seq, ts, key));
                continue;
            }
            if let Some(dg) = self.remove(&key) {
                stats.fragments_evicted += u64::from(dg.frames);
            }
            evicted = true;
            break;
        }
        if let Some(k) = kept {
            self.order.push_front(k);
        }
        evicted
    }

    /// Mirror the pending totals into the statistics.
    fn sync(&self, stats: &mut DecodeStats) {
        stats.fragments_pending = self.frames;
        stats.datagrams_pending = self.map.len() as u64;
        stats.fragment_bytes_pending = self.bytes as u64;
        stats.fragment_bytes_peak = stats.fragment_bytes_peak.max(self.bytes as u64);
    }

    /// Add one fragment (from a frame captured at `ts_nanos`, `origlen` bytes on the wire).
    pub(crate) fn insert(
        &mut self,
        p: &FragPiece<'_>,
        ts_nanos: i64,
        origlen: u32,
        cfg: &DecoderConfig,
        stats: &mut DecodeStats,
    ) -> Insert {
        let key = p.key;
        let off = p.offset as usize;
        let len = p.len as usize;
        let end = off.saturating_add(len);
        let limit = if key.is_v6() { 65535 } else { 65535 - 20 };
        if end > limit {
            return self.discard(&key, Malformed::FragmentTooLong, stats);
        }
        if p.more && (len == 0 || !len.is_multiple_of(8)) {
            return self.discard(&key, Malformed::BadFragmentLength, stats);
        }
        // `end <= 65535`, so every offset below fits in u32.
        let (off32, end32) = (p.offset, end as u32);
        let cap = p.data.len().min(len);
        let data = p.data.get(..cap).unwrap_or_default();
        let cap_end32 = (off + cap) as u32;

        // Find or make the datagram.
        if !self.map.contains_key(&key) {
            if cfg.frag_max_datagrams == 0 {
                stats.fragments_held += 1;
                stats.fragments_evicted += 1;
                return Insert::Held;
            }
            while self.map.len() >= cfg.frag_max_datagrams {
                if !self.evict_oldest(None, stats) {
                    break;
                }
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.map.insert(
                key,
                Datagram {
                    seq,
                    frames: 0,
                    wire_len: 0,
                    buf: Vec::new(),
                    covered: Vec::new(),
                    captured: Vec::new(),
                    total: None,
                    next_header: None,
                },
            );
            self.order.push_back((seq, ts_nanos, key));
            if self.order.len() > 2 * self.map.len() + 32 {
                let map = &self.map;
                self.order
                    .retain(|(seq, _, k)| map.get(k).is_some_and(|d| d.seq == *seq));
            }
        }

        // Check the fragment against what is held.
        let Some(dg) = self.map.get(&key) else {
            return Insert::Held; // unreachable: inserted above
        };
        if let Some(total) = dg.total
            && (end32 > total || (!p.more && end32 != total))
        {
            return self.discard(&key, Malformed::FragmentInconsistentLength, stats);
        }
        if !p.more && dg.covered.last().is_some_and(|&(_, e)| e > end32) {
            return self.discard(&key, Malformed::FragmentInconsistentLength, stats);
        }
        if dg.frames >= MAX_FRAMES || dg.covered.len() >= MAX_FRAMES as usize {
            return self.discard(&key, Malformed::TooManyFragments, stats);
        }
        let overlap_differs = dg.captured.iter().any(|&(cs, ce)| {
            let (s, e) = (cs.max(off32), ce.min(cap_end32));
            s < e
                && dg.buf.get(s as usize..e as usize)
                    != data.get((s - off32) as usize..(e - off32) as usize)
        });
        if overlap_differs {
            return self.discard(&key, Malformed::FragmentOverlap, stats);
        }

        // Memory bound.
        let growth = end.saturating_sub(dg.buf.len());
        if growth > 0 && self.bytes.saturating_add(growth) > cfg.frag_max_bytes {
            while self.bytes.saturating_add(growth) > cfg.frag_max_bytes {
                if !self.evict_oldest(Some(&key), stats) {
                    break;
                }
            }
            if self.bytes.saturating_add(growth) > cfg.frag_max_bytes {
                if let Some(dg) = self.remove(&key) {
                    stats.fragments_evicted += u64::from(dg.frames);
                }
                stats.fragments_held += 1;
                stats.fragments_evicted += 1;
                self.sync(stats);
                return Insert::Held;
            }
        }

        // Store it.
        let Some(dg) = self.map.get_mut(&key) else {
            return Insert::Held; // unreachable: only other datagrams were evicted
        };
        if growth > 0 {
            dg.buf.resize(end, 0);
            self.bytes += growth;
        }
        if let Some(dst) = dg.buf.get_mut(off..off + cap) {
            dst.copy_from_slice(data);
        }
        add_range(&mut dg.covered, off32, end32);
        add_range(&mut dg.captured, off32, cap_end32);
        dg.frames += 1;
        dg.wire_len += u64::from(origlen);
        self.frames += 1;
        if !p.more {
            dg.total = Some(end32);
        }
        if off == 0 {
            dg.next_header = Some(p.next_header);
        }

        // Complete?
        let done = match (dg.total, dg.next_header) {
            (Some(total), Some(nh)) if dg.covered == [(0, total)] => Some((total, nh)),
            _ => None,
        };
        let Some((total, next_header)) = done else {
            stats.fragments_held += 1;
            self.sync(stats);
            return Insert::Held;
        };
        let Some(dg) = self.remove(&key) else {
            return Insert::Held; // unreachable: present above
        };
        stats.fragments_reassembled += u64::from(dg.frames);
        stats.datagrams_reassembled += 1;
        self.completed_captured = match dg.captured.first() {
            Some(&(0, e)) => e.min(total) as usize,
            _ => 0,
        };
        self.completed = dg.buf;
        self.completed.truncate(total as usize);
        self.sync(stats);
        Insert::Complete(Completed {
            frames: dg.frames,
            wire_len: dg.wire_len,
            next_header,
            total_len: total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::add_range;

    #[test]
    fn ranges_merge() {
        let mut v = Vec::new();
        add_range(&mut v, 10, 20);
        add_range(&mut v, 30, 40);
        assert_eq!(v, [(10, 20), (30, 40)]);
        add_range(&mut v, 20, 30);
        assert_eq!(v, [(10, 40)]);
        add_range(&mut v, 0, 5);
        add_range(&mut v, 50, 60);
        assert_eq!(v, [(0, 5), (10, 40), (50, 60)]);
        add_range(&mut v, 3, 55);
        assert_eq!(v, [(0, 60)]);
        add_range(&mut v, 7, 7);
        assert_eq!(v, [(0, 60)]);
        add_range(&mut v, 60, 61);
        assert_eq!(v, [(0, 61)]);
    }
}
