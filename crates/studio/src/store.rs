//! The scores the studio holds (uploads, candidates, accepted pieces), in memory by id, and
//! the files made from them (audio, pictures) in the studio's own temporary folder.
//!
//! Ids are numbers the server hands out; file names are made from them here, so nothing a
//! request says ever becomes a path. The folder goes when the store is dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use midigpt_midi::Score;
use midigpt_render::{pianoroll_png, PianorollOptions, Renderer};

use crate::StudioError;

/// One score and what to call it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The music.
    pub score: Arc<Score>,
    /// Its name for the page and for downloads.
    pub name: String,
}

struct Inner {
    next: u64,
    /// Entries with the tick of their last use, for evicting the least recently used.
    entries: HashMap<u64, (Entry, u64)>,
    clock: u64,
}

/// Scores by id, at most `capacity`, with their files in a folder of their own.
pub struct Store {
    inner: Mutex<Inner>,
    capacity: usize,
    folder: tempfile::TempDir,
}

/// Which file of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The audio, 16-bit stereo WAV.
    Wav,
    /// The piano roll, PNG.
    Png,
}

impl Store {
    /// An empty store with a new temporary folder.
    pub fn new(capacity: usize) -> Result<Store, StudioError> {
        let folder = tempfile::Builder::new()
            .prefix("midigpt-studio-")
            .tempdir()
            .map_err(StudioError::Folder)?;
        Ok(Store {
            inner: Mutex::new(Inner {
                next: 1,
                entries: HashMap::new(),
                clock: 0,
            }),
            capacity: capacity.max(1),
            folder,
        })
    }

    /// The folder the files are written in.
    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    /// Keeps `score` under a new id, evicting the least recently used one if full.
    pub fn insert(&self, score: Score, name: String) -> u64 {
        let mut inner = self.inner.lock().expect("store lock");
        let id = inner.next;
        inner.next += 1;
        inner.clock += 1;
        let tick = inner.clock;
        let entry = Entry {
            score: Arc::new(score),
            name,
        };
        inner.entries.insert(id, (entry, tick));
        while inner.entries.len() > self.capacity {
            let oldest = (inner.entries.iter())
                .min_by_key(|(_, (_, tick))| *tick)
                .map(|(&id, _)| id);
            let Some(oldest) = oldest else { break };
            inner.entries.remove(&oldest);
            for kind in [Kind::Wav, Kind::Png] {
                // Not made yet is fine.
                let _ = std::fs::remove_file(self.path(oldest, kind));
            }
        }
        id
    }

    /// The score `id`, or "no such score".
    pub fn get(&self, id: u64) -> Result<Entry, StudioError> {
        let mut inner = self.inner.lock().expect("store lock");
        inner.clock += 1;
        let tick = inner.clock;
        match inner.entries.get_mut(&id) {
            Some((entry, last)) => {
                *last = tick;
                Ok(entry.clone())
            }
            None => Err(StudioError::NotFound(format!(
                "no score {id} here (the studio was restarted, or it was long unused)"
            ))),
        }
    }

    fn path(&self, id: u64, kind: Kind) -> PathBuf {
        let ext = match kind {
            Kind::Wav => "wav",
            Kind::Png => "png",
        };
        self.folder.path().join(format!("score-{id}.{ext}"))
    }

    /// The bytes of the file `kind` of score `id`, made on first use (blocking: rendering
    /// takes up to seconds).
    pub fn file(&self, id: u64, kind: Kind, renderer: &Renderer) -> Result<Vec<u8>, StudioError> {
        let entry = self.get(id)?;
        let path = self.path(id, kind);
        if !path.is_file() {
            let made = match kind {
                Kind::Wav => renderer.write_wav(&entry.score, &path),
                Kind::Png => {
                    let options = PianorollOptions {
                        title: entry.name.clone(),
                        ..Default::default()
                    };
                    pianoroll_png(&entry.score, &options, &path).map(drop)
                }
            };
            made.map_err(|e| StudioError::Internal(format!("{}: {e}", entry.name)))?;
        }
        std::fs::read(&path).map_err(|e| StudioError::Internal(format!("{}: {e}", entry.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_score_goes_first_with_its_files() {
        let store = Store::new(2).unwrap();
        let a = store.insert(Score::new(96), "a".into());
        let b = store.insert(Score::new(96), "b".into());
        std::fs::write(store.path(b, Kind::Png), b"x").unwrap();
        store.get(a).unwrap();
        let c = store.insert(Score::new(96), "c".into());
        assert!(store.get(b).is_err(), "b was the least recently used");
        assert!(!store.path(b, Kind::Png).exists(), "its file went with it");
        assert!(store.get(a).is_ok() && store.get(c).is_ok());
        let folder = store.folder().to_path_buf();
        drop(store);
        assert!(!folder.exists(), "the folder goes with the store");
    }
}
