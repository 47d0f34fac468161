#![no_main]
//! Fuzz target `exposition_text`: see `sextant_fuzz::exposition_text`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::exposition_text(data));
