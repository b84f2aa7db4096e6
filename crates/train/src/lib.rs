//! Training without the model: everything a training loop needs around the forward and
//! backward passes.
//!
//! - [`TrainConfig`] holds every hyper-parameter, from TOML plus `--set key=value` overrides;
//! - [`LrSchedule`] is linear warmup and cosine decay (nanoGPT's `get_lr`);
//! - [`MetricsWriter`] and [`read_metrics`] write and read `RUN/metrics.jsonl`, truncated on
//!   resume;
//! - [`plot_loss`] draws `RUN/loss.png`;
//! - [`RunDir`] and [`TrainInfo`] lay out the run folder;
//! - [`Checkpoints`] saves atomic checkpoint folders with `latest` and `best` pointers and
//!   rotation;
//! - [`train`] runs the loop ([`train_step`] is one optimizer step) and tells a
//!   [`TrainReport`] what it does.
//!
//! Batches come from [`midigpt_data::Batcher`].
//!
//! ```no_run
//! use midigpt_train::{Checkpoints, LrSchedule, MetricRecord, MetricsWriter, RunDir, TrainConfig};
//! use midigpt_data::Split;
//! let mut config = TrainConfig::load("train.toml".as_ref())?;
//! config.apply_overrides(&["n_layer=6", "learning_rate=6e-4"])?;
//! config.validate()?;
//! let run = RunDir::create("runs/a".as_ref(), &config, "data/".as_ref())?;
//! let schedule = LrSchedule::from_config(&config);
//! let mut metrics = MetricsWriter::create(&run.metrics_path())?;
//! let checkpoints = Checkpoints::open(&run.checkpoints_dir(), config.keep_last)?;
//! metrics.append(&MetricRecord::new(0, Split::Val, 5.2, schedule.lr(0), 0.0))?;
//! checkpoints.save(0, Some(5.2), |dir| std::fs::write(dir.join("model.safetensors"), b""))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adamw;
mod checkpoint;
mod config;
mod dtype;
mod error;
mod infill_eval;
mod metrics;
pub mod optim;
mod plot;
mod progress;
mod resume;
mod run;
mod schedule;
mod step;
mod trainer;

pub use checkpoint::{
    best_checkpoint, latest_checkpoint, step_name, Checkpoint, Checkpoints, BEST_POINTER,
    CHECKPOINT_META_FILE, LATEST_POINTER,
};
pub use config::{Arch, TrainConfig};
pub use dtype::Dtype;
pub use error::{ConfigError, TrainError};
pub use infill_eval::{evaluate_infill, InfillEval};
pub use metrics::{read_metrics, MetricRecord, MetricsWriter};
pub use plot::{plot_loss, LOSS_PLOT_SIZE};
pub use progress::{NoReport, StepStats, TrainReport};
pub use run::{
    utc_now, utc_now_secs, utc_timestamp, write_atomic, RunDir, TrainInfo, CONFIG_FILE,
    CONFIG_TOML_FILE, LOSS_PLOT_FILE, METRICS_FILE, TOKENIZER_FILE, TRAIN_INFO_FILE,
};
pub use schedule::LrSchedule;
pub use step::{
    evaluate, evaluate_shard, step_seed, tensors, train_step, Pair, StepOutput, StepSettings,
};
pub use trainer::{model_config, train, Sampler, TrainJob, MODEL_FILE};
