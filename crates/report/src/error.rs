//! The report's errors: each names the file it is about.

use std::path::PathBuf;

/// Why a report could not be made.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read.
    #[error("reading {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not a readable Parquet file.
    #[error("{} is not a readable Parquet file", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A table lacks columns the report needs.
    #[error("{} lacks the column(s) {} (is it a table that sfbflow classify wrote?)", path.display(), columns.join(", "))]
    MissingColumns {
        /// The file.
        path: PathBuf,
        /// The columns it lacks.
        columns: Vec<String>,
    },
    /// A column has a type the report cannot read.
    #[error("{}: column `{column}` has an unexpected type", path.display())]
    ColumnType {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The cause.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A folder holds no `flows*.parquet`, or a path is neither a file nor a folder.
    #[error("{}: {reason}", path.display())]
    NoFlows {
        /// The path given.
        path: PathBuf,
        /// What was expected.
        reason: &'static str,
    },
    /// The page template failed to render.
    #[error("rendering the page")]
    Render(#[from] askama::Error),
}
