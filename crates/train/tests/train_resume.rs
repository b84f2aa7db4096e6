//! Real training on a tiny model: the loss falls, and a run interrupted and resumed from its
//! checkpoint gives exactly the losses (and weights) of a run that was never stopped, with
//! dropout too; a resumed run takes new schedule settings but not a new model.

mod common;

use std::path::Path;

use common::{config, losses, prepared, run, serial, try_run};
use midigpt_store::RunDir;
use midigpt_train::{ConfigError, RunFiles, TrainError};

#[test]
fn loss_falls_and_resume_is_exact() {
    let _serial = serial();
    let c = config(&[]);
    let (tmp, d) = prepared();
    let whole = tmp.path().join("whole");
    run(&d, &whole, &c, false, None);
    let full = losses(&whole);
    let val: Vec<f64> = full.iter().filter(|l| l.1).map(|l| l.2).collect();
    assert_eq!(val.len(), 3, "evaluations at 0, 10, 20");
    assert!(val[2] < val[0] - 0.3, "validation loss falls: {val:?}");
    // Checkpoints keep their own interval, between evaluations too (keep_last = 3).
    let saved = |out: &Path, step: u32| out.join(format!("checkpoints/step-{step:06}"));
    assert!([10, 15, 20].iter().all(|&s| saved(&whole, s).is_dir()));

    // A fresh run never overwrites a run that has checkpoints.
    let err = try_run(&d, &whole, &c, false, None).unwrap_err();
    assert!(
        matches!(err, TrainError::RunExists { step: 20, .. }),
        "{err}"
    );

    let cut = tmp.path().join("cut");
    run(&d, &cut, &c, false, Some(3)); // killed before its first checkpoint
    run(&d, &cut, &c, true, Some(13)); // resumes from the start; last checkpoint at 10
    let written = |out: &Path| std::fs::metadata(saved(out, 10).join("checkpoint.json"));
    let before = written(&cut).unwrap().modified().unwrap();
    run(&d, &cut, &c, true, None);
    assert_eq!(
        losses(&cut),
        full,
        "a resumed run repeats the uninterrupted run's losses"
    );
    assert!(cut
        .join("checkpoints/step-000020/model.safetensors")
        .exists());
    assert_eq!(
        written(&cut).unwrap().modified().unwrap(),
        before,
        "the checkpoint resumed from is not written again"
    );
}

#[test]
fn resume_with_dropout_is_exact() {
    let _serial = serial();
    let (tmp, d) = prepared();
    let c = config(&["dropout=0.1"]);
    let whole = tmp.path().join("whole");
    run(&d, &whole, &c, false, None);
    let cut = tmp.path().join("cut");
    run(&d, &cut, &c, false, Some(7)); // last checkpoint at 5
    run(&d, &cut, &c, true, Some(12)); // last checkpoint at 10
    run(&d, &cut, &c, true, None);
    assert_eq!(losses(&cut), losses(&whole));
    let weights = |out: &Path| std::fs::read(out.join("checkpoints/step-000020/model.safetensors"));
    assert!(
        weights(&cut).unwrap() == weights(&whole).unwrap(),
        "the resumed run ends with the uninterrupted run's weights"
    );

    // Dropout is at work: without it the first step's loss differs.
    let plain = tmp.path().join("plain");
    run(&d, &plain, &config(&[]), false, Some(1));
    let first_train = |out: &Path| losses(out).into_iter().find(|l| !l.1).unwrap();
    assert_ne!(first_train(&plain), first_train(&whole));
}

#[test]
fn resume_takes_new_schedule_settings_but_not_a_new_model() {
    let _serial = serial();
    let (tmp, d) = prepared();
    let out = tmp.path().join("run");
    let short = config(&["max_iters=10", "lr_decay_iters=10"]);
    assert_eq!(run(&d, &out, &short, false, None).steps, 10);

    // Extended as nanoGPT users do, with a larger max_iters.
    let longer = config(&["max_iters=16", "lr_decay_iters=16", "eval_interval=8"]);
    let info = run(&d, &out, &longer, true, None);
    assert_eq!((info.steps, info.finished), (16, true));
    let saved = RunDir::open(&out).unwrap().load_config().unwrap();
    assert_eq!((saved.max_iters, saved.eval_interval), (16, 8));
    let steps: Vec<(u64, bool)> = losses(&out).iter().map(|l| (l.0, l.1)).collect();
    assert!(
        steps.contains(&(10, false)) && steps.contains(&(16, true)),
        "{steps:?}"
    );
    assert!(out.join("checkpoints/step-000016").is_dir());

    // Settings that change the model or the batches are refused, named, and nothing changes.
    let other = config(&["max_iters=30", "n_layer=3", "batch_size=2"]);
    let err = try_run(&d, &out, &other, true, None).unwrap_err();
    let TrainError::Config(ConfigError::FixedOnResume { changes }) = &err else {
        panic!("expected FixedOnResume, got {err}");
    };
    assert!(
        changes.contains("n_layer (2 → 3)") && changes.contains("batch_size (4 → 2)"),
        "{changes}"
    );
    assert!(!changes.contains("max_iters"), "{changes}");
    assert_eq!(RunDir::open(&out).unwrap().load_config().unwrap(), saved);
}

#[test]
fn resume_with_infill_examples_is_exact() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    common::data_infill(&d);
    // Windows long enough to hold whole bars, so that rows do become infill examples.
    let c = config(&["infill_rate=0.5", "block_size=128"]);
    let whole = tmp.path().join("whole");
    run(&d, &whole, &c, false, None);
    let cut = tmp.path().join("cut");
    run(&d, &cut, &c, false, Some(7)); // last checkpoint at 5
    run(&d, &cut, &c, true, None);
    assert_eq!(losses(&cut), losses(&whole));
    let weights = |out: &Path| std::fs::read(out.join("checkpoints/step-000020/model.safetensors"));
    assert!(weights(&cut).unwrap() == weights(&whole).unwrap());

    // The infill examples are at work: without them the first step's loss differs.
    let plain = tmp.path().join("plain");
    run(&d, &plain, &config(&["block_size=128"]), false, Some(1));
    let first_train = |out: &Path| losses(out).into_iter().find(|l| !l.1).unwrap();
    assert_ne!(first_train(&plain), first_train(&whole));

    // Data without the infill tokens is refused, naming the setting.
    let (_tmp, plain_data) = prepared();
    let err = try_run(&plain_data, &tmp.path().join("no"), &c, false, None).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("infill_rate") && message.contains("--infill-tokens"),
        "{message}"
    );
}

#[test]
fn a_run_without_progress_stops_early_and_says_when() {
    let _serial = serial();
    let (tmp, d) = prepared();
    let out = tmp.path().join("run");
    // A learning rate far below an f32 weight's precision: the weights stay as they are,
    // and the validation loss never gets better than at step 0.
    let still = config(&[
        "learning_rate=1e-12",
        "min_lr=1e-13",
        "eval_interval=2",
        "patience=2",
    ]);
    let info = run(&d, &out, &still, false, None);
    assert_eq!(
        info.steps, 4,
        "stopped after two evaluations without a better loss"
    );
    assert!(info.finished);
    assert_eq!(info.extra["stopped_early_at"], 4);
    let evals: Vec<u64> = losses(&out).iter().filter(|l| l.1).map(|l| l.0).collect();
    assert_eq!(evals, [0, 2, 4]);
    // The best checkpoint (step 0's weights, saved at the end) is kept.
    assert!(midigpt_store::latest_checkpoint(&out).unwrap().is_some());
}

/// Asks to stop once `0` steps are done, as a cancel button would.
struct StopAfter(u64, std::cell::Cell<u64>);

impl midigpt_train::TrainReport for StopAfter {
    fn step(&self, _stats: &midigpt_train::StepStats) {
        self.1.set(self.1.get() + 1);
    }
    fn stop_requested(&self) -> bool {
        self.1.get() >= self.0
    }
}

#[test]
fn a_stopped_run_is_saved_where_it_stopped_and_resumes() {
    let _serial = serial();
    let (tmp, d) = prepared();
    let out = tmp.path().join("run");
    let info = midigpt_train::train::<midigpt_model::CpuTrain>(midigpt_train::TrainJob {
        data: d.clone(),
        out: out.clone(),
        config: config(&[]),
        resume: false,
        device: Default::default(),
        report: &StopAfter(3, Default::default()),
        sampler: None,
        stop_at: None,
        init: None,
    })
    .unwrap();
    assert_eq!((info.steps, info.finished), (3, false));
    assert_eq!(info.extra["stopped_at"], 3);
    let saved = midigpt_store::latest_checkpoint(&out).unwrap().unwrap();
    assert_eq!(saved.step, 3);
    assert_eq!(run(&d, &out, &config(&[]), true, None).steps, 20);
}
