//! A model whose data gave tracks programs by name relabels its prompts the same way, keeps
//! that knowledge through export and load, and fills the track a request names by program.

mod common;

use std::path::Path;

use common::random_model;
use midigpt_compose::{infill, InfillRequest, ModelPackage, PromptFit};
use midigpt_midi::{Score, Track};
use midigpt_model::{Cpu, WeightDtype};
use midigpt_tokenize::{builtin, with_infill_tokens};

const PREPARED: &str = r#"{"val_fraction": 0.05, "drop_drums": false, "merge_tracks": false,
    "time_signature": [4, 4], "track_programs": [["MELODY", 73], ["BRIDGE", 48]],
    "transpose": [0, 0], "bpe": null}"#;

fn package() -> ModelPackage<Cpu> {
    let tokenizer = with_infill_tokens(builtin("remi-plus").unwrap().as_ref()).unwrap();
    let model = random_model(tokenizer.as_ref(), 128);
    ModelPackage {
        prompt_fit: PromptFit::from_json(PREPARED, Path::new("prepare.json")).unwrap(),
        ..ModelPackage::new(model, tokenizer)
    }
}

/// A song laid out as POP909's files are: MELODY, BRIDGE and PIANO tracks, all program 0,
/// in a 1/4 metre (song 8's notes, parted by register).
fn song() -> Score {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/POP909_008.mid");
    let mut score = Score::from_file(path).unwrap();
    let notes = std::mem::take(&mut score.tracks[0].notes);
    let template = score.tracks[0].clone();
    score.tracks = [("MELODY", 72..128), ("BRIDGE", 60..72), ("PIANO", 0..60)]
        .into_iter()
        .map(|(name, pitches)| Track {
            name: name.into(),
            program: 0,
            notes: notes
                .iter()
                .filter(|n| pitches.contains(&n.pitch))
                .copied()
                .collect(),
            ..template.clone()
        })
        .collect();
    for ts in &mut score.time_signatures {
        (ts.numerator, ts.denominator) = (1, 4);
    }
    score
}

#[test]
fn the_named_track_is_filled_and_the_others_keep_their_notes() {
    let pkg = package();
    let raw = song();
    assert!(raw.tracks.iter().all(|t| t.program == 0));
    let request = InfillRequest {
        programs: Some(vec![73]),
        max_tokens: 120,
        ..InfillRequest::new(raw.clone(), 2..4)
    };
    let pieces = infill(&pkg, &request, &mut |_| true).unwrap();
    let score = &pieces[0].score;
    let programs: Vec<(&str, u8)> = (score.tracks.iter())
        .map(|t| (t.name.as_str(), t.program))
        .collect();
    assert_eq!(programs, vec![("MELODY", 73), ("BRIDGE", 48), ("PIANO", 0)]);
    // Only the melody was asked for: the other parts are the corpus's notes, untouched.
    for name in ["BRIDGE", "PIANO"] {
        let notes = |s: &Score| {
            s.tracks
                .iter()
                .find(|t| t.name == name)
                .unwrap()
                .notes
                .clone()
        };
        assert_eq!(notes(score), notes(&raw), "{name}");
    }
    assert!(score.time_signatures.iter().all(|t| t.numerator == 4));
}

#[test]
fn export_and_load_keep_the_prepare_options() {
    let pkg = package();
    let dir = tempfile::tempdir().unwrap();
    pkg.export(dir.path(), WeightDtype::F32).unwrap();
    assert!(dir.path().join("prepare.json").is_file());
    let loaded = ModelPackage::<Cpu>::load(Some(dir.path()), &Default::default()).unwrap();
    assert_eq!(loaded.prompt_fit, pkg.prompt_fit);
    std::fs::remove_file(dir.path().join("prepare.json")).unwrap();
    let bare = ModelPackage::<Cpu>::load(Some(dir.path()), &Default::default()).unwrap();
    assert!(bare.prompt_fit.options().is_none());
}
