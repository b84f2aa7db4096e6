//! The training loop: batches → forward → loss → backward → clip → step → log, with
//! evaluation, checkpoints and samples every so many steps, resumable exactly.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use midigpt_data::{infill_batch, load_meta, Batcher, DataError, Shard};
use midigpt_model::{Gpt, GptConfig, GptTrainBackend};
use midigpt_store::Split;
use midigpt_tokenize::{load_tokenizer, InfillVocab};

use crate::finetune::{self, Init};
use crate::resume::{open_run, resume, write_checkpoint, State};
use crate::step::{evaluate, step_seed, tensors, train_step, StepSettings};
use crate::{
    optim, plot_loss, ConfigError, LrSchedule, RunFiles, StepStats, TrainConfig, TrainError,
    TrainInfo, TrainReport,
};
use midigpt_store::{read_metrics, utc_now, utc_now_secs, utc_timestamp};
use midigpt_store::{Checkpoints, MetricRecord, MetricsWriter};

/// Called every `sample_interval` steps with the model, the step and the samples folder.
pub type Sampler<'a, B> = &'a dyn Fn(&Gpt<<B as AutodiffBackend>::InnerBackend>, u64, &Path);

/// Where to train and how.
pub struct TrainJob<'a, B: GptTrainBackend> {
    /// Prepared data folder (`train.bin`, `val.bin`, `meta.json`, `tokenizer.json`).
    pub data: PathBuf,
    /// Run folder.
    pub out: PathBuf,
    /// Settings. On resume, the run's saved config with only the changes
    /// [`TrainConfig::resumed_with`] allows (schedule, intervals, device, ...).
    pub config: TrainConfig,
    /// Continue from the run's latest checkpoint.
    pub resume: bool,
    /// The device to train on.
    pub device: B::Device,
    /// Told about steps, evaluations and warnings.
    pub report: &'a dyn TrainReport,
    /// Writes samples during training (see [`Sampler`]).
    pub sampler: Option<Sampler<'a, B>>,
    /// Stop before this step, as if interrupted (for tests of resuming); `None`: run to the end.
    pub stop_at: Option<u64>,
    /// The model a new run starts from (the config's `init_from`, loaded); `None` for random
    /// weights, and on resume (the checkpoint has the weights).
    pub init: Option<Init<B>>,
}

/// The model settings a training config describes, for a vocabulary.
pub fn model_config(config: &TrainConfig, vocab_size: usize) -> GptConfig {
    GptConfig::from_shape(&config.shape(), vocab_size)
}

/// Trains (or resumes) a run; returns its summary. A loss or gradient that stops being finite
/// stops the run with [`TrainError::Diverged`] before anything of that step is saved.
pub fn train<B: GptTrainBackend>(job: TrainJob<'_, B>) -> Result<TrainInfo, TrainError> {
    // The data first: a folder that is no dataset must not leave a run folder behind.
    let meta = load_meta(&job.data)?;
    let train_shard = Shard::open_split(&job.data, &meta, Split::Train)?;
    let val_shard = Shard::open_split(&job.data, &meta, Split::Val)?;
    let report = job.report;
    let (train_shard, val_shard) = hold_out(train_shard, val_shard, job.config.window(), report);
    if let (Some(init), false) = (&job.init, job.resume) {
        finetune::check(init, &job.config, &meta)?;
    }
    let (run, config) = open_run(&job, [&train_shard, &val_shard])?;
    config.warnings().iter().for_each(|w| report.warn(w));
    config.dtype.apply()?;
    // A run resumed on other data must read the ids as it learnt them.
    let tokenizer = load_tokenizer(run.tokenizer_path()).map_err(DataError::from)?;
    meta.check_tokenizer(tokenizer.as_ref())?;
    let infill = (config.infill_rate > 0.0)
        .then(|| InfillVocab::new(tokenizer.as_ref()))
        .transpose()
        .map_err(|e| ConfigError::Invalid {
            key: "infill_rate",
            reason: format!(
                "needs data prepared with --infill-tokens (REMI or REMI+, no BPE), not this \
                 data's tokenizer: {e}"
            ),
        })?;
    let mconfig = model_config(&config, meta.vocab_size);
    B::seed(&job.device, config.seed);
    let model: Gpt<B> = match job.init {
        Some(init) if !job.resume => {
            if let Some(programs) = &init.programs {
                finetune::merge_programs(&run, programs, &meta)?;
            }
            init.model
        }
        _ => mconfig.init(&job.device)?,
    };
    let optimizer = optim::adamw::<B, Gpt<B>>(config.beta1, config.beta2);
    let (seed, batch_size, window) = (config.seed, config.batch_size, config.window());
    let song_starts = match config.song_start_rate > 0.0 {
        true => train_shard.starts_of(meta.bos_id, window + 1),
        false => Vec::new(),
    };
    let mut batcher = Batcher::new(Split::Train, batch_size, window, seed)
        .with_song_starts(song_starts, config.song_start_rate);
    let checkpoints = Checkpoints::open(&run.checkpoints_dir(), config.keep_last)?;
    let (mut model, mut optimizer, resumed) = match job.resume {
        true => resume(&run, &mconfig, model, optimizer, &mut batcher, &job.device)?,
        false => (model, optimizer, None),
    };
    let (mut step, mut best, mut metrics) = match &resumed {
        Some(r) => {
            let metrics = MetricsWriter::resume(&run.metrics_path(), r.step)?;
            (r.step, r.best_val_loss, metrics)
        }
        None => (0, None, MetricsWriter::create(&run.metrics_path())?),
    };
    // Evaluations in a row without a new best, for `patience`.
    let mut stale = resumed.as_ref().map_or(0, |r| r.evals_without_best);
    let mut stopped_early = None;
    // The step at which the report asked to stop.
    let mut stopped = None;
    // The checkpoint resumed from holds this very state: saving it again would only open a
    // window in which a crash leaves that step half replaced.
    let mut last_saved = resumed.as_ref().map(|r| r.step);
    let schedule = LrSchedule::from_config(&config);
    let flops_per_token = model.flops_per_token();
    report.start(step, config.max_iters);
    let started = Instant::now();
    let first_step = step;
    let mut last_loss = f64::NAN;
    loop {
        let lr = schedule.lr(step);
        let mut last = step >= config.max_iters;
        if !last && step > first_step && report.stop_requested() {
            stopped = Some(step);
            last = true;
        }
        let elapsed = || started.elapsed().as_secs_f64();
        let mut val = None;
        if step % config.eval_interval == 0 || last {
            let loss = evaluate(&model.valid(), &val_shard, &config)?;
            finite(&config, step, ("validation loss", loss), last_saved)?;
            metrics.append(&MetricRecord::new(step, Split::Val, loss, lr, elapsed()))?;
            report.eval(step, loss);
            match best {
                Some(b) if b <= loss => stale += 1,
                _ => stale = 0,
            }
            best = Some(best.map_or(loss, |b: f64| b.min(loss)));
            if config.patience > 0 && stale >= config.patience && !last {
                report.warn(&format!(
                    "stopping early at step {step}: no better validation loss in {stale} \
                     evaluations (patience {}); the best checkpoint is kept",
                    config.patience
                ));
                stopped_early = Some(step);
                last = true;
            }
            // The picture is a view of metrics.jsonl, redrawn at the next evaluation: failing
            // to draw it (a full disk) must not stop the run that the metrics record.
            if let Err(e) = plot_loss(&read_metrics(&run.metrics_path())?, &run.loss_plot_path()) {
                report.warn(&e.to_string());
            }
            val = Some(loss);
        }
        // Checkpoints follow their own interval: tied to evaluations, an interval that is no
        // multiple of eval_interval would save far less often than asked.
        let interval = config.checkpoint_interval;
        let due = interval > 0 && step % interval == 0 && step > 0;
        if (due || last) && last_saved != Some(step) {
            let state = State {
                step,
                best_val_loss: best,
                evals_without_best: stale,
                batcher: batcher.state(),
            };
            checkpoints.save(step, val, |dir: &Path| {
                write_checkpoint(dir, &model, &optimizer, &state)
            })?;
            last_saved = Some(step);
        }
        let sample_due = config.sample_interval > 0 && step % config.sample_interval == 0;
        if let Some(sampler) = job.sampler.filter(|_| sample_due && step > 0) {
            sampler(&model.valid(), step, &run.samples_dir());
        }
        if last || job.stop_at == Some(step) {
            break;
        }
        let t0 = Instant::now();
        B::seed(&job.device, step_seed(config.seed, step));
        let mut micro = 0;
        let next = || -> Result<_, TrainError> {
            let mut batch = batcher.next_batch(&train_shard)?;
            if let Some(v) = &infill {
                // From the step's seed: a resumed run makes the same examples.
                let seed = step_seed(config.seed, step).wrapping_add(micro);
                infill_batch(&mut batch, v, config.infill_rate, seed);
                micro += 1;
            }
            Ok(tensors::<B>(&batch, &job.device))
        };
        let settings = StepSettings::new(&config, lr);
        let out;
        (model, out) = train_step(model, &mut optimizer, next, &settings)?;
        finite(&config, step, ("training loss", out.loss), last_saved)?;
        finite(&config, step, ("gradient norm", out.grad_norm), last_saved)?;
        last_loss = out.loss;
        let stats = StepStats {
            step: step + 1,
            max_iters: config.max_iters,
            loss: out.loss,
            lr,
            tokens_per_s: config.tokens_per_step() as f64 / t0.elapsed().as_secs_f64(),
            flops_per_token,
            peak_tflops: config.peak_tflops,
        };
        if step % config.log_interval == 0 {
            let mut record = MetricRecord::new(step, Split::Train, out.loss, lr, elapsed());
            record.tokens_per_s = Some(stats.tokens_per_s);
            metrics.append(&record)?;
            report.log(&stats);
        }
        report.step(&stats);
        step += 1;
    }
    report.finish();
    let elapsed_s = started.elapsed().as_secs_f64();
    let done = (step - first_step) as f64;
    let mut info = TrainInfo {
        config: config.clone(),
        data: job.data.clone(),
        vocab_size: meta.vocab_size,
        tokens_train: train_shard.len() as u64,
        tokens_val: val_shard.len() as u64,
        parameters: Some(model.num_params() as u64),
        started_at: utc_timestamp(utc_now_secs().saturating_sub(elapsed_s as u64)),
        updated_at: utc_now(),
        finished: step >= config.max_iters || stopped_early.is_some(),
        steps: step,
        elapsed_s,
        steps_per_s: done / elapsed_s,
        tokens_per_s: done * config.tokens_per_step() as f64 / elapsed_s,
        best_val_loss: best,
        extra: Default::default(),
    };
    info.extra
        .insert("final_train_loss".into(), last_loss.into());
    info.extra
        .insert("flops_per_token".into(), flops_per_token.into());
    info.extra
        .insert("files".into(), meta.counts.files_ok.into());
    if let Some(at) = stopped {
        info.extra.insert("stopped_at".into(), at.into());
    }
    if let Some(at) = stopped_early {
        info.extra.insert("stopped_early_at".into(), at.into());
    }
    // A fine-tune's card says how far it moved from where it started.
    let start = read_metrics(&run.metrics_path())?
        .into_iter()
        .find(|r| r.split == Split::Val && r.step == 0);
    if let Some(record) = start {
        info.extra
            .insert("val_loss_at_start".into(), record.loss.into());
    }
    run.write_info(&info)?;
    Ok(info)
}

/// Data without a validation window (a folder of one file: validation files are whole
/// files) validates on the last tenth of its training tokens instead, and says so.
fn hold_out(train: Shard, val: Shard, window: usize, report: &dyn TrainReport) -> (Shard, Shard) {
    let tail = (train.len() / 10).max(window + 1);
    if val.len() > window || train.len() < tail + window + 1 {
        return (train, val);
    }
    report.warn(&format!(
        "the data has no validation file (one file, or too short): the last {tail} of its {} \
         training tokens are held out to validate on instead",
        train.len()
    ));
    train.split_tail(tail)
}

/// Stops a run whose `what` became `value` (NaN or infinite) at `step`, with advice.
fn finite(
    config: &TrainConfig,
    step: u64,
    (what, value): (&'static str, f64),
    last_checkpoint: Option<u64>,
) -> Result<(), TrainError> {
    if value.is_finite() {
        return Ok(());
    }
    Err(TrainError::Diverged {
        step,
        what,
        value,
        last_checkpoint,
        learning_rate: config.learning_rate,
        grad_clip: config.grad_clip,
    })
}
