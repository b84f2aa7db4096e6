//! Errors from configuring, encoding and decoding.

/// What went wrong in a tokenizer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenizeError {
    /// The configuration asks for something this implementation does not do (yet).
    #[error("unsupported tokenizer setting: {0}")]
    Unsupported(String),
    /// The configuration is invalid or cannot be parsed.
    #[error("invalid tokenizer config: {0}")]
    Config(String),
    /// A token string that is not in the vocabulary.
    #[error("unknown token {0:?}")]
    UnknownToken(String),
    /// A token id outside the vocabulary.
    #[error("token id {id} is outside the vocabulary (size {size})")]
    UnknownId {
        /// The id.
        id: u32,
        /// The vocabulary size.
        size: usize,
    },
    /// The score spans more time than any music does: a corrupt delta time, most likely,
    /// which would expand into millions of time tokens.
    #[error(
        "the score spans {quarters} quarter notes (about {hours:.0} hours at 120 BPM), more \
         than the {max} a tokenizer accepts: a corrupt delta time, most likely"
    )]
    TooLong {
        /// Quarter notes from the start to the last event.
        quarters: u64,
        /// The same at 120 BPM, in hours.
        hours: f64,
        /// The limit, [`crate::miditok::MAX_QUARTERS`].
        max: u64,
    },
    /// The tokenizer cannot lay out infill examples (no infill tokens, BPE, not REMI).
    #[error("{0}")]
    Infill(String),
    /// BPE training or application failed.
    #[error("BPE: {0}")]
    Bpe(String),
    /// Reading or writing a tokenizer file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A JSON file that does not parse.
    #[error("{path}: {source}")]
    Json {
        /// The file concerned.
        path: std::path::PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
}
