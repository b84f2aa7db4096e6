//! The scores the studio holds (uploads, candidates, accepted pieces), in memory by id, and
//! the files made from them (audio, pictures) in the studio's own temporary folder.
//!
//! Ids are numbers the server hands out; file names are made from them here, so nothing a
//! request says ever becomes a path. The folder holds at most so many bytes (the least
//! recently used files go first, to be made again if asked for) and goes when the store is
//! dropped.

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
    /// For a continuation: the song it continues, and the bars kept and written, to put it
    /// into the song ([`midigpt_compose::insert`]) when accepted.
    pub continues: Option<Continues>,
}

/// A number for a set of colours by instrument, to name the picture drawn in them (0 for
/// none).
pub fn colour_key(colours: &[(i16, [u8; 3])]) -> u64 {
    use std::hash::{Hash, Hasher};
    if colours.is_empty() {
        return 0;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    colours.hash(&mut hasher);
    hasher.finish().max(1)
}

/// The key of `map` (values tagged with the tick of their last use) used least recently
/// among those `candidate` accepts.
fn least_recent<K: Copy + Eq + std::hash::Hash, V>(
    map: &HashMap<K, (V, u64)>,
    candidate: impl Fn(&K) -> bool,
) -> Option<K> {
    (map.iter())
        .filter(|(k, _)| candidate(k))
        .min_by_key(|(_, (_, tick))| *tick)
        .map(|(&k, _)| k)
}

/// Where a continuation came from.
#[derive(Debug, Clone)]
pub struct Continues {
    /// The song as it was.
    pub original: Arc<Score>,
    /// Its bars kept before the new ones.
    pub cut: usize,
    /// The new bars.
    pub bars: usize,
}

struct Inner {
    next: u64,
    /// Entries with the tick of their last use, for evicting the least recently used.
    entries: HashMap<u64, (Entry, u64)>,
    /// Files made, with their size and the tick of their last use.
    files: HashMap<(u64, Kind), (u64, u64)>,
    clock: u64,
}

impl Inner {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

/// Scores by id, at most `capacity`, with their files in a folder of their own of at most
/// `max_bytes`.
pub struct Store {
    inner: Mutex<Inner>,
    capacity: usize,
    max_bytes: u64,
    folder: tempfile::TempDir,
}

/// Which file of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The audio, 16-bit stereo WAV.
    Wav,
    /// The piano roll, PNG, in the colours whose [`colour_key`] this is (0: the palette's).
    Png(u64),
}

impl Store {
    /// An empty store of at most `capacity` scores, with a new temporary folder for at most
    /// `max_bytes` of files.
    pub fn new(capacity: usize, max_bytes: u64) -> Result<Store, StudioError> {
        let folder = tempfile::Builder::new()
            .prefix("midigpt-studio-")
            .tempdir()
            .map_err(StudioError::Folder)?;
        Ok(Store {
            inner: Mutex::new(Inner {
                next: 1,
                entries: HashMap::new(),
                files: HashMap::new(),
                clock: 0,
            }),
            capacity: capacity.max(1),
            max_bytes,
            folder,
        })
    }

    /// The folder the files are written in.
    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    /// Keeps `score` under a new id, evicting the least recently used one if full.
    pub fn insert(&self, score: Score, name: String) -> u64 {
        self.insert_continuation(score, name, None)
    }

    /// [`Store::insert`], saying what `score` continues.
    pub fn insert_continuation(
        &self,
        score: Score,
        name: String,
        continues: Option<Continues>,
    ) -> u64 {
        let mut inner = self.inner.lock().expect("store lock");
        let id = inner.next;
        inner.next += 1;
        let tick = inner.tick();
        let entry = Entry {
            score: Arc::new(score),
            name,
            continues,
        };
        inner.entries.insert(id, (entry, tick));
        while inner.entries.len() > self.capacity {
            let Some(oldest) = least_recent(&inner.entries, |_| true) else {
                break;
            };
            inner.entries.remove(&oldest);
            let files: Vec<(u64, Kind)> = (inner.files.keys())
                .filter(|(id, _)| *id == oldest)
                .copied()
                .collect();
            for key in files {
                self.remove_file(&mut inner, key);
            }
        }
        id
    }

    /// Removes a file made for a score (a file being served stays readable to the end).
    fn remove_file(&self, inner: &mut Inner, key: (u64, Kind)) {
        inner.files.remove(&key);
        // Not made yet is fine.
        let _ = std::fs::remove_file(self.path(key.0, key.1));
    }

    /// The score `id`, or "no such score".
    pub fn get(&self, id: u64) -> Result<Entry, StudioError> {
        let mut inner = self.inner.lock().expect("store lock");
        let tick = inner.tick();
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
        let name = match kind {
            Kind::Wav => format!("score-{id}.wav"),
            Kind::Png(0) => format!("score-{id}.png"),
            Kind::Png(colours) => format!("score-{id}-{colours:016x}.png"),
        };
        self.folder.path().join(name)
    }

    /// The file `kind` of score `id`, made on first use (blocking: rendering takes up to
    /// seconds), a piano roll in `colours` by instrument. Two requests at once may both make
    /// it; each writes a file of its own and renames it into place, so both get the whole
    /// file.
    pub fn file(
        &self,
        id: u64,
        kind: Kind,
        renderer: &Renderer,
        colours: &[(i16, [u8; 3])],
    ) -> Result<PathBuf, StudioError> {
        let entry = self.get(id)?;
        let path = self.path(id, kind);
        let known = {
            let mut inner = self.inner.lock().expect("store lock");
            let tick = inner.tick();
            inner
                .files
                .get_mut(&(id, kind))
                .map(|(_, last)| *last = tick)
        };
        if known.is_some() && path.is_file() {
            return Ok(path);
        }
        let made = match kind {
            Kind::Wav => renderer.write_wav(&entry.score, &path),
            Kind::Png(_) => {
                let options = PianorollOptions {
                    title: entry.name.clone(),
                    colours: colours.to_vec(),
                    ..Default::default()
                };
                pianoroll_png(&entry.score, &options, &path).map(drop)
            }
        };
        made.map_err(|e| StudioError::Internal(format!("{}: {e}", entry.name)))?;
        let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        self.keep_file((id, kind), bytes);
        Ok(path)
    }

    /// Counts a file just made, then removes the least recently used others while the
    /// folder holds more than its cap.
    fn keep_file(&self, key: (u64, Kind), bytes: u64) {
        let mut inner = self.inner.lock().expect("store lock");
        let tick = inner.tick();
        inner.files.insert(key, (bytes, tick));
        loop {
            let total: u64 = inner.files.values().map(|(bytes, _)| bytes).sum();
            match least_recent(&inner.files, |&k| k != key) {
                Some(oldest) if total > self.max_bytes => self.remove_file(&mut inner, oldest),
                _ => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_score_goes_first_with_its_files() {
        let store = Store::new(2, 1 << 20).unwrap();
        let a = store.insert(Score::new(96), "a".into());
        let b = store.insert(Score::new(96), "b".into());
        std::fs::write(store.path(b, Kind::Png(0)), b"x").unwrap();
        store.keep_file((b, Kind::Png(0)), 1);
        store.get(a).unwrap();
        let c = store.insert(Score::new(96), "c".into());
        assert!(store.get(b).is_err(), "b was the least recently used");
        assert!(
            !store.path(b, Kind::Png(0)).exists(),
            "its file went with it"
        );
        assert!(store.get(a).is_ok() && store.get(c).is_ok());
        let folder = store.folder().to_path_buf();
        drop(store);
        assert!(!folder.exists(), "the folder goes with the store");
    }

    #[test]
    fn the_folder_keeps_under_its_cap_by_dropping_the_least_recently_used_files() {
        let store = Store::new(8, 10).unwrap();
        let ids: Vec<u64> = (0..3)
            .map(|_| store.insert(Score::new(96), "s".into()))
            .collect();
        for &id in &ids {
            std::fs::write(store.path(id, Kind::Wav), [0u8; 4]).unwrap();
            store.keep_file((id, Kind::Wav), 4);
        }
        // 12 bytes > 10: the first made goes, the two most recent stay.
        assert!(!store.path(ids[0], Kind::Wav).exists());
        assert!(store.path(ids[1], Kind::Wav).exists() && store.path(ids[2], Kind::Wav).exists());
        // One file larger than the cap is still kept: it is the one being asked for.
        std::fs::write(store.path(ids[0], Kind::Png(0)), [0u8; 20]).unwrap();
        store.keep_file((ids[0], Kind::Png(0)), 20);
        assert!(store.path(ids[0], Kind::Png(0)).exists());
        assert!(!store.path(ids[2], Kind::Wav).exists());
    }
}
