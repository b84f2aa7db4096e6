//! Training and generation speed of the CPU benchmark model (`GptConfig::small`, vocabulary
//! 518) on the CPU backend.
//!
//! ```text
//! cargo run --release -p midigpt-model --example speed [-- TRAIN_STEPS]
//! ```
//!
//! Training: tokens per second through forward, backward and an AdamW step, batch 8 × 256,
//! after 2 warm-up steps. Generation: batch 1 with the KV cache, 1 prompt token then 255
//! greedy steps (256 new tokens, the whole context), timed after the first token.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use midigpt_model::{loss, CpuTrain, Gpt, GptBackend, GptConfig, KvCache, ModelError};

const VOCAB: usize = 518;
const BATCH: usize = 8;
const WARMUP_STEPS: usize = 2;

fn main() -> Result<(), ModelError> {
    let steps = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let device = Default::default();
    CpuTrain::seed(&device, 1337);
    let config = GptConfig::small(VOCAB);
    let model = config.init::<CpuTrain>(&device)?;
    println!(
        "model: {} layers, {} heads, {} wide, context {}, {:.2}M parameters, {:.2} MFLOP/token",
        config.n_layer,
        config.n_head,
        config.n_embd,
        config.block_size,
        model.num_params() as f64 / 1e6,
        model.flops_per_token() / 1e6
    );
    let flops = model.flops_per_token();

    let (model, train_tps) = train(model, &config, steps);
    println!(
        "train: {train_tps:.0} tokens/s ({:.1} GFLOP/s), batch {BATCH} x {}, {steps} steps",
        train_tps * flops / 1e9,
        config.block_size
    );

    let model = model.valid(); // the same weights on the plain backend: no autodiff graph
    let gen_tps = generate(&model, config.block_size)?;
    println!(
        "generate: {gen_tps:.0} tokens/s, batch 1, KV cache, {} new tokens",
        config.block_size
    );
    Ok(())
}

/// Tokens per second of full training steps on random data.
fn train(mut model: Gpt<CpuTrain>, config: &GptConfig, steps: usize) -> (Gpt<CpuTrain>, f64) {
    let device = Default::default();
    let mut optim = AdamWConfig::new().init();
    let t = config.block_size;
    let data = (0..BATCH * (t + 1))
        .map(|i| ((i * 7919) % VOCAB) as i64)
        .collect::<Vec<_>>();
    let batch =
        Tensor::<CpuTrain, 2, Int>::from_data(TensorData::new(data, [BATCH, t + 1]), &device);
    let (x, y) = (batch.clone().narrow(1, 0, t), batch.narrow(1, 1, t));
    let mut start = Instant::now();
    for step in 0..WARMUP_STEPS + steps {
        if step == WARMUP_STEPS {
            start = Instant::now();
        }
        let loss = loss(model.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-4, model, grads);
        let _ = loss.into_scalar(); // wait for the step, as a training loop logging the loss does
    }
    let tps = (steps * BATCH * t) as f64 / start.elapsed().as_secs_f64();
    (model, tps)
}

/// Tokens per second of greedy decoding with the KV cache, after the first token.
fn generate<B: GptBackend>(model: &Gpt<B>, new_tokens: usize) -> Result<f64, ModelError> {
    let device = Default::default();
    let mut cache = KvCache::new(model.config().n_layer);
    let mut token = 0_i64;
    let mut start = Instant::now();
    for i in 0..new_tokens {
        if i == 1 {
            start = Instant::now();
        }
        let idx = Tensor::<B, 2, Int>::from_data(TensorData::new(vec![token], [1, 1]), &device);
        let logits = model.forward_cached(idx, &mut cache)?; // (1, 1, V)
        token = logits.argmax(2).into_scalar().elem::<i64>(); // read back, as sampling would
    }
    Ok((new_tokens - 1) as f64 / start.elapsed().as_secs_f64())
}
