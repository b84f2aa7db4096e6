//! User mistakes through the binary: each exits non-zero with a message that names the problem
//! and what to do, never a panic, and leaves nothing behind.

mod common;

use std::path::{Path, PathBuf};

use common::midigpt_output as midigpt;

/// Runs midigpt, expecting it to fail with a message containing every one of `words`.
fn refused(args: &[&str], words: &[&str]) {
    let (ok, stderr) = midigpt(args);
    assert!(!ok, "{args:?} succeeded");
    for word in words {
        assert!(
            stderr.contains(word),
            "{args:?}: {word:?} not in:\n{stderr}"
        );
    }
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tokenize/tests/data/midi")
        .join(name)
}

/// Three small fixtures prepared with `tokenizer`.
fn prepared(root: &Path, name: &str, tokenizer: &str) -> PathBuf {
    let midi = root.join("midi");
    std::fs::create_dir_all(&midi).expect("folder");
    for file in ["Clementi.mid", "POP909_008.mid", "fmt0_channels.mid"] {
        std::fs::copy(fixture(file), midi.join(file)).expect("copy");
    }
    let data = root.join(name);
    let (ok, err) = midigpt(&[
        "prepare",
        s(&midi),
        "--out",
        s(&data),
        "--tokenizer",
        tokenizer,
        "--val-fraction",
        // By content hash: POP909_008 and fmt0_channels in validation, Clementi in training.
        "0.6",
    ]);
    assert!(ok, "{err}");
    data
}

const TINY: [&str; 9] = [
    "n_layer=1",
    "n_embd=16",
    "n_head=2",
    "block_size=32",
    "batch_size=2",
    "max_iters=2",
    "eval_iters=1",
    "checkpoint_interval=2",
    "warmup_iters=1",
];

fn train_args<'a>(data: &'a Path, out: &'a Path, sets: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["train", "--data", s(data), "--out", s(out)];
    for set in sets {
        args.extend(["--set", set]);
    }
    args
}

#[test]
fn inputs_that_are_not_midi_folders() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let missing = tmp.path().join("missing");
    refused(
        &["prepare", s(&missing), "--out", s(&out)],
        &["is not a folder"],
    );
    let file = fixture("Clementi.mid");
    refused(
        &["prepare", s(&file), "--out", s(&out)],
        &["is not a folder"],
    );
    let text = tmp.path().join("text");
    std::fs::create_dir(&text).expect("folder");
    std::fs::write(text.join("notes.txt"), "no music").expect("write");
    refused(&["prepare", s(&text), "--out", s(&out)], &["no MIDI files"]);
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).expect("folder");
    std::fs::copy(fixture("corrupted/PiDamaged.mid"), bad.join("a.mid")).expect("copy");
    refused(
        &["prepare", s(&bad), "--out", s(&out)],
        &["all 1 MIDI files were skipped", "a.mid: malformed MIDI"],
    );
    assert!(!out.join("meta.json").exists());

    // Training on a folder that is no prepared dataset leaves no run folder behind.
    let run = tmp.path().join("run");
    for data in [&missing, &text] {
        refused(
            &train_args(data, &run, &TINY),
            &["is not a prepared dataset", "midigpt prepare"],
        );
        assert!(!run.exists());
    }
    refused(
        &["generate", "--model", s(&text), "--out", s(&out)],
        &["neither a run folder of `midigpt train`", "midigpt export"],
    );
}

#[test]
fn bad_options_and_mismatched_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = prepared(tmp.path(), "data", "remi-plus");
    let run = tmp.path().join("run");
    let samples = tmp.path().join("samples");

    // Bad settings, refused before a run folder exists.
    refused(
        &train_args(&data, &run, &["n_embd=16", "n_head=3"]),
        &["n_embd (16) must be a multiple of n_head (3)"],
    );
    refused(
        &train_args(&data, &run, &["block_size=100000"]),
        &["use a smaller block_size"],
    );
    refused(
        &train_args(&data, &run, &["dropuot=0.1"]),
        &["unknown config key \"dropuot\""],
    );
    assert!(!run.exists());

    let (ok, err) = midigpt(&train_args(&data, &run, &TINY));
    assert!(ok, "{err}");
    refused(&train_args(&data, &run, &TINY), &["pass --resume"]);

    let model = ["generate", "--model", s(&run), "--out", s(&samples)];
    for (option, value, words) in [
        ("--temperature", "-1", ["--temperature -1", "≥ 0"]),
        ("--temperature", "nan", ["--temperature NaN", "≥ 0"]),
        ("--top-p", "2", ["--top-p 2", "within 0..=1"]),
        ("--max-tokens", "0", ["--max-tokens", "at least 1"]),
        ("--num-samples", "0", ["--num-samples", "at least 1"]),
        (
            "--device",
            "gpu",
            ["unknown device \"gpu\"", "cpu, cuda or cuda:N"],
        ),
    ] {
        refused(&[&model[..], &[option, value]].concat(), &words);
    }
    let empty = fixture("empty.mid");
    refused(
        &[&model[..], &["--prompt", s(&empty)]].concat(),
        &["has no notes"],
    );
    assert!(!samples.exists());

    // Data of another tokenizer: eval and resume refuse it.
    let triplet = prepared(tmp.path(), "triplet", "triplet");
    let words = ["another tokenizer", "--tokenizer-config"];
    refused(&["eval", "--model", s(&run), "--data", s(&triplet)], &words);
    refused(
        &["train", "--data", s(&triplet), "--out", s(&run), "--resume"],
        &words,
    );

    // A model config edited after training no longer fits the weights beside it (generate and
    // eval read that one, as saved) ...
    let edit = |path: &Path| {
        let text = std::fs::read_to_string(path).expect("config");
        let edited = text.replace("\"n_embd\": 16", "\"n_embd\": 32");
        assert_ne!(edited, text);
        std::fs::write(path, edited).expect("write");
    };
    edit(&run.join("checkpoints/step-000002/model_config.json"));
    refused(&model, &["has shape", "the config expects"]);
    refused(
        &["eval", "--model", s(&run), "--data", s(&data)],
        &["has shape"],
    );
    // ... nor does a training config the run resumes with.
    edit(&run.join("config.json"));
    refused(
        &["train", "--data", s(&data), "--out", s(&run), "--resume"],
        &["does not fit the run's config.json"],
    );
}

#[test]
fn train_logs_lines_without_a_terminal_and_resume_takes_only_schedule_changes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = prepared(tmp.path(), "data", "remi-plus");
    let run = tmp.path().join("run");
    let sets = [&TINY[..], &["log_interval=1"]].concat();
    let (ok, out) = midigpt(&train_args(&data, &run, &sets));
    assert!(ok, "{out}");
    // stderr is no terminal here: a line per log_interval steps, as nanoGPT prints.
    assert!(
        out.contains("step 1/2: loss") && out.contains("step 2/2: loss"),
        "{out}"
    );
    assert!(
        out.contains("warning: lr_decay_iters (5000) is past max_iters (2)"),
        "{out}"
    );

    let bigger = train_args(&data, &run, &["max_iters=4", "n_layer=2"]);
    refused(
        &[&bigger[..], &["--resume"]].concat(),
        &["--resume cannot change n_layer (1 → 2)"],
    );
    let longer = train_args(&data, &run, &["max_iters=4", "lr_decay_iters=4"]);
    let (ok, out) = midigpt(&[&longer[..], &["--resume"]].concat());
    assert!(ok, "{out}");
    assert!(out.contains("trained 4 steps"), "{out}");
    assert!(!out.contains("warning"), "{out}");
}

#[test]
fn numbers_out_of_range_and_missing_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let midi = tmp.path().join("midi");
    std::fs::create_dir(&midi).expect("folder");
    std::fs::copy(fixture("Clementi.mid"), midi.join("a.mid")).expect("copy");
    let out = tmp.path().join("out");
    refused(
        &[
            "prepare",
            s(&midi),
            "--out",
            s(&out),
            "--transpose",
            "-128..127",
        ],
        &["-128..127", "12 semitones"],
    );
    assert!(!out.exists());
    let wav = tmp.path().join("a.wav");
    refused(
        &["render", s(&fixture("Clementi.mid")), "--out", s(&wav)]
            .into_iter()
            .chain(["--builtin", "--sample-rate", "500000"])
            .collect::<Vec<_>>(),
        &["sample rate 500000", "16000..=192000"],
    );
    assert!(!wav.exists());

    // The OS error is said once, not once per error that wraps it.
    let missing = tmp.path().join("nope.mid");
    let (ok, text) = midigpt(&["tokenize", s(&missing)]);
    assert!(!ok, "{text}");
    assert!(text.contains("nope.mid"), "{text}");
    assert_eq!(text.matches("(os error 2)").count(), 1, "{text}");
}
