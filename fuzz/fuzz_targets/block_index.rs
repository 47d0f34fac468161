#![no_main]
//! Fuzz target `block_index`: see `sextant_fuzz::block_index`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::block_index(data));
