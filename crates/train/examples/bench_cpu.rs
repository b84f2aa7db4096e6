//! Training and generation speed of the CPU benchmark model, measured the way `midigpt train`
//! and `midigpt generate` run: `cargo run --release -p midigpt-train --example bench_cpu --
//! [STEPS]`. Prints one JSON line (bench/train_cpu.sh compares it with PyTorch).
//!
//! Model: GPT-2 style, vocabulary 518 (REMI+), 4 layers, 4 heads, d_model 256, context 256.
//! Training: batch 8 × 256, forward, backward, global-norm clipping, decoupled weight decay and
//! AdamW, after 3 warm-up steps. Generation: batch 1, KV cache, 256 new tokens sampled at
//! temperature 1, timed after the first token.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use midigpt_generate::{generate, SamplingConfig};
use midigpt_model::{loss, CpuTrain, GptConfig};
use midigpt_train::optim;
use rand::SeedableRng;

// The allocator `midigpt` itself uses, set up the same way (see crates/cli/src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

const VOCAB: usize = 518;
const BATCH: usize = 8;
const WARMUP: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: sets a plain integer option.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let device = Default::default();
    CpuTrain::seed(&device, 0);
    let config = GptConfig::small(VOCAB);
    let mut model = config.init::<CpuTrain>(&device)?;
    let mut optimizer = optim::adamw(0.9, 0.99);
    let t = config.block_size;
    let data: Vec<i64> = (0..BATCH * (t + 1))
        .map(|i| ((i * 7919) % VOCAB) as i64)
        .collect();
    let batch =
        Tensor::<CpuTrain, 2, Int>::from_data(TensorData::new(data, [BATCH, t + 1]), &device);
    let (x, y) = (batch.clone().narrow(1, 0, t), batch.narrow(1, 1, t));
    let mut start = Instant::now();
    for step in 0..WARMUP + steps {
        if step == WARMUP {
            start = Instant::now();
        }
        let l = loss(model.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(l.backward(), &model);
        let _ = l.into_scalar().elem::<f64>(); // the loop logs every step's loss
        (model, _) = optim::step(&mut optimizer, model, grads, 1e-3, 0.1, 1.0);
    }
    let train = (steps * BATCH * t) as f64 / start.elapsed().as_secs_f64();

    let model = model.valid();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let out = generate(
        &model,
        &[0],
        t,
        None,
        None,
        &SamplingConfig::default(),
        &mut rng,
    )?;
    let gen = (out.ids.len() - 1) as f64 / out.seconds;
    println!(
        "{{\"train_tokens_per_s\": {train:.1}, \"generate_tokens_per_s\": {gen:.1}, \"parameters\": {}}}",
        model.num_params()
    );
    Ok(())
}
