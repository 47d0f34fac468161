#![no_main]
//! Fuzz target `otlp_protobuf`: see `sextant_fuzz::otlp_protobuf`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::otlp_protobuf(data));
