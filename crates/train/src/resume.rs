//! Opening a run folder and going on from its latest checkpoint: what a checkpoint holds
//! besides the weights, how it is written and how a run is resumed from it.

use std::path::Path;

use burn::module::{AutodiffModule, Module};
use burn::optim::Optimizer;
use burn::record::{BinFileRecorder, FullPrecisionSettings, Recorder, RecorderError};
use midigpt_data::{Batcher, BatcherState, DataError, Shard};
use midigpt_model::{load_safetensors, save_safetensors, Gpt, GptConfig, GptTrainBackend};
use serde::{Deserialize, Serialize};

use midigpt_store::{latest_checkpoint, RunDir, StoreError, MODEL_FILE};

use crate::trainer::TrainJob;
use crate::{create_run, RunFiles, TrainConfig, TrainError};

const MODEL_RECORD: &str = "model-record";
const OPTIMIZER_RECORD: &str = "optimizer-record";
const STATE_FILE: &str = "state.json";

/// What a checkpoint stores besides weights and optimizer moments. The random numbers of
/// dropout need no state of their own: each step re-seeds from the run's seed and the step
/// (see [`crate::step_seed`]).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct State {
    pub step: u64,
    pub best_val_loss: Option<f64>,
    /// Evaluations in a row without a new best (for `patience`); absent in older runs.
    #[serde(default)]
    pub evals_without_best: u64,
    pub batcher: BatcherState,
}

/// The run folder and its config, opened to resume or else created, once the checks that
/// keep a mistake from leaving a folder behind or spoiling another run have passed. On
/// resume the job's config may change what [`TrainConfig::resumed_with`] allows; the
/// change is saved to the run's `config.json`.
pub(crate) fn open_run<B: GptTrainBackend>(
    job: &TrainJob<'_, B>,
    shards: [&Shard; 2],
) -> Result<(RunDir, TrainConfig), TrainError> {
    if job.resume {
        let run = RunDir::open(&job.out)?;
        let saved = run.load_config()?;
        let config = saved.resumed_with(&job.config)?;
        check_windows(shards, &config)?;
        if config != saved {
            run.save_config(&config)?;
        }
        return Ok((run, config));
    }
    // A fresh run would overwrite the config of the one there and mix checkpoints.
    if let Some(ckpt) = latest_checkpoint(&job.out)? {
        return Err(TrainError::RunExists {
            path: job.out.clone(),
            step: ckpt.step,
        });
    }
    job.config.validate()?;
    check_windows(shards, &job.config)?;
    let run = create_run(&job.out, &job.config, &job.data)?;
    Ok((run, job.config.clone()))
}

/// Both shards (training, validation) must hold one window of `window + 1` ids.
fn check_windows(shards: [&Shard; 2], config: &TrainConfig) -> Result<(), TrainError> {
    let needed = config.window() as u64 + 1;
    match shards.into_iter().find(|s| (s.len() as u64) < needed) {
        Some(shard) => Err(DataError::ShardTooShort {
            path: shard.path().to_owned(),
            len: shard.len() as u64,
            needed,
        }
        .into()),
        None => Ok(()),
    }
}

/// Where a resumed run goes on from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resumed {
    /// Steps done.
    pub step: u64,
    /// Lowest validation loss so far.
    pub best_val_loss: Option<f64>,
    /// Evaluations in a row without a new best.
    pub evals_without_best: u64,
}

/// Loads the run's latest checkpoint into `model`, `optimizer` and `batcher`; `None` when
/// the run has none yet (killed before its first save), which starts it over.
pub(crate) fn resume<B, O>(
    run: &RunDir,
    mconfig: &GptConfig,
    model: Gpt<B>,
    optimizer: O,
    batcher: &mut Batcher,
    device: &B::Device,
) -> Result<(Gpt<B>, O, Option<Resumed>), TrainError>
where
    B: GptTrainBackend,
    O: Optimizer<Gpt<B>, B>,
{
    let Some(ckpt) = latest_checkpoint(run.root())? else {
        return Ok((model, optimizer, None));
    };
    // burn panics when a record does not fit the model: check the shapes through the
    // checkpoint's weights first (config.json edited since, say).
    load_safetensors::<B>(mconfig, ckpt.path.join(MODEL_FILE), device).map_err(|source| {
        TrainError::CheckpointMismatch {
            path: ckpt.path.clone(),
            source,
        }
    })?;
    let state_path = ckpt.path.join(STATE_FILE);
    let text = std::fs::read_to_string(&state_path).map_err(StoreError::io(&state_path))?;
    let state: State = serde_json::from_str(&text).map_err(|e| StoreError::Json {
        path: state_path,
        message: e.to_string(),
    })?;
    let recorder = BinFileRecorder::<FullPrecisionSettings>::new();
    let record = recorder
        .load(ckpt.path.join(MODEL_RECORD), device)
        .map_err(record_error(&ckpt.path, MODEL_RECORD))?;
    let model = model.load_record(record);
    let record = recorder
        .load(ckpt.path.join(OPTIMIZER_RECORD), device)
        .map_err(record_error(&ckpt.path, OPTIMIZER_RECORD))?;
    let optimizer = optimizer.load_record(record);
    batcher.restore(state.batcher);
    let resumed = Resumed {
        step: state.step,
        evals_without_best: state.evals_without_best,
        best_val_loss: state.best_val_loss,
    };
    Ok((model, optimizer, Some(resumed)))
}

/// Fills a checkpoint folder: the weights as safetensors (for generation), the model and
/// optimizer records and the loop's state (for resuming).
pub(crate) fn write_checkpoint<B: GptTrainBackend, O: Optimizer<Gpt<B>, B>>(
    dir: &Path,
    model: &Gpt<B>,
    optimizer: &O,
    state: &State,
) -> Result<(), TrainError> {
    let recorder = BinFileRecorder::<FullPrecisionSettings>::new();
    save_safetensors(&model.valid(), dir.join(MODEL_FILE))?;
    recorder
        .record(model.clone().into_record(), dir.join(MODEL_RECORD))
        .map_err(record_error(dir, MODEL_RECORD))?;
    recorder
        .record(optimizer.to_record(), dir.join(OPTIMIZER_RECORD))
        .map_err(record_error(dir, OPTIMIZER_RECORD))?;
    let json = serde_json::to_string(state).expect("a checkpoint State serializes");
    let path = dir.join(STATE_FILE);
    std::fs::write(&path, json).map_err(StoreError::io(&path))?;
    Ok(())
}

/// Wraps a recorder's error with the record's path.
fn record_error(dir: &Path, name: &str) -> impl FnOnce(RecorderError) -> TrainError {
    let path = dir.join(name);
    move |source| TrainError::Record { path, source }
}
