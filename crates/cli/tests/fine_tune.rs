//! Fine-tuning through the binary: `train --init` from the built-in model on a folder of MIDI
//! files (prepared like the model's data on the way), from a run, from its export and from a
//! Hugging Face folder; data of another vocabulary refused; a fine-tune resumed.

mod common;

use std::path::{Path, PathBuf};

use common::{midigpt, midigpt_output};
use serde_json::Value;

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tokenize/tests/data/midi")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("json")
}

/// Validation losses of a run by step.
fn val_losses(run: &Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .expect("metrics")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|v| v["split"] == "val")
        .map(|v| (v["step"].as_u64().unwrap(), v["loss"].as_f64().unwrap()))
        .collect()
}

/// `midigpt train` with short settings: two windows of 32 tokens, one batch per evaluation.
fn train(extra: &[&str], sets: &[&str]) -> (bool, String) {
    let mut args: Vec<String> = ["train"]
        .iter()
        .chain(extra)
        .map(|a| a.to_string())
        .collect();
    let short = [
        "batch_size=2",
        "eval_iters=1",
        "eval_interval=1",
        "checkpoint_interval=1",
    ];
    for set in short.iter().chain(sets) {
        args.extend(["--set".to_string(), set.to_string()]);
    }
    midigpt_output(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn fine_tunes_start_from_the_model_they_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let at = |name: &str| tmp.path().join(name);

    // From the built-in model, on a folder of one POP909 song: prepared like its training
    // data into OUT/data, validated on the song's last tokens (a folder of one file has no
    // validation file), the model's own weights at step 0 (far below an untrained model's
    // ln 521 = 6.3 nats on its own kind of music), and what it heard is its data's and the
    // built-in model's.
    let song = at("song");
    std::fs::create_dir(&song).unwrap();
    std::fs::copy(fixtures().join("POP909_008.mid"), song.join("008.mid")).unwrap();
    let ft = at("from-builtin");
    let init = ["--init", "builtin", "--data", &s(&song), "--out", &s(&ft)];
    let (ok, out) = train(&init, &["max_iters=2", "window=32"]);
    assert!(ok, "{out}");
    assert!(out.contains("fine-tuning the built-in"), "{out}");
    assert!(out.contains("held out to validate on instead"), "{out}");
    let data = ft.join("data");
    assert!(data.join("meta.json").is_file());
    let start = val_losses(&ft)[0];
    assert!(start.0 == 0 && start.1 < 4.5, "{start:?}");
    let info = read_json(&ft.join("train_info.json"));
    assert_eq!(info["config"]["init_from"], "builtin");
    assert_eq!(info["config"]["n_embd"], 256, "the model's shape");
    assert_eq!(info["val_loss_at_start"].as_f64(), Some(start.1));
    let programs = read_json(&ft.join("programs.json"));
    assert!(
        programs.get("73").is_some(),
        "the built-in model's flute: {programs}"
    );

    // Resumed, it goes on from its checkpoint (the MIDI folder stands for its data again).
    let (ok, out) = train(
        &["--resume", "--data", &s(&fixtures()), "--out", &s(&ft)],
        &["max_iters=4", "window=32"],
    );
    assert!(ok, "{out}");
    assert_eq!(read_json(&ft.join("train_info.json"))["steps"], 4);
    let steps: Vec<u64> = val_losses(&ft).iter().map(|v| v.0).collect();
    assert_eq!(steps, [0, 1, 2, 3, 4]);

    // Data of another vocabulary is refused before anything is written.
    let remi = at("remi");
    midigpt(&[
        "prepare",
        &s(&fixtures()),
        "--out",
        &s(&remi),
        "--tokenizer",
        "remi",
    ]);
    let refused = at("refused");
    let (ok, out) = train(
        &[
            "--init",
            "builtin",
            "--data",
            &s(&remi),
            "--out",
            &s(&refused),
        ],
        &["max_iters=2"],
    );
    assert!(!ok);
    assert!(out.contains("another vocabulary"), "{out}");
    assert!(out.contains("--like builtin"), "{out}");
    assert!(!refused.exists());

    // A run of a tiny model on that data; then fine-tunes of the run, of its export and of
    // the export read as a Hugging Face folder all start where the run ended: the same
    // validation batches score the same loss.
    let run = at("run");
    let tiny = [
        "n_layer=1",
        "n_head=2",
        "n_embd=16",
        "block_size=32",
        "max_iters=3",
    ];
    let (ok, out) = train(&["--data", &s(&data), "--out", &s(&run)], &tiny);
    assert!(ok, "{out}");
    let ended = val_losses(&run)
        .iter()
        .map(|v| v.1)
        .fold(f64::INFINITY, f64::min);
    let export = at("export");
    midigpt(&["export", "--model", &s(&run), "--out", &s(&export)]);
    let hf = at("hf");
    std::fs::create_dir(&hf).unwrap();
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(export.join(file), hf.join(file)).unwrap();
    }
    for (name, model) in [("of-run", &run), ("of-export", &export), ("of-hf", &hf)] {
        let out_dir = at(name);
        let (ok, out) = train(
            &[
                "--init",
                &s(model),
                "--data",
                &s(&data),
                "--out",
                &s(&out_dir),
            ],
            &["max_iters=1"],
        );
        assert!(ok, "{name}: {out}");
        let start = val_losses(&out_dir)[0].1;
        assert!(
            (start - ended).abs() < 1e-4,
            "{name}: {start} against {ended}"
        );
    }
}
