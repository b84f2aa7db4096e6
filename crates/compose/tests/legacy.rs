//! Models saved before the model config was saved as itself still load, and make the very
//! tokens they made before: a run folder and its export, made by the previous release (no
//! `model_config.json`), and the first built-in model. `data/legacy/tokens-*.json` are the ids the
//! previous release's `generate` drew with the same seeds (its code path, token for token);
//! `*-sample-*.mid` the files its `midigpt generate` wrote. Past a model's context the
//! window now moves on by whole bars (it used to drop half the context), so the tokens of
//! the tiny legacy models (context 16) agree up to there.

use std::path::{Path, PathBuf};

use midigpt_compose::{compose, Controls, ModelPackage, Request, SamplingConfig};
use midigpt_model::{Cpu, GptConfig};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/legacy")
        .join(name)
}

fn old_tokens(name: &str) -> Vec<u32> {
    serde_json::from_str(&std::fs::read_to_string(data(name)).unwrap()).unwrap()
}

/// `midigpt generate`'s defaults then: min_tokens 128, temperature 1, no opening tempo and
/// no instrument registers.
fn request(seed: u64, pieces: usize, max_tokens: usize) -> Request {
    Request {
        controls: Controls {
            opening_tempo: false,
            instrument_ranges: false,
            tempo_changes: midigpt_compose::TempoChanges::Free,
            ..Controls::default()
        },
        sampling: SamplingConfig {
            min_tokens: 128,
            ..SamplingConfig::default()
        },
        seed,
        pieces,
        max_tokens,
        ..Request::default()
    }
}

/// Composes two pieces and checks their tokens against the old ones, as far as the model's
/// context (the start token and `block_size - 1` new ones) where they go further; returns
/// the first piece's MIDI.
fn check(pkg: &ModelPackage<Cpu>, name: &str, seed: u64, max_tokens: usize) -> Vec<u8> {
    let pieces = compose(pkg, &request(seed, 2, max_tokens), &mut |_| true).unwrap();
    let within = pkg.config.block_size - 1;
    for (i, piece) in pieces.iter().enumerate() {
        let old = old_tokens(&format!("tokens-{name}-{}.json", seed + i as u64));
        assert_eq!(piece.tokens.len(), old.len());
        let n = old.len().min(within);
        assert_eq!(
            piece.tokens[..n],
            old[..n],
            "{name}, seed {}",
            seed + i as u64
        );
    }
    pieces[0].score.to_bytes().unwrap()
}

#[test]
fn a_run_and_an_export_of_the_previous_release_make_the_same_tokens() {
    for name in ["legacy-run", "legacy-export"] {
        assert!(!data(name).join("model_config.json").exists());
        let pkg = ModelPackage::<Cpu>::load(Some(&data(name)), &Default::default()).unwrap();
        check(&pkg, name, 5, 80);
    }
}

#[test]
fn the_first_builtin_model_makes_the_same_tokens() {
    // The first built-in model, kept as it was built in (weights, model config, tokenizer).
    let pkg = ModelPackage::<Cpu>::load(Some(&data("builtin-v1")), &Default::default()).unwrap();
    let midi = check(&pkg, "builtin", 11, 200);
    assert_eq!(midi, std::fs::read(data("builtin-sample-11.mid")).unwrap());
}

#[test]
fn an_export_now_saves_the_model_config_as_itself() {
    let run = ModelPackage::<Cpu>::load(Some(&data("legacy-run")), &Default::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("model");
    run.export(&out, midigpt_model::WeightDtype::F32).unwrap();
    let saved = GptConfig::beside(&out.join("model.safetensors"))
        .unwrap()
        .expect("saved");
    assert_eq!(saved, run.config);
    // The model card carries the run's losses, the best validation loss among them.
    let best = std::fs::read_to_string(data("legacy-run").join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["split"] == "val")
        .map(|r| r["loss"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        card.contains(&format!("best validation loss: {best:.4} nats per token")),
        "{card}"
    );
    // Read as is: the training config is no longer consulted.
    std::fs::write(out.join("config.json"), "not json").unwrap();
    let back = ModelPackage::<Cpu>::load(Some(&out), &Default::default()).unwrap();
    assert_eq!(back.config, run.config);
    check(&back, "legacy-run", 5, 80);
    // A key missing is an error, not a preset's value.
    let mut json: serde_json::Value = serde_json::from_str(&saved.to_json()).unwrap();
    json.as_object_mut().unwrap().remove("norm_eps");
    std::fs::write(out.join("model_config.json"), json.to_string()).unwrap();
    let err = ModelPackage::<Cpu>::load(Some(&out), &Default::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("norm_eps"), "{err}");
}
