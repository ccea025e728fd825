//! The sinks' error type.

use std::path::PathBuf;

/// An output could not be written.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing, flushing or renaming a file or stream failed.
    #[error("writing {path}")]
    Io {
        /// The file, or `-` for standard output.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet encoder failed.
    #[error("encoding Parquet for {path}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Building an Arrow batch failed.
    #[error("building an Arrow batch for {path}")]
    Arrow {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// Serialising a JSON line failed.
    #[error("encoding a JSON line")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// Whether this is a closed pipe on standard output (the reader went away).
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::BrokenPipe,
            Error::Json(e) => e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe),
            _ => false,
        }
    }
}
