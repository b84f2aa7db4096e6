//! Why a model folder, run folder or checkpoint could not be read or written.

use std::path::PathBuf;

/// An error of the store: a file that could not be read or written, one that does not parse,
/// or a folder that is not what it was given as.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file or folder could not be read or written (the OS error is the source).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A JSON file (metrics line, pointer, checkpoint record, index) is malformed.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's message (with the line for `metrics.jsonl`).
        message: String,
    },
    /// The path given as a model is none: not a run folder, an exported folder or a Hugging
    /// Face folder, or one with a file missing.
    #[error("{}: {why}", path.display())]
    NotAModel {
        /// The path given.
        path: PathBuf,
        /// What is missing.
        why: String,
    },
    /// A folder given as a run folder has no `config.json`.
    #[error(
        "{} is not a run folder (no config.json): give the --out folder of `midigpt train`",
        .0.display()
    )]
    NotARun(PathBuf),
    /// The writer a checkpoint was saved with failed; the previous checkpoints are untouched.
    #[error("writing checkpoint of step {step} failed")]
    CheckpointWrite {
        /// The step being saved.
        step: u64,
        /// The writer's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }

    /// The path is no model: `why`.
    pub fn not_a_model(path: impl Into<PathBuf>, why: impl Into<String>) -> StoreError {
        StoreError::NotAModel {
            path: path.into(),
            why: why.into(),
        }
    }
}
