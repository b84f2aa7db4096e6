//! A midigpt model on disk: every folder a model is saved in or read from, and every file
//! name in them, in one place.
//!
//! ```text
//! RUN/  (midigpt train --out RUN)            EXPORT/  (midigpt export --out EXPORT)
//!   config.json, config.toml  TrainConfig      model.safetensors, model_config.json
//!   tokenizer.json            the tokenizer    tokenizer.json, prepare.json
//!   prepare.json              prepare options  config.json  Hugging Face's config
//!   train_info.json           sizes, speed     generation_config.json
//!   metrics.jsonl, loss.png   losses           training_config.json  the TrainConfig
//!   samples/                                   README.md  the model card
//!   checkpoints/step-000500/  model.safetensors, model_config.json, state/, checkpoint.json
//!   checkpoints/latest, best  pointers
//! ```
//!
//! A Hugging Face folder made by `transformers` has `config.json` (with a `model_type`),
//! `model.safetensors` or shards named in `model.safetensors.index.json`, and MidiTok's
//! `tokenizer.json`. The built-in model's files are compiled into this crate
//! ([`SavedModel::builtin`]).
//!
//! - [`SavedModel::locate`] finds a model's files from a path (or the built-in one), for
//!   loading;
//! - [`RunDir`] lays out a run folder, [`Checkpoints`] saves and reads its checkpoints,
//!   [`MetricsWriter`] and [`read_metrics`] its `metrics.jsonl`;
//! - [`write_atomic`] is how every file here (and every file midigpt writes) is written.
//!
//! Nothing here knows the network or the tokenizer: what the files mean is read by the
//! crates that own it (`midigpt-model`, `midigpt-tokenize`, `midigpt-train`).

mod atomic;
mod checkpoint;
mod error;
mod metrics;
mod run;
mod saved;

pub use atomic::{write_atomic, write_atomic_with};
pub use checkpoint::{
    best_checkpoint, latest_checkpoint, step_name, Checkpoint, Checkpoints, BEST_POINTER,
    CHECKPOINT_META_FILE, LATEST_POINTER,
};
pub use error::StoreError;
pub use metrics::{read_metrics, MetricRecord, MetricsWriter};
pub use run::{utc_now, utc_now_secs, utc_timestamp, RunDir};
pub use saved::{SavedModel, Source, Text, Weights, BUILTIN_NAME};

use std::path::Path;

/// The weights: safetensors, with Hugging Face's tensor names where they exist.
pub const MODEL_FILE: &str = "model.safetensors";
/// The model's shapes and recipe, beside every weights file.
pub const MODEL_CONFIG_FILE: &str = "model_config.json";
/// The tokenizer (MidiTok's `tokenizer.json` format), in data, run and model folders.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// How the training data was prepared (`prepare`'s relabelling options), so that prompts
/// are relabelled as the training scores were.
pub const PREPARE_FILE: &str = "prepare.json";
/// The instruments the training data had: notes per GM program (-1: drums), as a JSON
/// object (`{"0": 1200, "-1": 300}`), so that a front end can say which instruments a model
/// never heard.
pub const PROGRAMS_FILE: &str = "programs.json";
/// A run's training config; in an exported or Hugging Face folder, Hugging Face's config.
pub const CONFIG_FILE: &str = "config.json";
/// A run's training config as TOML, for editing and `--config`.
pub const CONFIG_TOML_FILE: &str = "config.toml";
/// What a run trained on and how fast.
pub const TRAIN_INFO_FILE: &str = "train_info.json";
/// A run's losses, one JSON object per line.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// A run's loss plot.
pub const LOSS_PLOT_FILE: &str = "loss.png";
/// A run's checkpoints folder.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// A run's samples folder.
pub const SAMPLES_DIR: &str = "samples";
/// `transformers`' list of the shards of a checkpoint split over several files.
pub const INDEX_FILE: &str = "model.safetensors.index.json";
/// `transformers`' sampling defaults beside the config.
pub const GENERATION_CONFIG_FILE: &str = "generation_config.json";
/// The training config in an exported folder, where `config.json` is Hugging Face's.
pub const TRAINING_CONFIG_FILE: &str = "training_config.json";
/// An exported folder's model card.
pub const CARD_FILE: &str = "README.md";

/// Which part of the data a document, a batch or a loss belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The training shard (`train.bin`).
    Train,
    /// The validation shard (`val.bin`).
    Val,
}

/// [`write_atomic`] with the path in the error.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic(path, bytes).map_err(StoreError::io(path))
}

/// Reads a text file, with the path in the error; `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, StoreError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path)(e)),
    }
}
