//! [`ReadAhead`]: a [`Source`] that reads its source on a background thread, so that the
//! `read()` system calls (and, on a pipe, the writer's turns) overlap with the decoding of what
//! was read before. Its chunks become the [`CaptureReader`](crate::CaptureReader)'s buffer as
//! they are: each is read with room in front of its data, where the few unconsumed bytes of the
//! chunk before (the start of a record cut by the chunk boundary) are put, so the input is
//! copied once, by the kernel, and not again.
//!
//! Memory is bounded: at most `depth` chunks of `chunk_bytes` are in flight, and chunks are
//! recycled, so a stream of any length allocates `depth + 2` chunks once.
//!
//! A chunk is handed over when it is full or when a read came back short (a pipe had no more
//! bytes at that moment): a live capture's packets reach the decoder as they arrive, not once a
//! chunk has filled. With a stop flag ([`ReadAhead::with_stop`]) the consumer sees the end of
//! the input soon after the flag is raised, even while the source is blocked waiting for data.

use std::io::{self, Read};

use crate::reader::Source;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a consumer waiting for data looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Room kept in front of each chunk's data for the unconsumed bytes of the chunk before: a
/// record cut by the chunk boundary that fits is joined without copying the chunk.
pub const READ_AHEAD_HEADROOM: usize = 64 * 1024;

/// What the reading thread sends: a filled chunk, the end, or an error.
enum Msg {
    /// A chunk and how many of its bytes are data, from [`READ_AHEAD_HEADROOM`] on (the rest is
    /// stale: chunks are recycled at their full length, so that a short read never costs
    /// zeroing a whole chunk again).
    Data(Vec<u8>, usize),
    End,
    Error(io::Error),
}

/// Reads a source on a background thread, `depth` chunks ahead of the consumer.
pub struct ReadAhead {
    rx: Receiver<Msg>,
    recycle: SyncSender<Vec<u8>>,
    /// Chunks are recycled only at this capacity or below (the reader may hand back a buffer it
    /// grew for one large record).
    chunk_capacity: usize,
    done: bool,
    thread: Option<JoinHandle<()>>,
    stop: Option<Arc<AtomicBool>>,
    /// The input was ended by the stop flag; the reading thread may still be blocked.
    stopped: bool,
}

impl std::fmt::Debug for ReadAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadAhead")
            .field("done", &self.done)
            .finish()
    }
}

/// Default chunk size: 1 MiB.
pub const READ_AHEAD_CHUNK: usize = 1 << 20;
/// Default number of chunks in flight.
pub const READ_AHEAD_DEPTH: usize = 4;

impl ReadAhead {
    /// Starts reading `source` on a new thread with the default chunk size and depth.
    pub fn new<R: Read + Send + 'static>(source: R) -> io::Result<Self> {
        Self::with_chunks(source, READ_AHEAD_CHUNK, READ_AHEAD_DEPTH)
    }

    /// Starts reading `source` on a new thread, `depth` chunks of `chunk_bytes` ahead.
    pub fn with_chunks<R: Read + Send + 'static>(
        mut source: R,
        chunk_bytes: usize,
        depth: usize,
    ) -> io::Result<Self> {
        let chunk_bytes = chunk_bytes.max(1);
        let total = READ_AHEAD_HEADROOM + chunk_bytes;
        let depth = depth.max(1);
        let (tx, rx) = sync_channel::<Msg>(depth);
        let (recycle, spare) = sync_channel::<Vec<u8>>(depth + 2);
        let thread = std::thread::Builder::new()
            .name("sfbflow-read".into())
            .spawn(move || {
                loop {
                    let mut buf = spare
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(total));
                    buf.resize(total, 0);
                    let mut filled = 0;
                    // Fill the chunk, reach the end, or stop at a short read: a pipe had no
                    // more bytes just then, so what came is handed over now.
                    let outcome = loop {
                        let asked = chunk_bytes - filled;
                        let at = READ_AHEAD_HEADROOM + filled;
                        match buf.get_mut(at..).map(|b| source.read(b)) {
                            Some(Ok(0)) => break Ok(true),
                            Some(Ok(n)) => {
                                filled += n;
                                if filled >= chunk_bytes || n < asked {
                                    break Ok(false);
                                }
                            }
                            Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                            Some(Err(e)) => break Err(e),
                            None => break Ok(false),
                        }
                    };
                    if filled > 0 && tx.send(Msg::Data(buf, filled)).is_err() {
                        return; // the consumer went away
                    }
                    let last = match outcome {
                        Ok(true) => Msg::End,
                        Ok(false) => continue,
                        Err(e) => Msg::Error(e),
                    };
                    let _ = tx.send(last);
                    return;
                }
            })?;
        Ok(ReadAhead {
            rx,
            recycle,
            chunk_capacity: total,
            done: false,
            thread: Some(thread),
            stop: None,
            stopped: false,
        })
    }

    /// Ends the input (the next reads return 0) soon after `stop` is raised, also while the
    /// source has nothing to give: for a signal that asks a live run to finish.
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Whether the stop flag ended the input.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The next message, looking at the stop flag while waiting.
    fn next(&mut self) -> Option<Msg> {
        let Some(stop) = self.stop.clone() else {
            return self.rx.recv().ok();
        };
        loop {
            if stop.load(Ordering::Relaxed) {
                self.stopped = true;
                return None;
            }
            match self.rx.recv_timeout(STOP_POLL) {
                Ok(m) => return Some(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

impl Source for ReadAhead {
    fn more(
        &mut self,
        buf: &mut Vec<u8>,
        start: usize,
        end: usize,
        _need: usize,
    ) -> io::Result<Option<(usize, usize)>> {
        if self.done {
            return Ok(None);
        }
        let (chunk, len) = match self.next() {
            Some(Msg::Data(chunk, len)) => (chunk, len),
            Some(Msg::End) | None => {
                self.done = true;
                return Ok(None);
            }
            Some(Msg::Error(e)) => {
                self.done = true;
                return Err(e);
            }
        };
        let data_end = READ_AHEAD_HEADROOM + len;
        let (Some(kept), Some(data)) = (
            buf.get(start..end),
            chunk.get(READ_AHEAD_HEADROOM..data_end),
        ) else {
            return Ok(None);
        };
        let kept_len = kept.len();
        if kept_len <= READ_AHEAD_HEADROOM {
            // The usual case: the chunk becomes the buffer, the cut record's start put in
            // front of its data.
            let mut chunk = chunk;
            let at = READ_AHEAD_HEADROOM - kept_len;
            if let Some(front) = chunk.get_mut(at..READ_AHEAD_HEADROOM) {
                front.copy_from_slice(kept);
            }
            let old = std::mem::replace(buf, chunk);
            self.give_back(old);
            return Ok(Some((at, data_end)));
        }
        // A record larger than the room in front: append the chunk's data to the buffer,
        // which grows only as far as the record needs.
        buf.copy_within(start..end, 0);
        let new_end = kept_len + data.len();
        if buf.len() < new_end {
            buf.resize(new_end, 0);
        }
        if let Some(dst) = buf.get_mut(kept_len..new_end) {
            dst.copy_from_slice(data);
        }
        self.give_back(chunk);
        Ok(Some((0, new_end)))
    }
}

impl ReadAhead {
    /// Hands a spent buffer back to the reading thread, unless it grew past a chunk.
    fn give_back(&self, buf: Vec<u8>) {
        if buf.capacity() <= self.chunk_capacity {
            let _ = self.recycle.try_send(buf);
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Unblock the thread (its sends fail once the receiver is gone) and let it finish.
        let (_, dead_rx) = sync_channel::<Msg>(1);
        drop(std::mem::replace(&mut self.rx, dead_rx));
        if let Some(t) = self.thread.take() {
            // After a stop the source may be blocked in a read that never returns (an idle
            // pipe): the thread is left to end with the process instead of waited for.
            if !self.stopped {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a [`ReadAhead`] as the capture reader does, leaving the last `keep` bytes of
    /// what it has unconsumed at each call (a record cut by the chunk boundary) and checking
    /// they come back first. Returns the bytes delivered, and the error that ended them.
    fn drain(r: &mut ReadAhead, keep: usize) -> (Vec<u8>, io::Result<()>) {
        let mut buf = Vec::new();
        let (mut start, mut end) = (0usize, 0usize);
        let mut got = Vec::new();
        loop {
            let kept = buf[start..end].to_vec();
            match r.more(&mut buf, start, end, kept.len() + 1) {
                Ok(Some((s, e))) => {
                    assert!(e > s + kept.len(), "more input after the kept bytes");
                    assert_eq!(&buf[s..s + kept.len()], &kept[..], "kept bytes first");
                    let cut = e - keep.min(e - s);
                    got.extend_from_slice(&buf[s..cut]);
                    start = cut;
                    end = e;
                }
                Ok(None) => {
                    got.extend_from_slice(&kept);
                    return (got, Ok(()));
                }
                Err(err) => {
                    got.extend_from_slice(&kept);
                    return (got, Err(err));
                }
            }
        }
    }

    /// A source that hands out at most `step` bytes per read, then maybe fails.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
        fail_at_end: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let rest = self.data.get(self.pos..).unwrap_or_default();
            if rest.is_empty() {
                return if self.fail_at_end {
                    Err(io::Error::other("boom"))
                } else {
                    Ok(0)
                };
            }
            let n = rest.len().min(out.len()).min(self.step);
            out[..n].copy_from_slice(&rest[..n]);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn delivers_every_byte_in_order() {
        let data: Vec<u8> = (0..100_003u32).map(|i| (i * 7 % 251) as u8).collect();
        for (chunk, step, keep) in [
            (1, 1, 0),
            (7, 3, 5),
            (4096, 1000, 1500),
            (1 << 20, 4096, 333),
            // More kept than the room in front of a chunk: the chunk is appended instead.
            (4096, 4096, READ_AHEAD_HEADROOM + 10_000),
        ] {
            let src = Trickle {
                data: data.clone(),
                pos: 0,
                step,
                fail_at_end: false,
            };
            let mut r = ReadAhead::with_chunks(src, chunk, 2).expect("thread");
            let (got, end) = drain(&mut r, keep);
            assert!(end.is_ok());
            assert_eq!(got, data, "chunk {chunk} step {step} keep {keep}");
            let mut buf = Vec::new();
            assert!(r.more(&mut buf, 0, 0, 1).expect("after end").is_none());
        }
    }

    #[test]
    fn passes_on_a_read_error_after_the_data_before_it() {
        let src = Trickle {
            data: vec![9; 10],
            pos: 0,
            step: 4,
            fail_at_end: true,
        };
        let mut r = ReadAhead::with_chunks(src, 64, 2).expect("thread");
        let (got, end) = drain(&mut r, 3);
        let err = end.expect_err("the source fails");
        assert_eq!(err.to_string(), "boom");
        assert_eq!(got, vec![9; 10]);
    }

    /// A source that gives its bytes, then blocks (as an idle pipe does) until released.
    struct Idle {
        data: Vec<u8>,
        given: bool,
        release: std::sync::mpsc::Receiver<()>,
    }

    impl Read for Idle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if !self.given {
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
    fn a_short_read_is_handed_over_at_once_and_a_stop_ends_an_idle_input() {
        let (release, rx) = std::sync::mpsc::channel();
        let src = Idle {
            data: b"one packet".to_vec(),
            given: false,
            release: rx,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let mut r = ReadAhead::with_chunks(src, 1 << 20, 2)
            .expect("thread")
            .with_stop(stop.clone());
        // The ten bytes arrive although the 1 MiB chunk is far from full.
        let mut buf = Vec::new();
        let (s, e) = r.more(&mut buf, 0, 0, 1).expect("read").expect("data");
        assert_eq!(&buf[s..e], b"one packet");
        // The source now blocks; raising the flag ends the input within a poll or two.
        let t0 = std::time::Instant::now();
        stop.store(true, Ordering::Relaxed);
        assert!(r.more(&mut buf, e, e, 1).expect("end").is_none());
        assert!(r.stopped());
        assert!(t0.elapsed() < Duration::from_secs(2));
        drop(r); // must not wait for the blocked thread
        let _ = release.send(());
    }

    #[test]
    fn dropping_early_stops_the_thread() {
        let src = Trickle {
            data: vec![1; 10 << 20],
            pos: 0,
            step: 1 << 16,
            fail_at_end: false,
        };
        let mut r = ReadAhead::with_chunks(src, 1 << 16, 2).expect("thread");
        let mut buf = Vec::new();
        let (s, e) = r.more(&mut buf, 0, 0, 1).expect("read").expect("data");
        assert_eq!(e - s, 1 << 16);
        drop(r); // must not hang
    }
}
