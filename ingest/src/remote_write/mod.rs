//! remote_write (to be written).
