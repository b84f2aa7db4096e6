//! Finding a saved model's files: a run folder of `midigpt train` (its best checkpoint, else
//! its latest), a folder of `midigpt export`, a Hugging Face folder made by `transformers`,
//! or the POP909 model built into this crate.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::{
    best_checkpoint, read_metrics, read_optional, Checkpoint, MetricRecord, RunDir, StoreError,
    CONFIG_FILE, INDEX_FILE, METRICS_FILE, MODEL_CONFIG_FILE, MODEL_FILE, PREPARE_FILE,
    PROGRAMS_FILE, TOKENIZER_FILE, TRAINING_CONFIG_FILE, TRAIN_INFO_FILE,
};

/// What the built-in model is called in messages.
pub const BUILTIN_NAME: &str = "the built-in POP909 model";

/// The built-in model: `builtin/` of this crate (`models/pop909/README.md` of the source
/// tree says how it was trained), compiled in so that every program makes music on its own.
mod builtin {
    pub const DIR: &str = "crates/store/builtin";
    pub const MODEL_CONFIG: &str = include_str!("../builtin/model_config.json");
    pub const TOKENIZER: &str = include_str!("../builtin/tokenizer.json");
    pub const WEIGHTS: &[u8] = include_bytes!("../builtin/model.safetensors");
    pub const PREPARE: &str = include_str!("../builtin/prepare.json");
    pub const PROGRAMS: &str = include_str!("../builtin/programs.json");
}

/// Where a model's files are.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The model compiled into this crate.
    Builtin,
    /// A run folder, read at one of its checkpoints (its best by validation loss, else its
    /// newest).
    Run {
        /// The run folder.
        root: PathBuf,
        /// The checkpoint read.
        checkpoint: Checkpoint,
    },
    /// A folder of `midigpt export` (weights, model config and tokenizer side by side).
    Export {
        /// The folder.
        root: PathBuf,
    },
    /// A folder made by `transformers` (`config.json` with a `model_type`, no
    /// `model_config.json`), with MidiTok's `tokenizer.json`.
    HuggingFace {
        /// The folder.
        root: PathBuf,
    },
}

/// A text file's content and its path (for messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// The content.
    pub text: Cow<'static, str>,
    /// Where it was read from.
    pub path: PathBuf,
}

/// Where a model's weights are.
#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
    /// Compiled in; `origin` names them in messages.
    Bytes {
        /// The safetensors bytes.
        bytes: &'static [u8],
        /// What they are called in messages.
        origin: PathBuf,
    },
    /// Safetensors files: one, or the shards of a Hugging Face checkpoint.
    Files(Vec<PathBuf>),
}

/// A model's files, found but not yet read.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel {
    /// Where they are.
    pub source: Source,
}

impl SavedModel {
    /// The built-in POP909 model.
    pub fn builtin() -> SavedModel {
        SavedModel {
            source: Source::Builtin,
        }
    }

    /// The model at `path` (a run, exported or Hugging Face folder), or the built-in one.
    /// Reads only: a run may be training (and saving) while its model is located.
    pub fn locate(path: Option<&Path>) -> Result<SavedModel, StoreError> {
        let Some(root) = path else {
            return Ok(SavedModel::builtin());
        };
        let source = if RunDir::is_run(root) {
            RunDir::open(root)?;
            let checkpoint = best_checkpoint(root)?
                .ok_or_else(|| StoreError::not_a_model(root, "has no checkpoint yet"))?;
            Source::Run {
                root: root.into(),
                checkpoint,
            }
        } else if is_hf_folder(root) {
            Source::HuggingFace { root: root.into() }
        } else if root.join(MODEL_FILE).is_file() {
            Source::Export { root: root.into() }
        } else if !root.exists() {
            return Err(StoreError::not_a_model(root, "does not exist"));
        } else {
            return Err(StoreError::not_a_model(
                root,
                format!(
                    "neither a run folder of `midigpt train` (no checkpoints/), a model folder \
                     of `midigpt export` (no {MODEL_FILE}) nor a Hugging Face model folder \
                     (no config.json with a model_type)"
                ),
            ));
        };
        Ok(SavedModel { source })
    }

    /// The folder the files are in (`None` for the built-in model).
    pub fn root(&self) -> Option<&Path> {
        match &self.source {
            Source::Builtin => None,
            Source::Run { root, .. } | Source::Export { root } | Source::HuggingFace { root } => {
                Some(root)
            }
        }
    }

    /// What the model is called in messages: its folder, or [`BUILTIN_NAME`].
    pub fn origin(&self) -> String {
        self.root()
            .map_or(BUILTIN_NAME.into(), |r| r.display().to_string())
    }

    /// The folder of the weights file: the checkpoint's for a run.
    fn weights_dir(&self) -> Option<&Path> {
        match &self.source {
            Source::Run { checkpoint, .. } => Some(&checkpoint.path),
            _ => self.root(),
        }
    }

    /// The tokenizer the model was trained with.
    pub fn tokenizer(&self) -> Result<Text, StoreError> {
        let Some(root) = self.root() else {
            return Ok(builtin_text(builtin::TOKENIZER, TOKENIZER_FILE));
        };
        let path = root.join(TOKENIZER_FILE);
        match read_optional(&path)? {
            Some(text) => Ok(owned(text, path)),
            None => Err(StoreError::not_a_model(
                root,
                format!("has no {TOKENIZER_FILE} (the MidiTok tokenizer the model uses)"),
            )),
        }
    }

    /// midigpt's model config beside the weights; `None` for Hugging Face folders (their
    /// `config.json` is [`SavedModel::hf_config`]) and for models saved before the file
    /// existed (see [`SavedModel::training_config`]).
    pub fn model_config(&self) -> Result<Option<Text>, StoreError> {
        if self.source == Source::Builtin {
            return Ok(Some(builtin_text(builtin::MODEL_CONFIG, MODEL_CONFIG_FILE)));
        }
        if matches!(self.source, Source::HuggingFace { .. }) {
            return Ok(None);
        }
        let dir = self.weights_dir().expect("a folder");
        read_text(dir.join(MODEL_CONFIG_FILE))
    }

    /// Hugging Face's `config.json` of a Hugging Face folder (`None` for other sources).
    pub fn hf_config(&self) -> Result<Option<Text>, StoreError> {
        match &self.source {
            Source::HuggingFace { root } => read_text(root.join(CONFIG_FILE)),
            _ => Ok(None),
        }
    }

    /// The training config the model was trained with (a run's `config.json`, an export's
    /// `training_config.json`, or the `config.json` of an export made before Hugging Face's
    /// took its name), when the folder has it.
    pub fn training_config(&self) -> Result<Option<Text>, StoreError> {
        match &self.source {
            Source::Builtin | Source::HuggingFace { .. } => Ok(None),
            Source::Run { root, .. } => read_text(root.join(CONFIG_FILE)),
            Source::Export { root } => match read_text(root.join(TRAINING_CONFIG_FILE))? {
                Some(text) => Ok(Some(text)),
                None => Ok(read_text(root.join(CONFIG_FILE))?.filter(|t| !is_hf_config(&t.text))),
            },
        }
    }

    /// The weights.
    pub fn weights(&self) -> Result<Weights, StoreError> {
        match &self.source {
            Source::Builtin => Ok(Weights::Bytes {
                bytes: builtin::WEIGHTS,
                origin: Path::new(builtin::DIR).join(MODEL_FILE),
            }),
            Source::HuggingFace { root } => hf_weight_files(root).map(Weights::Files),
            _ => {
                let dir = self.weights_dir().expect("a folder");
                Ok(Weights::Files(vec![dir.join(MODEL_FILE)]))
            }
        }
    }

    /// The options the training data was prepared with, when the model has them (models
    /// trained before the file existed and Hugging Face folders have none).
    pub fn prepare(&self) -> Result<Option<Text>, StoreError> {
        match self.root() {
            None => Ok(Some(builtin_text(builtin::PREPARE, PREPARE_FILE))),
            Some(root) => read_text(root.join(PREPARE_FILE)),
        }
    }

    /// The notes per instrument of the training data ([`PROGRAMS_FILE`]), when the model
    /// has them (models trained before the file existed have none).
    pub fn programs(&self) -> Result<Option<Text>, StoreError> {
        match self.root() {
            None => Ok(Some(builtin_text(builtin::PROGRAMS, PROGRAMS_FILE))),
            Some(root) => read_text(root.join(PROGRAMS_FILE)),
        }
    }

    /// What the run that made the model trained on and came to ([`TRAIN_INFO_FILE`] of a run,
    /// or of an export that copied it), when the folder has it.
    pub fn train_info(&self) -> Result<Option<Text>, StoreError> {
        match &self.source {
            Source::Run { root, .. } | Source::Export { root } => {
                read_text(root.join(TRAIN_INFO_FILE))
            }
            Source::Builtin | Source::HuggingFace { .. } => Ok(None),
        }
    }

    /// The losses logged while the model trained (its folder's `metrics.jsonl`); `None`
    /// where there are none or they do not read.
    pub fn metrics(&self) -> Option<Vec<MetricRecord>> {
        read_metrics(&self.root()?.join(METRICS_FILE)).ok()
    }
}

fn builtin_text(text: &'static str, name: &str) -> Text {
    Text {
        text: Cow::Borrowed(text),
        path: Path::new(builtin::DIR).join(name),
    }
}

fn owned(text: String, path: PathBuf) -> Text {
    Text {
        text: Cow::Owned(text),
        path,
    }
}

fn read_text(path: PathBuf) -> Result<Option<Text>, StoreError> {
    Ok(read_optional(&path)?.map(|text| owned(text, path)))
}

/// Whether a `config.json` is Hugging Face's (it names a `model_type`).
fn is_hf_config(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.get("model_type").is_some())
}

/// Whether `root` is a Hugging Face model folder midigpt did not write: a `config.json` with
/// a `model_type`, and no midigpt model config beside the weights.
fn is_hf_folder(root: &Path) -> bool {
    !root.join(MODEL_CONFIG_FILE).is_file()
        && std::fs::read_to_string(root.join(CONFIG_FILE)).is_ok_and(|t| is_hf_config(&t))
}

/// The weight files of a Hugging Face folder: the shards its index names, else
/// `model.safetensors`.
fn hf_weight_files(root: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let index = root.join(INDEX_FILE);
    let Some(text) = read_optional(&index)? else {
        let single = root.join(MODEL_FILE);
        if !single.is_file() {
            let why = format!("has neither {MODEL_FILE} nor {INDEX_FILE}");
            return Err(StoreError::not_a_model(root, why));
        }
        return Ok(vec![single]);
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| StoreError::not_a_model(&index, e.to_string()))?;
    let Some(map) = value.get("weight_map").and_then(|m| m.as_object()) else {
        return Err(StoreError::not_a_model(&index, "has no weight_map object"));
    };
    let names: BTreeSet<&str> = map.values().filter_map(|v| v.as_str()).collect();
    if names.is_empty() {
        return Err(StoreError::not_a_model(&index, "names no shard"));
    }
    names
        .into_iter()
        .map(|name| {
            // Shards lie beside the index; a name reaching elsewhere is refused.
            if Path::new(name).components().count() != 1 {
                let why = format!("shard {name:?} is not a file name");
                return Err(StoreError::not_a_model(&index, why));
            }
            Ok(root.join(name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_has_every_file() {
        let model = SavedModel::locate(None).unwrap();
        assert_eq!(model.origin(), BUILTIN_NAME);
        assert!(model.tokenizer().unwrap().text.contains("REMI"));
        assert!(model
            .model_config()
            .unwrap()
            .unwrap()
            .text
            .contains("n_layer"));
        assert!(model.prepare().unwrap().is_some());
        let Weights::Bytes { bytes, .. } = model.weights().unwrap() else {
            panic!("compiled in");
        };
        assert!(bytes.len() > 1_000_000);
    }

    #[test]
    fn folders_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let err = SavedModel::locate(Some(&root.join("none"))).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(SavedModel::locate(Some(root)).is_err());

        std::fs::write(root.join(CONFIG_FILE), r#"{"model_type": "gpt2"}"#).unwrap();
        let err = SavedModel::locate(Some(root))
            .unwrap()
            .weights()
            .unwrap_err();
        assert!(err.to_string().contains(INDEX_FILE), "{err}");
        std::fs::write(root.join(INDEX_FILE), r#"{"weight_map": {"a": "../x"}}"#).unwrap();
        let hf = SavedModel::locate(Some(root)).unwrap();
        assert!(matches!(hf.source, Source::HuggingFace { .. }));
        assert!(hf
            .weights()
            .unwrap_err()
            .to_string()
            .contains("not a file name"));
        assert!(hf.model_config().unwrap().is_none() && hf.hf_config().unwrap().is_some());

        std::fs::write(root.join(MODEL_FILE), b"").unwrap();
        std::fs::write(root.join(MODEL_CONFIG_FILE), b"{}").unwrap();
        let export = SavedModel::locate(Some(root)).unwrap();
        assert!(matches!(export.source, Source::Export { .. }));
        // Hugging Face's config.json is no training config.
        assert!(export.training_config().unwrap().is_none());
        assert!(export
            .tokenizer()
            .unwrap_err()
            .to_string()
            .contains(TOKENIZER_FILE));

        std::fs::create_dir(root.join("checkpoints")).unwrap();
        let err = SavedModel::locate(Some(root)).unwrap_err();
        assert!(err.to_string().contains("no checkpoint yet"), "{err}");
    }
}
