//! Errors from preparing a dataset.

use std::path::PathBuf;

use midigpt_midi::MidiError;
use midigpt_tokenize::TokenizeError;

/// Why a whole `prepare` run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The input folder holds no `.mid`, `.midi` or `.rmi` file.
    #[error("no MIDI files (.mid, .midi, .rmi) found under {0}")]
    NoMidiFiles(PathBuf),
    /// Every file was skipped: there is nothing to write.
    #[error("all {0} MIDI files were skipped; nothing to write")]
    AllSkipped(usize),
    /// The tokenizer's vocabulary lacks a token `prepare` needs.
    #[error("the tokenizer has no {0:?} token")]
    MissingToken(&'static str),
    /// An option is out of range.
    #[error("invalid option: {0}")]
    Option(String),
    /// A shard is too short to cut one training window from.
    #[error("{}: {len} ids, but one window of block_size + 1 needs {needed}", path.display())]
    ShardTooShort {
        /// The shard.
        path: PathBuf,
        /// Ids it holds.
        len: u64,
        /// `block_size + 1`.
        needed: u64,
    },
    /// A shard's size is not a whole number of ids.
    #[error("{}: {bytes} bytes is not a whole number of {dtype:?} ids", path.display())]
    ShardSize {
        /// The shard.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The width `meta.json` gives.
        dtype: crate::Dtype,
    },
    /// `meta.json` does not parse.
    #[error("{}: {message}", path.display())]
    BadMeta {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// BPE could not be trained.
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
    /// Reading the input or writing the output failed (the OS error is the source).
    #[error("{}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl DataError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DataError {
        let path = path.into();
        move |source| DataError::Io { path, source }
    }
}

/// Why one input file was skipped (the run goes on).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be read or is not valid MIDI.
    #[error(transparent)]
    Midi(#[from] MidiError),
    /// The tokenizer refused the score.
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
    /// Nothing left to encode (no notes, or none the tokenizer keeps).
    #[error("no notes to encode")]
    Empty,
}
