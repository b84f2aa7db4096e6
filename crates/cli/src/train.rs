//! `midigpt train --data DATA --out RUN`: train a GPT on prepared shards.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use midigpt_model::GptTrainBackend;
use midigpt_train::{train, TrainConfig, TrainInfo, TrainJob};

use crate::device::{on_device, OnBackend};

/// Arguments of `midigpt train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Prepared data folder (from `midigpt prepare`).
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder: checkpoints, metrics.jsonl, loss.png, samples.
    #[arg(long)]
    pub out: PathBuf,
    /// TOML config with nanoGPT's key names (n_layer, learning_rate, max_iters, ...).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override one config key, e.g. `--set max_iters=2000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Continue the run in --out from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Where to train: cpu, cuda or cuda:N (a build with the `cuda` feature); the same as
    /// `--set device=...`.
    #[arg(long)]
    pub device: Option<String>,
}

/// Runs `midigpt train`.
pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => {
            TrainConfig::load(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => TrainConfig::default(),
    };
    config.apply_overrides(&args.set)?;
    if let Some(device) = &args.device {
        config.device = device.clone();
    }
    config.validate()?;
    if args.resume && (args.config.is_some() || !args.set.is_empty()) {
        eprintln!(
            "note: --resume continues with the run's saved config; --config/--set are ignored"
        );
    }
    let device = config.device.clone();
    let info = on_device(&device, Training { args, config })
        .with_context(|| format!("training {} on {}", args.out.display(), args.data.display()))?;
    println!(
        "trained {} steps in {:.0} s ({:.0} tokens/s); best validation loss {}",
        info.steps,
        info.elapsed_s,
        info.tokens_per_s,
        info.best_val_loss
            .map_or("-".to_string(), |v| format!("{v:.4}"))
    );
    Ok(ExitCode::SUCCESS)
}

/// `train` once its config is read, on any backend.
struct Training<'a> {
    args: &'a TrainArgs,
    config: TrainConfig,
}

impl OnBackend for Training<'_> {
    type Output = TrainInfo;

    fn run<B: GptTrainBackend>(self, device: B::Device) -> Result<TrainInfo> {
        let Training { args, config } = self;
        let sampler = crate::generate::training_sampler(&args.data, config.sample_tokens);
        Ok(train::<B>(TrainJob {
            data: args.data.clone(),
            out: args.out.clone(),
            config,
            resume: args.resume,
            device,
            progress: true,
            sampler: Some(&sampler),
            stop_at: None,
        })?)
    }
}
