//! Folders of MIDI files → token shards for training (`prepare`).
//!
//! [`prepare`] finds every `.mid`, `.midi` and `.rmi` file below a folder (case-insensitive,
//! sorted by relative path), drops byte-identical copies, splits the rest into training and
//! validation by a hash of their content (neither split left empty when there are two files
//! or more), cleans and encodes them in parallel, and writes to the output folder:
//!
//! - `train.bin`, `val.bin`: documents back to back, each tokenizer sequence between
//!   `BOS_None` and `EOS_None`, ids little-endian u16 (u32 when the vocabulary exceeds 65,536);
//! - `meta.json` ([`Meta`]): tokenizer, vocabulary size, dtype, per-document offsets, counts,
//!   every skipped file with its reason and every duplicate with the file it copies;
//! - `tokenizer.json`: the tokenizer, for later stages.
//!
//! For training, [`Shard`] reads a shard back and [`Batcher`] draws random windows from it
//! with a generator whose state is saved with checkpoints.
//!
//! Everything is written under temporary names and renamed at the end, `meta.json` last: an
//! interrupted run leaves the previous output (or none), never half-written shards.
//!
//! ```no_run
//! use midigpt_data::{prepare, NoProgress, PrepareOptions};
//! let tokenizer = midigpt_tokenize::builtin("triplet")?;
//! let meta = prepare(tokenizer, &PrepareOptions::new("midi/", "data/"), &NoProgress)?;
//! println!("{} files, {} training ids", meta.counts.files_ok, meta.counts.tokens_train);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod batches;
mod catalog;
pub mod clean;
mod error;
mod files;
pub mod infill;
mod meta;
mod output;
mod prepare;
mod shard;

pub use batches::{load_meta, Batch, Batcher, BatcherState, Shard};
pub use error::{DataError, FileError};
pub use files::{find_midi_files, fnv1a, split_of, MidiFile, Split};
pub use infill::infill_batch;
pub use meta::{Counts, Duplicate, FileEntry, Meta, MetaOptions, Skipped, META_VERSION};
pub use output::{meta_pkl, META_FILE, META_PKL_FILE, TRAIN_FILE, VAL_FILE};
pub use prepare::{
    encode_file, prepare, EncodedDoc, NoProgress, PrepareOptions, Progress, MAX_TRANSPOSE,
};
pub use shard::{read_shard, Dtype};
