#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| midigpt_fuzz::decode(midigpt_fuzz::triplet(), data));
