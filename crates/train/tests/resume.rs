//! A stand-in training loop (the "model" is a checksum of the batches it saw) run once without
//! interruption and once killed and resumed from its latest checkpoint: the two runs must
//! draw the same batches, end in the same state and leave byte-identical `metrics.jsonl`.

use std::path::Path;

use midigpt_data::{Batcher, BatcherState, Shard, Split};
use midigpt_store::{
    latest_checkpoint, read_metrics, Checkpoints, MetricRecord, MetricsWriter, RunDir,
};
use midigpt_train::{create_run, LrSchedule, RunFiles, TrainConfig};
use serde::{Deserialize, Serialize};

/// What the fake trainer writes into each checkpoint folder as `state.json`.
#[derive(Serialize, Deserialize)]
struct State {
    step: u64,
    model: u64,
    batcher: BatcherState,
}

fn config() -> TrainConfig {
    let mut config = TrainConfig::default();
    config
        .apply_overrides(&[
            "batch_size=2",
            "block_size=8",
            "max_iters=20",
            "warmup_iters=2",
            "lr_decay_iters=20",
            "eval_interval=5",
            "checkpoint_interval=5",
            "keep_last=2",
        ])
        .unwrap();
    config.validate().unwrap();
    config
}

fn loss_of(model: u64) -> f64 {
    1.0 + (model % 1000) as f64 / 1000.0
}

/// Trains from the latest checkpoint (or from scratch) until `stop_at` steps are done.
fn train(run: &RunDir, shard: &Shard, stop_at: u64) {
    let config = run.load_config().unwrap();
    let schedule = LrSchedule::from_config(&config);
    let checkpoints = Checkpoints::open(&run.checkpoints_dir(), config.keep_last).unwrap();
    let mut batcher = Batcher::new(
        Split::Train,
        config.batch_size,
        config.block_size,
        config.seed,
    );
    let (mut step, mut model, mut metrics) = match latest_checkpoint(run.root()).unwrap() {
        Some(ckpt) => {
            let text = std::fs::read_to_string(ckpt.path.join("state.json")).unwrap();
            let state: State = serde_json::from_str(&text).unwrap();
            batcher.restore(state.batcher);
            let metrics = MetricsWriter::resume(&run.metrics_path(), state.step).unwrap();
            (state.step, state.model, metrics)
        }
        None => (0, 0, MetricsWriter::create(&run.metrics_path()).unwrap()),
    };
    while step < stop_at {
        let lr = schedule.lr(step);
        if step % config.eval_interval == 0 {
            // A fresh validation batcher each time: every evaluation sees the same batches.
            let mut val = Batcher::new(Split::Val, config.batch_size, config.block_size, 0);
            let x = val.next_batch(shard).unwrap().x;
            let val_loss = loss_of(model + x.iter().map(|&id| id as u64).sum::<u64>());
            metrics
                .append(&MetricRecord::new(
                    step,
                    Split::Val,
                    val_loss,
                    lr,
                    step as f64,
                ))
                .unwrap();
            if step % config.checkpoint_interval == 0 {
                let state = State {
                    step,
                    model,
                    batcher: batcher.state(),
                };
                checkpoints
                    .save(step, Some(val_loss), |dir: &Path| {
                        std::fs::write(dir.join("state.json"), serde_json::to_string(&state)?)
                            .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
                    })
                    .unwrap();
            }
        }
        let batch = batcher.next_batch(shard).unwrap();
        model = model
            .wrapping_mul(31)
            .wrapping_add(batch.y.iter().map(|&id| id as u64).sum());
        let mut record = MetricRecord::new(step, Split::Train, loss_of(model), lr, step as f64);
        record.tokens_per_s = Some(1000.0);
        metrics.append(&record).unwrap();
        step += 1;
    }
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("tokenizer.json"), "{}").unwrap();
    let shard = Shard::from_ids("train", (0..5000).map(|i| (i * 7919) % 300).collect());

    let whole = create_run(&tmp.path().join("whole"), &config(), &data).unwrap();
    train(&whole, &shard, 20);

    let cut = create_run(&tmp.path().join("cut"), &config(), &data).unwrap();
    train(&cut, &shard, 13); // "killed" after step 12; latest checkpoint is step 10
    assert_eq!(latest_checkpoint(cut.root()).unwrap().unwrap().step, 10);
    train(&RunDir::open(cut.root()).unwrap(), &shard, 20);

    let bytes = |run: &RunDir| std::fs::read(run.metrics_path()).unwrap();
    assert_eq!(bytes(&cut), bytes(&whole));
    assert_eq!(read_metrics(&whole.metrics_path()).unwrap().len(), 20 + 4);
    let state = |run: &RunDir| {
        let ckpt = latest_checkpoint(run.root()).unwrap().unwrap();
        std::fs::read_to_string(ckpt.path.join("state.json")).unwrap()
    };
    assert_eq!(state(&cut), state(&whole));
}
