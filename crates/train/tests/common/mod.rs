//! A tiny prepared dataset and a tiny model config, trained on the CPU by the tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use midigpt_data::{prepare, NoProgress, PrepareOptions, Split};
use midigpt_model::CpuTrain;
use midigpt_store::read_metrics;
use midigpt_train::{train, NoReport, TrainConfig, TrainError, TrainInfo, TrainJob};

/// The CPU backend draws its random numbers (initial weights, dropout masks) from one
/// generator per process: runs compared number for number must not interleave.
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the lock that keeps training runs of this test binary one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The tokenizer tests' MIDI files prepared into `dir` (REMI+).
pub fn data(dir: &Path) {
    data_with(dir, midigpt_tokenize::builtin("remi-plus").unwrap());
}

/// The same with the infill tokens.
pub fn data_infill(dir: &Path) {
    let plain = midigpt_tokenize::builtin("remi-plus").unwrap();
    data_with(
        dir,
        midigpt_tokenize::with_infill_tokens(plain.as_ref()).unwrap(),
    );
}

fn data_with(dir: &Path, tokenizer: Box<dyn midigpt_tokenize::Tokenizer>) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tokenize/tests/data/midi");
    let mut options = PrepareOptions::new(&fixtures, dir);
    options.val_fraction = 0.2;
    prepare(tokenizer, &options, &NoProgress).unwrap();
}

/// A temporary folder holding the prepared data in `data/`, and that folder.
pub fn prepared() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    data(&d);
    (tmp, d)
}

/// A 2-layer, 32-wide model, 20 steps, evaluated every 10 and saved every 5, with `extra`
/// overrides.
pub fn config(extra: &[&str]) -> TrainConfig {
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
    c.apply_overrides(extra).unwrap();
    c
}

pub fn try_run(
    data: &Path,
    out: &Path,
    config: &TrainConfig,
    resume: bool,
    stop_at: Option<u64>,
) -> Result<TrainInfo, TrainError> {
    train::<CpuTrain>(TrainJob {
        data: data.to_path_buf(),
        out: out.to_path_buf(),
        config: config.clone(),
        resume,
        device: Default::default(),
        report: &NoReport,
        sampler: None,
        stop_at,
        init: None,
    })
}

pub fn run(
    data: &Path,
    out: &Path,
    config: &TrainConfig,
    resume: bool,
    stop_at: Option<u64>,
) -> TrainInfo {
    try_run(data, out, config, resume, stop_at).unwrap()
}

/// (step, split is val, loss) of every metrics line.
pub fn losses(out: &Path) -> Vec<(u64, bool, f64)> {
    let records = read_metrics(&out.join("metrics.jsonl")).unwrap();
    records
        .iter()
        .map(|r| (r.step, r.split == Split::Val, r.loss))
        .collect()
}
