//! [`ReadAhead`]: a `Read` adapter that reads its source on a background thread, so that the
//! `read()` system calls (and, on a pipe, the writer's turns) overlap with the decoding of what
//! was read before.
//!
//! Memory is bounded: at most `depth` chunks of `chunk_bytes` are in flight, and chunks are
//! recycled, so a stream of any length allocates `depth + 2` chunks once.
//!
//! A chunk is handed over when it is full or when a read came back short (a pipe had no more
//! bytes at that moment): a live capture's packets reach the decoder as they arrive, not once a
//! chunk has filled. With a stop flag ([`ReadAhead::with_stop`]) the consumer sees the end of
//! the input soon after the flag is raised, even while the source is blocked waiting for data.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a consumer waiting for data looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

/// What the reading thread sends: a filled chunk, the end, or an error.
enum Msg {
    /// A chunk and how many of its bytes are data (the rest is stale: chunks are recycled at
    /// their full length, so that a short read never costs zeroing a whole chunk again).
    Data(Vec<u8>, usize),
    End,
    Error(io::Error),
}

/// Reads a source on a background thread, `depth` chunks ahead of the consumer.
pub struct ReadAhead {
    rx: Receiver<Msg>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    /// Bytes of `current` that are data.
    len: usize,
    pos: usize,
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
        let depth = depth.max(1);
        let (tx, rx) = sync_channel::<Msg>(depth);
        let (recycle, spare) = sync_channel::<Vec<u8>>(depth + 2);
        let thread = std::thread::Builder::new()
            .name("sfbflow-read".into())
            .spawn(move || {
                loop {
                    let mut buf = spare
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(chunk_bytes));
                    buf.resize(chunk_bytes, 0);
                    let mut filled = 0;
                    // Fill the chunk, reach the end, or stop at a short read: a pipe had no
                    // more bytes just then, so what came is handed over now.
                    let outcome = loop {
                        let asked = chunk_bytes - filled;
                        match buf.get_mut(filled..).map(|b| source.read(b)) {
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
            current: Vec::new(),
            len: 0,
            pos: 0,
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

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(rest) = self.current.get(self.pos..self.len)
                && !rest.is_empty()
            {
                let n = rest.len().min(out.len());
                if let (Some(dst), Some(src)) = (out.get_mut(..n), rest.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.pos += n;
                return Ok(n);
            }
            if self.done {
                return Ok(0);
            }
            let used = std::mem::take(&mut self.current);
            let _ = self.recycle.try_send(used);
            self.pos = 0;
            self.len = 0;
            match self.next() {
                Some(Msg::Data(buf, len)) => {
                    self.current = buf;
                    self.len = len;
                }
                Some(Msg::End) | None => self.done = true,
                Some(Msg::Error(e)) => {
                    self.done = true;
                    return Err(e);
                }
            }
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
        for (chunk, step, out_len) in [
            (1, 1, 1),
            (7, 3, 5),
            (4096, 1000, 65536),
            (1 << 20, 4096, 333),
        ] {
            let src = Trickle {
                data: data.clone(),
                pos: 0,
                step,
                fail_at_end: false,
            };
            let mut r = ReadAhead::with_chunks(src, chunk, 2).expect("thread");
            let mut got = Vec::new();
            let mut buf = vec![0u8; out_len];
            loop {
                let n = r.read(&mut buf).expect("read");
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, data, "chunk {chunk} step {step} out {out_len}");
            assert_eq!(r.read(&mut buf).expect("after end"), 0);
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
        let mut got = Vec::new();
        let err = r.read_to_end(&mut got).expect_err("the source fails");
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
        let mut buf = [0u8; 64];
        assert_eq!(r.read(&mut buf).expect("read"), 10);
        assert_eq!(&buf[..10], b"one packet");
        // The source now blocks; raising the flag ends the input within a poll or two.
        let t0 = std::time::Instant::now();
        stop.store(true, Ordering::Relaxed);
        assert_eq!(r.read(&mut buf).expect("end"), 0);
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
        let mut buf = [0u8; 10];
        assert_eq!(r.read(&mut buf).expect("read"), 10);
        drop(r); // must not hang
    }
}
