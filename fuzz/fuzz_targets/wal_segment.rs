#![no_main]
//! Fuzz target `wal_segment`: see `sextant_fuzz::wal_segment`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::wal_segment(data));
