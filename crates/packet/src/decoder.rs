//! The [`Decoder`]: link type dispatch, fragment reassembly state and statistics.

use sfbflow_capture::Record;

use crate::Error;
use crate::frag::{FragTable, Insert};
use crate::parse::{self, Ctx, Out, Predecoded};
use crate::types::{Decoded, Malformed};

/// Bounds of the fragment reassembly state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// A datagram still incomplete this long (capture time) after its first fragment is dropped
    /// (default 30 s). Negative values are treated as 0 by [`Decoder::new`].
    pub frag_timeout_nanos: i64,
    /// Most datagrams in reassembly at once; past it the oldest is evicted (default 1024;
    /// 0 disables reassembly: every fragment is evicted at once).
    pub frag_max_datagrams: usize,
    /// Most bytes buffered for reassembly in total; past it the oldest datagrams are evicted
    /// (default 8 MiB).
    pub frag_max_bytes: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            frag_timeout_nanos: 30_000_000_000,
            frag_max_datagrams: 1024,
            frag_max_bytes: 8 << 20,
        }
    }
}

impl DecoderConfig {
    /// Check every field is within its domain.
    pub fn validate(&self) -> Result<(), Error> {
        if self.frag_timeout_nanos < 0 {
            return Err(Error::InvalidConfig {
                field: "frag_timeout_nanos",
                value: self.frag_timeout_nanos,
            });
        }
        Ok(())
    }
}

/// Decoder counters. Fragment accounting: every frame answered [`Decoded::FragmentHeld`]
/// (`fragments_held`) ends up exactly once in a completed datagram (`fragments_reassembled`
/// minus `datagrams_reassembled`, since the completing frame itself is not held), or in
/// `fragments_expired`, `fragments_evicted`, `fragments_discarded`, or `fragments_pending`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeStats {
    /// Fragment frames that went into completed datagrams (the completing frame included).
    pub fragments_reassembled: u64,
    /// Datagrams completed.
    pub datagrams_reassembled: u64,
    /// Frames answered [`Decoded::FragmentHeld`].
    pub fragments_held: u64,
    /// Held frames dropped on timeout (or by [`Decoder::flush`]).
    pub fragments_expired: u64,
    /// Held frames dropped for the datagram-count or memory bound.
    pub fragments_evicted: u64,
    /// Held frames dropped because a later fragment of their datagram was malformed (overlap
    /// with different bytes, inconsistent length...); that later frame is answered
    /// [`Decoded::Malformed`].
    pub fragments_discarded: u64,
    /// Frames held right now.
    pub fragments_pending: u64,
    /// Datagrams in reassembly right now.
    pub datagrams_pending: u64,
    /// Bytes buffered for reassembly right now.
    pub fragment_bytes_pending: u64,
    /// Largest `fragment_bytes_pending` seen.
    pub fragment_bytes_peak: u64,
}

/// Decodes frames to [`Decoded`] values, holding the fragment reassembly state.
#[derive(Debug, Default)]
pub struct Decoder {
    cfg: DecoderConfig,
    stats: DecodeStats,
    frags: FragTable,
}

impl Decoder {
    /// A decoder with the given bounds (a negative timeout is treated as 0).
    pub fn new(cfg: DecoderConfig) -> Self {
        let cfg = DecoderConfig {
            frag_timeout_nanos: cfg.frag_timeout_nanos.max(0),
            ..cfg
        };
        Decoder {
            cfg,
            stats: DecodeStats::default(),
            frags: FragTable::default(),
        }
    }

    /// A decoder with the given bounds, rejecting out-of-domain values.
    pub fn try_new(cfg: DecoderConfig) -> Result<Self, Error> {
        cfg.validate()?;
        Ok(Decoder::new(cfg))
    }

    /// The configuration in force.
    pub fn config(&self) -> &DecoderConfig {
        &self.cfg
    }

    /// Decode one frame. The result borrows the record's bytes, or, for a datagram completed
    /// by this fragment, the decoder's reassembly buffer (hence `&'a mut self`: valid until the
    /// next call).
    #[inline]
    pub fn decode<'a>(&'a mut self, rec: &Record<'a>) -> Decoded<'a> {
        self.expire_frags(rec.ts_nanos);
        if let Some(d) = parse::fast(rec.linktype, rec.data, rec.origlen) {
            return d;
        }
        self.decode_general(rec)
    }

    /// As [`decode`](Self::decode), with the fast path's answer for this frame already
    /// computed by [`predecode`](crate::predecode) (on the thread that read it, say): a frame
    /// the fast path took is not read again here, only sliced.
    #[inline]
    pub fn decode_predecoded<'a>(&'a mut self, rec: &Record<'a>, pre: &Predecoded) -> Decoded<'a> {
        self.expire_frags(rec.ts_nanos);
        if pre.is_packet() {
            return Decoded::Packet(pre.view(rec.data, rec.origlen));
        }
        self.decode_general(rec)
    }

    /// Drops the held fragments whose time is up at capture time `ts_nanos`.
    #[inline(always)]
    fn expire_frags(&mut self, ts_nanos: i64) {
        if self.frags.may_expire(ts_nanos, self.cfg.frag_timeout_nanos) {
            self.frags.expire(ts_nanos, &self.cfg, &mut self.stats);
        }
    }

    /// The general path (everything the fast path declines).
    #[inline(never)]
    fn decode_general<'a>(&'a mut self, rec: &Record<'a>) -> Decoded<'a> {
        let mut ctx = Ctx::new(rec.origlen);
        match parse::link(rec.linktype, rec.data, &mut ctx) {
            Out::Done(d) => d,
            Out::Frag(piece) => self.reassemble(&piece, rec),
        }
    }

    /// Add a fragment; decode the datagram it completes, if any.
    #[inline(never)]
    fn reassemble<'a>(&'a mut self, piece: &parse::FragPiece<'a>, rec: &Record<'a>) -> Decoded<'a> {
        let done =
            match self
                .frags
                .insert(piece, rec.ts_nanos, rec.origlen, &self.cfg, &mut self.stats)
            {
                Insert::Held => return Decoded::FragmentHeld,
                Insert::Malformed(m) => return Decoded::Malformed(m),
                Insert::Complete(done) => done,
            };
        let this: &'a Decoder = self;
        let data = this.frags.completed();
        let mut ctx = Ctx {
            frames: done.frames,
            wire_len: done.wire_len,
            reassembled: true,
            ..piece.ctx
        };
        let (src, dst) = (piece.key.src(), piece.key.dst());
        let total = done.total_len as usize;
        let out = if piece.key.is_v6() {
            parse::ipv6_ext(done.next_header, src, dst, data, total, &mut ctx)
        } else {
            parse::ip_payload(done.next_header, src, dst, data, total, &mut ctx)
        };
        match out {
            Out::Done(d) => d,
            // Unreachable: the parsers answer NestedFragment inside a reassembled datagram.
            Out::Frag(_) => Decoded::Malformed(Malformed::NestedFragment),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// End of input: drop the held fragments, counting them as expired.
    pub fn flush(&mut self) {
        self.frags.flush(&mut self.stats);
    }
}
