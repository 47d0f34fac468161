#![no_main]
//! Fuzz target `remote_write_v1`: see `sextant_fuzz::remote_write_v1`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::remote_write_v1(data));
