//! Scores no music has: a tokenizer refuses them instead of expanding them into millions of
//! time tokens.

use midigpt_midi::{Note, Score, Track};
use midigpt_tokenize::miditok::MAX_QUARTERS;
use midigpt_tokenize::{builtin, TokenizeError};

/// Two notes, the second `quarters` quarter notes after the first.
fn gap(quarters: u64) -> Score {
    let mut score = Score::new(480);
    let note = |time| Note {
        time,
        duration: 240,
        pitch: 60,
        velocity: 80,
    };
    score.tracks.push(Track {
        name: String::new(),
        program: 0,
        is_drum: false,
        notes: vec![note(0), note((quarters * 480) as u32)],
    });
    score
}

#[test]
fn a_gap_of_days_is_refused() {
    // The fuzzer's find: one corrupt delta time made a 1.9 KB file encode to 64.7 million
    // MIDI-like TimeShift tokens (46 s, 1.5 GB of JSON).
    let long = gap(4_000_000);
    let short = gap(MAX_QUARTERS - 1);
    for name in ["remi", "remi-plus", "midi-like"] {
        let tokenizer = builtin(name).expect("built-in tokenizer");
        match tokenizer.encode(&long) {
            Err(TokenizeError::TooLong { quarters, .. }) => {
                assert!(quarters > MAX_QUARTERS, "{name}: {quarters}")
            }
            other => panic!("{name}: expected TooLong, got {other:?}"),
        }
        let ids = tokenizer
            .encode(&short)
            .expect("just under the limit encodes");
        let back = tokenizer.decode(&ids).expect("decodes");
        assert_eq!(back.note_count(), 2, "{name}");
    }
}
