//! `midigpt train --data DATA --out RUN`: train a GPT on prepared shards.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use midigpt_model::GptTrainBackend;
use midigpt_store::RunDir;
use midigpt_train::{train, RunFiles, TrainConfig, TrainInfo, TrainJob};

use crate::device::{on_device, OnBackend};
use crate::progress::TrainBar;

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
    /// Continue the run in --out from its latest checkpoint, with its saved config; --config
    /// and --set may change the schedule, intervals and device (max_iters to extend it,
    /// learning_rate after a divergence), not the model or the data.
    #[arg(long)]
    pub resume: bool,
    /// Where to train: cpu, cuda or cuda:N (a build with the `cuda` feature); the same as
    /// `--set device=...`.
    #[arg(long)]
    pub device: Option<String>,
}

/// Runs `midigpt train`.
pub fn run(args: &TrainArgs) -> Result<ExitCode> {
    // --config and --set change the defaults for a new run, the run's saved config on
    // --resume (which refuses changes to the model or the data).
    let mut config = if args.resume {
        RunDir::open(&args.out)?.load_config()?
    } else {
        TrainConfig::default()
    };
    if let Some(path) = &args.config {
        config
            .overlay_file(path)
            .with_context(|| format!("reading {}", path.display()))?;
    }
    config.apply_overrides(&args.set)?;
    if let Some(device) = &args.device {
        config.device = device.clone();
    }
    config.validate()?;
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
        let report = TrainBar::new();
        Ok(train::<B>(TrainJob {
            data: args.data.clone(),
            out: args.out.clone(),
            config,
            resume: args.resume,
            device,
            report: &report,
            sampler: Some(&sampler),
            stop_at: None,
        })?)
    }
}
