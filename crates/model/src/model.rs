//! The GPT: attention, MLP, block and the model, in reading order (after nanoGPT's
//! `model.py`); the hyper-parameters are in [`GptConfig`].
//!
//! Two architectures share every struct:
//! - [`Arch::Gpt2`]: learned position embeddings, LayerNorm, GELU MLP, LM head tied to the
//!   token embedding (GPT-2, nanoGPT).
//! - [`Arch::Llama`]: rotary position embeddings, RMSNorm, SwiGLU MLP, grouped-query
//!   attention, no biases, untied LM head (Llama, Mistral).
//!
//! Letters in shape comments: B batch, T time (new positions), S positions attended to
//! (cached + new), C `n_embd`, nh `n_head`, nkv `n_kv_head`, hs head size, H MLP hidden size,
//! V vocabulary.

use burn::module::{Initializer, Module, ModuleVisitor, Param};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    RmsNorm, RmsNormConfig,
};
use burn::tensor::activation::silu;
use burn::tensor::{Int, Tensor, TensorData};

use crate::cache::{KvCache, LayerCache};
use crate::config::{Arch, GptConfig};
use crate::fused::GptBackend;
use crate::ModelError;

impl GptConfig {
    /// Validates the config and builds a freshly initialised model on `device`.
    pub fn init<B: GptBackend>(&self, device: &B::Device) -> Result<Gpt<B>, ModelError> {
        self.validate()?;
        let model = Gpt::new(self.clone(), device);
        model.visit(&mut Materialize);
        Ok(model)
    }
}

/// Draws every parameter's initial value now. burn initialises parameters lazily, on first
/// use, and a clone taken before that draws its own, different values; materialising at
/// construction makes clones, saved files and the model agree.
struct Materialize;

impl<B: burn::tensor::backend::Backend> ModuleVisitor<B> for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// A linear layer `(.., d_in) -> (.., d_out)` initialised as in GPT-2: weights N(0, std²),
/// biases zero. burn stores the weight as `(d_in, d_out)`.
fn linear<B: GptBackend>(
    d_in: usize,
    d_out: usize,
    bias: bool,
    std: f64,
    device: &B::Device,
) -> Linear<B> {
    Linear {
        weight: Initializer::Normal { mean: 0.0, std }.init([d_in, d_out], device),
        bias: bias.then(|| Initializer::Zeros.init([d_out], device)),
    }
}

/// Applies `layer` to every position of `x` `(B, T, d_in) -> (B, T, d_out)` as one
/// `(B·T, d_in) @ (d_in, d_out)` product, adding `residual` `(B, T, d_out)` when given. burn
/// would otherwise run a batched product and, in the backward pass, materialise one weight
/// gradient per batch row before summing them.
fn project<B: GptBackend>(
    x: Tensor<B, 3>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    residual: Option<Tensor<B, 3>>,
) -> Tensor<B, 3> {
    let [b, t, c] = x.dims();
    let d_out = weight.dims()[1];
    let residual = residual.map(|r| r.reshape([b * t, d_out]));
    let y = B::fused_linear(x.reshape([b * t, c]), weight, bias, residual); // (B·T, d_out)
    y.reshape([b, t, d_out])
}

/// [`project`] through a [`Linear`] layer.
fn apply<B: GptBackend>(layer: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    project(
        x,
        layer.weight.val(),
        layer.bias.as_ref().map(|b| b.val()),
        None,
    )
}

/// `residual + dropout(layer(x))`: the end of an attention or MLP sub-block. Without dropout
/// the addition happens inside the layer's kernel (see [`GptBackend::fused_linear`]).
fn add_to_residual<B: GptBackend>(
    layer: &Linear<B>,
    dropout: &Dropout,
    x: Tensor<B, 3>,
    residual: Tensor<B, 3>,
) -> Tensor<B, 3> {
    if dropout.prob == 0.0 {
        let bias = layer.bias.as_ref().map(|b| b.val());
        project(x, layer.weight.val(), bias, Some(residual))
    } else {
        residual + dropout.forward(apply(layer, x))
    }
}

/// LayerNorm with its epsilon at hand for [`GptBackend::layernorm`] (burn keeps it private).
#[derive(Module, Debug)]
pub(crate) struct Ln<B: GptBackend> {
    pub(crate) norm: LayerNorm<B>,
    epsilon: f64,
}

/// LayerNorm (GPT-2) or RMSNorm (Llama).
#[derive(Module, Debug)]
pub(crate) enum Norm<B: GptBackend> {
    Layer(Ln<B>),
    Rms(RmsNorm<B>),
}

impl<B: GptBackend> Norm<B> {
    fn new(cfg: &GptConfig, device: &B::Device) -> Self {
        match cfg.arch {
            Arch::Gpt2 => Norm::Layer(Ln {
                norm: LayerNormConfig::new(cfg.n_embd)
                    .with_epsilon(cfg.norm_eps)
                    .with_bias(cfg.bias)
                    .init(device),
                epsilon: cfg.norm_eps,
            }),
            Arch::Llama => Norm::Rms(
                RmsNormConfig::new(cfg.n_embd)
                    .with_epsilon(cfg.norm_eps)
                    .init(device),
            ),
        }
    }

    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match self {
            Norm::Layer(Ln { norm, epsilon }) => B::layernorm(
                x,
                norm.gamma.val(),
                norm.beta.as_ref().map(|b| b.val()),
                *epsilon,
            ),
            Norm::Rms(norm) => norm.forward(x),
        }
    }
}

/// Rotary position embedding tables, precomputed for every position of the context.
#[derive(Module, Debug)]
pub(crate) struct Rope<B: GptBackend> {
    cos: Tensor<B, 2>, // (block_size, hs)
    sin: Tensor<B, 2>, // (block_size, hs)
}

impl<B: GptBackend> Rope<B> {
    fn new(cfg: &GptConfig, device: &B::Device) -> Self {
        let hs = cfg.head_size();
        // Hugging Face's "rotate half" layout: dimension i pairs with i + hs/2, both turned by
        // angle pos · θ^(-2i/hs), so Llama checkpoints load without permuting q/k weights.
        let angles: Vec<f32> = (0..cfg.block_size)
            .flat_map(|pos| (0..hs).map(move |d| (pos, d % (hs / 2))))
            .map(|(pos, i)| (pos as f64 * cfg.rope_theta.powf(-2.0 * i as f64 / hs as f64)) as f32)
            .collect();
        let table = |f: fn(f32) -> f32| {
            let values = angles.iter().map(|&a| f(a)).collect::<Vec<_>>();
            Tensor::from_data(TensorData::new(values, [cfg.block_size, hs]), device)
        };
        Self {
            cos: table(f32::cos),
            sin: table(f32::sin),
        }
    }

    /// Rotates queries or keys `(B, nh, T, hs)` that sit at positions `start..start + T`.
    fn apply(&self, x: Tensor<B, 4>, start: usize) -> Tensor<B, 4> {
        let [_, _, t, hs] = x.dims();
        let cos = self.cos.clone().narrow(0, start, t).unsqueeze::<4>(); // (1, 1, T, hs)
        let sin = self.sin.clone().narrow(0, start, t).unsqueeze::<4>(); // (1, 1, T, hs)
        let x1 = x.clone().narrow(3, 0, hs / 2);
        let x2 = x.clone().narrow(3, hs / 2, hs / 2);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3); // (B, nh, T, hs)
        x * cos + rotated * sin
    }
}

/// Causal self-attention with grouped key/value heads (`n_kv_head == n_head` is plain
/// multi-head attention).
#[derive(Module, Debug)]
pub(crate) struct Attention<B: GptBackend> {
    /// Query, key and value projections in one matrix: `(C, (nh + 2·nkv)·hs)`.
    pub(crate) c_attn: Linear<B>,
    /// Output projection `(C, C)`.
    pub(crate) c_proj: Linear<B>,
    resid_dropout: Dropout,
    n_head: usize,
    n_kv_head: usize,
}

impl<B: GptBackend> Attention<B> {
    fn new(cfg: &GptConfig, device: &B::Device) -> Self {
        let qkv = (cfg.n_head + 2 * cfg.n_kv_head) * cfg.head_size();
        Self {
            c_attn: linear(cfg.n_embd, qkv, cfg.bias, 0.02, device),
            c_proj: linear(cfg.n_embd, cfg.n_embd, cfg.bias, residual_std(cfg), device),
            resid_dropout: DropoutConfig::new(cfg.dropout).init(),
            n_head: cfg.n_head,
            n_kv_head: cfg.n_kv_head,
        }
    }

    /// `x` is `(B, T, C)` at positions `start..start + T`, where `start` is the cache length;
    /// the result is added to `residual` `(B, T, C)`.
    fn forward(
        &self,
        x: Tensor<B, 3>,
        residual: Tensor<B, 3>,
        rope: Option<&Rope<B>>,
        cache: Option<&mut LayerCache<B>>,
    ) -> Tensor<B, 3> {
        let [b, t, c] = x.dims();
        let (nh, nkv, hs) = (self.n_head, self.n_kv_head, c / self.n_head);
        let start = cache.as_ref().map_or(0, |cache| cache.len());
        let heads = |x: Tensor<B, 3>, n| x.reshape([b, t, n, hs]).swap_dims(1, 2); // (B, n, T, hs)
        let qkv = apply(&self.c_attn, x); // (B, T, (nh + 2·nkv)·hs)
        if rope.is_none() && cache.is_none() && nkv == nh {
            // GPT-2 training and scoring: one fused operation, no head copies either way.
            let y = B::causal_self_attention(qkv, nh); // (B, T, C)
            return add_to_residual(&self.c_proj, &self.resid_dropout, y, residual);
        }
        let qkv = qkv.split_with_sizes(vec![nh * hs, nkv * hs, nkv * hs], 2);
        let [q, k, v] = [0, 1, 2].map(|i| qkv[i].clone());
        let (q, k, v) = (heads(q, nh), heads(k, nkv), heads(v, nkv));
        let (q, k) = match rope {
            Some(rope) => (rope.apply(q, start), rope.apply(k, start)),
            None => (q, k),
        };
        let (k, v) = match cache {
            Some(cache) => cache.append(k, v), // (B, nkv, S, hs)
            None => (k, v),
        };
        let (k, v) = (repeat_kv(k, nh / nkv), repeat_kv(v, nh / nkv)); // (B, nh, S, hs)

        // Fused where the backend fuses it (see `GptBackend`). The causal mask is aligned to
        // the bottom right, so T new queries see all S - T cached keys.
        let y = B::causal_attention(q, k, v); // (B, nh, T, hs)
        let y = y.swap_dims(1, 2).reshape([b, t, c]); // (B, T, C): heads side by side again
        add_to_residual(&self.c_proj, &self.resid_dropout, y, residual)
    }
}

/// Shares each key/value head among `n_rep` query heads: `(B, nkv, S, hs) -> (B, nkv·n_rep, S, hs)`.
fn repeat_kv<B: GptBackend>(x: Tensor<B, 4>, n_rep: usize) -> Tensor<B, 4> {
    if n_rep == 1 {
        return x;
    }
    let [b, nkv, s, hs] = x.dims();
    x.unsqueeze_dim::<5>(2)
        .expand([b, nkv, n_rep, s, hs])
        .reshape([b, nkv * n_rep, s, hs])
}

/// GPT-2 scales the init of projections into the residual stream by 1/√(2·n_layer), so the
/// stream's variance does not grow with depth.
fn residual_std(cfg: &GptConfig) -> f64 {
    0.02 / (2.0 * cfg.n_layer as f64).sqrt()
}

/// The feed-forward network: GELU (GPT-2) or SwiGLU (Llama).
#[derive(Module, Debug)]
pub(crate) struct Mlp<B: GptBackend> {
    /// Up projection `(C, H)`; for SwiGLU gate and up side by side, `(C, 2H)`.
    pub(crate) c_fc: Linear<B>,
    /// Down projection `(H, C)`.
    pub(crate) c_proj: Linear<B>,
    dropout: Dropout,
    swiglu: bool,
}

impl<B: GptBackend> Mlp<B> {
    fn new(cfg: &GptConfig, device: &B::Device) -> Self {
        let (hidden, swiglu) = (cfg.mlp_hidden_size(), cfg.arch == Arch::Llama);
        let up = if swiglu { 2 * hidden } else { hidden };
        Self {
            c_fc: linear(cfg.n_embd, up, cfg.bias, 0.02, device),
            c_proj: linear(hidden, cfg.n_embd, cfg.bias, residual_std(cfg), device),
            dropout: DropoutConfig::new(cfg.dropout).init(),
            swiglu,
        }
    }

    /// `x` `(B, T, C)`; the result is added to `residual` `(B, T, C)`.
    fn forward(&self, x: Tensor<B, 3>, residual: Tensor<B, 3>) -> Tensor<B, 3> {
        let h = apply(&self.c_fc, x); // (B, T, H), or (B, T, 2H) for SwiGLU
        let [_, _, width] = h.dims();
        let h = if self.swiglu {
            let (gate, up) = (
                h.clone().narrow(2, 0, width / 2),
                h.narrow(2, width / 2, width / 2),
            );
            silu(gate) * up // (B, T, H)
        } else {
            B::exact_gelu(h) // exact (erf) GELU, as nanoGPT; GPT-2 used the tanh approximation
        };
        add_to_residual(&self.c_proj, &self.dropout, h, residual) // (B, T, C)
    }
}

/// A transformer block: pre-norm attention and MLP, each added to the residual stream.
#[derive(Module, Debug)]
pub(crate) struct Block<B: GptBackend> {
    pub(crate) ln_1: Norm<B>,
    pub(crate) attn: Attention<B>,
    pub(crate) ln_2: Norm<B>,
    pub(crate) mlp: Mlp<B>,
}

impl<B: GptBackend> Block<B> {
    fn new(cfg: &GptConfig, device: &B::Device) -> Self {
        Self {
            ln_1: Norm::new(cfg, device),
            attn: Attention::new(cfg, device),
            ln_2: Norm::new(cfg, device),
            mlp: Mlp::new(cfg, device),
        }
    }

    fn forward(
        &self,
        x: Tensor<B, 3>,
        rope: Option<&Rope<B>>,
        cache: Option<&mut LayerCache<B>>,
    ) -> Tensor<B, 3> {
        let x = self
            .attn
            .forward(self.ln_1.forward(x.clone()), x, rope, cache);
        self.mlp.forward(self.ln_2.forward(x.clone()), x)
    }
}

/// The language model: token ids `(B, T)` in, next-token logits `(B, T, V)` out.
#[derive(Module, Debug)]
pub struct Gpt<B: GptBackend> {
    /// Token embedding `(V, C)`; for GPT-2 also the LM head.
    pub(crate) wte: Embedding<B>,
    /// Learned position embedding `(block_size, C)`, GPT-2 only.
    pub(crate) wpe: Option<Embedding<B>>,
    /// Rotary tables, Llama only.
    rope: Option<Rope<B>>,
    drop: Dropout,
    pub(crate) h: Vec<Block<B>>,
    pub(crate) ln_f: Norm<B>,
    /// Untied LM head `(C, V)`, Llama only; `None` means the head is `wte`'s weight.
    pub(crate) lm_head: Option<Linear<B>>,
    #[module(skip)]
    config: GptConfig,
}

impl<B: GptBackend> Gpt<B> {
    /// Builds the model without validating `cfg`; parameters are initialised lazily, so a
    /// caller that does not overwrite them all must materialise them (see [`Materialize`]).
    pub(crate) fn new(cfg: GptConfig, device: &B::Device) -> Self {
        let embedding = |n| {
            EmbeddingConfig::new(n, cfg.n_embd)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: 0.02,
                })
                .init(device)
        };
        let gpt2 = cfg.arch == Arch::Gpt2;
        Self {
            wte: embedding(cfg.vocab_size),
            wpe: gpt2.then(|| embedding(cfg.block_size)),
            rope: (!gpt2).then(|| Rope::new(&cfg, device)),
            drop: DropoutConfig::new(cfg.dropout).init(),
            h: (0..cfg.n_layer).map(|_| Block::new(&cfg, device)).collect(),
            ln_f: Norm::new(&cfg, device),
            lm_head: (!gpt2).then(|| linear(cfg.n_embd, cfg.vocab_size, false, 0.02, device)),
            config: cfg,
        }
    }

    /// The model's config.
    pub fn config(&self) -> &GptConfig {
        &self.config
    }

    /// Logits `(B, T, V)` for every position of `idx` `(B, T)`.
    ///
    /// # Panics
    /// If `T > block_size`: crop the context first.
    pub fn forward(&self, idx: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [_, t] = idx.dims();
        assert!(
            t <= self.config.block_size,
            "sequence of {t} exceeds block_size {}",
            self.config.block_size
        );
        self.run(idx, None)
    }

    /// Logits `(B, T_new, V)` for `idx` `(B, T_new)`, the tokens that follow those already in
    /// `cache`; their keys and values are appended to the cache.
    ///
    /// Fails with [`ModelError::ContextOverflow`] (leaving the cache as it was) when the cache
    /// would grow past `block_size`: the caller crops, i.e. clears the cache and feeds the last
    /// tokens again, since positions are absolute.
    pub fn forward_cached(
        &self,
        idx: Tensor<B, 2, Int>,
        cache: &mut KvCache<B>,
    ) -> Result<Tensor<B, 3>, ModelError> {
        let [_, t] = idx.dims();
        let block_size = self.config.block_size;
        if cache.n_layer() != self.h.len() {
            return Err(ModelError::CacheMismatch {
                cache: cache.n_layer(),
                model: self.h.len(),
            });
        }
        if cache.len() + t > block_size {
            return Err(ModelError::ContextOverflow {
                cached: cache.len(),
                new: t,
                block_size,
            });
        }
        Ok(self.run(idx, Some(cache)))
    }

    fn run(&self, idx: Tensor<B, 2, Int>, mut cache: Option<&mut KvCache<B>>) -> Tensor<B, 3> {
        let [_, t] = idx.dims();
        let start = cache.as_ref().map_or(0, |cache| cache.len());
        let mut x = self.wte.forward(idx); // (B, T, C)
        if let Some(wpe) = &self.wpe {
            let positions = start as i64..(start + t) as i64;
            let pos = Tensor::arange(positions, &x.device()).unsqueeze::<2>(); // (1, T)
            x = x + wpe.forward(pos); // (B, T, C) + (1, T, C)
        }
        let mut x = self.drop.forward(x);
        for (i, block) in self.h.iter().enumerate() {
            x = block.forward(
                x,
                self.rope.as_ref(),
                cache.as_deref_mut().map(|cache| cache.layer(i)),
            );
        }
        let x = self.ln_f.forward(x);
        match &self.lm_head {
            Some(head) => apply(head, x), // (B, T, V)
            None => project(x, self.wte.weight.val().transpose(), None, None), // tied: (B, T, C) @ (C, V)
        }
    }

    /// The token embedding weight `(V, C)`; with a tied head (GPT-2) also the LM head's.
    pub fn token_embedding(&self) -> &Param<Tensor<B, 2>> {
        &self.wte.weight
    }

    /// Whether the LM head is the token embedding (GPT-2) rather than its own matrix.
    pub fn is_tied(&self) -> bool {
        self.lm_head.is_none()
    }

    /// Number of parameters (a tied weight counts once).
    pub fn num_params(&self) -> usize {
        Module::num_params(self)
    }

    /// Training FLOPs per token, for model FLOPs utilisation (MFU): `6·N + 12·L·H·Q·T` (PaLM,
    /// appendix B; nanoGPT's `estimate_mfu`). `N` counts the parameters in matrix multiplies
    /// (all but the position embedding and an untied token embedding, which are lookups),
    /// `6·N` is forward (2) plus backward (4) through them; `12·L·H·Q·T` is attention's
    /// scores and weighted sum over a full context, with L layers, H heads, head size Q and
    /// T = `block_size`.
    pub fn flops_per_token(&self) -> f64 {
        let cfg = &self.config;
        let lookup = |e: &Embedding<B>| Module::num_params(e);
        let mut n = self.num_params() - self.wpe.as_ref().map_or(0, lookup);
        if self.lm_head.is_some() {
            n -= lookup(&self.wte);
        }
        let (l, h, q, t) = (cfg.n_layer, cfg.n_head, cfg.head_size(), cfg.block_size);
        6.0 * n as f64 + 12.0 * (l * h * q * t) as f64
    }
}

/// Mean cross-entropy of `logits` `(B, T, V)` against `targets` `(B, T)`.
pub fn loss<B: GptBackend>(logits: Tensor<B, 3>, targets: Tensor<B, 2, Int>) -> Tensor<B, 1> {
    let [b, t, v] = logits.dims();
    B::cross_entropy(logits.reshape([b * t, v]), targets.reshape([b * t])) // (B·T, V), (B·T)
}
