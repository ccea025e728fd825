//! [`ReadAhead`]: a `Read` adapter that reads its source on a background thread, so that the
//! `read()` system calls (and, on a pipe, the writer's turns) overlap with the decoding of what
//! was read before.
//!
//! Memory is bounded: at most `depth` chunks of `chunk_bytes` are in flight, and chunks are
//! recycled, so a stream of any length allocates `depth + 2` chunks once.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// What the reading thread sends: a filled chunk, the end, or an error.
enum Msg {
    Data(Vec<u8>),
    End,
    Error(io::Error),
}

/// Reads a source on a background thread, `depth` chunks ahead of the consumer.
pub struct ReadAhead {
    rx: Receiver<Msg>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
    thread: Option<JoinHandle<()>>,
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
                    // Fill the chunk (a pipe hands over a few KiB per read) or reach the end.
                    let outcome = loop {
                        match buf.get_mut(filled..).map(|b| source.read(b)) {
                            Some(Ok(0)) => break Ok(true),
                            Some(Ok(n)) => {
                                filled += n;
                                if filled >= chunk_bytes {
                                    break Ok(false);
                                }
                            }
                            Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                            Some(Err(e)) => break Err(e),
                            None => break Ok(false),
                        }
                    };
                    buf.truncate(filled);
                    if !buf.is_empty() && tx.send(Msg::Data(buf)).is_err() {
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
            pos: 0,
            done: false,
            thread: Some(thread),
        })
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(rest) = self.current.get(self.pos..)
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
            match self.rx.recv() {
                Ok(Msg::Data(buf)) => self.current = buf,
                Ok(Msg::End) | Err(_) => self.done = true,
                Ok(Msg::Error(e)) => {
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
            let _ = t.join();
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
