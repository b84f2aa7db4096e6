//! The pieces shared by the MidiTok-compatible tokenizers: config, grids, preprocessing.

mod config;
pub mod preprocess;
pub mod tables;

pub use config::{BeatRes, MidiTokConfig};
pub use preprocess::{preprocess, PTrack, Prepared};
pub use tables::{BeatPos, Ids, Tables, Tok};

use serde_json::{json, Value};

use crate::Vocab;

/// Track name of a decoded program (-1 = drums), as MidiTok names them.
pub fn program_name(program: i16) -> String {
    midigpt_midi::program_name(program.max(0) as u8, program < 0).to_string()
}

/// The JSON MidiTok's `tokenizer.save()` writes, for a tokenization class and its config.
pub fn tokenizer_json(tokenization: &str, config: &MidiTokConfig) -> Value {
    json!({
        "config": config.to_json(),
        "tokenization": tokenization,
        "miditok_version": "3.1.0",
        "midigpt_version": env!("CARGO_PKG_VERSION"),
    })
}

/// Special tokens first, then the scheme's own tokens.
pub fn vocab_with_specials(config: &MidiTokConfig, tokens: Vec<String>) -> Vocab {
    Vocab::new(config.special_tokens.iter().cloned().chain(tokens))
}
