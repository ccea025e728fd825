//! A Parquet file writer that encodes and compresses a batch's columns on several threads.
//!
//! It writes what [`ArrowWriter`] writes, byte for byte (the same column writers get the same
//! arrays, row groups are cut at the same rows; but see small row groups below), but the
//! columns of a batch, and the closing of a row group's column chunks (where most of the
//! compression happens), are shared out to up to [`MAX_WORKERS`] threads. Most of a run's
//! encoding happens at its end, after the last packet, when every flow still live is written
//! at once and the reading thread has nothing left to do: that is when the other cores are
//! free.
//!
//! A row group that starts with fewer than [`SMALL_ROWS`] rows (the only one of a small table,
//! or of a small capture's tables) is written uncompressed: each compressed column chunk sets
//! up a zstd compressor and decompressor, whose CPU probe traps to the hypervisor on a virtual
//! machine, and for a few hundred rows that set-up costs more than compression saves.

use std::fs::File;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// Threads (the caller's included) a batch's columns are shared out to.
pub(crate) const MAX_WORKERS: usize = 4;

/// Fewer rows than this are encoded on the caller's thread alone: starting threads would cost
/// more than it saves.
pub(crate) const PARALLEL_ROWS: usize = 1_024;

/// A row group whose first batch has fewer rows than this is written uncompressed.
pub(crate) const SMALL_ROWS: usize = 256;

/// A Parquet file whose columns are encoded on up to `workers` threads.
pub(crate) struct ColumnsWriter {
    file: SerializedFileWriter<File>,
    factory: ArrowRowGroupWriterFactory,
    /// The same column writers, uncompressed (for row groups of fewer than [`SMALL_ROWS`]).
    small: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The open row group's column writers, one per leaf column.
    group: Option<Vec<ArrowColumnWriter>>,
    /// Rows in the open row group.
    rows: usize,
    /// Row groups written.
    groups: usize,
    max_rows: usize,
    workers: usize,
}

impl ColumnsWriter {
    /// A writer of `schema` into `file` with `props`; columns shared out to `workers` threads
    /// (at least one: the caller's).
    pub(crate) fn try_new(
        file: File,
        schema: SchemaRef,
        props: WriterProperties,
        workers: usize,
    ) -> Result<Self, ParquetError> {
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let uncompressed = props
            .clone()
            .into_builder()
            .set_compression(Compression::UNCOMPRESSED)
            .build();
        // ArrowWriter sets the file up (the Arrow schema in the footer's metadata), then hands
        // over its lower half.
        let (file, factory) =
            ArrowWriter::try_new(file, schema.clone(), Some(props))?.into_serialized_writer()?;
        // Column writers come from a file writer's schema and properties; this one only lends
        // them (its output is discarded). Each column chunk's metadata names its own codec.
        let lender = SerializedFileWriter::new(
            std::io::sink(),
            file.schema_descr().root_schema_ptr(),
            Arc::new(uncompressed),
        )?;
        let small = ArrowRowGroupWriterFactory::new(&lender, schema.clone());
        Ok(ColumnsWriter {
            file,
            factory,
            small,
            schema,
            group: None,
            rows: 0,
            groups: 0,
            max_rows,
            workers: workers.max(1),
        })
    }

    /// Encodes `batch`, closing row groups as they fill.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            let n = rest.num_rows().min(self.max_rows - self.rows);
            let part = rest.slice(0, n);
            rest = rest.slice(n, rest.num_rows() - n);
            self.write_part(&part)?;
            if self.rows >= self.max_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Encodes rows that fit in the open row group.
    fn write_part(&mut self, part: &RecordBatch) -> Result<(), ParquetError> {
        let mut leaves: Vec<ArrowLeafColumn> = Vec::with_capacity(part.num_columns());
        for (field, column) in self.schema.fields().iter().zip(part.columns()) {
            leaves.extend(compute_leaves(field, column)?);
        }
        let workers = self.workers_for(part.num_rows());
        let writers = match &mut self.group {
            Some(w) => w,
            None => {
                let factory = if part.num_rows() < SMALL_ROWS {
                    &self.small
                } else {
                    &self.factory
                };
                self.group
                    .insert(factory.create_column_writers(self.groups)?)
            }
        };
        if leaves.len() != writers.len() {
            return Err(ParquetError::General(format!(
                "a batch of {} leaf columns for a schema of {}",
                leaves.len(),
                writers.len()
            )));
        }
        let jobs: Vec<_> = writers.iter_mut().zip(&leaves).collect();
        in_parallel(jobs, workers, |(w, leaf)| w.write(leaf))?;
        self.rows += part.num_rows();
        Ok(())
    }

    /// Closes the open row group: its column chunks are compressed and written.
    fn flush(&mut self) -> Result<(), ParquetError> {
        let Some(writers) = self.group.take() else {
            return Ok(());
        };
        let workers = self.workers_for(self.rows);
        let chunks = in_parallel(writers, workers, ArrowColumnWriter::close)?;
        let mut group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        self.groups += 1;
        self.rows = 0;
        Ok(())
    }

    fn workers_for(&self, rows: usize) -> usize {
        if rows >= PARALLEL_ROWS {
            self.workers
        } else {
            1
        }
    }

    /// Closes the last row group, writes the footer and hands back the file.
    pub(crate) fn into_inner(mut self) -> Result<File, ParquetError> {
        self.flush()?;
        self.file.into_inner()
    }
}

/// `f` over every item, shared out to `workers` threads (the caller's and `workers - 1` scoped
/// ones, each taking the next item when it is done with one); the answers in the items' order.
/// The first error is returned; a thread that cannot start leaves its share to the others.
fn in_parallel<T: Send, R: Send>(
    items: Vec<T>,
    workers: usize,
    f: impl Fn(T) -> Result<R, ParquetError> + Sync,
) -> Result<Vec<R>, ParquetError> {
    let n = items.len();
    if workers <= 1 || n <= 1 {
        return items.into_iter().map(f).collect();
    }
    let queue = Mutex::new(items.into_iter().enumerate());
    let work = || -> Result<Vec<(usize, R)>, ParquetError> {
        let mut done = Vec::new();
        // The lock is held only to take an item, never while `f` runs.
        while let Some((i, item)) = queue.lock().ok().and_then(|mut q| q.next()) {
            done.push((i, f(item)?));
        }
        Ok(done)
    };
    let shares = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..workers.min(n))
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("sfbflow-encode".into())
                    .spawn_scoped(s, work)
                    .ok()
            })
            .collect();
        let mut shares = vec![work()];
        for h in helpers {
            shares.push(h.join().unwrap_or_else(|_| {
                Err(ParquetError::General(
                    "a Parquet encoding thread panicked".into(),
                ))
            }));
        }
        shares
    });
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for share in shares {
        for (i, r) in share? {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(r);
            }
        }
    }
    out.into_iter()
        .map(|r| r.ok_or_else(|| ParquetError::General("a column was not encoded".into())))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use arrow::array::{ArrayRef, StringArray, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::basic::ZstdLevel;

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("n", DataType::UInt64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("kind", DataType::Utf8, true),
        ]))
    }

    fn batch(from: u64, rows: u64) -> RecordBatch {
        let n: ArrayRef = Arc::new(UInt64Array::from_iter_values(from..from + rows));
        let name: ArrayRef =
            Arc::new(StringArray::from_iter((from..from + rows).map(|i| {
                (i % 7 != 0).then(|| format!("host-{}", i * 7919 % 1000))
            })));
        let kind: ArrayRef = Arc::new(StringArray::from_iter_values(
            (from..from + rows).map(|i| ["sip", "stun", "rtp"][(i % 3) as usize]),
        ));
        match RecordBatch::try_new(schema(), vec![n, name, kind]) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    fn props(max_rows: usize) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(max_rows))
            .build()
    }

    fn read_back(mut f: File) -> Vec<u8> {
        use std::io::Seek;
        let mut bytes = Vec::new();
        assert!(f.rewind().is_ok());
        assert!(f.read_to_end(&mut bytes).is_ok());
        bytes
    }

    fn temp() -> File {
        let dir = std::env::temp_dir().join(format!("sfbflow-columns-{}", std::process::id()));
        assert!(std::fs::create_dir_all(&dir).is_ok());
        let path = dir.join(format!("{:?}", std::thread::current().id()));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path);
        let _ = std::fs::remove_file(&path);
        match f {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    }

    /// The same bytes as ArrowWriter for the same batches, however many threads encode them:
    /// row groups cut inside a batch, batches below the threshold of threads, and several row
    /// groups (each starting with at least SMALL_ROWS rows).
    #[test]
    fn writes_what_arrow_writer_writes() {
        let sizes = [3_000u64, 300, 10, 2_500, 4_096, 1];
        for workers in [1, 2, 4] {
            for max_rows in [1_000, 4_096, 65_536] {
                let mut ours =
                    match ColumnsWriter::try_new(temp(), schema(), props(max_rows), workers) {
                        Ok(w) => w,
                        Err(e) => panic!("{e}"),
                    };
                let mut theirs = match ArrowWriter::try_new(temp(), schema(), Some(props(max_rows)))
                {
                    Ok(w) => w,
                    Err(e) => panic!("{e}"),
                };
                let mut from = 0;
                for rows in sizes {
                    let b = batch(from, rows);
                    from += rows;
                    assert!(ours.write(&b).is_ok());
                    assert!(theirs.write(&b).is_ok());
                }
                let (Ok(a), Ok(b)) = (ours.into_inner(), theirs.into_inner()) else {
                    panic!("finishing failed");
                };
                let (a, b) = (read_back(a), read_back(b));
                assert!(a.len() > 1_000);
                assert!(a == b, "workers {workers}, row groups of {max_rows}");
            }
        }
    }

    /// A small table's row group is stored uncompressed, and reads back as written; a larger
    /// one is compressed.
    #[test]
    fn small_row_groups_are_uncompressed() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        for (rows, compressed) in [(SMALL_ROWS as u64 - 1, false), (SMALL_ROWS as u64, true)] {
            let Ok(mut w) = ColumnsWriter::try_new(temp(), schema(), props(65_536), 2) else {
                panic!("creating failed");
            };
            let b = batch(0, rows);
            assert!(w.write(&b).is_ok());
            let Ok(f) = w.into_inner() else {
                panic!("finishing failed");
            };
            let (Ok(f2), Ok(reader)) = (f.try_clone(), SerializedFileReader::new(f)) else {
                panic!("unreadable");
            };
            let group = reader.metadata().row_group(0);
            assert_eq!(group.num_columns(), 3);
            for c in group.columns() {
                assert_eq!(
                    c.compression() != Compression::UNCOMPRESSED,
                    compressed,
                    "{rows}"
                );
            }
            let Ok(mut r) =
                parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(f2, 1 << 20)
            else {
                panic!("unreadable");
            };
            match r.next() {
                Some(Ok(back)) => assert!(back == b),
                _ => panic!("no batch"),
            }
        }
    }

    #[test]
    fn an_empty_file_is_a_valid_file() {
        let Ok(w) = ColumnsWriter::try_new(temp(), schema(), props(100), 4) else {
            panic!("creating failed");
        };
        let Ok(f) = w.into_inner() else {
            panic!("finishing failed");
        };
        let bytes = read_back(f);
        assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    }

    #[test]
    fn a_batch_of_another_shape_is_an_error() {
        let Ok(mut w) = ColumnsWriter::try_new(temp(), schema(), props(100), 2) else {
            panic!("creating failed");
        };
        let other = Arc::new(Schema::new(vec![Field::new("n", DataType::UInt64, false)]));
        let n: ArrayRef = Arc::new(UInt64Array::from_iter_values(0..5));
        let Ok(b) = RecordBatch::try_new(other, vec![n]) else {
            panic!("batch");
        };
        assert!(w.write(&b).is_err());
    }

    #[test]
    fn in_parallel_keeps_order_and_returns_errors() {
        for workers in [1, 2, 3, 8] {
            let r = in_parallel((0..100).collect(), workers, |i: u32| Ok(i * 2));
            assert_eq!(r.ok(), Some((0..100).map(|i| i * 2).collect::<Vec<_>>()));
            let r = in_parallel((0..100).collect(), workers, |i: u32| {
                if i == 57 {
                    Err(ParquetError::General("57".into()))
                } else {
                    Ok(i)
                }
            });
            assert!(matches!(r, Err(ParquetError::General(m)) if m == "57"));
        }
    }
}
