//! One Parquet file of the output: zstd (but for the columns of short enumerations, see
//! [`ENUMERATIONS`]), row-group statistics, written under a temporary name
//! (`.NAME.partial`) and renamed into place when finished, so a reader never sees half a file.
//! Encoding and compression run on a thread of their own, one message queued at a time; what a
//! message is (a whole Arrow batch, or owned rows that the thread turns into batches) is the
//! file's [`Batcher`].

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::columns_writer::{ColumnsWriter, MAX_WORKERS};
use crate::{BATCH_ROWS, Error};

/// Columns whose values come from a short fixed set (protocol names, roles, workloads, rule
/// ids, reasons, codes...). They are dictionary-encoded, so their pages hold a small dictionary
/// and run-length-encoded indices, which zstd barely shrinks; they are written uncompressed,
/// as are boolean columns. That is not only smaller work: each compressed column chunk sets up
/// a zstd context (for the compressor, and one for a decompressor), which probes the CPU with
/// `cpuid`, a trap to the hypervisor on a virtual machine: on a run over many small captures
/// (`--each`) that set-up was 31 % of all the samples.
const ENUMERATIONS: &[&str] = &[
    "transport",
    "direction_basis",
    "initiator_role",
    "responder_role",
    "client_role",
    "app_protocol",
    "workload",
    "service",
    "rule_id",
    "basis",
    "finding",
    "end_reason",
    "vlan",
    "tunnel",
    "tls_version",
    "cert_problem",
    "sip_method",
    "stun_seen",
    "stun_method",
    "rtp_codec",
    "qtype",
    "rcode",
    "signin_step",
    "first_request",
    "state",
    "kind",
    "code",
];

/// Integer columns of values that seldom repeat (ids, ephemeral ports; timestamps are found by
/// their type). A dictionary of them only costs: it holds every value once and an index
/// besides, and interning each value is the slowest part of encoding them. They are written
/// `DELTA_BINARY_PACKED` without a dictionary: on a 100 MiB capture's 12 297 flows that
/// encodes `flow_id` 2.8 times faster into a twentieth of the bytes, the two timestamps 2.2
/// times faster into 40 % fewer bytes, `initiator_port` 1.9 times faster into 43 % fewer.
const SEQUENCES: &[&str] = &["flow_id", "initiator_port", "client_port"];

/// What the encoding thread does with the messages it receives.
pub(crate) trait Batcher: Send + 'static {
    /// One message from the pipeline's thread.
    type Item: Send + 'static;
    /// Takes one message, writing batches as they fill.
    fn add(&mut self, item: Self::Item, w: &mut ColumnsWriter) -> Result<(), ParquetError>;
    /// Writes what is left at the end.
    fn finish(&mut self, w: &mut ColumnsWriter) -> Result<(), ParquetError>;
}

/// Whole Arrow batches, built by the caller (`flows.parquet`).
pub(crate) struct Batches;

impl Batcher for Batches {
    type Item = RecordBatch;
    fn add(&mut self, item: RecordBatch, w: &mut ColumnsWriter) -> Result<(), ParquetError> {
        w.write(&item)
    }
    fn finish(&mut self, _w: &mut ColumnsWriter) -> Result<(), ParquetError> {
        Ok(())
    }
}

/// The encoding thread: it receives messages and encodes, compresses and writes them, so that
/// the pipeline's thread does as little as possible.
struct Encoder<I> {
    tx: Option<SyncSender<I>>,
    thread: Option<JoinHandle<Result<File, ParquetError>>>,
}

impl<I: Send + 'static> Encoder<I> {
    fn start<B: Batcher<Item = I>>(
        mut writer: ColumnsWriter,
        mut batcher: B,
    ) -> std::io::Result<Encoder<I>> {
        // One message queued while one is encoded: bounded memory, and the two threads overlap.
        let (tx, rx) = sync_channel::<I>(1);
        let thread = std::thread::Builder::new()
            .name("sfbflow-parquet".into())
            .spawn(move || {
                for item in rx {
                    batcher.add(item, &mut writer)?;
                }
                batcher.finish(&mut writer)?;
                let file = writer.into_inner()?;
                // Here rather than on the pipeline's thread: the files' syncs overlap.
                file.sync_all()?;
                Ok(file)
            })?;
        Ok(Encoder {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Waits for the thread and returns what it ended with.
    fn join(&mut self) -> Result<File, ParquetError> {
        self.tx = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(ParquetError::General(
                "the Parquet writer thread panicked".into(),
            )),
            None => Err(ParquetError::General(
                "the Parquet writer already finished".into(),
            )),
        }
    }

    /// Hands a message to the thread; when the thread has stopped, returns its error.
    fn send(&mut self, item: I) -> Result<(), ParquetError> {
        match self.tx.as_ref().map(|tx| tx.send(item)) {
            Some(Ok(())) => Ok(()),
            _ => self.join().and_then(|_| {
                Err(ParquetError::General(
                    "the Parquet writer stopped early".into(),
                ))
            }),
        }
    }
}

/// A Parquet file being written.
pub(crate) struct TableFile<B: Batcher> {
    path: PathBuf,
    tmp_path: PathBuf,
    encoder: Option<Encoder<B::Item>>,
}

impl<B: Batcher> TableFile<B> {
    /// Starts writing `path` (through `.NAME.partial` beside it) with `schema`; the thread
    /// turns messages into batches with `batcher`.
    pub(crate) fn create(path: PathBuf, schema: SchemaRef, batcher: B) -> Result<Self, Error> {
        let tmp_path = temp_name(&path);
        let file = File::create(&tmp_path).map_err(|source| Error::Io {
            path: tmp_path.clone(),
            source,
        })?;
        let props = writer_properties(&schema);
        let writer = ColumnsWriter::try_new(file, schema, props, encoding_threads())
            .map_err(|e| encoder_error(&path, e))?;
        let encoder = Encoder::start(writer, batcher).map_err(|source| Error::Io {
            path: tmp_path.clone(),
            source,
        })?;
        Ok(TableFile {
            path,
            tmp_path,
            encoder: Some(encoder),
        })
    }

    /// The final path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Queues one message for the encoding thread.
    pub(crate) fn write(&mut self, item: B::Item) -> Result<(), Error> {
        if let Some(e) = self.encoder.as_mut() {
            e.send(item).map_err(|e| encoder_error(&self.path, e))?;
        }
        Ok(())
    }

    /// Tells the encoding thread that nothing more comes: it writes what it has and the file's
    /// footer, while the caller goes on (say, to end the other files, which then encode at the
    /// same time). [`TableFile::finish`] waits for it.
    pub(crate) fn end_input(&mut self) {
        if let Some(e) = self.encoder.as_mut() {
            e.tx = None;
        }
    }

    /// Completes the file (its encoding thread writes the footer and syncs it) and renames it
    /// into place.
    pub(crate) fn finish(&mut self) -> Result<(), Error> {
        if let Some(mut e) = self.encoder.take() {
            if let Err(e) = e.join() {
                // Left unfinished (a full disk, say): no partial file behind, as when dropped.
                let _ = std::fs::remove_file(&self.tmp_path);
                return Err(encoder_error(&self.path, e));
            }
            std::fs::rename(&self.tmp_path, &self.path).map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

impl<B: Batcher> Drop for TableFile<B> {
    fn drop(&mut self) {
        // Not finished (an error elsewhere ended the run): stop the thread and leave no partial
        // file behind.
        if let Some(mut e) = self.encoder.take() {
            let _ = e.join();
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

/// Threads a file's columns are encoded on: this machine's cores, at most [`MAX_WORKERS`].
/// Asked once per process: the standard library reads the cgroup's CPU quota from three files
/// each time, and a run creates four files (an `--each` run, four per input).
fn encoding_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS))
    })
}

/// zstd but for booleans and [`ENUMERATIONS`]; [`SEQUENCES`] and timestamps delta-encoded; row
/// groups of [`BATCH_ROWS`]; chunk statistics.
fn writer_properties(schema: &SchemaRef) -> WriterProperties {
    let mut props =
        WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default()));
    for f in schema.fields() {
        let name = f.name().as_str();
        if f.data_type() == &DataType::Boolean || ENUMERATIONS.contains(&name) {
            props = props.set_column_compression(ColumnPath::from(name), Compression::UNCOMPRESSED);
        }
        if matches!(f.data_type(), DataType::Timestamp(..)) || SEQUENCES.contains(&name) {
            props = props
                .set_column_dictionary_enabled(ColumnPath::from(name), false)
                .set_column_encoding(ColumnPath::from(name), Encoding::DELTA_BINARY_PACKED);
        }
    }
    props
        .set_max_row_group_row_count(Some(BATCH_ROWS))
        // Row-group statistics are what DuckDB, Spark and Trino prune with.
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("sfbflow {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The error of a file's encoder: a failed write or sync (a full disk, an I/O error) as what it
/// is, [`Error::Io`], rather than as the Parquet error that carries it.
fn encoder_error(path: &Path, e: ParquetError) -> Error {
    let source = match e {
        ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
            Ok(io) => {
                return Error::Io {
                    path: path.to_path_buf(),
                    source: *io,
                };
            }
            Err(other) => ParquetError::External(other),
        },
        e => e,
    };
    Error::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

/// `dir/flows.parquet` -> `dir/.flows.parquet.partial`
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::TableRow;
    use crate::tables::{DnsRow, FindingRow, SipDialogRow};

    fn schemas() -> [SchemaRef; 4] {
        [
            crate::parquet_sink::flow_schema(),
            DnsRow::schema(),
            SipDialogRow::schema(),
            FindingRow::schema(),
        ]
    }

    /// A renamed column would silently go back to zstd: every name must be some table's.
    #[test]
    fn every_enumeration_and_sequence_is_a_column() {
        for name in ENUMERATIONS.iter().chain(SEQUENCES) {
            assert!(
                schemas()
                    .iter()
                    .any(|s| s.fields().iter().any(|f| f.name() == name)),
                "{name} is no column"
            );
        }
    }

    #[test]
    fn ids_ports_and_timestamps_are_delta_encoded_without_dictionary() {
        for schema in schemas() {
            let props = writer_properties(&schema);
            for f in schema.fields() {
                let col = ColumnPath::from(f.name().as_str());
                let delta = props.encoding(&col) == Some(Encoding::DELTA_BINARY_PACKED);
                let want = matches!(f.data_type(), DataType::Timestamp(..))
                    || ["flow_id", "initiator_port", "client_port"].contains(&f.name().as_str());
                assert_eq!(delta, want, "{}", f.name());
                assert_eq!(props.dictionary_enabled(&col), !want, "{}", f.name());
            }
        }
    }

    #[test]
    fn enumerations_and_booleans_are_uncompressed_the_rest_zstd() {
        let flows = crate::parquet_sink::flow_schema();
        let props = writer_properties(&flows);
        let zstd = Compression::ZSTD(ZstdLevel::default());
        for (col, want) in [
            ("transport", Compression::UNCOMPRESSED),
            ("workload", Compression::UNCOMPRESSED),
            ("documented", Compression::UNCOMPRESSED),
            ("initiator_ip", zstd),
            ("tls_sni", zstd),
            ("first_ts", zstd),
            ("initiator_bytes", zstd),
        ] {
            assert_eq!(props.compression(&ColumnPath::from(col)), want, "{col}");
        }
        let compressed = flows
            .fields()
            .iter()
            .filter(|f| props.compression(&ColumnPath::from(f.name().as_str())) == zstd)
            .count();
        assert_eq!(compressed, 19, "of {} columns", flows.fields().len());
    }

    #[test]
    fn a_failed_write_is_an_io_error_naming_the_file() {
        let path = Path::new("/out/flows.parquet");
        let full = ParquetError::from(std::io::Error::from(std::io::ErrorKind::StorageFull));
        match encoder_error(path, full) {
            Error::Io { path: p, source } => {
                assert_eq!(p, path);
                assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
        match encoder_error(path, ParquetError::General("bad batch".into())) {
            Error::Parquet { path: p, source } => {
                assert_eq!(p, path);
                assert_eq!(source.to_string(), "Parquet error: bad batch");
            }
            other => panic!("expected a Parquet error, got {other:?}"),
        }
    }

    /// A batcher whose last write fails as a full disk would.
    struct DiskFull;

    impl Batcher for DiskFull {
        type Item = ();
        fn add(&mut self, _item: (), _w: &mut ColumnsWriter) -> Result<(), ParquetError> {
            Ok(())
        }
        fn finish(&mut self, _w: &mut ColumnsWriter) -> Result<(), ParquetError> {
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull).into())
        }
    }

    #[test]
    fn a_file_that_cannot_be_completed_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("sfbflow-diskfull-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        let path = dir.join("dns.parquet");
        let mut file =
            TableFile::create(path.clone(), DnsRow::schema(), DiskFull).expect("created");
        file.write(()).expect("queued");
        assert!(
            temp_name(&path).exists(),
            "written under its temporary name"
        );
        match file.finish() {
            Err(Error::Io { path: p, source }) => {
                assert_eq!(p, path);
                assert_eq!(source.kind(), std::io::ErrorKind::StorageFull);
            }
            other => panic!("expected the I/O error, got {other:?}"),
        }
        let left: Vec<_> = std::fs::read_dir(&dir)
            .expect("listed")
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .expect("names");
        assert!(left.is_empty(), "left behind: {left:?}");
        std::fs::remove_dir_all(&dir).expect("removed");
    }
}
