//! The output folder: shards streamed to temporary files, then `meta.json` and
//! `tokenizer.json`, all renamed into place only when everything is written.
//!
//! The renames are a small transaction. Once every temporary file is complete and synced,
//! `meta.json.tmp` is renamed to `meta.json.pending`: from that moment the new dataset is the
//! folder's content. Then the old `meta.json` is removed, the shards and `tokenizer.json` are
//! renamed into place, and `meta.json.pending` becomes `meta.json`. A crash before the commit
//! leaves the old dataset untouched (temporary files are ignored and later overwritten); a
//! crash after it is finished by [`finish_commit`], which [`crate::load_meta`] and the next
//! `prepare` run first. Either way a reader sees the old dataset or the new one, whole.

use std::io::Write;
use std::path::{Path, PathBuf};

use midigpt_store::TOKENIZER_FILE;
use midigpt_tokenize::{TokenId, Tokenizer};

use crate::meta::{Counts, Duplicate, FileEntry, Meta, MetaOptions, Skipped, META_VERSION};
use crate::prepare::EncodedDoc;
use crate::shard::{tmp_path, ShardWriter};
use crate::{DataError, Dtype, FileError, MidiFile, Split};

/// Names of the files in the output folder.
pub const TRAIN_FILE: &str = "train.bin";
/// Validation shard.
pub const VAL_FILE: &str = "val.bin";
/// Dataset description.
pub const META_FILE: &str = "meta.json";
/// nanoGPT's `meta.pkl` (`{'vocab_size': V}`), so its `train.py` reads the shards as they are.
pub const META_PKL_FILE: &str = "meta.pkl";
/// `meta.json` of a dataset whose files are being renamed into place.
const PENDING_META: &str = "meta.json.pending";
/// The files a commit renames into place before `meta.json`.
const COMMITTED: [&str; 4] = [TRAIN_FILE, VAL_FILE, TOKENIZER_FILE, META_PKL_FILE];

/// Everything being written to the output folder.
pub(crate) struct Outputs {
    dir: PathBuf,
    train: ShardWriter,
    val: ShardWriter,
    dtype: Dtype,
    bos: TokenId,
    eos: TokenId,
    counts: Counts,
    files: Vec<FileEntry>,
    skipped: Vec<Skipped>,
    /// Files given to [`Outputs::add`], encoded or not.
    added: usize,
}

impl Outputs {
    /// Opens `train.bin.tmp` and `val.bin.tmp` in `dir` (created if missing).
    pub fn create(dir: &Path, tokenizer: &dyn Tokenizer) -> Result<Outputs, DataError> {
        std::fs::create_dir_all(dir).map_err(DataError::io(dir))?;
        // A commit cut short owns the temporary files this run is about to overwrite.
        finish_commit(dir)?;
        let vocab = tokenizer.vocab();
        let bos = vocab
            .get("BOS_None")
            .ok_or(DataError::MissingToken("BOS_None"))?;
        let eos = vocab
            .get("EOS_None")
            .ok_or(DataError::MissingToken("EOS_None"))?;
        let dtype = Dtype::for_vocab(tokenizer.vocab_size());
        Ok(Outputs {
            dir: dir.to_path_buf(),
            train: ShardWriter::create(&dir.join(TRAIN_FILE), dtype)?,
            val: ShardWriter::create(&dir.join(VAL_FILE), dtype)?,
            dtype,
            bos,
            eos,
            counts: Counts::default(),
            files: Vec::new(),
            skipped: Vec::new(),
            added: 0,
        })
    }

    /// Records one file: its documents go to its shard, or its error to the skipped list.
    pub fn add(
        &mut self,
        file: &MidiFile,
        split: Split,
        result: Result<Vec<EncodedDoc>, FileError>,
    ) -> Result<(), DataError> {
        self.added += 1;
        let docs = match result {
            Ok(docs) => docs,
            Err(e) => {
                self.skipped.push(Skipped {
                    path: file.relative.clone(),
                    reason: e.to_string(),
                });
                return Ok(());
            }
        };
        self.counts.files_ok += 1;
        if let Some(doc) = docs.first() {
            self.counts.notes += doc.notes;
            for (&program, &notes) in &doc.programs {
                *self.counts.programs.entry(program).or_default() += notes;
            }
        }
        for doc in docs {
            self.add_doc(file, split, doc)?;
        }
        Ok(())
    }

    fn add_doc(&mut self, file: &MidiFile, split: Split, doc: EncodedDoc) -> Result<(), DataError> {
        let (bos, eos) = (self.bos, self.eos);
        let shard = match split {
            Split::Train => &mut self.train,
            Split::Val => &mut self.val,
        };
        let offset = shard.tokens();
        for sequence in &doc.sequences {
            shard.write(&[bos])?;
            shard.write(sequence)?;
            shard.write(&[eos])?;
        }
        let length = shard.tokens() - offset;
        match split {
            Split::Train => self.counts.documents_train += 1,
            Split::Val => self.counts.documents_val += 1,
        }
        self.files.push(FileEntry {
            path: file.relative.clone(),
            split,
            transpose: doc.transpose,
            offset,
            length,
            sequences: doc.sequences.len(),
            notes: doc.notes,
        });
        Ok(())
    }

    /// Writes `meta.json` and `tokenizer.json`, then renames every file into place.
    /// `meta.json` goes last (and the old one first), so a folder with a `meta.json` always
    /// has the shards it describes.
    pub fn commit(
        mut self,
        tokenizer: &dyn Tokenizer,
        options: MetaOptions,
        files_found: usize,
        duplicates: Vec<Duplicate>,
    ) -> Result<Meta, DataError> {
        self.counts.files_found = files_found;
        self.counts.files_skipped = self.skipped.len();
        self.counts.files_duplicate = duplicates.len();
        self.counts.tokens_train = self.train.tokens();
        self.counts.tokens_val = self.val.tokens();
        let first_skipped = self
            .skipped
            .first()
            .map_or(String::new(), |s| format!("{}: {}", s.path, s.reason));
        if self.counts.files_ok == 0 {
            self.abandon();
            return Err(DataError::AllSkipped {
                count: files_found,
                first: first_skipped,
            });
        }
        // Every file of one split failed to encode (with two files or more, the catalog gave
        // each split one).
        let empty = match (self.counts.documents_train, self.counts.documents_val) {
            (0, _) => Some("training"),
            (_, 0) if self.added >= 2 => Some("validation"),
            _ => None,
        };
        if let Some(split) = empty {
            let encoded = self.counts.files_ok;
            self.abandon();
            return Err(DataError::EmptySplit {
                split,
                encoded,
                first_skipped,
            });
        }
        let meta = Meta {
            version: META_VERSION,
            tokenizer: tokenizer.to_json(),
            vocab_size: tokenizer.vocab_size(),
            dtype: self.dtype,
            bos_id: self.bos,
            eos_id: self.eos,
            options,
            counts: self.counts,
            files: self.files,
            skipped: self.skipped,
            duplicates,
        };
        let dir = self.dir;
        // Until the rename to meta.json.pending the old dataset stands; a failure here (a
        // full disk, say) leaves it as it was, without our temporary files beside it.
        let written = (|| {
            self.train.finish()?;
            self.val.finish()?;
            write_json_tmp(&dir.join(TOKENIZER_FILE), &meta.tokenizer)?;
            write_bytes_tmp(&dir.join(META_PKL_FILE), &meta_pkl(meta.vocab_size))?;
            write_json_tmp(&dir.join(META_FILE), &meta)
        })();
        let meta_tmp = written.inspect_err(|_| remove_temporaries(&dir))?;
        let pending = dir.join(PENDING_META);
        std::fs::rename(&meta_tmp, &pending).map_err(DataError::io(&pending))?;
        sync_dir(&dir);
        finish_commit(&dir)?;
        Ok(meta)
    }

    /// Removes the temporary shards after a failure.
    pub fn abandon(self) {
        remove_temporaries(&self.dir);
    }
}

/// Removes whatever temporary files of an unfinished commit are in `dir`.
fn remove_temporaries(dir: &Path) {
    for name in [
        TRAIN_FILE,
        VAL_FILE,
        TOKENIZER_FILE,
        META_PKL_FILE,
        META_FILE,
    ] {
        let _ = std::fs::remove_file(tmp_path(&dir.join(name)));
    }
}

/// Completes a commit of `dir` cut short by a crash, if there is one (see the module docs):
/// the remaining temporary files are renamed into place, `meta.json` last. Safe to run twice
/// at once (a file another process renamed first is simply gone).
pub(crate) fn finish_commit(dir: &Path) -> Result<(), DataError> {
    let pending = dir.join(PENDING_META);
    if !pending.is_file() {
        return Ok(());
    }
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let meta = dir.join(META_FILE);
    // The old `meta.json` goes first: it would describe shards that are being replaced.
    match std::fs::remove_file(&meta) {
        Err(e) if !gone(&e) => return Err(DataError::io(&meta)(e)),
        _ => {}
    }
    for name in COMMITTED {
        let path = dir.join(name);
        match std::fs::rename(tmp_path(&path), &path) {
            Err(e) if !gone(&e) => return Err(DataError::io(&path)(e)),
            _ => {}
        }
    }
    match std::fs::rename(&pending, &meta) {
        Err(e) if !gone(&e) => return Err(DataError::io(&meta)(e)),
        _ => {}
    }
    sync_dir(dir);
    Ok(())
}

/// Syncs a folder's entries (its renames). Best effort: not every platform can open a folder.
fn sync_dir(dir: &Path) {
    if let Ok(file) = std::fs::File::open(dir) {
        let _ = file.sync_all();
    }
}

/// Writes pretty JSON to `path` + `.tmp`, synced, and returns the temporary path.
fn write_json_tmp(path: &Path, value: &impl serde::Serialize) -> Result<PathBuf, DataError> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| DataError::Io {
        path: tmp_path(path),
        source: e.into(),
    })?;
    text.push(b'\n');
    write_bytes_tmp(path, &text)
}

/// `pickle.dumps({'vocab_size': vocab_size}, protocol=2)` without memo opcodes: PROTO 2,
/// EMPTY_DICT, BINUNICODE key, BININT value, SETITEM, STOP.
pub fn meta_pkl(vocab_size: usize) -> Vec<u8> {
    let key = b"vocab_size";
    let mut out = vec![0x80, 2, b'}', b'X'];
    out.extend((key.len() as u32).to_le_bytes());
    out.extend(key);
    out.push(b'J');
    out.extend((vocab_size.min(i32::MAX as usize) as i32).to_le_bytes());
    out.extend([b's', b'.']);
    out
}

/// Writes `bytes` to the temporary file of `path`, synced; returns that file.
fn write_bytes_tmp(path: &Path, text: &[u8]) -> Result<PathBuf, DataError> {
    let tmp = tmp_path(path);
    std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(text)?;
            f.sync_all()
        })
        .map_err(DataError::io(&tmp))?;
    Ok(tmp)
}
