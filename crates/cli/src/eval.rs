//! `midigpt eval --model RUN --data DATA [--infill [N]]`: validation loss, perplexity and
//! bits per note, and with `--infill` bits per filled note with and without the music after
//! the hole in view.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use midigpt_data::{load_meta, Shard, Split};
use midigpt_model::GptTrainBackend;
use midigpt_tokenize::InfillVocab;
use midigpt_train::{evaluate_infill, evaluate_shard};
use serde_json::json;

use crate::device::{on_device, OnBackend};

/// Arguments of `midigpt eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Run folder of `midigpt train`, or model folder of `midigpt export`; the built-in POP909
    /// model when omitted.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Prepared data folder whose validation split is scored (same tokenizer as the run).
    #[arg(long)]
    pub data: PathBuf,
    /// Also score bar infilling: bits per filled note in the infill layout against the same
    /// notes scored left to right, on N holes drawn with --seed from the validation split.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "64")]
    pub infill: Option<usize>,
    /// Seed of the infill holes: the same seed scores the same holes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Windows per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Where the model runs: cpu, cuda or cuda:N (a build with the `cuda` feature).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs `midigpt eval` and prints one JSON line.
pub fn run(args: &EvalArgs) -> Result<ExitCode> {
    on_device(&args.device, Eval(args))
}

struct Eval<'a>(&'a EvalArgs);

impl OnBackend for Eval<'_> {
    type Output = ExitCode;

    fn run<B: GptTrainBackend>(self, device: B::Device) -> Result<ExitCode> {
        evaluate::<B>(self.0, &device)
    }
}

fn evaluate<B: GptTrainBackend>(args: &EvalArgs, device: &B::Device) -> Result<ExitCode> {
    let loaded =
        midigpt_compose::ModelPackage::<B::InnerBackend>::load(args.model.as_deref(), device)
            .with_context(|| {
                format!(
                    "loading {}",
                    crate::generate::model_name(args.model.as_deref())
                )
            })?;
    let meta = load_meta(&args.data)?;
    meta.check_tokenizer(loaded.tokenizer.as_ref())
        .with_context(|| {
            format!(
                "scoring {} with {}",
                args.data.display(),
                args.model
                    .as_ref()
                    .map_or("the built-in model".into(), |m| format!(
                        "the model of {}",
                        m.display()
                    ))
            )
        })?;
    let shard = Shard::open_split(&args.data, &meta, Split::Val)?;
    let block = loaded.config.block_size;
    let (loss, scored) = evaluate_shard(&loaded.model, &shard, block, args.batch_size)
        .context("scoring the validation split")?;
    // Notes of the validation files as they were encoded (validation is never transposed).
    let notes: u64 = meta
        .files
        .iter()
        .filter(|f| f.split == Split::Val)
        .map(|f| f.notes)
        .sum();
    let bits_per_token = loss / std::f64::consts::LN_2;
    let bits_per_note = bits_per_token * shard.len() as f64 / notes.max(1) as f64;
    let mut out = json!({"val_loss": loss, "perplexity": loss.exp(), "bits_per_token": bits_per_token,
               "bits_per_note": bits_per_note, "tokens_scored": scored, "val_notes": notes});
    if let Some(holes) = args.infill {
        let v = InfillVocab::new(loaded.tokenizer.as_ref())?;
        let infill = evaluate_infill(&loaded.model, &shard, &v, holes, args.seed)
            .context("scoring infill holes")?;
        out["infill"] = serde_json::to_value(infill)?;
    }
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}
