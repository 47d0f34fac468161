#![no_main]
//! Fuzz target `remote_write_v2`: see `sextant_fuzz::remote_write_v2`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::remote_write_v2(data));
