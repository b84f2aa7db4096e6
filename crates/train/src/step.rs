//! One optimizer step and the validation loss: the pieces of the training loop that
//! `examples/bench.rs` times as well.

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use midigpt_data::{Batch, Batcher, DataError, Shard, Split};
use midigpt_model::{cpu_precision, loss, set_cpu_precision, Gpt, GptBackend, GptTrainBackend};

use crate::{optim, TrainConfig, TrainError};

/// Seed of the validation batches: every evaluation sees the same windows.
const VAL_SEED: u64 = 0x5eed;

/// Inputs and targets of one micro-batch, `(B, T)` each.
pub type Pair<B> = (Tensor<B, 2, Int>, Tensor<B, 2, Int>);

/// The settings of one optimizer step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepSettings {
    /// Micro-batches whose gradients are summed (`gradient_accumulation_steps`).
    pub micro_batches: usize,
    /// Learning rate of the step.
    pub lr: f64,
    /// Decoupled weight decay of matrices.
    pub weight_decay: f64,
    /// Global gradient-norm clipping (0: off).
    pub grad_clip: f64,
}

impl StepSettings {
    /// The settings a config gives step `lr` is for.
    pub fn new(config: &TrainConfig, lr: f64) -> StepSettings {
        StepSettings {
            micro_batches: config.gradient_accumulation_steps,
            lr,
            weight_decay: config.weight_decay,
            grad_clip: config.grad_clip,
        }
    }
}

/// What one optimizer step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutput {
    /// Mean loss over the micro-batches.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

/// One optimizer step: `micro_batches` forward and backward passes on the batches `next`
/// gives, each loss divided by their number so that the summed gradients are those of the
/// mean, then clipping, weight decay and AdamW ([`optim::step`]).
pub fn train_step<B>(
    model: Gpt<B>,
    optimizer: &mut optim::FusedAdamW<Gpt<B>, B>,
    next: impl FnMut() -> Result<Pair<B>, TrainError> + Send,
    settings: &StepSettings,
) -> Result<(Gpt<B>, StepOutput), TrainError>
where
    B: GptTrainBackend,
{
    // Every CPU kernel of the step splits its work over rayon's threads. Called from a thread
    // outside the pool, each one would wake the pool and put the caller to sleep until it is
    // done (two context switches per operation); the step runs inside the pool instead, where
    // the kernels fork and join among its threads. The products' precision is a per-thread
    // setting, so it travels along. GPU backends stay on the caller's thread.
    if !B::RAYON {
        return step_here(model, optimizer, next, settings);
    }
    let precision = cpu_precision();
    rayon::scope(|_| {
        // The caller's own setting, so valid on this CPU.
        set_cpu_precision(precision).expect("the caller's precision");
        step_here(model, optimizer, next, settings)
    })
}

/// [`train_step`] on the calling thread.
fn step_here<B>(
    mut model: Gpt<B>,
    optimizer: &mut optim::FusedAdamW<Gpt<B>, B>,
    mut next: impl FnMut() -> Result<Pair<B>, TrainError>,
    settings: &StepSettings,
) -> Result<(Gpt<B>, StepOutput), TrainError>
where
    B: GptTrainBackend,
{
    let n = settings.micro_batches;
    let mut accumulator = GradientsAccumulator::<Gpt<B>>::new();
    let mut loss_sum = 0.0;
    for _ in 0..n {
        let (x, y) = next()?;
        let l = loss(model.forward(x), y).div_scalar(n as f64);
        let grads = GradientsParams::from_grads(l.backward(), &model);
        loss_sum += l.into_scalar().elem::<f64>(); // every step's loss is logged
        accumulator.accumulate(&model, grads);
    }
    let grad_norm;
    (model, grad_norm) = optim::step(
        optimizer,
        model,
        accumulator.grads(),
        settings.lr,
        settings.weight_decay,
        settings.grad_clip,
    );
    let output = StepOutput {
        loss: loss_sum,
        grad_norm,
    };
    Ok((model, output))
}

/// The seed of the random numbers (dropout masks) of step `step`. The backends keep their
/// generator's state to themselves, so instead of saving it the trainer re-seeds before
/// every step from the run's seed and the step, both in the checkpoint: a resumed run draws
/// the masks the uninterrupted one drew. SplitMix64's finaliser keeps nearby steps apart.
pub fn step_seed(seed: u64, step: u64) -> u64 {
    let mut z = seed ^ step.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Mean loss over `eval_iters` validation batches (the same batches every time).
pub fn evaluate<B: GptBackend>(
    model: &Gpt<B>,
    shard: &Shard,
    config: &TrainConfig,
) -> Result<f64, TrainError> {
    let mut batcher = Batcher::new(Split::Val, config.batch_size, config.window(), VAL_SEED);
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
        return Err(DataError::ShardTooShort {
            path: shard.path().to_owned(),
            len: shard.len() as u64,
            needed: block_size as u64 + 1,
        }
        .into());
    }
    Ok((total / scored as f64, scored))
}

/// A batch's ids as `(x, y)` tensors on `device`.
pub fn tensors<B: GptBackend>(batch: &Batch, device: &B::Device) -> Pair<B> {
    let shape = [batch.batch_size, batch.block_size];
    let make = |ids: &[u32]| {
        Tensor::from_data(
            TensorData::new(ids.iter().map(|&i| i as i64).collect::<Vec<_>>(), shape),
            device,
        )
    };
    (make(&batch.x), make(&batch.y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::backend::Backend;
    use midigpt_model::CpuTrain;

    /// Loss before and after one step on a fixed batch, seen as `micro` equal micro-batches.
    fn one_step(micro: usize) -> (StepOutput, f64) {
        let mut config = TrainConfig::default();
        let sizes = ["n_layer=1", "n_head=2", "n_embd=16", "block_size=8"];
        config.apply_overrides(&sizes).unwrap();
        let device = Default::default();
        CpuTrain::seed(&device, 0);
        let model = crate::model_config(&config, 50)
            .init::<CpuTrain>(&device)
            .unwrap();
        let ids: Vec<i64> = (0..18).map(|i| (i * 7 % 50) as i64).collect();
        let batch = Tensor::<CpuTrain, 2, Int>::from_data(TensorData::new(ids, [2, 9]), &device);
        let (x, y) = (batch.clone().narrow(1, 0, 8), batch.narrow(1, 1, 8));
        let settings = StepSettings {
            micro_batches: micro,
            lr: 1e-2,
            weight_decay: 0.1,
            grad_clip: 1.0,
        };
        let mut optimizer = optim::adamw(0.9, 0.99);
        let next = || Ok((x.clone(), y.clone()));
        let (model, out) = train_step(model, &mut optimizer, next, &settings).unwrap();
        let after = loss(model.forward(x.clone()), y.clone())
            .into_scalar()
            .elem::<f64>();
        (out, after)
    }

    #[test]
    fn micro_batches_average_to_one_batch_and_the_step_learns() {
        let (one, after_one) = one_step(1);
        let (three, after_three) = one_step(3);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-4 * a.abs();
        assert!(close(one.loss, three.loss), "{one:?} {three:?}");
        assert!(close(one.grad_norm, three.grad_norm), "{one:?} {three:?}");
        assert!(close(after_one, after_three), "{after_one} {after_three}");
        assert!(after_one < one.loss, "{after_one} after {}", one.loss);
    }

    #[test]
    fn step_seeds_differ_by_step_and_run() {
        let seeds: std::collections::HashSet<u64> = (0..1000)
            .flat_map(|step| [step_seed(1337, step), step_seed(1338, step)])
            .collect();
        assert_eq!(seeds.len(), 2000);
        assert_eq!(step_seed(7, 3), step_seed(7, 3));
    }
}
