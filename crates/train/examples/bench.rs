//! Training and generation speed of one model shape on one device, measured the way `midigpt
//! train` and `midigpt generate` run. Prints one JSON line; bench/train_cpu.sh and bench/gpu.sh
//! compare it with PyTorch (bench/torch_gpt.py, bench/torch_gpu.py).
//!
//!     cargo run --release -p midigpt-train --example bench -- [--steps 30] [--device cpu]
//!         [--shape small|gpt2-124m] [--batch 8] [--accum 1] [--gen-batch 64]
//!         [--new-tokens 256] [--peak-tflops 0] [--dtype auto|bf16|f32]
//!
//! `--losses N` prints instead the first N training losses, from weights initialised on the
//! CPU and loaded onto the device (backends draw different random numbers): bench/gpu.sh
//! compares a GPU's losses with the CPU's.
//!
//! `--device cuda[:N]` needs `--features cuda`. Shapes: `small` is the CPU benchmark model
//! (GPT-2 style, 4 layers, 4 heads, d_model 256, context 256), `gpt2-124m` GPT-2 small (12
//! layers, 12 heads, d_model 768, context 1,024); both with the REMI+ vocabulary (518).
//! Training: `--accum` micro-batches of `--batch` × context per step, forward, backward,
//! global-norm clipping, decoupled weight decay and AdamW, timed after 3 warm-up steps.
//! MFU: training FLOPs per token (`Gpt::flops_per_token`, 6·N + 12·L·H·Q·T) × tokens/s over
//! `--peak-tflops`. Generation: 256 new tokens with the KV cache, timed after the first: batch
//! 1 sampled at temperature 1 (as `midigpt generate`), and `--gen-batch` sequences at once,
//! greedy on the device (0 skips it). `--new-tokens 0` skips generation.
//!
//! `--dtype` is the training config's `dtype` (CPU only): `auto` trains with bf16 products
//! where they outrun f32 ones (Intel AMX, AMD with AVX-512-BF16), else f32; `kernel` in the
//! output names the bf16 kernel that ran. `--adamw burn` runs the
//! optimizer's update as burn's tensor operations instead of the fused kernel (for profiles).

use std::collections::HashMap;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use midigpt_generate::{generate, Marks, SamplingConfig};
use midigpt_model::{
    load_safetensors_bytes, save_safetensors, Cpu, CpuTrain, Gpt, GptBackend, GptConfig,
    GptTrainBackend, KvCache,
};
use midigpt_train::{optim, train_step, Dtype, StepSettings};
use rand::SeedableRng;

// The allocator `midigpt` itself uses, set up the same way (see crates/cli/src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

const VOCAB: usize = 518;
const WARMUP: usize = 3;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    // SAFETY: sets a plain integer option.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let opts = Options::parse(std::env::args().skip(1))?;
    opts.dtype.apply()?;
    match opts.device.as_str() {
        "cpu" => bench::<CpuTrain>(&opts, Default::default()),
        #[cfg(feature = "cuda")]
        name if name.starts_with("cuda") => {
            let index = name.strip_prefix("cuda:").map_or(Ok(0), str::parse)?;
            bench::<midigpt_model::CudaTrain>(&opts, midigpt_model::CudaDevice::new(index))
        }
        other => Err(
            format!("device {other:?}: cpu, or cuda[:N] in a build with --features cuda").into(),
        ),
    }
}

struct Options {
    steps: usize,
    device: String,
    config: GptConfig,
    batch: usize,
    accum: usize,
    gen_batch: usize,
    new_tokens: usize,
    peak_tflops: f64,
    losses: usize,
    dtype: Dtype,
    fused_adamw: bool,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Options, Error> {
        let args: Vec<String> = args.collect();
        let mut values: HashMap<&str, &str> = HashMap::new();
        for pair in args.chunks(2) {
            match pair {
                [key, value] if key.starts_with("--") => values.insert(&key[2..], value),
                // A lone number: the step count, as bench/train_cpu.sh passes it.
                [steps] => values.insert("steps", steps),
                _ => return Err(format!("expected --key value pairs, got {pair:?}").into()),
            };
        }
        let mut get = |key: &str, default: &str| values.remove(key).unwrap_or(default).to_owned();
        let config = match get("shape", "small").as_str() {
            "small" => GptConfig::small(VOCAB),
            "gpt2-124m" => GptConfig::gpt2_124m(VOCAB),
            other => return Err(format!("unknown --shape {other:?}: small or gpt2-124m").into()),
        };
        let opts = Options {
            steps: get("steps", "30").parse()?,
            device: get("device", "cpu"),
            config,
            batch: get("batch", "8").parse()?,
            accum: get("accum", "1").parse()?,
            gen_batch: get("gen-batch", "0").parse()?,
            new_tokens: get("new-tokens", "256").parse()?,
            peak_tflops: get("peak-tflops", "0").parse()?,
            losses: get("losses", "0").parse()?,
            dtype: get("dtype", "auto").parse()?,
            fused_adamw: match get("adamw", "fused").as_str() {
                "fused" => true,
                "burn" => false,
                other => return Err(format!("unknown --adamw {other:?}: fused or burn").into()),
            },
        };
        if let Some(key) = values.keys().next() {
            return Err(format!("unknown option --{key}").into());
        }
        Ok(opts)
    }
}

fn bench<B: GptTrainBackend>(opts: &Options, device: B::Device) -> Result<(), Error> {
    B::seed(&device, 0);
    let config = &opts.config;
    let t = config.block_size;
    let data: Vec<i64> = (0..opts.batch * (t + 1))
        .map(|i| ((i * 7919) % VOCAB) as i64)
        .collect();
    let batch = Tensor::<B, 2, Int>::from_data(TensorData::new(data, [opts.batch, t + 1]), &device);
    let (x, y) = (batch.clone().narrow(1, 0, t), batch.narrow(1, 1, t));
    let mut optimizer = optim::adamw(0.9, 0.99);
    if !opts.fused_adamw {
        optimizer = optimizer.unfused();
    }
    let settings = StepSettings {
        micro_batches: opts.accum,
        lr: 1e-3,
        weight_decay: 0.1,
        grad_clip: 1.0,
    };
    // One optimizer step as `midigpt train` takes it, on the same batch every time.
    let mut step = |model: Gpt<B>| -> Result<(Gpt<B>, f64), Error> {
        let next = || Ok((x.clone(), y.clone()));
        let (model, out) = train_step(model, &mut optimizer, next, &settings)?;
        Ok((model, out.loss))
    };
    if opts.losses > 0 {
        let mut model = cpu_initialised::<B>(config, &device)?;
        let mut losses = Vec::new();
        for _ in 0..opts.losses {
            let (next, l) = step(model)?;
            model = next;
            losses.push(l);
        }
        println!("{{\"losses\": {losses:?}}}");
        return Ok(());
    }
    let mut model = config.init::<B>(&device)?;
    let flops_per_token = model.flops_per_token();
    let mut start = Instant::now();
    for i in 0..WARMUP + opts.steps {
        if i == WARMUP {
            start = Instant::now();
        }
        model = step(model)?.0;
    }
    let tokens = opts.steps * opts.accum * opts.batch * t;
    let train = tokens as f64 / start.elapsed().as_secs_f64();
    let model = model.valid();

    let gen = match opts.new_tokens {
        0 => None,
        n => Some(generate_one(&model, n)?),
    };
    let gen_batch = match (opts.gen_batch, opts.new_tokens) {
        (0, _) | (_, 0) => None,
        (n, new) => Some(generate_batch(&model, n, new.min(t), &device)?),
    };
    let mfu = (opts.peak_tflops > 0.0).then(|| flops_per_token * train / (opts.peak_tflops * 1e12));
    println!(
        "{{\"train_tokens_per_s\": {train:.1}, \"mfu\": {}, \"flops_per_token\": {flops_per_token}, \
         \"generate_tokens_per_s\": {}, \"generate_batch_tokens_per_s\": {}, \
         \"peak_memory_bytes\": null, \"parameters\": {}, \"dtype\": \"{}\", \"kernel\": \"{}\"}}",
        json_or_null(mfu),
        json_or_null(gen),
        json_or_null(gen_batch),
        model.num_params(),
        opts.dtype.resolve().name(),
        match opts.dtype.resolve() {
            midigpt_model::Precision::Bf16 => midigpt_model::bf16_kernel().unwrap_or("-"),
            midigpt_model::Precision::F32 => "gemm-f32",
        },
    );
    Ok(())
}

/// Tokens/s of one sequence sampled at temperature 1 with the KV cache, as `midigpt generate`.
fn generate_one<B: GptBackend>(model: &Gpt<B>, new_tokens: usize) -> Result<f64, Error> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let sampling = SamplingConfig::default();
    let out = generate(
        model,
        &[0],
        new_tokens,
        &mut [],
        Marks::default(),
        &sampling,
        &mut rng,
        &mut |_, _| true,
    )?;
    Ok((out.ids.len() - 1) as f64 / out.seconds)
}

/// A model initialised on the CPU (seed 0), moved to `device` through its safetensors weights.
fn cpu_initialised<B: GptBackend>(config: &GptConfig, device: &B::Device) -> Result<Gpt<B>, Error> {
    Cpu::seed(&Default::default(), 0);
    let file =
        std::env::temp_dir().join(format!("midigpt-bench-{}.safetensors", std::process::id()));
    save_safetensors(&config.init::<Cpu>(&Default::default())?, &file)?;
    let bytes = std::fs::read(&file)?;
    std::fs::remove_file(&file)?;
    Ok(load_safetensors_bytes::<B>(config, &bytes, &file, device)?)
}

/// Tokens/s of `n` sequences decoded together with the KV cache, greedy, the choice made on
/// the device (one read-back per step, as a sampler would need).
fn generate_batch<B: GptBackend>(
    model: &Gpt<B>,
    n: usize,
    new_tokens: usize,
    device: &B::Device,
) -> Result<f64, Error> {
    let mut cache = KvCache::new(model.config().n_layer);
    let mut idx = Tensor::<B, 2, Int>::zeros([n, 1], device);
    let mut start = Instant::now();
    for step in 0..new_tokens {
        if step == 1 {
            start = Instant::now();
        }
        let logits = model.forward_cached(idx, &mut cache)?; // (n, 1, V)
        idx = logits.argmax(2).reshape([n, 1]);
        let _ = idx.clone().into_data(); // the host sees every step's tokens
    }
    Ok((n * (new_tokens - 1)) as f64 / start.elapsed().as_secs_f64())
}

fn json_or_null(value: Option<f64>) -> String {
    value.map_or("null".into(), |v| format!("{v:.4}"))
}
