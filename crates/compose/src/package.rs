//! A model package: the weights, the model's config and the tokenizer of a saved model (see
//! `midigpt_store::SavedModel`: a run folder, an exported or Hugging Face folder, or the
//! built-in POP909 model), loaded and checked against each other.
//!
//! Each weights file has the model's config beside it (`model_config.json`), read as is.
//! Runs and exports made before that file existed are read through their training config
//! (`config.json`), as they were trained.

use std::collections::BTreeMap;
use std::path::Path;

use midigpt_model::{
    from_hf_config, load_safetensors_bytes, load_safetensors_files, Gpt, GptBackend, GptConfig,
};
use midigpt_store::{SavedModel, StoreError, Weights, PROGRAMS_FILE};
use midigpt_tokenize::{from_json, Tokenizer};

use crate::{ComposeError, PromptFit};

pub use midigpt_store::BUILTIN_NAME;

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
    /// Its files (`None` for a model built in memory).
    pub saved: Option<SavedModel>,
    /// How its training scores were relabelled, for its prompts (see [`PromptFit`]).
    pub prompt_fit: PromptFit,
    /// The instruments of its training data (GM programs, -1 for drums) with their notes,
    /// when it has them ([`midigpt_store::PROGRAMS_FILE`]): an instrument not here is one
    /// the model never heard.
    pub programs: Option<BTreeMap<i16, u64>>,
}

impl<B: GptBackend> ModelPackage<B> {
    /// Loads the model at `path` (a run, exported or Hugging Face folder), or the built-in
    /// one, onto `device`.
    pub fn load(path: Option<&Path>, device: &B::Device) -> Result<Self, ComposeError> {
        Self::from_saved(SavedModel::locate(path)?, device)
    }

    /// The built-in POP909 model.
    pub fn builtin(device: &B::Device) -> Result<Self, ComposeError> {
        Self::from_saved(SavedModel::builtin(), device)
    }

    /// Reads the files of `saved` and builds its model onto `device`.
    pub fn from_saved(saved: SavedModel, device: &B::Device) -> Result<Self, ComposeError> {
        let tokenizer = read_tokenizer(&saved)?;
        let (config, tied) = model_config(&saved, tokenizer.as_ref())?;
        check_vocab(&config, tokenizer.as_ref(), &saved.origin())?;
        let model = match saved.weights()? {
            Weights::Bytes { bytes, origin } => {
                load_safetensors_bytes::<B>(&config, bytes, &origin, device)?
            }
            Weights::Files(files) => load_safetensors_files::<B>(&config, &files, tied, device)?,
        };
        let prompt_fit = PromptFit::of(&saved)?;
        let programs = match saved.programs()? {
            Some(text) => Some(serde_json::from_str(&text.text).map_err(|e| {
                StoreError::not_a_model(&*text.path, format!("{PROGRAMS_FILE}: {e}"))
            })?),
            None => None,
        };
        Ok(ModelPackage {
            model,
            tokenizer,
            config,
            origin: saved.origin(),
            saved: Some(saved),
            prompt_fit,
            programs,
        })
    }

    /// A model held in memory (one just trained, or made for a test), with its tokenizer;
    /// prompts are taken as they are.
    pub fn new(model: Gpt<B>, tokenizer: Box<dyn Tokenizer>) -> Self {
        ModelPackage {
            config: model.config().clone(),
            model,
            tokenizer,
            origin: "a model in memory".into(),
            saved: None,
            prompt_fit: PromptFit::default(),
            programs: None,
        }
    }

    /// The folder it was loaded from (`None` for the built-in model).
    pub fn root(&self) -> Option<&Path> {
        self.saved.as_ref()?.root()
    }
}

/// The tokenizer of `saved`, read without its weights (to prepare data as its model's was).
pub fn read_tokenizer(saved: &SavedModel) -> Result<Box<dyn Tokenizer>, ComposeError> {
    let file = saved.tokenizer()?;
    let json: serde_json::Value = serde_json::from_str(&file.text).map_err(|e| {
        ComposeError::Store(StoreError::Json {
            path: file.path.clone(),
            message: e.to_string(),
        })
    })?;
    Ok(from_json(&json)?)
}

/// The model's config, and whether a Hugging Face Llama's files leave out its head (tied to
/// its embedding, as its config says): `model_config.json` beside the weights,
/// else Hugging Face's `config.json`, else the training config of a model saved before
/// `model_config.json` existed.
fn model_config(
    saved: &SavedModel,
    tokenizer: &dyn Tokenizer,
) -> Result<(GptConfig, bool), ComposeError> {
    if let Some(file) = saved.model_config()? {
        return Ok((GptConfig::from_json(&file.text, &file.path)?, false));
    }
    if let Some(file) = saved.hf_config()? {
        let value: serde_json::Value = serde_json::from_str(&file.text)
            .map_err(|e| StoreError::not_a_model(&file.path, e.to_string()))?;
        let hf = from_hf_config(&value, &file.path)?;
        return Ok((hf.config, hf.tied));
    }
    match saved.training_config()? {
        Some(file) => {
            let config =
                GptConfig::from_training_config(&file.text, tokenizer.vocab_size(), &file.path)?;
            Ok((config, false))
        }
        None => Err(StoreError::not_a_model(
            saved.root().unwrap_or(Path::new(".")),
            "has neither model_config.json nor a training config.json",
        )
        .into()),
    }
}

pub(crate) fn check_vocab(
    config: &GptConfig,
    tokenizer: &dyn Tokenizer,
    origin: &str,
) -> Result<(), ComposeError> {
    if config.vocab_size == tokenizer.vocab_size() {
        return Ok(());
    }
    Err(StoreError::not_a_model(
        Path::new(origin),
        format!(
            "the model has {} token ids, its tokenizer {}: they were not trained together",
            config.vocab_size,
            tokenizer.vocab_size()
        ),
    )
    .into())
}
