#![no_main]
//! Fuzz target `otlp_json`: see `sextant_fuzz::otlp_json`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::otlp_json(data));
