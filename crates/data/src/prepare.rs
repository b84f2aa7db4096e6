//! The `prepare` pipeline: find files, encode them in parallel, stream them to the shards in
//! path order.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use rayon::prelude::*;

use midigpt_midi::Score;
use midigpt_tokenize::{Bpe, TokenId, Tokenizer};

use crate::meta::{Meta, MetaOptions};
use crate::output::Outputs;
use crate::{clean, find_midi_files, split_of, DataError, FileError, MidiFile, Split};

/// Files encoded per parallel batch. Batches are written in order, so the output does not
/// depend on the thread count, and only one batch of ids is held in memory at a time.
const BATCH: usize = 256;

/// What `prepare` should do. [`PrepareOptions::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PrepareOptions {
    /// Folder searched recursively for `.mid`, `.midi` and `.rmi` files.
    pub input: PathBuf,
    /// Output folder (created if missing): `train.bin`, `val.bin`, `meta.json`, `tokenizer.json`.
    pub output: PathBuf,
    /// Share of files sent to validation, chosen by a hash of the relative path. Default 0.05.
    pub val_fraction: f64,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Remove drum tracks before encoding.
    pub drop_drums: bool,
    /// Merge all non-drum tracks into one (see [`clean::merge_tracks`]).
    pub merge_tracks: bool,
    /// Semitone shifts applied to training files: each is added once per shift. Default `0..=0`.
    pub transpose: RangeInclusive<i8>,
    /// Train BPE to this vocabulary size on the training files, and encode with it.
    pub bpe_vocab_size: Option<usize>,
}

impl PrepareOptions {
    /// Default options for `input` → `output`.
    pub fn new(input: impl Into<PathBuf>, output: impl Into<PathBuf>) -> PrepareOptions {
        PrepareOptions {
            input: input.into(),
            output: output.into(),
            val_fraction: 0.05,
            threads: None,
            drop_drums: false,
            merge_tracks: false,
            transpose: 0..=0,
            bpe_vocab_size: None,
        }
    }

    fn validate(&self) -> Result<(), DataError> {
        if !(0.0..=1.0).contains(&self.val_fraction) {
            return Err(DataError::Option(format!(
                "validation fraction {} is outside 0..=1",
                self.val_fraction
            )));
        }
        if self.transpose.is_empty() || !self.transpose.contains(&0) {
            return Err(DataError::Option(format!(
                "transposition range {}..{} must contain 0",
                self.transpose.start(),
                self.transpose.end()
            )));
        }
        Ok(())
    }

    fn meta_options(&self) -> MetaOptions {
        MetaOptions {
            val_fraction: self.val_fraction,
            drop_drums: self.drop_drums,
            merge_tracks: self.merge_tracks,
            transpose: (*self.transpose.start(), *self.transpose.end()),
            bpe: self.bpe_vocab_size,
        }
    }
}

/// Receives progress reports; called from worker threads.
pub trait Progress: Sync {
    /// A stage begins with `total` files to process.
    fn stage(&self, _name: &str, _total: u64) {}
    /// One more file is done.
    fn advance(&self) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}

/// One document from a file: the file as it is, or one transposition of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedDoc {
    /// Semitone shift.
    pub transpose: i8,
    /// Notes after cleaning and transposition.
    pub notes: u64,
    /// The tokenizer's sequences (empty ones left out).
    pub sequences: Vec<Vec<TokenId>>,
}

/// Prepares a dataset; returns what was written to `meta.json`. Files that fail are listed
/// in [`Meta::skipped`]; the run fails only when nothing can be written.
pub fn prepare(
    tokenizer: Box<dyn Tokenizer>,
    options: &PrepareOptions,
    progress: &dyn Progress,
) -> Result<Meta, DataError> {
    options.validate()?;
    let files = find_midi_files(&options.input)?;
    if files.is_empty() {
        return Err(DataError::NoMidiFiles(options.input.clone()));
    }
    let jobs: Vec<(MidiFile, Split)> = files
        .into_iter()
        .map(|f| {
            let split = split_of(&f.relative, options.val_fraction);
            (f, split)
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .build()
        .map_err(|e| DataError::Option(format!("thread pool: {e}")))?;
    pool.install(|| {
        let tokenizer = match options.bpe_vocab_size {
            Some(size) => train_bpe(tokenizer, &jobs, options, progress, size)?,
            None => tokenizer,
        };
        write_dataset(tokenizer.as_ref(), &jobs, options, progress)
    })
}

/// Encodes every file in batches and streams the documents to the shards.
fn write_dataset(
    tokenizer: &dyn Tokenizer,
    jobs: &[(MidiFile, Split)],
    options: &PrepareOptions,
    progress: &dyn Progress,
) -> Result<Meta, DataError> {
    let mut outputs = Outputs::create(&options.output, tokenizer)?;
    progress.stage("encoding", jobs.len() as u64);
    for batch in jobs.chunks(BATCH) {
        let results: Vec<_> = batch
            .par_iter()
            .map(|(file, split)| {
                let shifts = match split {
                    Split::Train => options.transpose.clone(),
                    Split::Val => 0..=0,
                };
                let result = encode_file(file, tokenizer, options, shifts);
                progress.advance();
                result
            })
            .collect();
        for ((file, split), result) in batch.iter().zip(results) {
            if let Err(e) = outputs.add(file, *split, result) {
                outputs.abandon();
                return Err(e);
            }
        }
    }
    outputs.commit(tokenizer, options.meta_options(), jobs.len())
}

/// Reads, cleans and encodes one file: the file as it is first, then each other shift.
pub fn encode_file(
    file: &MidiFile,
    tokenizer: &dyn Tokenizer,
    options: &PrepareOptions,
    shifts: RangeInclusive<i8>,
) -> Result<Vec<EncodedDoc>, FileError> {
    let mut score = Score::from_file(&file.path)?;
    if options.drop_drums {
        clean::drop_drums(&mut score);
    }
    if options.merge_tracks {
        clean::merge_tracks(&mut score);
    }
    let original = encode_doc(tokenizer, &score, 0)?.ok_or(FileError::Empty)?;
    let mut docs = vec![original];
    for shift in shifts.filter(|s| *s != 0) {
        let mut shifted = score.clone();
        clean::transpose(&mut shifted, shift);
        docs.extend(encode_doc(tokenizer, &shifted, shift)?);
    }
    Ok(docs)
}

/// Encodes a score; `None` when it has no notes or yields no ids.
fn encode_doc(
    tokenizer: &dyn Tokenizer,
    score: &Score,
    transpose: i8,
) -> Result<Option<EncodedDoc>, FileError> {
    let notes = score.note_count() as u64;
    if notes == 0 {
        return Ok(None);
    }
    let mut sequences = tokenizer.encode(score)?;
    sequences.retain(|s| !s.is_empty());
    Ok((!sequences.is_empty()).then_some(EncodedDoc {
        transpose,
        notes,
        sequences,
    }))
}

/// Trains BPE on the base ids of the training files (untransposed: transposed copies would
/// multiply the training time without adding new patterns of duration or rhythm).
fn train_bpe(
    base: Box<dyn Tokenizer>,
    jobs: &[(MidiFile, Split)],
    options: &PrepareOptions,
    progress: &dyn Progress,
    vocab_size: usize,
) -> Result<Box<dyn Tokenizer>, DataError> {
    let train: Vec<&MidiFile> = jobs
        .iter()
        .filter(|(_, split)| *split == Split::Train)
        .map(|(file, _)| file)
        .collect();
    progress.stage("BPE corpus", train.len() as u64);
    let sequences: Vec<Vec<TokenId>> = train
        .par_iter()
        .flat_map_iter(|file| {
            let docs = encode_file(file, base.as_ref(), options, 0..=0).unwrap_or_default();
            progress.advance();
            docs.into_iter().flat_map(|d| d.sequences)
        })
        .collect();
    progress.stage("BPE training", 0);
    Ok(Box::new(Bpe::train(
        base,
        sequences.into_iter(),
        vocab_size,
    )?))
}
