//! Errors of writing, opening and maintaining blocks.

use crate::error::{CorruptionError, DbError, QueryError};
use std::path::{Path, PathBuf};

/// Why a block operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// An I/O error on a named file or directory.
    #[error("{context} {}: {source}", path.display())]
    Io {
        /// What was being done.
        context: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A block file is damaged or missing.
    #[error(transparent)]
    Corruption(#[from] CorruptionError),
    /// The caller's input broke a rule (unsorted series or samples, samples out of range, ...).
    #[error("invalid block input: {0}")]
    InvalidInput(String),
}

impl BlockError {
    pub(crate) fn io(context: &'static str, path: &Path, source: std::io::Error) -> Self {
        BlockError::Io {
            context,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<QueryError> for BlockError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Corruption(c) => BlockError::Corruption(c),
            QueryError::Io(source) => BlockError::Io {
                context: "reading block",
                path: PathBuf::new(),
                source,
            },
            QueryError::TooLarge(m) => BlockError::InvalidInput(m),
        }
    }
}

impl From<BlockError> for QueryError {
    fn from(e: BlockError) -> Self {
        match e {
            BlockError::Corruption(c) => QueryError::Corruption(c),
            BlockError::Io {
                context,
                path,
                source,
            } => QueryError::Io(std::io::Error::new(
                source.kind(),
                format!("{context} {}: {source}", path.display()),
            )),
            BlockError::InvalidInput(m) => QueryError::TooLarge(m),
        }
    }
}

impl From<BlockError> for DbError {
    fn from(e: BlockError) -> Self {
        match e {
            BlockError::Corruption(c) => DbError::Corruption(c),
            BlockError::Io {
                context,
                path,
                source,
            } => DbError::Io {
                context: format!("{context} {}", path.display()),
                source,
            },
            BlockError::InvalidInput(m) => DbError::Io {
                context: "writing block".into(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, m),
            },
        }
    }
}
