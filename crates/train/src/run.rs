//! What a training run keeps in its folder: the config (`config.json` and `config.toml`), the
//! tokenizer and prepare options copied from the data, and `train_info.json`. Where the
//! files are is [`RunDir`]'s (`midigpt-store`).

use std::path::{Path, PathBuf};

use midigpt_store::{write_file, RunDir, StoreError, TOKENIZER_FILE};
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::TrainConfig;

/// Validates `config`, creates the run folder (see [`RunDir::create`]), saves the config,
/// copies `DATA/tokenizer.json`, and saves the data's prepare options as `prepare.json` (when
/// `DATA/meta.json` is there). An existing folder is reused: starting a fresh run in it is the
/// caller's decision (resume reads it instead).
pub fn create_run(
    root: &Path,
    config: &TrainConfig,
    data_dir: &Path,
) -> Result<RunDir, TrainError> {
    config.validate()?;
    let run = RunDir::create(root)?;
    run.save_config(config)?;
    let tokenizer = data_dir.join(TOKENIZER_FILE);
    let bytes = std::fs::read(&tokenizer).map_err(StoreError::io(&tokenizer))?;
    write_file(&run.tokenizer_path(), &bytes)?;
    if data_dir.join(midigpt_data::META_FILE).is_file() {
        let meta = midigpt_data::load_meta(data_dir)?;
        let text = meta.options.to_prepare_json();
        write_file(&run.prepare_path(), text.as_bytes())?;
        if !meta.counts.programs.is_empty() {
            let mut text =
                serde_json::to_string_pretty(&meta.counts.programs).expect("counts serialize");
            text.push('\n');
            write_file(&run.programs_path(), text.as_bytes())?;
        }
    }
    Ok(run)
}

/// The training crate's files in a run folder.
pub trait RunFiles {
    /// Validates `config` and writes `config.json` and `config.toml`.
    fn save_config(&self, config: &TrainConfig) -> Result<(), TrainError>;
    /// Reads `config.json` back (validated).
    fn load_config(&self) -> Result<TrainConfig, TrainError>;
    /// Writes `train_info.json`.
    fn write_info(&self, info: &TrainInfo) -> Result<(), TrainError>;
    /// Reads `train_info.json`.
    fn read_info(&self) -> Result<TrainInfo, TrainError>;
}

impl RunFiles for RunDir {
    fn save_config(&self, config: &TrainConfig) -> Result<(), TrainError> {
        config.validate()?;
        write_file(&self.config_path(), config.to_json_string().as_bytes())?;
        write_file(&self.config_toml_path(), config.to_toml_string().as_bytes())?;
        Ok(())
    }

    fn load_config(&self) -> Result<TrainConfig, TrainError> {
        let config = TrainConfig::load(&self.config_path())?;
        config.validate()?;
        Ok(config)
    }

    fn write_info(&self, info: &TrainInfo) -> Result<(), TrainError> {
        let text = serde_json::to_string_pretty(info).expect("TrainInfo serializes");
        Ok(write_file(&self.train_info_path(), text.as_bytes())?)
    }

    fn read_info(&self) -> Result<TrainInfo, TrainError> {
        let path = self.train_info_path();
        let text = std::fs::read_to_string(&path).map_err(StoreError::io(&path))?;
        let info = serde_json::from_str(&text).map_err(|e| StoreError::Json {
            path,
            message: e.to_string(),
        })?;
        Ok(info)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let run = create_run(&root, &config, &data).unwrap();
        assert_eq!(
            std::fs::read_to_string(run.tokenizer_path()).unwrap(),
            "{\"tok\":1}"
        );
        assert!(run.checkpoints_dir().is_dir() && run.samples_dir().is_dir());
        let opened = RunDir::open(&root).unwrap();
        assert_eq!(opened.load_config().unwrap(), config);
        let toml = std::fs::read_to_string(run.config_toml_path()).unwrap();
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
            started_at: midigpt_store::utc_now(),
            updated_at: midigpt_store::utc_now(),
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
