//! `meta.json`: what a prepared dataset holds and how it was made.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use midigpt_tokenize::{TokenId, Tokenizer};

use crate::{DataError, Dtype, Split};

/// Version of the `meta.json` layout, raised when a field changes meaning.
pub const META_VERSION: u32 = 1;

/// The contents of `DATA/meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Layout version ([`META_VERSION`]).
    pub version: u32,
    /// The tokenizer's configuration ([`midigpt_tokenize::Tokenizer::to_json`]), also saved as
    /// `DATA/tokenizer.json`.
    pub tokenizer: serde_json::Value,
    /// Number of ids in the vocabulary.
    pub vocab_size: usize,
    /// Width of the ids in the shards.
    pub dtype: Dtype,
    /// Id written before every sequence.
    pub bos_id: TokenId,
    /// Id written after every sequence.
    pub eos_id: TokenId,
    /// The options the dataset was prepared with.
    pub options: MetaOptions,
    /// Totals.
    pub counts: Counts,
    /// One entry per document (a file, or one transposition of a training file), in shard order.
    pub files: Vec<FileEntry>,
    /// Files that were skipped, with the reason.
    pub skipped: Vec<Skipped>,
    /// Files left out as byte-identical copies of an earlier file (absent before they were
    /// detected: read as none).
    #[serde(default)]
    pub duplicates: Vec<Duplicate>,
}

impl MetaOptions {
    /// The text of [`midigpt_store::PREPARE_FILE`]: these options, as a model keeps them beside its
    /// weights.
    pub fn to_prepare_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("options serialize");
        text.push('\n');
        text
    }
}

impl Meta {
    /// Checks that the dataset's ids mean what `tokenizer`'s ids mean (the same vocabulary,
    /// token for token): a model trained on one tokenizer's ids reads another's as noise.
    pub fn check_tokenizer(&self, tokenizer: &dyn Tokenizer) -> Result<(), DataError> {
        let ours = midigpt_tokenize::from_json(&self.tokenizer)?;
        let (a, b) = (ours.vocab().tokens(), tokenizer.vocab().tokens());
        if a == b {
            return Ok(());
        }
        let at = a.iter().zip(b).position(|(x, y)| x != y);
        let difference = match at {
            Some(i) => format!("id {i} is {:?} there, {:?} here", a[i], b[i]),
            None => "one vocabulary extends the other".to_string(),
        };
        Err(DataError::TokenizerMismatch {
            data: a.len(),
            other: b.len(),
            difference,
        })
    }
}

/// Options recorded in `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaOptions {
    /// Share of files (by content hash) sent to validation.
    pub val_fraction: f64,
    /// Whether drum tracks were removed.
    pub drop_drums: bool,
    /// Whether non-drum tracks were merged into one.
    pub merge_tracks: bool,
    /// The time signature every file was given, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_signature: Option<(u8, u8)>,
    /// Programs given to tracks by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_programs: Vec<(String, u8)>,
    /// Transpositions applied to training files, in semitones (lowest, highest).
    pub transpose: (i8, i8),
    /// Vocabulary size of BPE, when BPE was trained.
    pub bpe: Option<usize>,
}

/// Totals over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// MIDI files found under the input folder: `files_ok + files_skipped + files_duplicate`.
    pub files_found: usize,
    /// Files encoded.
    pub files_ok: usize,
    /// Files skipped (listed in `skipped`).
    pub files_skipped: usize,
    /// Files left out as byte-identical copies of another (listed in `duplicates`).
    #[serde(default)]
    pub files_duplicate: usize,
    /// Documents in `train.bin` (transposed copies included).
    pub documents_train: usize,
    /// Documents in `val.bin`.
    pub documents_val: usize,
    /// Ids in `train.bin`, BOS and EOS included.
    pub tokens_train: u64,
    /// Ids in `val.bin`, BOS and EOS included.
    pub tokens_val: u64,
    /// Notes in the encoded files after cleaning, transposed copies not counted.
    pub notes: u64,
    /// Those notes by instrument: GM program (-1: drums) → notes. What a model trained on the
    /// data has heard of each instrument (absent before it was counted: read as unknown).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub programs: BTreeMap<i16, u64>,
}

/// One document: where it lies in its shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the input folder, `/`-separated.
    pub path: String,
    /// The shard it is in.
    pub split: Split,
    /// Transposition in semitones (0 for the file as it is).
    pub transpose: i8,
    /// Offset of its first id in the shard, in ids (not bytes).
    pub offset: u64,
    /// Number of ids, BOS and EOS of each of its sequences included.
    pub length: u64,
    /// Number of sequences (one per track for per-track tokenizers).
    pub sequences: usize,
    /// Notes after cleaning and transposition.
    pub notes: u64,
}

/// A file left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Path relative to the input folder, `/`-separated.
    pub path: String,
    /// The error's message.
    pub reason: String,
}

/// A file left out because its bytes equal an earlier file's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    /// Path relative to the input folder, `/`-separated.
    pub path: String,
    /// The file kept in its place (the first in path order).
    pub same_as: String,
}
