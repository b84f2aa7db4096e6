//! Training without the model: everything a training loop needs around the forward and
//! backward passes.
//!
//! - [`TrainConfig`] holds every hyper-parameter, from TOML plus `--set key=value` overrides;
//! - [`LrSchedule`] is linear warmup and cosine decay (nanoGPT's `get_lr`);
//! - [`plot_loss`] draws `RUN/loss.png`;
//! - [`create_run`], [`RunFiles`] and [`TrainInfo`]: what a run keeps in its folder (the
//!   folder's layout, checkpoints and metrics file are `midigpt-store`'s);
//! - [`fine_tune_config`] and [`Init`]: a run that starts from a saved model;
//! - [`train`] runs the loop ([`train_step`] is one optimizer step) and tells a
//!   [`TrainReport`] what it does.
//!
//! Batches come from [`midigpt_data::Batcher`].
//!
//! ```no_run
//! use midigpt_store::{Checkpoints, MetricRecord, MetricsWriter, Split};
//! use midigpt_train::{create_run, LrSchedule, TrainConfig};
//! let mut config = TrainConfig::load("train.toml".as_ref())?;
//! config.apply_overrides(&["n_layer=6", "learning_rate=6e-4"])?;
//! config.validate()?;
//! let run = create_run("runs/a".as_ref(), &config, "data/".as_ref())?;
//! let schedule = LrSchedule::from_config(&config);
//! let mut metrics = MetricsWriter::create(&run.metrics_path())?;
//! let checkpoints = Checkpoints::open(&run.checkpoints_dir(), config.keep_last)?;
//! metrics.append(&MetricRecord::new(0, Split::Val, 5.2, schedule.lr(0), 0.0))?;
//! checkpoints.save(0, Some(5.2), |dir| std::fs::write(dir.join("model.safetensors"), b""))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adamw;
mod config;
mod config_check;
mod dtype;
mod error;
mod finetune;
mod infill_eval;
pub mod optim;
mod plot;
mod progress;
mod resume;
mod run;
mod schedule;
mod step;
mod trainer;

pub use config::{Arch, TrainConfig};
pub use dtype::Dtype;
pub use error::{ConfigError, TrainError};
pub use finetune::{fine_tune_config, take_shape, Init};
pub use infill_eval::{evaluate_infill, InfillEval};
pub use plot::{plot_loss, LOSS_PLOT_SIZE};
pub use progress::{NoReport, StepStats, TrainReport};
pub use run::{create_run, RunFiles, TrainInfo};
pub use schedule::LrSchedule;
pub use step::{
    evaluate, evaluate_shard, step_seed, tensors, train_step, Pair, StepOutput, StepSettings,
};
pub use trainer::{model_config, train, Sampler, TrainJob};
