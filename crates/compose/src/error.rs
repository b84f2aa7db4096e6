//! Why a model could not be loaded or a piece could not be composed.

use std::path::PathBuf;

/// An error from loading a model package or composing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComposeError {
    /// The path is no model, or one of its files could not be read or written.
    #[error(transparent)]
    Store(#[from] midigpt_store::StoreError),
    /// The model could not be built, loaded or run.
    #[error(transparent)]
    Model(#[from] midigpt_model::ModelError),
    /// The tokenizer could not be loaded, or could not encode the prompt or decode a piece.
    #[error(transparent)]
    Tokenize(#[from] midigpt_tokenize::TokenizeError),
    /// A sampling setting is out of range.
    #[error(transparent)]
    Sampling(#[from] midigpt_generate::SamplingError),
    /// A control the model's tokenizer cannot express, or a control value out of range.
    #[error("{control}: {why}")]
    Control {
        /// The control, as the command line spells it (`--tempo`).
        control: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The request cannot be met as it stands (no pieces asked for, an empty prompt, ...).
    #[error("{0}")]
    Request(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl ComposeError {
    pub(crate) fn control(control: &'static str, why: impl Into<String>) -> Self {
        ComposeError::Control {
            control,
            why: why.into(),
        }
    }
}
