//! The whole pipeline through the binary: prepare → train (the loss falls) → checkpoint →
//! resume → export → generate → the samples parse as MIDI and tokenize again.

mod common;

use std::path::Path;

use common::midigpt;

fn val_losses(run: &Path) -> Vec<f64> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .expect("metrics")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|v| v["split"] == "val")
        .map(|v| v["loss"].as_f64().expect("loss"))
        .collect()
}

#[test]
fn prepare_train_resume_generate() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (data, run, samples) = (
        tmp.path().join("data"),
        tmp.path().join("run"),
        tmp.path().join("samples"),
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tokenize/tests/data/midi");
    let s = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    midigpt(&[
        "prepare",
        &s(&fixtures),
        "--out",
        &s(&data),
        "--val-fraction",
        "0.2",
    ]);

    let sets = [
        "n_layer=2",
        "n_head=2",
        "n_embd=48",
        "block_size=64",
        "batch_size=4",
        "max_iters=30",
        "warmup_iters=3",
        "lr_decay_iters=30",
        "eval_interval=10",
        "eval_iters=2",
        "learning_rate=0.003",
        "checkpoint_interval=10",
        "sample_interval=20",
        "sample_tokens=64",
    ];
    let mut args = vec!["train", "--data", &s(&data), "--out", &s(&run)]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    for set in sets {
        args.extend(["--set".to_string(), set.to_string()]);
    }
    midigpt(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let losses = val_losses(&run);
    assert_eq!(losses.len(), 4);
    // The training sample, heard and seen.
    for ext in ["mid", "png", "wav"] {
        let file = run.join("samples").join(format!("step-000020.{ext}"));
        assert!(file.is_file(), "{} written", file.display());
    }
    assert!(losses[3] < losses[0] - 0.3, "loss falls: {losses:?}");
    for file in [
        "config.json",
        "tokenizer.json",
        "prepare.json",
        "programs.json",
        "loss.png",
        "train_info.json",
        "checkpoints/step-000030/model.safetensors",
    ] {
        assert!(run.join(file).exists(), "{file}");
    }

    // Resuming a finished run evaluates its last checkpoint again and changes nothing.
    midigpt(&["train", "--data", &s(&data), "--out", &s(&run), "--resume"]);
    assert_eq!(val_losses(&run), losses);

    let eval_of = |model: &Path| -> serde_json::Value {
        let out = midigpt(&["eval", "--model", &s(model), "--data", &s(&data)]);
        serde_json::from_str(&out).expect("eval prints JSON")
    };
    let eval = eval_of(&run);
    assert!(
        eval["bits_per_note"].as_f64().is_some_and(|b| b > 0.0),
        "{eval}"
    );
    assert!(
        (eval["perplexity"].as_f64().expect("ppl")
            - eval["val_loss"].as_f64().expect("loss").exp())
        .abs()
            < 1e-6
    );

    // A half-precision export scores as the run does, to F16's precision.
    let exported = tmp.path().join("exported");
    midigpt(&[
        "export",
        "--model",
        &s(&run),
        "--out",
        &s(&exported),
        "--half",
    ]);
    let loss = |v: &serde_json::Value| v["val_loss"].as_f64().expect("loss");
    let half = eval_of(&exported);
    assert!((loss(&half) - loss(&eval)).abs() < 1e-2, "{half} vs {eval}");
    // What the model heard of each instrument goes with it.
    let programs = |dir: &Path| std::fs::read_to_string(dir.join("programs.json")).unwrap();
    let heard: serde_json::Value = serde_json::from_str(&programs(&exported)).unwrap();
    assert_eq!(
        heard,
        serde_json::from_str::<serde_json::Value>(&programs(&run)).unwrap()
    );
    assert!(heard.as_object().is_some_and(|o| !o.is_empty()), "{heard}");

    let report = midigpt(&[
        "generate",
        "--model",
        &s(&exported),
        "--num-samples",
        "2",
        "--max-tokens",
        "120",
        "--seed",
        "7",
        "--out",
        &s(&samples),
    ]);
    assert!(report.contains("tokens/s"), "{report}");
    let prompt = fixtures.join("POP909_008.mid");
    midigpt(&[
        "generate",
        "--model",
        &s(&run),
        "--prompt",
        &s(&prompt),
        "--prompt-bars",
        "2",
        "--max-tokens",
        "60",
        "--out",
        &s(&samples),
    ]);
    let files: Vec<_> = std::fs::read_dir(&samples)
        .expect("samples")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 3);
    for file in files {
        let score = midigpt_midi::Score::from_file(&file).expect("a valid MIDI file");
        assert!(score.note_count() > 0, "{}", file.display());
        let json = midigpt(&[
            "tokenize",
            "--tokenizer-config",
            &s(&run.join("tokenizer.json")),
            &s(&file),
        ]);
        assert!(json.starts_with("{\"tokens\""));
    }

    // With --render and --pianoroll each sample gets a WAV and a PNG beside it.
    let rendered = tmp.path().join("rendered");
    midigpt(&[
        "generate",
        "--model",
        &s(&run),
        "--max-tokens",
        "60",
        "--out",
        &s(&rendered),
        "--render",
        "--builtin",
        "--pianoroll",
    ]);
    let mid = rendered.join("sample-0.mid");
    let score = midigpt_midi::Score::from_file(&mid).expect("a valid MIDI file");
    let wav = hound::WavReader::open(mid.with_extension("wav")).expect("a WAV beside the MIDI");
    let seconds = wav.len() as f64 / 2.0 / 44_100.0;
    assert!((seconds - score.seconds_at(score.end()) - 1.0).abs() < 0.005);
    assert!(mid.with_extension("png").exists());
}
