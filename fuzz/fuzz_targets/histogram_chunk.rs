#![no_main]
//! Fuzz target `histogram_chunk`: see `sextant_fuzz::histogram_chunk`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::histogram_chunk(data));
