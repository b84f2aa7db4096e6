//! What the fuzz targets check, shared by all of them.
//!
//! - [`midi_read`]: any bytes → `Score::from_bytes` returns Ok or Err; a score that was read
//!   writes back, and what it wrote reads again with the same notes.
//! - [`encode`]: any bytes → score → ids → score: encoding may refuse a score, decoding the
//!   ids an encoder made must succeed, and the decoded score must write as MIDI.
//! - [`decode`]: any ids (see [`ids`]) → decode returns Ok or Err; an Ok score writes as MIDI.
//!
//! A panic, a hang (`-timeout`) or an allocation past `-rss_limit_mb` is a finding.

use std::sync::OnceLock;

use midigpt_midi::Score;
use midigpt_tokenize::{builtin, from_json, TokenId, Tokenizer};

/// A MidiTok REMI tokenizer with BPE trained to 450 tokens (the tokenize crate's fixture).
const BPE_JSON: &str = include_str!("../../crates/tokenize/tests/data/bpe/tokenizer.json");

/// Bytes → score; a score read from a file must write back and read again unchanged in notes.
pub fn midi_read(data: &[u8]) {
    let Ok(score) = Score::from_bytes(data) else {
        return;
    };
    let bytes = score
        .to_bytes()
        .unwrap_or_else(|e| panic!("a score that was read does not write: {e}"));
    let back = Score::from_bytes(&bytes)
        .unwrap_or_else(|e| panic!("a written score does not read back: {e}"));
    assert_eq!(
        back.note_count(),
        score.note_count(),
        "notes lost on a round trip"
    );
}

/// Bytes → score → ids → score.
pub fn encode(tokenizer: &dyn Tokenizer, data: &[u8]) {
    let Ok(score) = Score::from_bytes(data) else {
        return;
    };
    let Ok(sequences) = tokenizer.encode(&score) else {
        return;
    };
    let decoded = tokenizer
        .decode(&sequences)
        .unwrap_or_else(|e| panic!("ids the encoder made do not decode: {e}"));
    if let Err(e) = decoded.to_bytes() {
        panic!("a decoded score does not write: {e}");
    }
}

/// Arbitrary ids → score.
pub fn decode(tokenizer: &dyn Tokenizer, data: &[u8]) {
    let sequences = ids(data, tokenizer.vocab_size());
    if let Ok(score) = tokenizer.decode(&sequences) {
        if let Err(e) = score.to_bytes() {
            panic!("a decoded score does not write: {e}");
        }
    }
}

/// Reads fuzz bytes as id sequences: little-endian u16 values; `0xFFFF` starts a new
/// sequence, `0xFFF0..0xFFFF` stand for ids far past any vocabulary (up to `u32::MAX`), and
/// any other value `v` is the id `v % (vocab_size + 8)`: mostly valid ids, some just past the
/// end. `fuzz/seed.py` writes real encodings in this format.
pub fn ids(data: &[u8], vocab_size: usize) -> Vec<Vec<TokenId>> {
    let mut sequences = vec![Vec::new()];
    for pair in data.chunks_exact(2) {
        let v = u16::from_le_bytes([pair[0], pair[1]]);
        match v {
            0xFFFF => sequences.push(Vec::new()),
            0xFFF0.. => sequences
                .last_mut()
                .expect("never empty")
                .push(u32::MAX - (v & 0xF) as u32),
            _ => sequences
                .last_mut()
                .expect("never empty")
                .push(v as u32 % (vocab_size as u32 + 8)),
        }
    }
    sequences
}

fn cached(
    cell: &'static OnceLock<Box<dyn Tokenizer>>,
    make: fn() -> Box<dyn Tokenizer>,
) -> &'static dyn Tokenizer {
    cell.get_or_init(make).as_ref()
}

fn named(name: &'static str) -> Box<dyn Tokenizer> {
    builtin(name).expect("a built-in tokenizer")
}

/// MidiTok's default REMI (one sequence per track).
pub fn remi() -> &'static dyn Tokenizer {
    static T: OnceLock<Box<dyn Tokenizer>> = OnceLock::new();
    cached(&T, || named("remi"))
}

/// REMI+ (programs, tempos, time signatures; one stream).
pub fn remi_plus() -> &'static dyn Tokenizer {
    static T: OnceLock<Box<dyn Tokenizer>> = OnceLock::new();
    cached(&T, || named("remi-plus"))
}

/// MidiTok's default MIDILike.
pub fn midi_like() -> &'static dyn Tokenizer {
    static T: OnceLock<Box<dyn Tokenizer>> = OnceLock::new();
    cached(&T, || named("midi-like"))
}

/// The triplet tokenizer with its defaults.
pub fn triplet() -> &'static dyn Tokenizer {
    static T: OnceLock<Box<dyn Tokenizer>> = OnceLock::new();
    cached(&T, || named("triplet"))
}

/// REMI with BPE (MidiTok's own trained tokenizer file).
pub fn bpe() -> &'static dyn Tokenizer {
    static T: OnceLock<Box<dyn Tokenizer>> = OnceLock::new();
    cached(&T, || {
        let json = serde_json::from_str(BPE_JSON).expect("the BPE fixture is JSON");
        from_json(&json).expect("the BPE fixture loads")
    })
}
