#![no_main]
//! Fuzz target `promql`: see `sextant_fuzz::promql`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::promql(data));
