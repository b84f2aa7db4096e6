//! Shards → training batches: random windows of `block_size + 1` ids, as nanoGPT's
//! `get_batch` draws them, from a seeded generator whose state is saved with checkpoints.
//!
//! ```no_run
//! use midigpt_data::{Batcher, Dtype, Shard, Split};
//! let shard = Shard::open("data/train.bin".as_ref(), Dtype::U16)?;
//! let mut batcher = Batcher::new(Split::Train, 8, 256, 1337);
//! let batch = batcher.next_batch(&shard)?;
//! assert_eq!(batch.x.len(), 8 * 256);
//! let saved = batcher.state(); // serialize with the checkpoint; `Batcher::restore` resumes
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{DataError, Dtype, Meta, Split, META_FILE, TRAIN_FILE, VAL_FILE};

/// The ids of one shard, held in memory at their stored width.
///
/// Shards are read whole rather than memory-mapped: a MIDI corpus of a few hundred million ids
/// is well under a gigabyte at u16, reading it is a second of I/O at start-up, and owning the
/// ids avoids `unsafe` and surprises when the file is rewritten by another `prepare` while
/// training runs.
#[derive(Debug, Clone)]
pub struct Shard {
    path: PathBuf,
    ids: Ids,
}

#[derive(Debug, Clone)]
enum Ids {
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Shard {
    /// Reads `path` as little-endian ids of width `dtype` (the `dtype` of `meta.json`).
    pub fn open(path: &Path, dtype: Dtype) -> Result<Shard, DataError> {
        let bytes = std::fs::read(path).map_err(DataError::io(path))?;
        if bytes.len() % dtype.size() != 0 {
            return Err(DataError::ShardSize {
                path: path.to_owned(),
                bytes: bytes.len() as u64,
                dtype,
            });
        }
        let ids = match dtype {
            Dtype::U16 => Ids::U16(
                bytes
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect(),
            ),
            Dtype::U32 => Ids::U32(
                bytes
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
        };
        Ok(Shard {
            path: path.to_owned(),
            ids,
        })
    }

    /// Reads `DATA/train.bin` or `DATA/val.bin` at the width `meta` gives.
    pub fn open_split(data_dir: &Path, meta: &Meta, split: Split) -> Result<Shard, DataError> {
        let name = match split {
            Split::Train => TRAIN_FILE,
            Split::Val => VAL_FILE,
        };
        let shard = Shard::open(&data_dir.join(name), meta.dtype)?;
        shard.check_ids(meta.vocab_size)?;
        Ok(shard)
    }

    /// Checks every id against the vocabulary once, so that a damaged file is an error
    /// naming it rather than an out-of-bounds embedding lookup in the middle of training.
    pub fn check_ids(&self, vocab_size: usize) -> Result<(), DataError> {
        fn first_bad<T: Copy + Into<u32>>(ids: &[T], vocab: usize) -> Option<(usize, u32)> {
            let bad = ids.iter().position(|&id| id.into() as usize >= vocab)?;
            Some((bad, ids[bad].into()))
        }
        let (bad, width) = match &self.ids {
            Ids::U16(v) => (first_bad(v, vocab_size), 2),
            Ids::U32(v) => (first_bad(v, vocab_size), 4),
        };
        match bad {
            None => Ok(()),
            Some((index, id)) => Err(DataError::IdOutOfRange {
                path: self.path.clone(),
                offset: (index * width) as u64,
                id,
                vocab_size,
            }),
        }
    }

    /// A shard held in memory only (tests, small experiments); `name` stands for its path in
    /// error messages.
    pub fn from_ids(name: impl Into<PathBuf>, ids: Vec<u32>) -> Shard {
        Shard {
            path: name.into(),
            ids: Ids::U32(ids),
        }
    }

    /// The shard cut in two: its first ids, and its last `tail` ids (held in memory; both
    /// keep its path for messages).
    pub fn split_tail(&self, tail: usize) -> (Shard, Shard) {
        let ids = self.window(0, self.len());
        let cut = self.len().saturating_sub(tail);
        (
            Shard::from_ids(&self.path, ids[..cut].to_vec()),
            Shard::from_ids(&self.path, ids[cut..].to_vec()),
        )
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        match &self.ids {
            Ids::U16(v) => v.len(),
            Ids::U32(v) => v.len(),
        }
    }

    /// Whether the shard holds no id.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `ids[start..start + len]`, widened to u32 (panics past the end: callers check `len()`).
    pub fn window(&self, start: usize, len: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity(len);
        self.extend_window(&mut out, start, len);
        out
    }

    /// Every position that holds `id` and from which a window of `len` ids fits: with `id`
    /// the BOS token, where each document (song) of the shard starts.
    pub fn starts_of(&self, id: u32, len: usize) -> Vec<usize> {
        let last = self.len().saturating_sub(len);
        let at = |i: usize, x: u32| (x == id && i <= last).then_some(i);
        match &self.ids {
            Ids::U16(v) => (v.iter().enumerate())
                .filter_map(|(i, &x)| at(i, x as u32))
                .collect(),
            Ids::U32(v) => (v.iter().enumerate())
                .filter_map(|(i, &x)| at(i, x))
                .collect(),
        }
    }

    /// Appends `ids[start..start + len]` to `out`, widened to u32.
    fn extend_window(&self, out: &mut Vec<u32>, start: usize, len: usize) {
        match &self.ids {
            Ids::U16(v) => out.extend(v[start..start + len].iter().map(|&id| id as u32)),
            Ids::U32(v) => out.extend_from_slice(&v[start..start + len]),
        }
    }
}

/// Reads `DATA/meta.json`: the vocabulary size and dtype a training run needs. A `prepare`
/// that a crash cut short while it renamed its files into place is finished first.
pub fn load_meta(data_dir: &Path) -> Result<Meta, DataError> {
    // A `prepare` killed while renaming its files into place left the new dataset half
    // renamed: finish that first.
    crate::output::finish_commit(data_dir)?;
    let path = data_dir.join(META_FILE);
    let text = match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DataError::NotPrepared(data_dir.to_path_buf()))
        }
        result => result.map_err(DataError::io(&path))?,
    };
    serde_json::from_str(&text).map_err(|e| DataError::BadMeta {
        path,
        message: e.to_string(),
    })
}

/// One batch: `batch_size` rows of `block_size` ids, row-major, flat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Inputs, `(B, T)` row-major: row `b` is `ids[i_b .. i_b + T]`.
    pub x: Vec<u32>,
    /// Targets, `(B, T)`: row `b` is `ids[i_b + 1 .. i_b + T + 1]`, the next id after each input.
    pub y: Vec<u32>,
    /// B.
    pub batch_size: usize,
    /// T.
    pub block_size: usize,
}

/// Draws random windows from a shard with a seeded ChaCha8 generator.
///
/// The generator is portable (same seed, same batches on every platform) and its whole state
/// ([`BatcherState`]) is serializable, so a run resumed from a checkpoint draws exactly the
/// batches the uninterrupted run would have drawn.
#[derive(Debug, Clone)]
pub struct Batcher {
    batch_size: usize,
    block_size: usize,
    rng: ChaCha8Rng,
    songs: Option<SongStarts>,
}

/// Windows that begin where a song begins, a share `rate` of all.
#[derive(Debug, Clone)]
struct SongStarts {
    at: Vec<usize>,
    rate: f64,
}

/// Everything needed to continue a [`Batcher`]'s sequence of batches: save it with a
/// checkpoint (it serializes to a small JSON object) and pass it to [`Batcher::restore`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatcherState {
    rng: ChaCha8Rng,
}

impl Batcher {
    /// A batcher of `batch_size` windows of `block_size` ids. `split` selects an independent
    /// stream of the generator, so training and validation batchers built from one seed do
    /// not draw correlated positions.
    pub fn new(split: Split, batch_size: usize, block_size: usize, seed: u64) -> Batcher {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(match split {
            Split::Train => 0,
            Split::Val => 1,
        });
        Batcher {
            batch_size,
            block_size,
            rng,
            songs: None,
        }
    }

    /// Starts a share `rate` of the windows at one of `at` (drawn uniformly; from
    /// [`Shard::starts_of`] the BOS token): a model generates from BOS at position 0, which
    /// windows drawn anywhere put there about once per song length of windows. Without any
    /// start or with `rate` 0, batches are exactly those of [`Batcher::new`].
    pub fn with_song_starts(mut self, at: Vec<usize>, rate: f64) -> Batcher {
        self.songs = (rate > 0.0 && !at.is_empty()).then_some(SongStarts { at, rate });
        self
    }

    /// The generator's state now: the next batch drawn after [`Batcher::restore`] of this
    /// state is the batch this batcher would draw next.
    pub fn state(&self) -> BatcherState {
        BatcherState {
            rng: self.rng.clone(),
        }
    }

    /// Continues from a saved state.
    pub fn restore(&mut self, state: BatcherState) {
        self.rng = state.rng;
    }

    /// Draws the next batch from `shard`: `batch_size` start positions uniform over every
    /// window of `block_size + 1` ids that fits, as nanoGPT's `get_batch` does.
    pub fn next_batch(&mut self, shard: &Shard) -> Result<Batch, DataError> {
        let (b, t) = (self.batch_size, self.block_size);
        let needed = t as u64 + 1;
        if (shard.len() as u64) < needed {
            return Err(DataError::ShardTooShort {
                path: shard.path.clone(),
                len: shard.len() as u64,
                needed,
            });
        }
        // Starts in 0..=len-(T+1); drawn as u64 so the sequence does not depend on usize width.
        let starts = shard.len() as u64 - t as u64;
        let mut x = Vec::with_capacity(b * t);
        let mut y = Vec::with_capacity(b * t);
        for _ in 0..b {
            let i = match &self.songs {
                // Both drawn for every row, so one row's outcome does not shift the next's.
                Some(songs) => {
                    let (coin, k) = (
                        self.rng.random::<f64>(),
                        self.rng.random_range(0..songs.at.len() as u64) as usize,
                    );
                    let anywhere = self.rng.random_range(0..starts) as usize;
                    if coin < songs.rate {
                        songs.at[k]
                    } else {
                        anywhere
                    }
                }
                None => self.rng.random_range(0..starts) as usize,
            };
            shard.extend_window(&mut x, i, t);
            shard.extend_window(&mut y, i + 1, t);
        }
        Ok(Batch {
            x,
            y,
            batch_size: b,
            block_size: t,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting_shard(n: u32) -> Shard {
        Shard::from_ids("mem", (0..n).collect())
    }

    #[test]
    fn windows_line_up() {
        let shard = counting_shard(1000);
        let mut batcher = Batcher::new(Split::Train, 4, 16, 7);
        for _ in 0..20 {
            let batch = batcher.next_batch(&shard).unwrap();
            assert_eq!(batch.x.len(), 4 * 16);
            assert_eq!(batch.y.len(), 4 * 16);
            for (xr, yr) in batch.x.chunks(16).zip(batch.y.chunks(16)) {
                // Consecutive ids within a row, and y is x shifted by one.
                assert!(xr.windows(2).all(|w| w[1] == w[0] + 1));
                assert!(xr.iter().zip(yr).all(|(&a, &b)| b == a + 1));
                assert!(*yr.last().unwrap() < 1000);
            }
        }
    }

    #[test]
    fn song_windows_start_at_a_song() {
        // Songs of 50 ids, each opening with 1000 (the BOS), the last one too short for a
        // window of 16 + 1.
        let ids: Vec<u32> = (0..10u32)
            .flat_map(|song| std::iter::once(1000).chain(song * 100..song * 100 + 49))
            .take(460)
            .collect();
        let shard = Shard::from_ids("mem", ids);
        let at = shard.starts_of(1000, 17);
        assert_eq!(at, (0..9).map(|s| s * 50).collect::<Vec<_>>());
        let mut all = Batcher::new(Split::Train, 64, 16, 3).with_song_starts(at.clone(), 1.0);
        let batch = all.next_batch(&shard).unwrap();
        assert!(batch.x.chunks(16).all(|row| row[0] == 1000));
        let seen: std::collections::BTreeSet<u32> = batch.x.chunks(16).map(|r| r[1]).collect();
        assert!(seen.len() > 5, "songs drawn: {seen:?}");
        // A share: some rows at a song start, most elsewhere.
        let mut some = Batcher::new(Split::Train, 64, 16, 3).with_song_starts(at.clone(), 0.25);
        let at_bos = (0..20)
            .flat_map(|_| some.next_batch(&shard).unwrap().x)
            .step_by(16)
            .filter(|&first| first == 1000)
            .count();
        assert!((200..450).contains(&at_bos), "{at_bos} of 1280 rows");
        // Rate 0 draws what a plain batcher draws.
        let mut none = Batcher::new(Split::Train, 8, 16, 3).with_song_starts(at, 0.0);
        let mut plain = Batcher::new(Split::Train, 8, 16, 3);
        assert_eq!(
            none.next_batch(&shard).unwrap(),
            plain.next_batch(&shard).unwrap()
        );
    }

    #[test]
    fn every_window_reachable_including_the_last() {
        // len = T + 2: exactly two windows, starting at 0 and 1.
        let shard = counting_shard(10);
        let mut batcher = Batcher::new(Split::Train, 64, 8, 1);
        let batch = batcher.next_batch(&shard).unwrap();
        let firsts: std::collections::BTreeSet<u32> = batch.x.chunks(8).map(|r| r[0]).collect();
        assert_eq!(firsts.into_iter().collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn same_seed_same_batches_and_splits_differ() {
        let shard = counting_shard(100_000);
        let mut a = Batcher::new(Split::Train, 8, 32, 42);
        let mut b = Batcher::new(Split::Train, 8, 32, 42);
        let mut v = Batcher::new(Split::Val, 8, 32, 42);
        let (ba, bb, bv) = (
            a.next_batch(&shard).unwrap(),
            b.next_batch(&shard).unwrap(),
            v.next_batch(&shard).unwrap(),
        );
        assert_eq!(ba, bb);
        assert_ne!(ba, bv);
    }

    #[test]
    fn restored_state_resumes_exactly() {
        let shard = counting_shard(50_000);
        let mut run = Batcher::new(Split::Train, 4, 64, 3);
        for _ in 0..5 {
            run.next_batch(&shard).unwrap();
        }
        let json = serde_json::to_string(&run.state()).unwrap();
        let expected: Vec<Batch> = (0..5).map(|_| run.next_batch(&shard).unwrap()).collect();

        let mut resumed = Batcher::new(Split::Train, 4, 64, 999);
        resumed.restore(serde_json::from_str(&json).unwrap());
        let got: Vec<Batch> = (0..5)
            .map(|_| resumed.next_batch(&shard).unwrap())
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn short_shard_is_a_typed_error() {
        let shard = counting_shard(16);
        let mut batcher = Batcher::new(Split::Val, 2, 16, 0);
        match batcher.next_batch(&shard) {
            Err(DataError::ShardTooShort { len, needed, .. }) => {
                assert_eq!((len, needed), (16, 17))
            }
            other => panic!("expected ShardTooShort, got {other:?}"),
        }
        let shard = counting_shard(17);
        assert!(batcher.next_batch(&shard).is_ok());
    }

    #[test]
    fn ids_outside_the_vocabulary_name_the_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.bin");
        std::fs::write(&path, [1u8, 0, 2, 0, 0xff, 0xff, 3, 0]).unwrap();
        let shard = Shard::open(&path, Dtype::U16).unwrap();
        shard.check_ids(65_536).unwrap();
        let err = shard.check_ids(300).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::IdOutOfRange {
                    offset: 4,
                    id: 65_535,
                    vocab_size: 300,
                    ..
                }
            ),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("train.bin") && message.contains("byte offset 4"),
            "{message}"
        );
    }

    #[test]
    fn missing_or_bad_meta_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load_meta(dir.path()),
            Err(DataError::NotPrepared(_))
        ));
        std::fs::write(dir.path().join(META_FILE), "{}").unwrap();
        assert!(matches!(
            load_meta(dir.path()),
            Err(DataError::BadMeta { .. })
        ));
    }

    #[test]
    fn open_reads_both_widths_and_rejects_ragged_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.bin");
        std::fs::write(&path, [1u8, 0, 0, 1, 0xff, 0xff]).unwrap();
        let shard = Shard::open(&path, Dtype::U16).unwrap();
        assert_eq!(shard.len(), 3);
        let mut x = Vec::new();
        shard.extend_window(&mut x, 0, 3);
        assert_eq!(x, vec![1, 256, 65_535]);
        assert!(matches!(
            Shard::open(&path, Dtype::U32),
            Err(DataError::ShardSize { bytes: 6, .. })
        ));
    }
}
