#![no_main]
//! Fuzz target `exposition_protobuf`: see `sextant_fuzz::exposition_protobuf`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sextant_fuzz::exposition_protobuf(data));
