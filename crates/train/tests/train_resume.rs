//! Real training on a tiny model: the loss falls, and a run interrupted and resumed from its
//! checkpoint gives exactly the losses of a run that was never stopped.

use std::path::Path;

use midigpt_data::{prepare, NoProgress, PrepareOptions, Split};
use midigpt_model::CpuTrain;
use midigpt_train::{read_metrics, train, TrainConfig, TrainError, TrainInfo, TrainJob};

fn data(dir: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tokenize/tests/data/midi");
    let mut options = PrepareOptions::new(&fixtures, dir);
    options.val_fraction = 0.2;
    prepare(
        midigpt_tokenize::builtin("remi-plus").unwrap(),
        &options,
        &NoProgress,
    )
    .unwrap();
}

fn config() -> TrainConfig {
    let mut c = TrainConfig::default();
    c.apply_overrides(&[
        "n_layer=2",
        "n_head=2",
        "n_embd=32",
        "block_size=32",
        "batch_size=4",
        "max_iters=20",
        "warmup_iters=2",
        "lr_decay_iters=20",
        "eval_interval=10",
        "eval_iters=2",
        "checkpoint_interval=5",
        "learning_rate=0.003",
        "min_lr=0.0003",
        "gradient_accumulation_steps=2",
    ])
    .unwrap();
    c
}

fn try_run(
    data: &Path,
    out: &Path,
    resume: bool,
    stop_at: Option<u64>,
) -> Result<TrainInfo, TrainError> {
    train::<CpuTrain>(TrainJob {
        data: data.to_path_buf(),
        out: out.to_path_buf(),
        config: config(),
        resume,
        device: Default::default(),
        progress: false,
        sampler: None,
        stop_at,
    })
}

fn run(data: &Path, out: &Path, resume: bool, stop_at: Option<u64>) {
    try_run(data, out, resume, stop_at).unwrap();
}

/// (step, split, loss) of every metrics line.
fn losses(out: &Path) -> Vec<(u64, bool, f64)> {
    let records = read_metrics(&out.join("metrics.jsonl")).unwrap();
    records
        .iter()
        .map(|r| (r.step, r.split == Split::Val, r.loss))
        .collect()
}

#[test]
fn loss_falls_and_resume_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    data(&d);
    let whole = tmp.path().join("whole");
    run(&d, &whole, false, None);
    let full = losses(&whole);
    let val: Vec<f64> = full.iter().filter(|l| l.1).map(|l| l.2).collect();
    assert_eq!(val.len(), 3, "evaluations at 0, 10, 20");
    assert!(val[2] < val[0] - 0.3, "validation loss falls: {val:?}");
    // Checkpoints keep their own interval, between evaluations too (keep_last = 3).
    let saved = |out: &Path, step: u32| out.join(format!("checkpoints/step-{step:06}"));
    assert!([10, 15, 20].iter().all(|&s| saved(&whole, s).is_dir()));

    // A fresh run never overwrites a run that has checkpoints.
    let err = try_run(&d, &whole, false, None).unwrap_err();
    assert!(
        matches!(err, TrainError::RunExists { step: 20, .. }),
        "{err}"
    );

    let cut = tmp.path().join("cut");
    run(&d, &cut, false, Some(3)); // killed before its first checkpoint
    run(&d, &cut, true, Some(13)); // resumes from the start; last checkpoint at 10
    let written = |out: &Path| std::fs::metadata(saved(out, 10).join("checkpoint.json"));
    let before = written(&cut).unwrap().modified().unwrap();
    run(&d, &cut, true, None);
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
