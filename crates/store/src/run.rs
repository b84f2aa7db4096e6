//! The run folder of `midigpt train`: where a run keeps its config, tokenizer, metrics, plot
//! and checkpoints (the layout is in the crate docs). What the files hold is the training
//! crate's; where they are is here.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    StoreError, CHECKPOINTS_DIR, CONFIG_FILE, CONFIG_TOML_FILE, LOSS_PLOT_FILE, METRICS_FILE,
    PREPARE_FILE, PROGRAMS_FILE, SAMPLES_DIR, TOKENIZER_FILE, TRAIN_INFO_FILE,
};

/// A run folder's paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Creates the folder with `checkpoints/` and `samples/` (reusing an existing one:
    /// starting a fresh run in it is the caller's decision).
    pub fn create(root: &Path) -> Result<RunDir, StoreError> {
        let run = RunDir {
            root: root.to_owned(),
        };
        for dir in [run.root.clone(), run.checkpoints_dir(), run.samples_dir()] {
            std::fs::create_dir_all(&dir).map_err(StoreError::io(dir))?;
        }
        Ok(run)
    }

    /// An existing run folder: one with a `config.json`.
    pub fn open(root: &Path) -> Result<RunDir, StoreError> {
        let run = RunDir {
            root: root.to_owned(),
        };
        if !run.config_path().is_file() {
            return Err(StoreError::NotARun(root.to_owned()));
        }
        Ok(run)
    }

    /// Whether `root` is laid out as a run folder (it has `checkpoints/`).
    pub fn is_run(root: &Path) -> bool {
        root.join(CHECKPOINTS_DIR).is_dir()
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `RUN/config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }
    /// `RUN/config.toml`.
    pub fn config_toml_path(&self) -> PathBuf {
        self.root.join(CONFIG_TOML_FILE)
    }
    /// `RUN/tokenizer.json`.
    pub fn tokenizer_path(&self) -> PathBuf {
        self.root.join(TOKENIZER_FILE)
    }
    /// `RUN/prepare.json`.
    pub fn prepare_path(&self) -> PathBuf {
        self.root.join(PREPARE_FILE)
    }
    /// `RUN/programs.json`.
    pub fn programs_path(&self) -> PathBuf {
        self.root.join(PROGRAMS_FILE)
    }
    /// `RUN/train_info.json`.
    pub fn train_info_path(&self) -> PathBuf {
        self.root.join(TRAIN_INFO_FILE)
    }
    /// `RUN/metrics.jsonl`.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join(METRICS_FILE)
    }
    /// `RUN/loss.png`.
    pub fn loss_plot_path(&self) -> PathBuf {
        self.root.join(LOSS_PLOT_FILE)
    }
    /// `RUN/checkpoints/`.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join(CHECKPOINTS_DIR)
    }
    /// `RUN/samples/`.
    pub fn samples_dir(&self) -> PathBuf {
        self.root.join(SAMPLES_DIR)
    }
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    utc_timestamp(utc_now_secs())
}

/// Seconds since the Unix epoch.
pub fn utc_now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_timestamp(unix_secs: u64) -> String {
    let (days, rem) = ((unix_secs / 86_400) as i64, unix_secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`), to avoid a date
    // crate for one timestamp.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_now().len(), 20);
    }

    #[test]
    fn create_and_open() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("run");
        let run = RunDir::create(&root).unwrap();
        assert!(run.checkpoints_dir().is_dir() && run.samples_dir().is_dir());
        assert!(RunDir::is_run(&root));
        assert!(matches!(RunDir::open(&root), Err(StoreError::NotARun(_))));
        std::fs::write(run.config_path(), "{}").unwrap();
        assert_eq!(RunDir::open(&root).unwrap(), run);
    }
}
