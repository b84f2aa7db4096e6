//! A model package: the weights, the model's config and the tokenizer, from a run folder of
//! `midigpt train` (its best checkpoint, else its latest), a folder written by `midigpt
//! export`, or the POP909 model built into the library.
//!
//! Each weights file has the model's config beside it (`model_config.json`), read as is.
//! Runs and exports made before that file existed are read through their training config
//! (`config.json`), as they were trained.

use std::path::{Path, PathBuf};

use midigpt_data::PREPARE_FILE;
use midigpt_model::{
    load_safetensors, load_safetensors_bytes, save_safetensors_hf, Gpt, GptBackend, GptConfig,
    WeightDtype, MODEL_CONFIG_FILE,
};
use midigpt_tokenize::{from_json, load_tokenizer, Tokenizer};
use midigpt_train::{
    best_checkpoint, model_config, write_atomic, RunDir, TrainConfig, CONFIG_FILE, MODEL_FILE,
    TOKENIZER_FILE,
};

use crate::hf::is_hf_folder;
use crate::{ComposeError, PromptFit};

/// What the built-in model is called in messages.
pub const BUILTIN_NAME: &str = "the built-in POP909 model";
/// The built-in model: `models/pop909/` of the source tree (its README says how it was
/// trained), compiled in so that every program using this library makes music on its own.
const BUILTIN_MODEL_CONFIG: &str = include_str!("../../../models/pop909/model_config.json");
const BUILTIN_TOKENIZER: &str = include_str!("../../../models/pop909/tokenizer.json");
const BUILTIN_WEIGHTS: &[u8] = include_bytes!("../../../models/pop909/model.safetensors");
const BUILTIN_PREPARE: &str = include_str!("../../../models/pop909/prepare.json");

/// A trained model with its tokenizer, ready to compose.
pub struct ModelPackage<B: GptBackend> {
    /// The network.
    pub model: Gpt<B>,
    /// The tokenizer it was trained with.
    pub tokenizer: Box<dyn Tokenizer>,
    /// The model's config, as saved beside its weights.
    pub config: GptConfig,
    /// Where it came from, for messages: a path, or [`BUILTIN_NAME`].
    pub origin: String,
    /// The folder it was loaded from (`None` for the built-in model).
    pub root: Option<PathBuf>,
    /// How its training scores were relabelled, for its prompts (see [`PromptFit`]).
    pub prompt_fit: PromptFit,
}

impl<B: GptBackend> ModelPackage<B> {
    /// Loads the model at `path` (a run or an exported folder), or the built-in one, onto
    /// `device`.
    pub fn load(path: Option<&Path>, device: &B::Device) -> Result<Self, ComposeError> {
        let not = |why: String| {
            let path = path.map(Path::to_path_buf).unwrap_or_default();
            Err(ComposeError::NotAModel { path, why })
        };
        match path {
            None => Self::builtin(device),
            Some(root) if root.join("checkpoints").is_dir() => Self::load_run(root, device),
            Some(root) if is_hf_folder(root) => Self::load_hf(root, device),
            Some(root) if root.join(MODEL_FILE).is_file() => Self::load_exported(root, device),
            Some(root) if !root.exists() => not("does not exist".into()),
            Some(_) => not(format!(
                "neither a run folder of `midigpt train` (no checkpoints/), a model folder \
                 of `midigpt export` (no {MODEL_FILE}) nor a Hugging Face model folder \
                 (no config.json with a model_type)"
            )),
        }
    }

    /// The built-in POP909 model.
    pub fn builtin(device: &B::Device) -> Result<Self, ComposeError> {
        let origin = Path::new("models/pop909");
        let json: serde_json::Value =
            serde_json::from_str(BUILTIN_TOKENIZER).map_err(|e| ComposeError::NotAModel {
                path: origin.join(TOKENIZER_FILE),
                why: e.to_string(),
            })?;
        let tokenizer = from_json(&json)?;
        let config = GptConfig::from_json(BUILTIN_MODEL_CONFIG, &origin.join(MODEL_CONFIG_FILE))?;
        check_vocab(&config, tokenizer.as_ref(), origin)?;
        let weights = origin.join(MODEL_FILE);
        let model = load_safetensors_bytes::<B>(&config, BUILTIN_WEIGHTS, &weights, device)?;
        let prompt_fit = PromptFit::from_json(BUILTIN_PREPARE, &origin.join(PREPARE_FILE))?;
        Ok(ModelPackage {
            model,
            tokenizer,
            config,
            origin: BUILTIN_NAME.into(),
            root: None,
            prompt_fit,
        })
    }

    fn load_run(root: &Path, device: &B::Device) -> Result<Self, ComposeError> {
        let run = RunDir::open(root)?;
        let tokenizer = load_tokenizer(run.tokenizer_path())?;
        // Read only: the run may be training (and saving) right now.
        let ckpt = best_checkpoint(root)?.ok_or_else(|| ComposeError::NotAModel {
            path: root.into(),
            why: "has no checkpoint yet".into(),
        })?;
        let weights = ckpt.path.join(MODEL_FILE);
        let config = match GptConfig::beside(&weights)? {
            Some(config) => config,
            None => legacy_config(&run.load_config()?, tokenizer.as_ref()),
        };
        Self::from_files(root, &weights, config, tokenizer, device)
    }

    fn load_exported(root: &Path, device: &B::Device) -> Result<Self, ComposeError> {
        let tokenizer = load_tokenizer(root.join(TOKENIZER_FILE))?;
        let weights = root.join(MODEL_FILE);
        let config = match GptConfig::beside(&weights)? {
            Some(config) => config,
            None => {
                let train = TrainConfig::load(&root.join(CONFIG_FILE))?;
                train.validate()?;
                legacy_config(&train, tokenizer.as_ref())
            }
        };
        Self::from_files(root, &weights, config, tokenizer, device)
    }

    fn from_files(
        root: &Path,
        weights: &Path,
        config: GptConfig,
        tokenizer: Box<dyn Tokenizer>,
        device: &B::Device,
    ) -> Result<Self, ComposeError> {
        check_vocab(&config, tokenizer.as_ref(), root)?;
        let model = load_safetensors::<B>(&config, weights, device)?;
        Ok(ModelPackage {
            model,
            tokenizer,
            config,
            origin: root.display().to_string(),
            root: Some(root.into()),
            prompt_fit: PromptFit::load(root)?,
        })
    }

    /// Writes the package as a Hugging Face model folder that `transformers` loads with
    /// `AutoModelForCausalLM` and [`ModelPackage::load`] reads exactly: the weights (as
    /// `dtype`, zero biases added where a GPT-2 has none) with midigpt's model config beside
    /// them, Hugging Face's `config.json` and `generation_config.json`, the MidiTok tokenizer,
    /// the training config when the package came from a folder that has one, and a model card.
    pub fn export(&self, out: &Path, dtype: WeightDtype) -> Result<(), ComposeError> {
        std::fs::create_dir_all(out).map_err(|source| ComposeError::Io {
            path: out.into(),
            source,
        })?;
        save_safetensors_hf(&self.model, out.join(MODEL_FILE), dtype)?;
        let tokenizer = match self.root.as_ref().map(|r| r.join(TOKENIZER_FILE)) {
            // Copied byte for byte: it is what the model was trained with.
            Some(from) if from.is_file() => {
                std::fs::read(&from).map_err(|source| ComposeError::Io { path: from, source })?
            }
            _ => {
                let mut text = serde_json::to_string_pretty(&self.tokenizer.to_json())
                    .expect("JSON serializes");
                text.push('\n');
                text.into_bytes()
            }
        };
        write_atomic(&out.join(TOKENIZER_FILE), &tokenizer)?;
        self.prompt_fit.save(out)?;
        self.write_hf_files(out)
    }
}

/// The model a run made before `model_config.json` existed was trained as: its training
/// config's sizes, the tokenizer's vocabulary, and the settings the training loop gave
/// every model then.
fn legacy_config(train: &TrainConfig, tokenizer: &dyn Tokenizer) -> GptConfig {
    model_config(train, tokenizer.vocab_size())
}

pub(crate) fn check_vocab(
    config: &GptConfig,
    tokenizer: &dyn Tokenizer,
    origin: &Path,
) -> Result<(), ComposeError> {
    if config.vocab_size == tokenizer.vocab_size() {
        return Ok(());
    }
    Err(ComposeError::NotAModel {
        path: origin.into(),
        why: format!(
            "the model has {} token ids, its tokenizer {}: they were not trained together",
            config.vocab_size,
            tokenizer.vocab_size()
        ),
    })
}
