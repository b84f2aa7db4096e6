//! Errors of the training crate.

use std::path::PathBuf;

/// Why a configuration could not be loaded, overridden or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not valid TOML/JSON, has an unknown key or a value of the wrong type.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The config file.
        path: PathBuf,
        /// The parser's message, which names the key.
        message: String,
    },
    /// An override is not of the form `key=value`.
    #[error("override {0:?} is not of the form key=value")]
    OverrideSyntax(String),
    /// An override names a key the config does not have.
    #[error("unknown config key {key:?} (known keys: {known})")]
    UnknownKey {
        /// The key given.
        key: String,
        /// Every key, comma-separated.
        known: String,
    },
    /// An override's value does not parse as the key's type.
    #[error("config key {key:?} takes {expected}, got {value:?}")]
    TypeMismatch {
        /// The key.
        key: String,
        /// The type the key takes ("an integer", "a number", "true or false", "a string").
        expected: &'static str,
        /// The value given.
        value: String,
    },
    /// An override's value parses but the key does not accept it (a negative size, an
    /// unknown `arch`).
    #[error("config key {key:?}: {message}")]
    BadValue {
        /// The key.
        key: String,
        /// What the key accepts.
        message: String,
    },
    /// A value is out of range, or values contradict each other.
    #[error("invalid config: {key} {reason}")]
    Invalid {
        /// The key at fault.
        key: &'static str,
        /// What is wrong, with the values concerned.
        reason: String,
    },
    /// `--resume` was asked to change settings that define the model or the batches it
    /// learns from (only the schedule, optimizer, intervals and device may change).
    #[error(
        "--resume cannot change {changes}: they change the model or the data it trains on; \
         train a new run in another --out folder instead"
    )]
    FixedOnResume {
        /// Each refused key with its saved and requested values: `n_layer (2 → 3), ...`.
        changes: String,
    },
}

/// Why writing or reading a run folder, its metrics, plot or checkpoints failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// Building, running, saving or loading the model failed.
    #[error(transparent)]
    Model(#[from] midigpt_model::ModelError),
    /// A checkpoint's weights do not fit the model the run's config describes (its
    /// `config.json` was edited since).
    #[error("{}: the checkpoint does not fit the run's config.json", path.display())]
    CheckpointMismatch {
        /// The checkpoint folder.
        path: PathBuf,
        /// Why the weights do not load.
        source: midigpt_model::ModelError,
    },
    /// A model or optimizer record could not be written or read.
    #[error("{}: {source}", path.display())]
    Record {
        /// The record file.
        path: PathBuf,
        /// burn's error.
        source: burn::record::RecorderError,
    },
    /// The loss or the gradients stopped being finite numbers: training diverged. The run
    /// stops at that step, before anything of it is saved.
    #[error(
        "training diverged at step {step}: the {what} is {value}. Lower learning_rate (now \
         {learning_rate}) or clip gradients (grad_clip, now {grad_clip}; 1.0 is usual) and \
         resume, e.g. `midigpt train --resume --set learning_rate={}`: {}",
        learning_rate / 2.0,
        match last_checkpoint {
            Some(step) => format!("it goes on from the last good checkpoint, of step {step}"),
            None => "no checkpoint was saved yet, so it starts over".to_owned(),
        }
    )]
    Diverged {
        /// The step at which it happened.
        step: u64,
        /// `"training loss"`, `"validation loss"` or `"gradient norm"`.
        what: &'static str,
        /// The value (NaN or infinite).
        value: f64,
        /// The newest checkpoint, saved before the divergence.
        last_checkpoint: Option<u64>,
        /// The run's peak learning rate.
        learning_rate: f64,
        /// The run's gradient clipping norm (0: off).
        grad_clip: f64,
    },
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The run folder, a checkpoint or the metrics file could not be read or written.
    #[error(transparent)]
    Store(#[from] midigpt_store::StoreError),
    /// Reading the data folder failed.
    #[error(transparent)]
    Data(#[from] midigpt_data::DataError),
    /// A fresh run was started in a folder that holds another run's checkpoints.
    #[error(
        "{} already holds a run (checkpoint of step {step}): pass --resume to continue it, \
         or choose another output folder",
        path.display()
    )]
    RunExists {
        /// The run folder.
        path: PathBuf,
        /// Its newest checkpoint.
        step: u64,
    },
    /// A fine-tune's data was prepared with another vocabulary than its model's.
    #[error(
        "the data was prepared with another vocabulary than {model}'s ({why}): prepare the \
         MIDI files again with `midigpt prepare DIR --out DATA --like {model}`, or pass the \
         MIDI folder itself to `midigpt train --init {model} --data DIR`"
    )]
    OtherVocabulary {
        /// The model the run starts from.
        model: String,
        /// The first difference.
        why: String,
    },
    /// The loss plot could not be drawn.
    #[error("drawing {}: {message}", path.display())]
    Plot {
        /// The picture being drawn.
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },
}
