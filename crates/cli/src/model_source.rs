//! `midigpt export`: the model of a run as a folder that `generate` and `eval` take as
//! `--model`, without optimizer state or history. Loading models is `midigpt_compose`'s.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use midigpt_compose::ModelPackage;
use midigpt_model::{Cpu, WeightDtype};

/// Arguments of `midigpt export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Run folder of `midigpt train` (its best checkpoint is exported, else its latest).
    #[arg(long)]
    pub model: PathBuf,
    /// Folder to write the Hugging Face model folder into (model.safetensors, config.json,
    /// generation_config.json, tokenizer.json, model_config.json, README.md).
    #[arg(long)]
    pub out: PathBuf,
    /// Store the weights as F16: half the size, for sharing (F32 otherwise).
    #[arg(long)]
    pub half: bool,
}

/// Runs `midigpt export`.
pub fn export(args: &ExportArgs) -> Result<ExitCode> {
    let pkg = ModelPackage::<Cpu>::load(Some(&args.model), &Default::default())
        .with_context(|| format!("loading {}", args.model.display()))?;
    let dtype = if args.half {
        WeightDtype::F16
    } else {
        WeightDtype::F32
    };
    pkg.export(&args.out, dtype)?;
    println!(
        "{}: {} parameters, {dtype:?}",
        args.out.display(),
        pkg.model.num_params()
    );
    Ok(ExitCode::SUCCESS)
}
