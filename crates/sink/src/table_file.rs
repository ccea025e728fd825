//! One Parquet file of the output: zstd, row-group statistics, written under a temporary name
//! (`.NAME.partial`) and renamed into place when finished, so a reader never sees half a file.
//! Encoding and compression run on a thread of their own, one batch queued at a time.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::{BATCH_ROWS, Error};

/// The encoding thread: it receives full Arrow batches and encodes, compresses and writes them,
/// so that the pipeline's thread only fills column builders.
struct Encoder {
    tx: Option<SyncSender<RecordBatch>>,
    thread: Option<JoinHandle<Result<File, ParquetError>>>,
}

impl Encoder {
    fn start(mut writer: ArrowWriter<File>) -> std::io::Result<Encoder> {
        // One batch queued while one is encoded: bounded memory, and the two threads overlap.
        let (tx, rx) = sync_channel::<RecordBatch>(1);
        let thread = std::thread::Builder::new()
            .name("sfbflow-parquet".into())
            .spawn(move || {
                for batch in rx {
                    writer.write(&batch)?;
                }
                writer.into_inner()
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

    /// Hands a batch to the thread; when the thread has stopped, returns its error.
    fn send(&mut self, batch: RecordBatch) -> Result<(), ParquetError> {
        match self.tx.as_ref().map(|tx| tx.send(batch)) {
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
pub(crate) struct TableFile {
    path: PathBuf,
    tmp_path: PathBuf,
    encoder: Option<Encoder>,
}

impl TableFile {
    /// Starts writing `path` (through `.NAME.partial` beside it) with `schema`.
    pub(crate) fn create(path: PathBuf, schema: SchemaRef) -> Result<Self, Error> {
        let tmp_path = temp_name(&path);
        let file = File::create(&tmp_path).map_err(|source| Error::Io {
            path: tmp_path.clone(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(BATCH_ROWS))
            // Row-group statistics are what DuckDB, Spark and Trino prune with.
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_created_by(format!("sfbflow {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer =
            ArrowWriter::try_new(file, schema, Some(props)).map_err(|source| Error::Parquet {
                path: path.clone(),
                source,
            })?;
        let encoder = Encoder::start(writer).map_err(|source| Error::Io {
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

    /// Queues one batch for encoding.
    pub(crate) fn write(&mut self, batch: RecordBatch) -> Result<(), Error> {
        if let Some(e) = self.encoder.as_mut() {
            e.send(batch).map_err(|source| Error::Parquet {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Completes the file and renames it into place.
    pub(crate) fn finish(&mut self) -> Result<(), Error> {
        if let Some(mut e) = self.encoder.take() {
            let file = e.join().map_err(|source| Error::Parquet {
                path: self.path.clone(),
                source,
            })?;
            file.sync_all().map_err(|source| Error::Io {
                path: self.tmp_path.clone(),
                source,
            })?;
            std::fs::rename(&self.tmp_path, &self.path).map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

impl Drop for TableFile {
    fn drop(&mut self) {
        // Not finished (an error elsewhere ended the run): stop the thread and leave no partial
        // file behind.
        if let Some(mut e) = self.encoder.take() {
            let _ = e.join();
            let _ = std::fs::remove_file(&self.tmp_path);
        }
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
