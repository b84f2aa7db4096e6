//! `midigpt train --data DATA --out RUN`: train a GPT on prepared shards.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use midigpt_compose::ModelPackage;
use midigpt_data::{load_meta, META_FILE};
use midigpt_model::{Cpu, GptTrainBackend};
use midigpt_store::RunDir;
use midigpt_train::{fine_tune_config, train, Init, RunFiles, TrainConfig, TrainInfo, TrainJob};

use crate::device::{on_device, OnBackend};
use crate::finetune;
use crate::progress::TrainBar;

/// Parameters from which a model is too large to fine-tune whole on a CPU in minutes.
const LARGE_MODEL: usize = 100_000_000;

/// Arguments of `midigpt train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Prepared data folder (from `midigpt prepare`); with --init, a folder of MIDI files
    /// too (prepared like the model's training files into OUT/data).
    #[arg(long)]
    pub data: PathBuf,
    /// Fine-tune: start from this model's weights (`builtin` or a run, exported or Hugging
    /// Face folder), with its architecture and tokenizer, and settings derived from the
    /// data's size (printed; --config and --set change any).
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    pub init: Option<String>,
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
    // --config and --set change the defaults for a new run (a fine-tune's derive from its
    // model and data), the run's saved config on --resume (which refuses changes to the
    // model or the data).
    let mut data = args.data.clone();
    let mut fine_tuning = None;
    let mut config = if args.resume {
        let run = RunDir::open(&args.out)?;
        let prepared = finetune::run_data(run.root());
        if !data.join(META_FILE).is_file() && prepared.join(META_FILE).is_file() {
            data = prepared;
        }
        run.load_config()?
    } else if let Some(model) = &args.init {
        data = finetune::data_for(&args.data, &args.out, model)?;
        let meta = load_meta(&data)?;
        let pkg = ModelPackage::<Cpu>::load(finetune::model_path(model), &Default::default())
            .with_context(|| format!("loading {model}"))?;
        let counts = &meta.counts;
        let params = pkg.model.num_params();
        fine_tuning = Some(format!(
            "fine-tuning {} ({params} parameters) on {} tokens of {} files",
            pkg.origin, counts.tokens_train, counts.files_ok
        ));
        if params >= LARGE_MODEL {
            // Low-rank adapters would train a few matrices beside frozen weights; midigpt
            // trains whole models only, so say what that costs and what to do instead.
            eprintln!(
                "note: {} has {params} parameters: a whole fine-tune holds its weights, \
                 gradients and two AdamW moments ({:.1} GB) and every step computes all of \
                 them; midigpt has no low-rank adapters. On a CPU, fine-tune a smaller model, \
                 or train on a GPU (--device cuda).",
                pkg.origin,
                params as f64 * 16.0 / 1e9
            );
        }
        fine_tune_config(&pkg.config, model, counts.tokens_train, counts.tokens_val)
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
    if let Some(what) = fine_tuning {
        println!(
            "{what}: {} steps of {}×{} tokens at learning rate {:.0e}, evaluated every {} \
             steps, stopping after {} evaluations without a better loss",
            config.max_iters,
            config.batch_size,
            config.window(),
            config.learning_rate,
            config.eval_interval,
            config.patience
        );
    }
    let device = config.device.clone();
    let info = on_device(
        &device,
        Training {
            args,
            config,
            data: &data,
        },
    )
    .with_context(|| format!("training {} on {}", args.out.display(), data.display()))?;
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
    data: &'a Path,
}

impl OnBackend for Training<'_> {
    type Output = TrainInfo;

    fn run<B: GptTrainBackend>(self, device: B::Device) -> Result<TrainInfo> {
        let Training { args, config, data } = self;
        let sampler = crate::generate::training_sampler(data, config.sample_tokens);
        let report = TrainBar::new();
        // A new fine-tune starts from its model, loaded where it trains.
        let init = match args.resume || config.from_scratch() {
            true => None,
            false => {
                let path = finetune::model_path(&config.init_from);
                let pkg = ModelPackage::<B>::load(path, &device)
                    .with_context(|| format!("loading {}", config.init_from))?;
                Some(Init {
                    model: pkg.model,
                    tokenizer: pkg.tokenizer,
                    programs: pkg.programs,
                })
            }
        };
        Ok(train::<B>(TrainJob {
            data: data.to_owned(),
            out: args.out.clone(),
            config,
            resume: args.resume,
            device,
            report: &report,
            sampler: Some(&sampler),
            stop_at: None,
            init,
        })?)
    }
}
