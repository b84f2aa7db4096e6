//! The `prepare` pipeline: find files, encode them in parallel, stream them to the shards in
//! path order.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use rayon::prelude::*;

use midigpt_midi::Score;
use midigpt_tokenize::{Bpe, TokenId, Tokenizer};

use crate::catalog::{catalog, Catalog, Job};
use crate::meta::{Meta, MetaOptions};
use crate::output::Outputs;
use crate::{clean, find_midi_files, DataError, FileError, MidiFile, Split};

/// Files encoded per parallel batch. Batches are written in order, so the output does not
/// depend on the thread count, and only one batch of ids is held in memory at a time.
const BATCH: usize = 256;

/// The widest transposition, in semitones either way: an octave. Each shift adds a copy of
/// every training file; beyond an octave the copies only repeat pitch classes, in registers
/// the instruments do not play.
pub const MAX_TRANSPOSE: i8 = 12;

/// What `prepare` should do. [`PrepareOptions::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PrepareOptions {
    /// Folder searched recursively for `.mid`, `.midi` and `.rmi` files.
    pub input: PathBuf,
    /// Output folder (created if missing): `train.bin`, `val.bin`, `meta.json`, `tokenizer.json`.
    pub output: PathBuf,
    /// Share of files sent to validation, chosen by a hash of their content. Default 0.05.
    pub val_fraction: f64,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Remove drum tracks before encoding.
    pub drop_drums: bool,
    /// Merge all non-drum tracks into one (see [`clean::merge_tracks`]).
    pub merge_tracks: bool,
    /// Replace every time signature with this `(numerator, denominator)` before encoding.
    pub time_signature: Option<(u8, u8)>,
    /// Programs for non-drum tracks by track name (see [`clean::set_programs`]).
    pub track_programs: Vec<(String, u8)>,
    /// Semitone shifts applied to training files: each is added once per shift. Default `0..=0`,
    /// at most [`MAX_TRANSPOSE`] either way.
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
            time_signature: None,
            track_programs: Vec::new(),
            transpose: 0..=0,
            bpe_vocab_size: None,
        }
    }

    /// Options for `input` → `output` that treat new files as a model's training files were
    /// (`model` is its `prepare.json`): the same track relabelling, drum and merge choices and
    /// transpositions, so a fine-tune reads the ids as the model learnt them. The metre is
    /// not forced: a model's corpus may have needed one (POP909's files say 1/4), the user's
    /// files say their own.
    pub fn like(
        input: impl Into<PathBuf>,
        output: impl Into<PathBuf>,
        model: &MetaOptions,
    ) -> PrepareOptions {
        PrepareOptions {
            drop_drums: model.drop_drums,
            merge_tracks: model.merge_tracks,
            track_programs: model.track_programs.clone(),
            transpose: model.transpose.0..=model.transpose.1,
            ..PrepareOptions::new(input, output)
        }
    }

    fn validate(&self) -> Result<(), DataError> {
        if !(0.0..=1.0).contains(&self.val_fraction) {
            return Err(DataError::Option(format!(
                "validation fraction {} is outside 0..=1",
                self.val_fraction
            )));
        }
        if let Some((numerator, denominator)) = self.time_signature {
            if numerator == 0 || !denominator.is_power_of_two() || denominator > 64 {
                return Err(DataError::Option(format!(
                    "time signature {numerator}/{denominator}: the numerator must be at least 1 \
                     and the denominator a power of two up to 64"
                )));
            }
        }
        if let Some((name, program)) = self.track_programs.iter().find(|(_, p)| *p > 127) {
            return Err(DataError::Option(format!(
                "program {program} for tracks named {name:?} is outside 0..=127"
            )));
        }
        let (low, high) = (*self.transpose.start(), *self.transpose.end());
        if self.transpose.is_empty() || !self.transpose.contains(&0) {
            return Err(DataError::Option(format!(
                "transposition range {low}..{high} must contain 0"
            )));
        }
        if low < -MAX_TRANSPOSE || high > MAX_TRANSPOSE {
            return Err(DataError::Option(format!(
                "transposition range {low}..{high} goes past {MAX_TRANSPOSE} semitones either \
                 way: each shift adds a copy of every training file (e.g. -3..3 adds 6)"
            )));
        }
        Ok(())
    }

    fn meta_options(&self) -> MetaOptions {
        MetaOptions {
            val_fraction: self.val_fraction,
            drop_drums: self.drop_drums,
            merge_tracks: self.merge_tracks,
            time_signature: self.time_signature,
            track_programs: self.track_programs.clone(),
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
    /// Those notes by GM program (-1: drums).
    pub programs: BTreeMap<i16, u64>,
    /// The tokenizer's sequences (empty ones left out).
    pub sequences: Vec<Vec<TokenId>>,
}

/// Prepares a dataset; returns what was written to `meta.json`. Files that fail are listed
/// in [`Meta::skipped`], byte-identical copies in [`Meta::duplicates`]; the run fails only
/// when nothing can be written, or when two or more files leave a split empty.
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
    let files_found = files.len();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        .build()
        .map_err(|e| DataError::Option(format!("thread pool: {e}")))?;
    pool.install(|| {
        let catalog = catalog(files, options.val_fraction, progress);
        let tokenizer = match options.bpe_vocab_size {
            Some(size) => train_bpe(tokenizer, &catalog.jobs, options, progress, size)?,
            None => tokenizer,
        };
        write_dataset(tokenizer.as_ref(), catalog, files_found, options, progress)
    })
}

/// Encodes every file in batches and streams the documents to the shards.
fn write_dataset(
    tokenizer: &dyn Tokenizer,
    catalog: Catalog,
    files_found: usize,
    options: &PrepareOptions,
    progress: &dyn Progress,
) -> Result<Meta, DataError> {
    let mut outputs = Outputs::create(&options.output, tokenizer)?;
    progress.stage("encoding", catalog.jobs.len() as u64);
    for batch in catalog.jobs.chunks(BATCH) {
        let results: Vec<_> = batch
            .par_iter()
            .map(|job| {
                let shifts = match job.split {
                    Split::Train => options.transpose.clone(),
                    Split::Val => 0..=0,
                };
                let result = encode_file(&job.file, tokenizer, options, shifts);
                progress.advance();
                result
            })
            .collect();
        for (job, result) in batch.iter().zip(results) {
            if let Err(e) = outputs.add(&job.file, job.split, result) {
                outputs.abandon();
                return Err(e);
            }
        }
    }
    outputs.commit(
        tokenizer,
        options.meta_options(),
        files_found,
        catalog.duplicates,
    )
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
    if let Some((numerator, denominator)) = options.time_signature {
        clean::set_time_signature(&mut score, numerator, denominator);
    }
    clean::set_programs(&mut score, &options.track_programs);
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
    let mut programs = BTreeMap::new();
    for track in &score.tracks {
        *programs.entry(track.program_or_drums()).or_default() += track.notes.len() as u64;
    }
    Ok((!sequences.is_empty()).then_some(EncodedDoc {
        transpose,
        notes,
        programs,
        sequences,
    }))
}

/// Trains BPE on the base ids of the training files (untransposed: transposed copies would
/// multiply the training time without adding new patterns of duration or rhythm).
///
/// The ids are streamed: files are encoded one batch at a time, in parallel, and each batch's
/// sequences are counted as words and dropped before the next is encoded, so memory stays
/// bounded by the distinct words (as [`Bpe::train`] promises), not by the corpus.
fn train_bpe(
    base: Box<dyn Tokenizer>,
    jobs: &[Job],
    options: &PrepareOptions,
    progress: &dyn Progress,
    vocab_size: usize,
) -> Result<Box<dyn Tokenizer>, DataError> {
    let train: Vec<&MidiFile> = jobs
        .iter()
        .filter(|job| job.split == Split::Train)
        .map(|job| &job.file)
        .collect();
    // `Bpe::train` takes the base tokenizer; the batches encode with a copy of it.
    let encoder = midigpt_tokenize::from_json(&base.to_json())?;
    progress.stage("BPE corpus", train.len() as u64);
    let sequences = train.chunks(BATCH).flat_map(|batch| {
        let batch: Vec<Vec<TokenId>> = batch
            .par_iter()
            .flat_map_iter(|file| {
                let docs = encode_file(file, encoder.as_ref(), options, 0..=0).unwrap_or_default();
                progress.advance();
                docs.into_iter().flat_map(|d| d.sequences)
            })
            .collect();
        batch
    });
    // The merges begin when the last sequence has been counted.
    let announce = std::iter::from_fn(|| {
        progress.stage("BPE training", 0);
        None
    });
    Ok(Box::new(Bpe::train(
        base,
        sequences.chain(announce),
        vocab_size,
    )?))
}
