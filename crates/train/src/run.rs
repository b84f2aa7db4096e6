//! The run folder: where a training run keeps its config, tokenizer, metrics, plot and
//! checkpoints.
//!
//! ```text
//! RUN/config.json         the TrainConfig (also config.toml, for editing and --config)
//! RUN/tokenizer.json      copied from DATA, so a run generates without its data folder
//! RUN/train_info.json     TrainInfo: data, sizes, times, throughput
//! RUN/metrics.jsonl       MetricRecord lines
//! RUN/loss.png            train and val loss against step
//! RUN/samples/            generated MIDI
//! RUN/checkpoints/        step-000500/, ..., `latest` and `best` pointers
//! ```

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::TrainConfig;

/// `config.json` in a run folder.
pub const CONFIG_FILE: &str = "config.json";
/// `config.toml` in a run folder.
pub const CONFIG_TOML_FILE: &str = "config.toml";
/// `tokenizer.json` in a run folder.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// `train_info.json` in a run folder.
pub const TRAIN_INFO_FILE: &str = "train_info.json";
/// `metrics.jsonl` in a run folder.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// `loss.png` in a run folder.
pub const LOSS_PLOT_FILE: &str = "loss.png";

/// A run folder's paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Validates `config`, creates the folder (and `checkpoints/`, `samples/`), saves the
    /// config as `config.json` and `config.toml`, copies `DATA/tokenizer.json`, and saves
    /// the data's prepare options as `prepare.json` (when `DATA/meta.json` is there). An
    /// existing folder is reused: starting a fresh run in it is the caller's decision (resume
    /// reads it instead).
    pub fn create(
        root: &Path,
        config: &TrainConfig,
        data_dir: &Path,
    ) -> Result<RunDir, TrainError> {
        config.validate()?;
        let run = RunDir {
            root: root.to_owned(),
        };
        for dir in [run.root.clone(), run.checkpoints_dir(), run.samples_dir()] {
            std::fs::create_dir_all(&dir).map_err(TrainError::io(dir))?;
        }
        run.save_config(config)?;
        let tokenizer = data_dir.join(midigpt_data::TOKENIZER_FILE);
        let bytes = std::fs::read(&tokenizer).map_err(TrainError::io(&tokenizer))?;
        write_atomic(&run.tokenizer_path(), &bytes)?;
        if data_dir.join(midigpt_data::META_FILE).is_file() {
            let meta = midigpt_data::load_meta(data_dir)?;
            let text = meta.options.to_prepare_json();
            write_atomic(&run.root.join(midigpt_data::PREPARE_FILE), text.as_bytes())?;
        }
        Ok(run)
    }

    /// An existing run folder, for `--resume`.
    pub fn open(root: &Path) -> Result<RunDir, TrainError> {
        let run = RunDir {
            root: root.to_owned(),
        };
        if !run.config_path().is_file() {
            return Err(TrainError::NotARun(root.to_owned()));
        }
        Ok(run)
    }

    /// Validates `config` and writes `config.json` and `config.toml`.
    pub fn save_config(&self, config: &TrainConfig) -> Result<(), TrainError> {
        config.validate()?;
        write_atomic(&self.config_path(), config.to_json_string().as_bytes())?;
        write_atomic(
            &self.root.join(CONFIG_TOML_FILE),
            config.to_toml_string().as_bytes(),
        )
    }

    /// Reads `config.json` back (validated).
    pub fn load_config(&self) -> Result<TrainConfig, TrainError> {
        let config = TrainConfig::load(&self.config_path())?;
        config.validate()?;
        Ok(config)
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `RUN/config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }
    /// `RUN/tokenizer.json`.
    pub fn tokenizer_path(&self) -> PathBuf {
        self.root.join(TOKENIZER_FILE)
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
        self.root.join("checkpoints")
    }
    /// `RUN/samples/`.
    pub fn samples_dir(&self) -> PathBuf {
        self.root.join("samples")
    }

    /// Writes `train_info.json`.
    pub fn write_info(&self, info: &TrainInfo) -> Result<(), TrainError> {
        let text = serde_json::to_string_pretty(info).expect("TrainInfo serializes");
        write_atomic(&self.train_info_path(), text.as_bytes())
    }

    /// Reads `train_info.json`.
    pub fn read_info(&self) -> Result<TrainInfo, TrainError> {
        let path = self.train_info_path();
        let text = std::fs::read_to_string(&path).map_err(TrainError::io(&path))?;
        serde_json::from_str(&text).map_err(|e| TrainError::Json {
            path,
            message: e.to_string(),
        })
    }
}

/// `RUN/train_info.json`: what a run trained on and how fast, rewritten as it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainInfo {
    /// The configuration.
    pub config: TrainConfig,
    /// The data folder, as given.
    pub data: PathBuf,
    /// Vocabulary size of the tokenizer.
    pub vocab_size: usize,
    /// Ids in `train.bin`.
    pub tokens_train: u64,
    /// Ids in `val.bin`.
    pub tokens_val: u64,
    /// Trainable parameters, once the model is built.
    pub parameters: Option<u64>,
    /// Start of the run, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started_at: String,
    /// When this file was last written (the end, once the run has finished).
    pub updated_at: String,
    /// Whether the run reached `max_iters`.
    pub finished: bool,
    /// Optimizer steps done.
    pub steps: u64,
    /// Seconds of training, time before resumes included.
    pub elapsed_s: f64,
    /// Mean optimizer steps per second.
    pub steps_per_s: f64,
    /// Mean training tokens per second.
    pub tokens_per_s: f64,
    /// Lowest validation loss seen.
    pub best_val_loss: Option<f64>,
    /// Further values (device, MFU, ...), kept in order.
    #[serde(default, flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SSZ` (for [`TrainInfo`]).
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

/// Writes `bytes` to `path` so readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    midigpt_midi::write_atomic(path, bytes).map_err(TrainError::io(path))
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
    fn create_open_and_info() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("tokenizer.json"), "{\"tok\":1}").unwrap();
        let root = dir.path().join("run");
        let config = TrainConfig {
            n_layer: 2,
            ..TrainConfig::default()
        };
        let run = RunDir::create(&root, &config, &data).unwrap();
        assert_eq!(
            std::fs::read_to_string(run.tokenizer_path()).unwrap(),
            "{\"tok\":1}"
        );
        assert!(run.checkpoints_dir().is_dir() && run.samples_dir().is_dir());
        let opened = RunDir::open(&root).unwrap();
        assert_eq!(opened.load_config().unwrap(), config);
        let toml = std::fs::read_to_string(root.join(CONFIG_TOML_FILE)).unwrap();
        assert_eq!(
            TrainConfig::from_toml_str(&toml, Path::new("x")).unwrap(),
            config
        );
        assert!(RunDir::open(&data).is_err());

        let info = TrainInfo {
            config,
            data,
            vocab_size: 300,
            tokens_train: 1000,
            tokens_val: 100,
            parameters: Some(3_200_000),
            started_at: utc_now(),
            updated_at: utc_now(),
            finished: false,
            steps: 10,
            elapsed_s: 2.0,
            steps_per_s: 5.0,
            tokens_per_s: 10240.0,
            best_val_loss: None,
            extra: serde_json::Map::new(),
        };
        run.write_info(&info).unwrap();
        assert_eq!(run.read_info().unwrap(), info);
        let leftovers: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
