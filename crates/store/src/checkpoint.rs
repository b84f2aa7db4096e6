//! `RUN/checkpoints/`: one folder per saved step, written whole or not at all.
//!
//! ```text
//! checkpoints/step-000500/    whatever the trainer writes (model.safetensors, ...)
//!                             plus checkpoint.json: {"step", "val_loss", "saved_at"}
//! checkpoints/latest          "step-000500\n": the newest checkpoint
//! checkpoints/best            "step-000250\n": the lowest validation loss
//! ```
//!
//! A checkpoint is written into `.tmp-step-000500/`, synced, then renamed to its final name,
//! and only then do the pointers move (each itself written to a temporary file and renamed).
//! Old checkpoints are renamed to `.del-…` before they are deleted. A crash at any moment
//! leaves every visible checkpoint complete; [`Checkpoints::open`] (the trainer's handle)
//! finishes or undoes what a crash interrupted and points `latest` at the newest checkpoint.
//! Readers ([`latest_checkpoint`], [`best_checkpoint`]) change nothing, so they are safe while
//! a run trains. After each save only the `keep_last` newest checkpoints and the best one are
//! kept.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::run::utc_now;
use crate::{write_file, CHECKPOINTS_DIR};

/// The file this module adds to every checkpoint folder.
pub const CHECKPOINT_META_FILE: &str = "checkpoint.json";
/// Pointer to the newest checkpoint.
pub const LATEST_POINTER: &str = "latest";
/// Pointer to the checkpoint with the lowest validation loss.
pub const BEST_POINTER: &str = "best";
/// A checkpoint being written.
const TMP_PREFIX: &str = ".tmp-";
/// A checkpoint being replaced by a new save of the same step.
const OLD_PREFIX: &str = ".old-";
/// A checkpoint being deleted.
const DEL_PREFIX: &str = ".del-";

/// A saved checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Optimizer steps done when it was saved.
    pub step: u64,
    /// Validation loss at that step, if one was measured.
    pub val_loss: Option<f64>,
    /// Its folder.
    pub path: PathBuf,
}

/// Contents of `checkpoint.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CheckpointMeta {
    step: u64,
    val_loss: Option<f64>,
    saved_at: String,
}

/// The checkpoints folder of a run.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
    keep_last: usize,
}

impl Checkpoints {
    /// Opens (creating) `dir` for saving, keeping the `keep_last` newest checkpoints (at
    /// least 1) plus the best. What a crash interrupted is finished or undone (see
    /// [`Checkpoints::recover`]): only the process that saves may open, never a reader while
    /// a run trains.
    pub fn open(dir: &Path, keep_last: usize) -> Result<Checkpoints, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        let checkpoints = Checkpoints {
            dir: dir.to_owned(),
            keep_last: keep_last.max(1),
        };
        checkpoints.recover()?;
        Ok(checkpoints)
    }

    /// After a crash: a checkpoint that was being replaced gets its name back (the new one
    /// if it was complete, else the old one), other leftovers are removed, and `latest`
    /// points at the newest checkpoint (a crash between a rename and the pointer update
    /// leaves it one behind).
    fn recover(&self) -> Result<(), StoreError> {
        for name in self.names()? {
            let Some(step) = name.strip_prefix(OLD_PREFIX) else {
                continue;
            };
            let path = self.dir.join(step);
            if !path.exists() {
                let new = self.dir.join(format!("{TMP_PREFIX}{step}"));
                // checkpoint.json is the last file a save writes.
                let source = if new.join(CHECKPOINT_META_FILE).is_file() {
                    new
                } else {
                    self.dir.join(&name)
                };
                std::fs::rename(&source, &path).map_err(StoreError::io(&source))?;
            }
        }
        for name in self.names()? {
            if [TMP_PREFIX, OLD_PREFIX, DEL_PREFIX]
                .iter()
                .any(|p| name.starts_with(p))
            {
                remove_dir(&self.dir.join(name))?;
            }
        }
        let newest = self.list()?.pop();
        let pointed = self.latest().ok().flatten();
        if let Some(newest) = newest.filter(|n| pointed.as_ref().map(|p| p.step) != Some(n.step)) {
            self.point(LATEST_POINTER, newest.step)?;
        }
        Ok(())
    }

    fn names(&self) -> Result<Vec<String>, StoreError> {
        let entries = std::fs::read_dir(&self.dir).map_err(StoreError::io(&self.dir))?;
        entries
            .map(|e| {
                e.map(|e| e.file_name().to_string_lossy().into_owned())
                    .map_err(StoreError::io(&self.dir))
            })
            .collect()
    }

    /// Writes a pointer file naming the checkpoint of `step`.
    fn point(&self, pointer: &str, step: u64) -> Result<(), StoreError> {
        let text = format!("{}\n", step_name(step));
        write_file(&self.dir.join(pointer), text.as_bytes())
    }

    /// Saves the checkpoint of `step`: `write` fills a fresh folder, then the folder appears
    /// as `step-NNNNNN`, `latest` points to it, `best` moves if `val_loss` is the lowest yet,
    /// and old checkpoints are removed. If `write` fails, its folder is removed and the
    /// checkpoints already saved are untouched. Saving a step that exists replaces it.
    pub fn save<F, E>(
        &self,
        step: u64,
        val_loss: Option<f64>,
        write: F,
    ) -> Result<Checkpoint, StoreError>
    where
        F: FnOnce(&Path) -> Result<(), E>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let name = step_name(step);
        let tmp = self.dir.join(format!("{TMP_PREFIX}{name}"));
        if tmp.exists() {
            remove_dir(&tmp)?;
        }
        std::fs::create_dir(&tmp).map_err(StoreError::io(&tmp))?;
        if let Err(e) = write(&tmp) {
            remove_dir(&tmp)?;
            return Err(StoreError::CheckpointWrite {
                step,
                source: e.into(),
            });
        }
        let meta = CheckpointMeta {
            step,
            val_loss,
            saved_at: utc_now(),
        };
        let meta_json = serde_json::to_string_pretty(&meta).expect("CheckpointMeta serializes");
        write_file(&tmp.join(CHECKPOINT_META_FILE), meta_json.as_bytes())?;
        sync_folder(&tmp)?;

        let path = self.dir.join(&name);
        if path.exists() {
            // rename() cannot replace a non-empty folder: move the old one aside first.
            // A crash between the two renames is undone by `recover`.
            let old = self.dir.join(format!("{OLD_PREFIX}{name}"));
            std::fs::rename(&path, &old).map_err(StoreError::io(&path))?;
            std::fs::rename(&tmp, &path).map_err(StoreError::io(&path))?;
            remove_dir(&old)?;
        } else {
            std::fs::rename(&tmp, &path).map_err(StoreError::io(&path))?;
        }
        sync_dir_entry(&self.dir);
        self.point(LATEST_POINTER, step)?;
        self.update_best_and_rotate()?;
        Ok(Checkpoint {
            step,
            val_loss,
            path,
        })
    }

    /// Every complete checkpoint, oldest step first.
    pub fn list(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(StoreError::io(&self.dir))? {
            let entry = entry.map_err(StoreError::io(&self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if parse_step_name(&name).is_some() && entry.path().is_dir() {
                all.push(read_checkpoint(&entry.path())?);
            }
        }
        all.sort_by_key(|c| c.step);
        Ok(all)
    }

    /// The checkpoint `latest` points to; `None` before the first save.
    pub fn latest(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.pointer(LATEST_POINTER)
    }

    /// The checkpoint `best` points to; `None` until a checkpoint with a validation loss.
    pub fn best(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.pointer(BEST_POINTER)
    }

    fn pointer(&self, pointer: &str) -> Result<Option<Checkpoint>, StoreError> {
        let path = self.dir.join(pointer);
        let name = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(path)(e)),
        };
        if parse_step_name(&name).is_none() {
            return Err(StoreError::Json {
                path,
                message: format!("{name:?} is not a checkpoint name"),
            });
        }
        read_checkpoint(&self.dir.join(name)).map(Some)
    }

    /// Points `best` at the lowest validation loss (the earliest on ties), then removes every
    /// checkpoint that is neither among the `keep_last` newest nor the best. The best is
    /// never removed, so the minimum over the folders left is the minimum over the run.
    fn update_best_and_rotate(&self) -> Result<(), StoreError> {
        let all = self.list()?;
        let best = all
            .iter()
            .filter_map(|c| c.val_loss.filter(|l| l.is_finite()).map(|l| (l, c.step)))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            .map(|(_, step)| step);
        if let Some(step) = best {
            self.point(BEST_POINTER, step)?;
        }
        let first_kept = all.len().saturating_sub(self.keep_last);
        for c in &all[..first_kept] {
            if Some(c.step) != best {
                // Renamed first, so that a crash mid-delete leaves no partial `step-` folder.
                let doomed = self.dir.join(format!("{DEL_PREFIX}{}", step_name(c.step)));
                std::fs::rename(&c.path, &doomed).map_err(StoreError::io(&c.path))?;
                remove_dir(&doomed)?;
            }
        }
        Ok(())
    }
}

/// The newest checkpoint of the run folder `run` (for `--resume`), or `None`. Reads only.
pub fn latest_checkpoint(run: &Path) -> Result<Option<Checkpoint>, StoreError> {
    reader(run).map_or(Ok(None), |c| c.latest())
}

/// The checkpoint of `run` with the lowest validation loss, else its newest, or `None`.
/// Reads only: safe while the run trains.
pub fn best_checkpoint(run: &Path) -> Result<Option<Checkpoint>, StoreError> {
    match reader(run) {
        Some(c) => Ok(c.best()?.or(c.latest()?)),
        None => Ok(None),
    }
}

/// A handle on `run`'s checkpoints that is only read from (no recovery, no cleaning).
fn reader(run: &Path) -> Option<Checkpoints> {
    let dir = run.join(CHECKPOINTS_DIR);
    dir.is_dir().then_some(Checkpoints { dir, keep_last: 1 })
}

/// `step-000123`: zero-padded so listings sort by step up to a million steps (larger steps
/// get more digits and are still parsed as numbers).
pub fn step_name(step: u64) -> String {
    format!("step-{step:06}")
}

fn parse_step_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("step-")?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())?
}

fn read_checkpoint(path: &Path) -> Result<Checkpoint, StoreError> {
    let meta_path = path.join(CHECKPOINT_META_FILE);
    let text = std::fs::read_to_string(&meta_path).map_err(StoreError::io(&meta_path))?;
    let meta: CheckpointMeta = serde_json::from_str(&text).map_err(|e| StoreError::Json {
        path: meta_path,
        message: e.to_string(),
    })?;
    Ok(Checkpoint {
        step: meta.step,
        val_loss: meta.val_loss,
        path: path.to_owned(),
    })
}

fn remove_dir(path: &Path) -> Result<(), StoreError> {
    std::fs::remove_dir_all(path).map_err(StoreError::io(path))
}

/// Syncs every file the writer left in `dir` (one level deep, and nested folders' files) so
/// the rename cannot become visible before the data is on disk.
fn sync_folder(dir: &Path) -> Result<(), StoreError> {
    for entry in std::fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let path = entry.map_err(StoreError::io(dir))?.path();
        if path.is_dir() {
            sync_folder(&path)?;
        } else {
            let file = std::fs::File::open(&path).map_err(StoreError::io(&path))?;
            file.sync_all().map_err(StoreError::io(&path))?;
        }
    }
    sync_dir_entry(dir);
    Ok(())
}

/// Syncs a folder's entries (the renames in it). Best effort: not every platform can open a
/// folder for syncing, and a lost rename only loses the newest checkpoint, never corrupts one.
fn sync_dir_entry(dir: &Path) {
    if let Ok(file) = std::fs::File::open(dir) {
        let _ = file.sync_all();
    }
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
