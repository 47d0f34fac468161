#![no_main]
//! Fuzz target `openmetrics`: see `sextant_fuzz::openmetrics`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::openmetrics(data));
