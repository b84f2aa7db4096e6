#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| midigpt_fuzz::midi_read(data));
