//! The data directory's lock file: one process at a time.

use crate::error::DbError;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// Takes an exclusive lock on `<dir>/lock`; held until the returned file is dropped.
pub(crate) fn acquire(dir: &Path) -> Result<File, DbError> {
    let path = dir.join("lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|source| DbError::Io {
            context: format!("opening lock file {}", path.display()),
            source,
        })?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(TryLockError::WouldBlock) => Err(DbError::Locked(dir.to_path_buf())),
        Err(TryLockError::Error(source)) => Err(DbError::Io {
            context: format!("locking {}", path.display()),
            source,
        }),
    }
}
