//! [`ParseAhead`]: reads *and parses* a capture on a background thread, and hands the consumer
//! batches of records: a filled chunk and where each of its records lies in it.
//!
//! The `read()` system calls overlap with the consumer's work (on a pipe, so do the writer's
//! turns), and so does the record parsing: the reading thread walks the records of the chunk it
//! has just filled while the bytes are still in its cache, with the same [`CaptureReader`] (same
//! checks, errors, warnings and offsets). Parsed where the packets are decoded instead, the first
//! load of each record header was a miss, the bytes having just been written by the other core's
//! copy. The consumer gets a dense array of record positions and touches a frame's bytes only
//! when it decodes them; on two cores the parsing moves from the busier thread to the idler one.
//!
//! The input is copied once, by the kernel: each chunk is read with room in front of its data.
//! The chunk is handed over whole, with its records, when the parser needs bytes past its end
//! (the start of a record cut by the boundary is then put in the room in front of the next
//! chunk's data), or when a read came back short: a live capture's packets reach the consumer
//! as they arrive, not once a chunk has filled. Memory is bounded: at most `depth` batches are
//! in flight and buffers are recycled, so a stream of any length allocates `depth + 3` chunks
//! once.
//!
//! What the consumer sees is exactly what [`CaptureReader`] returns over the same input: the
//! records, then `Ok(None)` or the error that ended the input, the warnings and the counters.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::reader::{Meta, Source, read_after};
use crate::{CaptureReader, Error, Format, LinkType, ReaderStats, Record, Records, Warning};

/// Room kept in front of each chunk's data for the unconsumed bytes of the chunk before: a
/// record cut by the chunk boundary that fits is joined without copying the chunk.
pub const READ_AHEAD_HEADROOM: usize = 64 * 1024;
/// Default chunk size: 1 MiB.
pub const READ_AHEAD_CHUNK: usize = 1 << 20;
/// Default number of batches in flight.
pub const READ_AHEAD_DEPTH: usize = 4;

/// How often a consumer waiting for data looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Largest chunk [`ParseAhead::with_chunks`] accepts (record positions are kept as `u32`).
const MAX_CHUNK: usize = 256 << 20;

/// Chunk buffers of inputs that have ended, for the next input's reading thread. A run over a
/// rotated set reads its files one after the other, each through a [`ParseAhead`] of its own;
/// without them, each file allocated, zeroed and faulted in `depth + 3` fresh chunks: for a
/// folder of a thousand 80 KiB files, 0.25 s where one file of the same packets takes 0.04 s,
/// and 0.9 s (520 000 page faults) when the allocator gave every chunk back to the kernel.
static SPARE_CHUNKS: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// Chunk buffers kept in [`SPARE_CHUNKS`]: one input's worth at the default depth.
const SPARE_CHUNKS_KEPT: usize = READ_AHEAD_DEPTH + 3;

/// A spare chunk buffer of exactly `capacity` bytes, if one is kept.
fn take_spare(capacity: usize) -> Option<Vec<u8>> {
    let mut spares = SPARE_CHUNKS.lock().unwrap_or_else(PoisonError::into_inner);
    let i = spares.iter().position(|b| b.capacity() == capacity)?;
    Some(spares.swap_remove(i))
}

/// Keeps `buf` for a later input, if it is a whole chunk buffer (not one grown for a large
/// record) and there is room.
fn keep_spare(buf: Vec<u8>, capacity: usize) {
    if buf.capacity() != capacity || buf.len() < capacity {
        return;
    }
    let mut spares = SPARE_CHUNKS.lock().unwrap_or_else(PoisonError::into_inner);
    if spares.len() < SPARE_CHUNKS_KEPT {
        spares.push(buf);
    }
}

/// One input's reading and parsing, run on a reading thread.
type Job = Box<dyn FnOnce() + Send>;

/// The reading threads: those whose input has ended, each waiting for the next on its
/// channel, and the inputs queued behind one being read. The files of a rotated set are read
/// one after the other; a thread of its own for each cost a spawn (and its stack's page faults)
/// and a wake-up per file, a tenth of a millisecond: for a folder of a thousand small files,
/// more than reading them.
struct Readers {
    idle: Vec<SyncSender<Job>>,
    /// Inputs to read as soon as a reading thread is done with its own ([`ParseAhead::queue`]).
    queued: VecDeque<Job>,
    /// Threads reading an input.
    busy: usize,
}

static READERS: Mutex<Readers> = Mutex::new(Readers {
    idle: Vec::new(),
    queued: VecDeque::new(),
    busy: 0,
});

/// Idle reading threads kept (more end): two runs of `--each` over pipes may each have one.
const IDLE_READERS_KEPT: usize = 2;

fn lock_readers() -> std::sync::MutexGuard<'static, Readers> {
    READERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `job` on an idle reading thread, or, `behind` another input being read, after it on
/// that input's thread, or else on a new thread.
fn on_reading_thread(job: Job, behind: bool) -> io::Result<()> {
    let mut readers = lock_readers();
    if let Some(tx) = readers.idle.pop() {
        // The thread waits on its channel, which holds one job: it takes this one at once.
        readers.busy += 1;
        match tx.try_send(job) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                readers.busy -= 1;
                return spawn_reader(job, readers);
            }
        }
    }
    if behind && readers.busy > 0 {
        // A busy thread looks at the queue, under this lock, before it waits or ends.
        readers.queued.push_back(job);
        return Ok(());
    }
    spawn_reader(job, readers)
}

/// Runs `job` on a new reading thread, which then reads the queued inputs and waits for more.
fn spawn_reader(job: Job, mut readers: std::sync::MutexGuard<'_, Readers>) -> io::Result<()> {
    readers.busy += 1;
    drop(readers);
    let spawned = std::thread::Builder::new()
        .name("sfbflow-parse".into())
        .spawn(move || {
            let mut job = job;
            loop {
                // A job that panics ends its input (its channels close), not the thread, which
                // the inputs queued behind it wait for.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                let (tx, rx) = sync_channel::<Job>(1);
                {
                    let mut readers = lock_readers();
                    if let Some(next) = readers.queued.pop_front() {
                        job = next;
                        continue;
                    }
                    readers.busy -= 1;
                    if readers.idle.len() >= IDLE_READERS_KEPT {
                        return;
                    }
                    readers.idle.push(tx);
                }
                // Until the next input comes, or [`end_of_inputs`] drops the sender.
                match rx.recv() {
                    Ok(next) => job = next,
                    Err(_) => return,
                }
            }
        });
    spawned.map(drop).inspect_err(|_| lock_readers().busy -= 1)
}

/// Lets go of what the reading threads keep for a next input, for a caller that has read its
/// last: the spare chunk buffers go back to the allocator and the idle reading threads end
/// (their memory then serves the threads that come next: the Parquet encoders at the end of a
/// run, which otherwise fault in fresh pages, 1.5 ms of a 54 ms run over a 100 MiB capture).
pub fn end_of_inputs() {
    let spares = std::mem::take(&mut *SPARE_CHUNKS.lock().unwrap_or_else(PoisonError::into_inner));
    drop(spares);
    // Each idle thread waits on the other end of one of these: dropped, it ends.
    let idle = std::mem::take(&mut lock_readers().idle);
    drop(idle);
}

/// Where one record lies in its batch's buffer, its fields, and its note.
#[derive(Debug, Clone, Copy)]
struct Pos<N> {
    ts_nanos: i64,
    /// Byte offset of the record (pcapng: its block) in the input.
    offset: u64,
    /// Index of the record's first byte in the buffer.
    start: u32,
    caplen: u32,
    origlen: u32,
    interface: u32,
    linktype: u32,
    /// Input bytes from `offset` to the end of the record (header and padding included).
    span: u32,
    /// What the note function said of the record's bytes.
    note: N,
}

/// A filled buffer and the records in it, in input order.
#[derive(Debug)]
struct Batch<N> {
    buf: Vec<u8>,
    recs: Vec<Pos<N>>,
}

impl<N> Default for Batch<N> {
    fn default() -> Self {
        Batch {
            buf: Vec::new(),
            recs: Vec::new(),
        }
    }
}

/// The end of the input as the parser saw it.
#[derive(Debug)]
struct End {
    warnings: Vec<Warning>,
    stats: ReaderStats,
    error: Option<Error>,
}

enum Msg<N> {
    /// The file header was read: the format, or why the input is no capture.
    Start(Result<Format, Error>),
    Batch(Batch<N>),
    End(End),
}

/// What the reading thread computes for each record besides its position: a pure function of
/// the record's link type and bytes (a decoder's fast path, say), so that work moves off the
/// consumer's thread too.
pub type NoteFn<N> = fn(LinkType, &[u8]) -> N;

/// Reads and parses a capture on a background thread; the consumer takes its records with
/// [`Records::next_record`], or with their notes ([`ParseAhead::with_notes`]) with
/// [`ParseAhead::next_noted`].
pub struct ParseAhead<N = ()> {
    rx: Receiver<Msg<N>>,
    recycle: SyncSender<Batch<N>>,
    /// Buffers are recycled only at this capacity or below (a buffer grown for one large
    /// record is dropped).
    buf_capacity: usize,
    batch: Batch<N>,
    /// The next record of `batch` to hand out.
    at: usize,
    format: Format,
    warnings: Vec<Warning>,
    stats: ReaderStats,
    finished: bool,
    /// Disconnected when the reading thread is done with this input.
    done: Option<Receiver<()>>,
    stop: Option<Arc<AtomicBool>>,
    stopped: bool,
}

impl<N> std::fmt::Debug for ParseAhead<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParseAhead")
            .field("format", &self.format)
            .field("finished", &self.finished)
            .finish()
    }
}

/// An input handed to a reading thread before its turn ([`ParseAhead::queue`]).
pub struct Queued<N> {
    ahead: Option<ParseAhead<N>>,
}

impl<N: Copy + Send + 'static> Queued<N> {
    /// The input, once its file header is read (waiting for it).
    ///
    /// # Errors
    /// As [`ParseAhead::new`].
    pub fn start(mut self) -> Result<ParseAhead<N>, Error> {
        self.ahead
            .take()
            .map_or(Err(Error::Empty), ParseAhead::started)
    }
}

impl<N> Drop for Queued<N> {
    /// Not started (a run that stopped first): its reading thread, which may not have got to
    /// it yet, finds nobody to hand it to and drops it; nothing waits for that.
    fn drop(&mut self) {
        if let Some(ahead) = &mut self.ahead {
            ahead.stopped = true;
        }
    }
}

impl<N> std::fmt::Debug for Queued<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queued").finish_non_exhaustive()
    }
}

impl ParseAhead<()> {
    /// Starts reading and parsing `source` on a reading thread (an idle one, or a new one; 1 MiB
    /// chunks, 4 in flight) and waits for its file header.
    ///
    /// # Errors
    /// What [`CaptureReader::new`] returns for the input; [`Error::Io`] at offset 0 (its source
    /// saying so) if the thread cannot be started.
    pub fn new<R: Read + Send + 'static>(source: R) -> Result<Self, Error> {
        Self::with_chunks(source, READ_AHEAD_CHUNK, READ_AHEAD_DEPTH, None)
    }

    /// Reads `chunk_bytes` (at most 256 MiB) at a time, at most `depth` batches ahead. With
    /// `stop`, the input ends (the next call returns `Ok(None)`) soon after the flag is raised,
    /// also while the source has nothing to give (an idle pipe): for a signal that asks a live
    /// run to finish. Raised before the file header came, the input is [`Error::Empty`].
    ///
    /// # Errors
    /// As [`ParseAhead::new`].
    pub fn with_chunks<R: Read + Send + 'static>(
        source: R,
        chunk_bytes: usize,
        depth: usize,
        stop: Option<Arc<AtomicBool>>,
    ) -> Result<Self, Error> {
        ParseAhead::with_notes(source, chunk_bytes, depth, stop, |_, _| ())
    }
}

impl<N: Copy + Send + 'static> ParseAhead<N> {
    /// Like [`ParseAhead::with_chunks`], and the reading thread also computes `note` of each
    /// record's link type and bytes, handed out with the record by
    /// [`next_noted`](Self::next_noted).
    ///
    /// # Errors
    /// As [`ParseAhead::new`].
    pub fn with_notes<R: Read + Send + 'static>(
        source: R,
        chunk_bytes: usize,
        depth: usize,
        stop: Option<Arc<AtomicBool>>,
        note: NoteFn<N>,
    ) -> Result<Self, Error> {
        Self::submit(source, chunk_bytes, depth, stop, note, false)?.started()
    }

    /// Like [`ParseAhead::with_notes`] without a stop flag, for the next input of a run: it is
    /// read as soon as a reading thread is done with the input before it (on that thread: no
    /// spawn, no wait at the boundary, and no second reading thread competing with the first),
    /// and [`Queued::start`] waits for its file header when the run gets to it.
    ///
    /// # Errors
    /// [`Error::Io`] at offset 0 if no reading thread can be started.
    pub fn queue<R: Read + Send + 'static>(
        source: R,
        chunk_bytes: usize,
        depth: usize,
        note: NoteFn<N>,
    ) -> Result<Queued<N>, Error> {
        Ok(Queued {
            ahead: Some(Self::submit(source, chunk_bytes, depth, None, note, true)?),
        })
    }

    /// Hands `source` to a reading thread; the input is not started (no file header yet).
    fn submit<R: Read + Send + 'static>(
        source: R,
        chunk_bytes: usize,
        depth: usize,
        stop: Option<Arc<AtomicBool>>,
        note: NoteFn<N>,
        behind: bool,
    ) -> Result<Self, Error> {
        let chunk = chunk_bytes.clamp(1, MAX_CHUNK);
        let depth = depth.max(1);
        let (tx, rx) = sync_channel::<Msg<N>>(depth);
        let (recycle, spare) = sync_channel::<Batch<N>>(depth + 2);
        let (done_tx, done) = sync_channel::<()>(0);
        let job: Job = Box::new(move || {
            produce(source, chunk, note, &tx, spare);
            drop(done_tx);
        });
        on_reading_thread(job, behind).map_err(|e| Error::Io {
            offset: 0,
            source: io::Error::new(e.kind(), format!("starting the reading thread: {e}")),
        })?;
        Ok(ParseAhead {
            rx,
            recycle,
            buf_capacity: READ_AHEAD_HEADROOM + chunk,
            batch: Batch::default(),
            at: 0,
            format: Format::PcapNg,
            warnings: Vec::new(),
            stats: ReaderStats::default(),
            finished: false,
            done: Some(done),
            stop,
            stopped: false,
        })
    }

    /// Waits for the file header.
    fn started(mut self) -> Result<Self, Error> {
        match self.receive() {
            Some(Msg::Start(Ok(format))) => {
                self.format = format;
                Ok(self)
            }
            Some(Msg::Start(Err(e))) => Err(e),
            // Stopped before the header came, or the thread ended without a word.
            _ => Err(Error::Empty),
        }
    }

    /// Whether the stop flag ended the input.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The next message, looking at the stop flag while waiting.
    fn receive(&mut self) -> Option<Msg<N>> {
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

    /// Moves to the next batch, or takes the end of the input.
    #[cold]
    fn refill(&mut self) -> Result<(), Error> {
        let spent = std::mem::take(&mut self.batch);
        if spent.buf.capacity() <= self.buf_capacity
            && spent.buf.capacity() > 0
            && let Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) =
                self.recycle.try_send(spent)
        {
            keep_spare(b.buf, self.buf_capacity);
        }
        self.at = 0;
        match self.receive() {
            Some(Msg::Batch(b)) => {
                self.batch = b;
                Ok(())
            }
            Some(Msg::End(end)) => {
                self.finished = true;
                // The consumer counted records and bytes as it went; the rest is the parser's.
                self.warnings = end.warnings;
                self.stats = end.stats;
                end.error.map_or(Ok(()), Err)
            }
            // Stopped, or the thread went away (it ends only after End, so: stopped).
            Some(Msg::Start(_)) | None => {
                self.finished = true;
                Ok(())
            }
        }
    }
}

impl<N: Copy + Send + 'static> ParseAhead<N> {
    /// The next record and its note, `Ok(None)` at the end of input; as
    /// [`Records::next_record`].
    ///
    /// # Errors
    /// As [`CaptureReader::next_record`].
    #[inline]
    pub fn next_noted(&mut self) -> Result<Option<(Record<'_>, N)>, Error> {
        while self.at >= self.batch.recs.len() {
            if self.finished {
                return Ok(None);
            }
            self.refill()?;
        }
        let Some(&p) = self.batch.recs.get(self.at) else {
            return Ok(None);
        };
        self.at += 1;
        let start = p.start as usize;
        let Some(data) = self.batch.buf.get(start..start + p.caplen as usize) else {
            // Unreachable: the parser checked the record lies in the buffer it sent.
            self.finished = true;
            self.at = self.batch.recs.len();
            return Err(Error::Corrupt {
                offset: p.offset,
                reason: "internal error: record outside the buffer".to_owned(),
            });
        };
        self.stats.records += 1;
        self.stats.bytes = p.offset + u64::from(p.span);
        let rec = Record {
            ts_nanos: p.ts_nanos,
            linktype: LinkType(p.linktype),
            interface: p.interface,
            caplen: p.caplen,
            origlen: p.origlen,
            data,
            offset: p.offset,
        };
        Ok(Some((rec, p.note)))
    }
}

impl<N: Copy + Send + 'static> Records for ParseAhead<N> {
    #[inline]
    fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        Ok(self.next_noted()?.map(|(rec, _)| rec))
    }

    fn format(&self) -> Format {
        self.format
    }

    /// Input bytes consumed: up to the end of the last record returned (at the end of the
    /// input, everything the parser consumed).
    fn offset(&self) -> u64 {
        self.stats.bytes
    }

    /// Complete once the input has ended.
    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// `records` and `bytes` count as records are returned; the rest is complete once the
    /// input has ended.
    fn stats(&self) -> &ReaderStats {
        &self.stats
    }
}

impl<N> Drop for ParseAhead<N> {
    fn drop(&mut self) {
        keep_spare(std::mem::take(&mut self.batch.buf), self.buf_capacity);
        // Unblock the thread (its sends fail once the receiver is gone) and let it finish.
        let (_, dead_rx) = sync_channel::<Msg<N>>(1);
        let rx = std::mem::replace(&mut self.rx, dead_rx);
        // Batches read ahead but not taken (a run stopped early) are spare chunks too.
        while let Ok(Msg::Batch(b)) = rx.try_recv() {
            keep_spare(b.buf, self.buf_capacity);
        }
        drop(rx);
        if let Some(done) = self.done.take() {
            // After a stop the source may be blocked in a read that never returns (an idle
            // pipe): the thread is left to end with the process instead of waited for.
            if !self.stopped {
                // Returns when the job is over: its end drops the only sender.
                let _ = done.recv();
            }
        }
    }
}

/// The parser's [`Source`]: reads chunks, and each time the parser needs bytes past the end of
/// a chunk that holds records, sends that chunk with the records' positions to the consumer and
/// goes on in a fresh one.
struct Chunks<R, N> {
    source: R,
    chunk: usize,
    tx: SyncSender<Msg<N>>,
    spare: Receiver<Batch<N>>,
    /// Records of the current buffer not yet sent.
    pending: Vec<Pos<N>>,
    /// The consumer went away: stop reading.
    gone: bool,
}

impl<R, N> Chunks<R, N> {
    /// A recycled batch, or a new one.
    fn fresh(&self) -> Batch<N> {
        let capacity = READ_AHEAD_HEADROOM + self.chunk;
        self.spare.try_recv().unwrap_or_else(|_| Batch {
            buf: take_spare(capacity).unwrap_or_else(|| Vec::with_capacity(capacity)),
            recs: Vec::new(),
        })
    }
}

impl<R: Read, N> Source for Chunks<R, N> {
    fn more(
        &mut self,
        buf: &mut Vec<u8>,
        start: usize,
        end: usize,
        need: usize,
    ) -> io::Result<Option<(usize, usize)>> {
        if self.gone {
            return Ok(None);
        }
        if self.pending.is_empty() {
            // Nothing to hand over (the file header, skipped blocks, or a record longer than
            // the buffer): keep the buffer, as a plain reader does.
            return Source::more(&mut self.source, buf, start, end, need);
        }
        // Hand the chunk over with its records; the unconsumed bytes (the start of a record cut
        // by the boundary) go in front of the fresh chunk's data.
        let mut next = self.fresh();
        let kept = end - start;
        let at = READ_AHEAD_HEADROOM.saturating_sub(kept);
        let want = at + kept + self.chunk;
        if next.buf.len() < want {
            next.buf.resize(want, 0);
        }
        if let (Some(dst), Some(src)) = (next.buf.get_mut(at..at + kept), buf.get(start..end)) {
            dst.copy_from_slice(src);
        }
        let old = std::mem::replace(buf, next.buf);
        next.recs.clear();
        let recs = std::mem::replace(&mut self.pending, next.recs);
        if self.tx.send(Msg::Batch(Batch { buf: old, recs })).is_err() {
            self.gone = true;
            return Ok(None);
        }
        read_after(&mut self.source, buf, at, at + kept)
    }
}

/// Where a record the reader has just consumed lies, for the consumer.
fn position<N>(m: &Meta, consumed: u64, note: N) -> Option<Pos<N>> {
    Some(Pos {
        ts_nanos: m.ts_nanos,
        offset: m.offset,
        start: u32::try_from(m.data_start).ok()?,
        caplen: m.caplen,
        origlen: m.origlen,
        interface: m.interface,
        linktype: m.linktype.0,
        span: u32::try_from(consumed.checked_sub(m.offset)?).ok()?,
        note,
    })
}

/// The reading and parsing thread.
fn produce<R: Read, N>(
    source: R,
    chunk: usize,
    note: NoteFn<N>,
    tx: &SyncSender<Msg<N>>,
    spare: Receiver<Batch<N>>,
) {
    let chunks = Chunks {
        source,
        chunk,
        tx: tx.clone(),
        spare,
        pending: Vec::new(),
        gone: false,
    };
    let capacity = READ_AHEAD_HEADROOM + chunk;
    let first = take_spare(capacity).unwrap_or_default();
    let mut reader = match CaptureReader::with_buffer(chunks, capacity, first) {
        Ok(r) => {
            if tx.send(Msg::Start(Ok(r.format()))).is_err() {
                return;
            }
            r
        }
        Err(e) => {
            let _ = tx.send(Msg::Start(Err(e)));
            return;
        }
    };
    let error = loop {
        match reader.next_meta() {
            Ok(Some(m)) => {
                let consumed = reader.offset();
                let noted = note(m.linktype, reader.meta_data(&m));
                let Some(pos) = position(&m, consumed, noted) else {
                    break Some(Error::Corrupt {
                        offset: m.offset,
                        reason: "internal error: record position out of range".to_owned(),
                    });
                };
                reader.source_mut().pending.push(pos);
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
        if reader.source_mut().gone {
            return;
        }
    };
    if reader.source_mut().gone {
        return;
    }
    let recs = std::mem::take(&mut reader.source_mut().pending);
    if !recs.is_empty() {
        let buf = reader.take_buffer();
        if tx.send(Msg::Batch(Batch { buf, recs })).is_err() {
            return;
        }
    }
    let _ = tx.send(Msg::End(End {
        warnings: reader.warnings().to_vec(),
        stats: reader.stats().clone(),
        error,
    }));
    // The buffers this input no longer needs go to the next one.
    keep_spare(reader.take_buffer(), capacity);
    while let Ok(b) = reader.source_mut().spare.try_recv() {
        keep_spare(b.buf, capacity);
    }
}
