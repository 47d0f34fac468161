#![no_main]
//! Fuzz target `block_chunks`: see `sextant_fuzz::block_chunks`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::block_chunks(data));
