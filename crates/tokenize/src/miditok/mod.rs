//! The pieces shared by the MidiTok-compatible tokenizers: config, grids, preprocessing.

mod config;
pub mod graph;
pub mod preprocess;
pub mod tables;

pub use config::{BeatRes, MidiTokConfig};
pub use preprocess::{preprocess, PTrack, Prepared};
pub use tables::{BeatPos, Ids, Tables, Tok};

use serde_json::{json, Value};

use midigpt_midi::Score;

use crate::{TokenId, TokenizeError, Vocab};

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

/// MidiTok's `_add_additional_tokens_to_vocab_list` for the settings midigpt supports: drum
/// pitches (one token type per entry of `drum_types`, e.g. `PitchDrum`, or `DrumOn` and
/// `DrumOff`), tempos, programs and time signatures, in that order.
pub fn additional_tokens(c: &MidiTokConfig, t: &Tables, drum_types: &[&str]) -> Vec<String> {
    let mut v = Vec::new();
    if c.use_pitchdrum_tokens {
        for kind in drum_types {
            let drums = c.drums_pitch_range.0..=c.drums_pitch_range.1;
            v.extend(drums.map(|p| format!("{kind}_{p}")));
        }
    }
    if c.use_tempos {
        v.extend(
            t.tempos
                .iter()
                .map(|q| format!("Tempo_{}", tables::py_float(*q))),
        );
    }
    if c.use_programs {
        v.extend(c.programs.iter().map(|p| format!("Program_{p}")));
    }
    if c.use_time_signatures {
        v.extend(
            t.time_signatures
                .iter()
                .map(|(n, d)| format!("TimeSig_{n}/{d}")),
        );
    }
    v
}

/// The longest score the REMI and MIDI-like tokenizers encode, in quarter notes: about 14
/// hours at 120 BPM, far beyond any piece, while a single corrupt delta time in a 2 KB file
/// can push an event 2^28 ticks away and expand into tens of millions of `Bar` or
/// `TimeShift` tokens (minutes of work and gigabytes for one file). MidiTok has no such limit;
/// the scores it excludes are never music.
pub const MAX_QUARTERS: u64 = 100_000;

/// Refuses a score longer than [`MAX_QUARTERS`].
pub fn check_length(score: &Score) -> Result<(), TokenizeError> {
    let quarters = score.end() as u64 / score.ticks_per_quarter.max(1) as u64;
    if quarters <= MAX_QUARTERS {
        return Ok(());
    }
    Err(TokenizeError::TooLong {
        quarters,
        hours: quarters as f64 / 120.0 / 60.0,
        max: MAX_QUARTERS,
    })
}

/// MidiTok's `_score_to_tokens`: global events (time signatures, tempos) and each track's
/// events, stably sorted by time, then time tokens added. One sequence for all tracks in
/// one-stream mode; otherwise one per track, each repeating the global events (and a lone
/// sequence of global events for a score without tracks).
pub fn score_to_tokens<E: Clone>(
    one_stream: bool,
    global: Vec<E>,
    tracks: &[PTrack],
    time_of: impl Fn(&E) -> u32,
    mut track_events: impl FnMut(&PTrack, &mut Vec<E>) -> Result<(), TokenizeError>,
    add_time: impl Fn(&[E]) -> Result<Vec<TokenId>, TokenizeError>,
) -> Result<Vec<Vec<TokenId>>, TokenizeError> {
    if one_stream {
        let mut events = global;
        for track in tracks {
            track_events(track, &mut events)?;
        }
        events.sort_by_key(&time_of);
        return Ok(vec![add_time(&events)?]);
    }
    if tracks.is_empty() {
        return Ok(vec![add_time(&global)?]);
    }
    tracks
        .iter()
        .map(|track| {
            let mut events = global.clone();
            track_events(track, &mut events)?;
            events.sort_by_key(&time_of);
            add_time(&events)
        })
        .collect()
}
