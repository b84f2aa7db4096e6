//! Score ⇄ token ids.
//!
//! Every scheme implements [`Tokenizer`]: encode a [`Score`] into one or more id sequences,
//! decode ids back into a score, and save its configuration as JSON. REMI / REMI+ and
//! MIDI-like read and write MidiTok 3.1's `tokenizer.json`, and produce the same tokens and
//! ids as MidiTok for the same file and settings.
//!
//! ```no_run
//! use midigpt_tokenize::{load_tokenizer, Tokenizer};
//! let tokenizer = load_tokenizer("tokenizer.json")?;
//! let score = midigpt_midi::Score::from_file("song.mid").unwrap();
//! let ids = tokenizer.encode(&score)?;
//! let back = tokenizer.decode(&ids)?;
//! # Ok::<(), midigpt_tokenize::TokenizeError>(())
//! ```

mod bpe;
mod error;
mod grammar;
pub mod infill;
mod midi_like;
pub mod miditok;
mod remi;
mod remi_decode;
mod token_table;
mod triplet;
mod vocab;

pub use bpe::Bpe;
pub use error::TokenizeError;
pub use grammar::Grammar;
pub use infill::{with_infill_tokens, InfillVocab};
pub use midi_like::MidiLike;
pub use remi::Remi;
pub use token_table::{TokenKind, TokenTable, DEFAULT_TICKS_PER_BEAT};
pub use triplet::{Triplet, TripletConfig};
pub use vocab::Vocab;

use std::sync::Arc;

use midigpt_midi::Score;

/// A token id. Vocabularies here stay far below 2^32; shards store u16 when they fit.
pub type TokenId = u32;

/// A tokenization scheme: score ⇄ id sequences, with a vocabulary and a saved config.
pub trait Tokenizer: Send + Sync {
    /// Encodes a score. One sequence per track, or a single sequence for schemes that put
    /// all tracks in one stream (REMI+ with `Program` tokens).
    fn encode(&self, score: &Score) -> Result<Vec<Vec<TokenId>>, TokenizeError>;

    /// Decodes id sequences (as [`Tokenizer::encode`] returns them) back into a score.
    /// Ids that do not form valid events are skipped, never a panic.
    fn decode(&self, sequences: &[Vec<TokenId>]) -> Result<Score, TokenizeError>;

    /// The vocabulary: id ⇄ token string.
    fn vocab(&self) -> &Vocab;

    /// The configuration as JSON, in the format [`load_tokenizer`] reads back.
    fn to_json(&self) -> serde_json::Value;

    /// Whether [`Tokenizer::encode`] returns a single stream for all tracks.
    fn one_stream(&self) -> bool;

    /// What each id means, and the position resolution. The built-in schemes build it once
    /// and share it; the default reads the vocabulary at each call.
    fn table(&self) -> Arc<TokenTable> {
        Arc::new(TokenTable::new(self.vocab(), None))
    }

    /// Number of ids in the vocabulary.
    fn vocab_size(&self) -> usize {
        self.vocab().len()
    }

    /// Whether it merges tokens with BPE, whose merged tokens hide the notes, bars and
    /// positions that controls and infilling act on. The default: no.
    fn is_bpe(&self) -> bool {
        false
    }

    /// Whether `id` starts a new "word" for BPE: merges never cross a word boundary
    /// (MidiTok's `encode_ids_split`, by default at each bar). The default: never.
    fn starts_word(&self, _id: TokenId) -> bool {
        false
    }

    /// Which token may follow which, for generation (BPE tokens through their base tokens);
    /// `None` when the scheme has no grammar, in which case decoding skips what does not fit.
    fn grammar(&self) -> Option<Grammar> {
        None
    }
}

/// Names of the built-in tokenizers, as `--tokenizer` takes them.
pub const BUILTIN_NAMES: [&str; 4] = ["remi", "remi-plus", "midi-like", "triplet"];

/// A built-in tokenizer with default settings: `remi` (MidiTok's REMI defaults, one
/// sequence per track), `remi-plus` (REMI+ with programs, tempos and time signatures, one
/// stream), `midi-like` (MidiTok's MIDILike defaults) or `triplet`.
pub fn builtin(name: &str) -> Result<Box<dyn Tokenizer>, TokenizeError> {
    use serde_json::Value::Bool;
    match name {
        "remi" => {
            return Ok(Box::new(Remi::new(miditok::MidiTokConfig::defaults_with(
                &[],
            )?)?))
        }
        "remi-plus" => {
            let on = [
                ("use_programs", Bool(true)),
                ("one_token_stream_for_programs", Bool(true)),
                ("use_tempos", Bool(true)),
                ("use_time_signatures", Bool(true)),
            ];
            return Ok(Box::new(Remi::new(miditok::MidiTokConfig::defaults_with(
                &on,
            )?)?));
        }
        "midi-like" => {
            return Ok(Box::new(MidiLike::new(
                miditok::MidiTokConfig::defaults_with(&[])?,
            )?))
        }
        "triplet" => return Ok(Box::new(Triplet::new(TripletConfig::default())?)),
        _ => {}
    }
    Err(TokenizeError::Unsupported(format!(
        "tokenizer {name:?} (known: {})",
        BUILTIN_NAMES.join(", ")
    )))
}

/// Loads a tokenizer from its JSON file: a MidiTok 3.1 `tokenizer.json` (REMI, MIDILike,
/// with or without BPE) or one saved by midigpt.
pub fn load_tokenizer(
    path: impl AsRef<std::path::Path>,
) -> Result<Box<dyn Tokenizer>, TokenizeError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| TokenizeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| TokenizeError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    from_json(&json)
}

/// Builds a tokenizer from the JSON that [`Tokenizer::to_json`] or MidiTok's
/// `tokenizer.save()` writes.
pub fn from_json(json: &serde_json::Value) -> Result<Box<dyn Tokenizer>, TokenizeError> {
    let kind = json
        .get("tokenization")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let base: Box<dyn Tokenizer> = match kind {
        "REMI" => Box::new(Remi::from_json(json)?),
        "MIDILike" => Box::new(MidiLike::from_json(json)?),
        "Triplet" => Box::new(Triplet::from_json(json)?),
        _ => return Err(TokenizeError::Unsupported(format!("tokenization {kind:?}"))),
    };
    // A trained tokenizer (MidiTok's `tokenizer.train()`) carries its BPE model beside the
    // base config.
    match json.get("_model") {
        Some(model) if !model.is_null() => Ok(Box::new(Bpe::from_json(json, base)?)),
        _ => Ok(base),
    }
}
