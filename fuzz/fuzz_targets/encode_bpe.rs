#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| midigpt_fuzz::encode(midigpt_fuzz::bpe(), data));
