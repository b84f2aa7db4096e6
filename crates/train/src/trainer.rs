//! The training loop: batches → forward → loss → backward → clip → step → log, with
//! evaluation, checkpoints and samples every so many steps, resumable exactly.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::{GradientsAccumulator, GradientsParams, Optimizer};
use burn::record::{BinFileRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use midigpt_data::{
    load_meta, Batch, Batcher, BatcherState, DataError, Meta, Shard, Split, TRAIN_FILE, VAL_FILE,
};
use midigpt_model::{
    load_safetensors, loss, save_safetensors, Gpt, GptBackend, GptConfig, GptTrainBackend,
};
use midigpt_tokenize::load_tokenizer;
use serde::{Deserialize, Serialize};

use crate::{
    latest_checkpoint, optim, plot_loss, read_metrics, Checkpoints, LrSchedule, MetricRecord,
    MetricsWriter, RunDir, TrainConfig, TrainError, TrainInfo, TrainProgress,
};

/// File names inside a checkpoint folder.
pub const MODEL_FILE: &str = "model.safetensors";
const MODEL_RECORD: &str = "model-record";
const OPTIMIZER_RECORD: &str = "optimizer-record";
const STATE_FILE: &str = "state.json";
/// Seed of the validation batches: every evaluation sees the same windows.
const VAL_SEED: u64 = 0x5eed;

/// What a checkpoint stores besides weights and optimizer moments.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    step: u64,
    best_val_loss: Option<f64>,
    batcher: BatcherState,
}

/// Called every `sample_interval` steps with the model, the step and the samples folder.
pub type Sampler<'a, B> = &'a dyn Fn(&Gpt<<B as AutodiffBackend>::InnerBackend>, u64, &Path);

/// Where to train and how.
pub struct TrainJob<'a, B: GptTrainBackend> {
    /// Prepared data folder (`train.bin`, `val.bin`, `meta.json`, `tokenizer.json`).
    pub data: PathBuf,
    /// Run folder.
    pub out: PathBuf,
    /// Settings (ignored on resume: the run's saved config is used).
    pub config: TrainConfig,
    /// Continue from the run's latest checkpoint.
    pub resume: bool,
    /// The device to train on.
    pub device: B::Device,
    /// Show a progress bar.
    pub progress: bool,
    /// Writes samples during training (see [`Sampler`]).
    pub sampler: Option<Sampler<'a, B>>,
    /// Stop before this step, as if interrupted (for tests of resuming); `None`: run to the end.
    pub stop_at: Option<u64>,
}

/// The model settings a training config describes, for a vocabulary.
pub fn model_config(config: &TrainConfig, vocab_size: usize) -> GptConfig {
    GptConfig {
        arch: config.arch,
        vocab_size,
        block_size: config.block_size,
        n_layer: config.n_layer,
        n_head: config.n_head,
        n_kv_head: config.kv_heads(),
        n_embd: config.n_embd,
        dropout: config.dropout,
        bias: config.bias,
        // Not in the training config: fixed, and saved beside every checkpoint with the rest.
        mlp_hidden: None,
        rope_theta: 10_000.0,
        norm_eps: 1e-5,
    }
}

fn model_err(e: impl std::fmt::Display) -> TrainError {
    TrainError::Model(e.to_string())
}

/// Trains (or resumes) a run; returns its summary.
pub fn train<B: GptTrainBackend>(job: TrainJob<'_, B>) -> Result<TrainInfo, TrainError> {
    // The data first: a folder that is no dataset must not leave a run folder behind.
    let meta = load_meta(&job.data)?;
    let run = open_run(&job, &meta)?;
    let config = run.load_config()?;
    // A run resumed on other data must read the ids as it learnt them.
    let tokenizer = load_tokenizer(run.tokenizer_path()).map_err(DataError::from)?;
    meta.check_tokenizer(tokenizer.as_ref())?;
    let train_shard = Shard::open_split(&job.data, &meta, Split::Train)?;
    let val_shard = Shard::open_split(&job.data, &meta, Split::Val)?;
    let mconfig = model_config(&config, meta.vocab_size);
    B::seed(&job.device, config.seed);
    let mut model: Gpt<B> = mconfig.init(&job.device).map_err(model_err)?;
    let mut optimizer = optim::adamw::<B, Gpt<B>>(config.beta1, config.beta2);
    let mut batcher = Batcher::new(
        Split::Train,
        config.batch_size,
        config.block_size,
        config.seed,
    );
    let checkpoints = Checkpoints::open(&run.checkpoints_dir(), config.keep_last)?;
    let recorder = BinFileRecorder::<FullPrecisionSettings>::new();
    // A run killed before its first checkpoint resumes from the start, with its saved config.
    let (mut step, mut best, mut metrics) =
        match latest_checkpoint(run.root())?.filter(|_| job.resume) {
            Some(ckpt) => {
                // burn panics when a record does not fit the model: check the shapes through
                // the checkpoint's weights first (config.json edited since, say).
                load_safetensors::<B>(&mconfig, ckpt.path.join(MODEL_FILE), &job.device).map_err(
                    |e| {
                        TrainError::Model(format!(
                            "{e}: the checkpoint does not fit the run's config.json"
                        ))
                    },
                )?;
                let state: State = serde_json::from_str(
                    &std::fs::read_to_string(ckpt.path.join(STATE_FILE))
                        .map_err(TrainError::io(&ckpt.path))?,
                )
                .map_err(model_err)?;
                let record = recorder
                    .load(ckpt.path.join(MODEL_RECORD), &job.device)
                    .map_err(model_err)?;
                model = model.load_record(record);
                let record = recorder
                    .load(ckpt.path.join(OPTIMIZER_RECORD), &job.device)
                    .map_err(model_err)?;
                optimizer = optimizer.load_record(record);
                batcher.restore(state.batcher);
                (
                    state.step,
                    state.best_val_loss,
                    MetricsWriter::resume(&run.metrics_path(), state.step)?,
                )
            }
            None => (0, None, MetricsWriter::create(&run.metrics_path())?),
        };
    // The checkpoint resumed from holds this very state: saving it again would only open a
    // window in which a crash leaves that step half replaced.
    let resumed_at = job.resume.then_some(step);
    let schedule = LrSchedule::from_config(&config);
    let progress = if job.progress {
        TrainProgress::new(config.max_iters, step)
    } else {
        TrainProgress::hidden(config.max_iters)
    }
    .with_flops(model.flops_per_token(), config.peak_tflops);
    let started = Instant::now();
    let first_step = step;
    let tokens_per_step = config.tokens_per_step() as f64;
    let mut last_loss = f64::NAN;
    loop {
        let lr = schedule.lr(step);
        let last = step >= config.max_iters;
        let mut val = None;
        if step % config.eval_interval == 0 || last {
            let loss = evaluate(&model.valid(), &val_shard, &config)?;
            metrics.append(&MetricRecord::new(
                step,
                Split::Val,
                loss,
                lr,
                started.elapsed().as_secs_f64(),
            ))?;
            progress.println(format!("step {step}: val loss {loss:.4}"));
            best = Some(best.map_or(loss, |b: f64| b.min(loss)));
            // The picture is a view of metrics.jsonl, redrawn at the next evaluation: failing
            // to draw it (a full disk) must not stop the run that the metrics record.
            if let Err(e) = plot_loss(&read_metrics(&run.metrics_path())?, &run.loss_plot_path()) {
                progress.println(format!("warning: {e}"));
            }
            val = Some(loss);
        }
        // Checkpoints follow their own interval: tied to evaluations, an interval that is no
        // multiple of eval_interval would save far less often than asked.
        let due =
            config.checkpoint_interval > 0 && step % config.checkpoint_interval == 0 && step > 0;
        if (due || last) && resumed_at != Some(step) {
            let state = State {
                step,
                best_val_loss: best,
                batcher: batcher.state(),
            };
            checkpoints.save(step, val, |dir: &Path| {
                write_checkpoint(dir, &model, &optimizer, &state)
            })?;
        }
        if let Some(sampler) = job.sampler.filter(|_| {
            config.sample_interval > 0 && step % config.sample_interval == 0 && step > 0
        }) {
            sampler(&model.valid(), step, &run.samples_dir());
        }
        if last || job.stop_at == Some(step) {
            break;
        }
        let t0 = Instant::now();
        let mut accumulator = GradientsAccumulator::<Gpt<B>>::new();
        let mut loss_sum = 0.0;
        for _ in 0..config.gradient_accumulation_steps {
            let batch = batcher.next_batch(&train_shard)?;
            let (x, y) = tensors::<B>(&batch, &job.device);
            let l = loss(model.forward(x), y).div_scalar(config.gradient_accumulation_steps as f64);
            let grads = GradientsParams::from_grads(l.backward(), &model);
            loss_sum += l.into_scalar().elem::<f64>();
            accumulator.accumulate(&model, grads);
        }
        let grads = accumulator.grads();
        (model, _) = optim::step(
            &mut optimizer,
            model,
            grads,
            lr,
            config.weight_decay,
            config.grad_clip,
        );
        last_loss = loss_sum;
        let tokens_per_s = tokens_per_step / t0.elapsed().as_secs_f64();
        if step % config.log_interval == 0 {
            let mut record = MetricRecord::new(
                step,
                Split::Train,
                loss_sum,
                lr,
                started.elapsed().as_secs_f64(),
            );
            record.tokens_per_s = Some(tokens_per_s);
            metrics.append(&record)?;
        }
        progress.update(step + 1, loss_sum, lr, tokens_per_s);
        step += 1;
    }
    progress.finish();
    let elapsed_s = started.elapsed().as_secs_f64();
    let done = (step - first_step) as f64;
    let mut info = TrainInfo {
        config: config.clone(),
        data: job.data.clone(),
        vocab_size: meta.vocab_size,
        tokens_train: train_shard.len() as u64,
        tokens_val: val_shard.len() as u64,
        parameters: Some(model.num_params() as u64),
        started_at: crate::utc_timestamp(crate::utc_now_secs().saturating_sub(elapsed_s as u64)),
        updated_at: crate::utc_now(),
        finished: step >= config.max_iters,
        steps: step,
        elapsed_s,
        steps_per_s: done / elapsed_s,
        tokens_per_s: done * tokens_per_step / elapsed_s,
        best_val_loss: best,
        extra: Default::default(),
    };
    info.extra
        .insert("final_train_loss".into(), last_loss.into());
    info.extra
        .insert("flops_per_token".into(), model.flops_per_token().into());
    run.write_info(&info)?;
    Ok(info)
}

/// The run folder, opened to resume or else created, once the checks that keep a mistake
/// from leaving a folder behind or spoiling another run have passed.
fn open_run<B: GptTrainBackend>(job: &TrainJob<'_, B>, meta: &Meta) -> Result<RunDir, TrainError> {
    if job.resume {
        let run = RunDir::open(&job.out)?;
        check_windows(meta, &job.data, &run.load_config()?)?;
        return Ok(run);
    }
    // A fresh run would overwrite the config of the one there and mix checkpoints.
    if let Some(ckpt) = latest_checkpoint(&job.out)? {
        return Err(TrainError::RunExists {
            path: job.out.clone(),
            step: ckpt.step,
        });
    }
    job.config.validate()?;
    check_windows(meta, &job.data, &job.config)?;
    RunDir::create(&job.out, &job.config, &job.data)
}

/// Both shards must hold one window of `block_size + 1` ids.
fn check_windows(meta: &Meta, data: &Path, config: &TrainConfig) -> Result<(), TrainError> {
    let needed = config.block_size as u64 + 1;
    let shards = [
        (TRAIN_FILE, meta.counts.tokens_train),
        (VAL_FILE, meta.counts.tokens_val),
    ];
    match shards.into_iter().find(|(_, len)| *len < needed) {
        Some((name, len)) => Err(DataError::ShardTooShort {
            path: data.join(name),
            len,
            needed,
        }
        .into()),
        None => Ok(()),
    }
}

/// Fills a checkpoint folder: the weights as safetensors (for generation), the model and
/// optimizer records and the loop's state (for resuming).
fn write_checkpoint<B: GptTrainBackend, O: Optimizer<Gpt<B>, B>>(
    dir: &Path,
    model: &Gpt<B>,
    optimizer: &O,
    state: &State,
) -> Result<(), TrainError> {
    let recorder = BinFileRecorder::<FullPrecisionSettings>::new();
    save_safetensors(&model.valid(), dir.join(MODEL_FILE)).map_err(model_err)?;
    recorder
        .record(model.clone().into_record(), dir.join(MODEL_RECORD))
        .map_err(model_err)?;
    recorder
        .record(optimizer.to_record(), dir.join(OPTIMIZER_RECORD))
        .map_err(model_err)?;
    let json = serde_json::to_string(state).map_err(model_err)?;
    std::fs::write(dir.join(STATE_FILE), json).map_err(TrainError::io(dir))
}

/// Mean loss over `eval_iters` validation batches (the same batches every time).
pub fn evaluate<B: GptBackend>(
    model: &Gpt<B>,
    shard: &Shard,
    config: &TrainConfig,
) -> Result<f64, TrainError> {
    let mut batcher = Batcher::new(Split::Val, config.batch_size, config.block_size, VAL_SEED);
    let device = model.devices().into_iter().next().unwrap_or_default();
    let mut total = 0.0;
    for _ in 0..config.eval_iters {
        let batch = batcher.next_batch(shard)?;
        let (x, y) = tensors::<B>(&batch, &device);
        total += loss(model.forward(x), y).into_scalar().elem::<f64>();
    }
    Ok(total / config.eval_iters as f64)
}

/// Loss over a whole shard, in consecutive windows of `block_size` tokens predicted from the
/// ones before, `batch_size` windows at a time: (mean nats per token, tokens scored).
pub fn evaluate_shard<B: GptBackend>(
    model: &Gpt<B>,
    shard: &Shard,
    block_size: usize,
    batch_size: usize,
) -> Result<(f64, usize), TrainError> {
    let device = model.devices().into_iter().next().unwrap_or_default();
    let starts: Vec<usize> = (0..)
        .map(|i| i * block_size)
        .take_while(|s| s + block_size < shard.len())
        .collect();
    let (mut total, mut scored) = (0.0, 0);
    for chunk in starts.chunks(batch_size.max(1)) {
        let mut batch = Batch {
            x: Vec::new(),
            y: Vec::new(),
            batch_size: chunk.len(),
            block_size,
        };
        for &start in chunk {
            let w = shard.window(start, block_size + 1);
            batch.x.extend_from_slice(&w[..block_size]);
            batch.y.extend_from_slice(&w[1..]);
        }
        let (x, y) = tensors::<B>(&batch, &device);
        let n = chunk.len() * block_size;
        total += loss(model.forward(x), y).into_scalar().elem::<f64>() * n as f64;
        scored += n;
    }
    if scored == 0 {
        return Err(TrainError::Model(format!(
            "{} is shorter than one window of {} tokens",
            shard.path().display(),
            block_size + 1
        )));
    }
    Ok((total / scored as f64, scored))
}

fn tensors<B: GptBackend>(
    batch: &Batch,
    device: &B::Device,
) -> (Tensor<B, 2, Int>, Tensor<B, 2, Int>) {
    let shape = [batch.batch_size, batch.block_size];
    let make = |ids: &[u32]| {
        Tensor::from_data(
            TensorData::new(ids.iter().map(|&i| i as i64).collect::<Vec<_>>(), shape),
            device,
        )
    };
    (make(&batch.x), make(&batch.y))
}
