//! Tempo automation: files with 60-2,000 tempo changes, 2-5 of them on one tick, at several
//! resolutions, some with changes in two tracks. symusic orders such changes with an unstable
//! sort (pdqsort), and the last change on a tick is the one MidiTok keeps, so only the same
//! order gives the same `Tempo_*` tokens. Each file must read with symusic's tempo order and
//! encode to MidiTok 3.1.0's ids (`tests/data/tempo_stress/`, see the README there).

use std::path::{Path, PathBuf};

use midigpt_midi::Score;
use midigpt_tokenize::{load_tokenizer, TokenId};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    path: String,
    /// symusic 0.6.0's `score.tempos` as (tick, microseconds per quarter), in its order.
    tempos: Vec<(u32, u32)>,
    /// MidiTok 3.1.0's ids (REMI+ with tempos and time signatures).
    ids: Vec<Vec<TokenId>>,
}

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn references() -> Vec<Reference> {
    let text = std::fs::read_to_string(data().join("tempo_stress/remi_plus_tempo.jsonl"))
        .expect("fixture");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("reference line"))
        .collect()
}

#[test]
fn tempo_changes_on_one_tick_keep_symusics_order() {
    let references = references();
    assert_eq!(references.len(), 6);
    for reference in references {
        let score = Score::from_file(data().join("tempo_stress").join(&reference.path))
            .expect("fixture reads");
        let tempos: Vec<(u32, u32)> = score.tempos.iter().map(|t| (t.time, t.mspq)).collect();
        assert_eq!(tempos, reference.tempos, "{}", reference.path);
    }
}

#[test]
fn tempo_automation_encodes_like_miditok() {
    let tokenizer = load_tokenizer(data().join("miditok/tokenizer_remi_plus_tempo.json"))
        .expect("MidiTok tokenizer.json loads");
    for reference in references() {
        let score = Score::from_file(data().join("tempo_stress").join(&reference.path))
            .expect("fixture reads");
        let ids = tokenizer.encode(&score).expect("encodes");
        assert_eq!(ids.len(), reference.ids.len(), "{}", reference.path);
        for (i, (ours, theirs)) in ids.iter().zip(&reference.ids).enumerate() {
            let first = ours.iter().zip(theirs).position(|(a, b)| a != b);
            assert!(
                ours == theirs,
                "{} sequence {i}: {} ids against MidiTok's {}, first difference at {first:?}",
                reference.path,
                ours.len(),
                theirs.len()
            );
        }
    }
}
