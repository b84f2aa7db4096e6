//! Errors from preparing a dataset.

use std::path::PathBuf;

use midigpt_midi::MidiError;
use midigpt_tokenize::TokenizeError;

/// Why a whole `prepare` run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The input folder does not exist, or is a file.
    #[error("{} is not a folder: give the folder that holds the MIDI files", .0.display())]
    NotAFolder(PathBuf),
    /// The data folder has no `meta.json`: `prepare` never finished there.
    #[error(
        "{} is not a prepared dataset (no meta.json): run `midigpt prepare MIDI_FOLDER --out {}` first",
        .0.display(), .0.display()
    )]
    NotPrepared(PathBuf),
    /// The dataset's ids were made by another tokenizer than the one they are used with.
    #[error(
        "the dataset was prepared with another tokenizer ({data} tokens, against {other}; {difference}): \
         prepare it again with `--tokenizer-config` and the run's tokenizer.json"
    )]
    TokenizerMismatch {
        /// Vocabulary size of the dataset's tokenizer.
        data: usize,
        /// Vocabulary size of the other tokenizer.
        other: usize,
        /// The first id whose tokens differ.
        difference: String,
    },
    /// The input folder holds no `.mid`, `.midi` or `.rmi` file.
    #[error("no MIDI files (.mid, .midi, .rmi) found under {0}")]
    NoMidiFiles(PathBuf),
    /// Every file was skipped: there is nothing to write.
    #[error("all {count} MIDI files were skipped, nothing to write (the first: {first})")]
    AllSkipped {
        /// Files found.
        count: usize,
        /// The first file skipped and why.
        first: String,
    },
    /// One split has no document although two or more files were found: every file it was
    /// given was skipped.
    #[error(
        "the {split} split is empty: its files could not be encoded ({first_skipped}), while \
         {encoded} other file(s) were; add MIDI files or change --val-fraction"
    )]
    EmptySplit {
        /// The empty split: "training" or "validation".
        split: &'static str,
        /// Files encoded (all in the other split).
        encoded: usize,
        /// The first file skipped and why.
        first_skipped: String,
    },
    /// The tokenizer's vocabulary lacks a token `prepare` needs.
    #[error("the tokenizer has no {0:?} token")]
    MissingToken(&'static str),
    /// An option is out of range.
    #[error("invalid option: {0}")]
    Option(String),
    /// A shard is too short to cut one training window from.
    #[error(
        "{}: {len} ids, but one window of block_size + 1 needs {needed}: use a smaller \
         block_size, or prepare more MIDI files (or a larger --val-fraction for val.bin)",
        path.display()
    )]
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
    /// A shard holds an id the vocabulary does not have: the file is damaged, or belongs to
    /// another dataset.
    #[error(
        "{}: id {id} at byte offset {offset} is outside the vocabulary of {vocab_size} ids: \
         the file is damaged or belongs to another dataset; run `midigpt prepare` again",
        path.display()
    )]
    IdOutOfRange {
        /// The shard.
        path: PathBuf,
        /// Byte offset of the id in the file.
        offset: u64,
        /// The id found.
        id: u32,
        /// `vocab_size` of `meta.json`.
        vocab_size: usize,
    },
    /// `meta.json` does not parse.
    #[error("{}: {message}", path.display())]
    BadMeta {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// BPE could not be trained, or a saved tokenizer not rebuilt.
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
