//! Where `generate` and `eval` find a model: a run folder of `midigpt train` (its best
//! checkpoint, else its latest), a folder written by `midigpt export`, or, with no `--model`,
//! the POP909 model built into the binary. `midigpt export` lives here too: it writes the
//! second kind from the first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use midigpt_model::{
    load_safetensors, load_safetensors_bytes, save_safetensors_as, Cpu, Gpt, GptBackend,
    WeightDtype,
};
use midigpt_tokenize::{from_json, load_tokenizer, Tokenizer};
use midigpt_train::{
    best_checkpoint, model_config, write_atomic, RunDir, TrainConfig, CONFIG_FILE, MODEL_FILE,
    TOKENIZER_FILE,
};

/// The bundled model: `models/pop909/` of the source tree (see its README for how it was
/// trained), compiled in so that the binary makes music on its own.
const BUNDLED_NAME: &str = "the built-in POP909 model";
const BUNDLED_CONFIG: &str = include_str!("../../../models/pop909/config.json");
const BUNDLED_TOKENIZER: &str = include_str!("../../../models/pop909/tokenizer.json");
const BUNDLED_WEIGHTS: &[u8] = include_bytes!("../../../models/pop909/model.safetensors");

/// A trained model with its tokenizer and the settings it was trained with.
pub struct Loaded<B: GptBackend> {
    pub model: Gpt<B>,
    pub tokenizer: Box<dyn Tokenizer>,
    pub config: TrainConfig,
}

/// Loads the model at `path` (a run or an exported folder), or the bundled one, onto `device`.
pub fn load_model<B: GptBackend>(path: Option<&Path>, device: &B::Device) -> Result<Loaded<B>> {
    match path {
        None => load_bundled(device).with_context(|| format!("loading {BUNDLED_NAME}")),
        Some(root) if root.join("checkpoints").is_dir() => load_run(root, device),
        Some(root) if root.join(MODEL_FILE).is_file() => load_exported(root, device),
        Some(root) if !root.exists() => bail!("{} does not exist", root.display()),
        Some(root) => bail!(
            "{} is neither a run folder of `midigpt train` (no checkpoints/) nor a model \
             folder of `midigpt export` (no {MODEL_FILE})",
            root.display()
        ),
    }
}

fn load_run<B: GptBackend>(root: &Path, device: &B::Device) -> Result<Loaded<B>> {
    let run = RunDir::open(root).with_context(|| format!("opening run {}", root.display()))?;
    let config = run.load_config()?;
    let tokenizer = load_tokenizer(run.tokenizer_path())?;
    // Read only: the run may be training (and saving) right now.
    let ckpt = best_checkpoint(root)?
        .with_context(|| format!("{} has no checkpoint yet", root.display()))?;
    let mconfig = model_config(&config, tokenizer.vocab_size());
    let model = load_safetensors::<B>(&mconfig, ckpt.path.join(MODEL_FILE), device)?;
    Ok(Loaded {
        model,
        tokenizer,
        config,
    })
}

fn load_exported<B: GptBackend>(root: &Path, device: &B::Device) -> Result<Loaded<B>> {
    let config = TrainConfig::load(&root.join(CONFIG_FILE))?;
    config.validate()?;
    let tokenizer = load_tokenizer(root.join(TOKENIZER_FILE))?;
    let mconfig = model_config(&config, tokenizer.vocab_size());
    let model = load_safetensors::<B>(&mconfig, root.join(MODEL_FILE), device)?;
    Ok(Loaded {
        model,
        tokenizer,
        config,
    })
}

fn load_bundled<B: GptBackend>(device: &B::Device) -> Result<Loaded<B>> {
    let config: TrainConfig = serde_json::from_str(BUNDLED_CONFIG)?;
    config.validate()?;
    let tokenizer = from_json(&serde_json::from_str(BUNDLED_TOKENIZER)?)?;
    let mconfig = model_config(&config, tokenizer.vocab_size());
    let origin = Path::new("models/pop909/model.safetensors");
    let model = load_safetensors_bytes::<B>(&mconfig, BUNDLED_WEIGHTS, origin, device)?;
    Ok(Loaded {
        model,
        tokenizer,
        config,
    })
}

/// Arguments of `midigpt export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Run folder of `midigpt train` (its best checkpoint is exported, else its latest).
    #[arg(long)]
    pub model: PathBuf,
    /// Folder to write config.json, tokenizer.json and model.safetensors into.
    #[arg(long)]
    pub out: PathBuf,
    /// Store the weights as F16: half the size, for sharing (F32 otherwise).
    #[arg(long)]
    pub half: bool,
}

/// Runs `midigpt export`: the model of a run as a folder that `generate` and `eval` take as
/// `--model`, without optimizer state or history.
pub fn export(args: &ExportArgs) -> Result<ExitCode> {
    let loaded = load_model::<Cpu>(Some(&args.model), &Default::default())?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let dtype = if args.half {
        WeightDtype::F16
    } else {
        WeightDtype::F32
    };
    save_safetensors_as(&loaded.model, args.out.join(MODEL_FILE), dtype)?;
    // Both kinds of folder keep these two files at their root; copied byte for byte.
    for name in [CONFIG_FILE, TOKENIZER_FILE] {
        let from = args.model.join(name);
        let bytes = std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
        write_atomic(&args.out.join(name), &bytes)?;
    }
    println!(
        "{}: {} parameters, {dtype:?}",
        args.out.display(),
        loaded.model.num_params()
    );
    Ok(ExitCode::SUCCESS)
}
