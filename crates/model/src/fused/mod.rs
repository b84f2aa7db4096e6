//! The operations of a training step that burn's autodiff would otherwise break into many
//! small tensor operations, each with its own allocation and pass over memory: linear layers
//! (with the bias and residual additions), causal self-attention, LayerNorm, GELU and the
//! cross-entropy loss, and the optimizer's AdamW update.
//!
//! [`GptBackend`] names them. Its default methods are burn's own operations, so any backend
//! runs the model; on the CPU training backend ([`CpuTrain`](crate::CpuTrain)) they are single
//! graph nodes whose forward and backward passes are the hand-written kernels of [`cpu`],
//! which also skip the masked half of causal attention.

mod adamw;
mod cpu;
mod cpu_feature;
mod math;
mod nodes;
mod precision;

use burn::tensor::activation::{gelu, log_softmax};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::{attention, linear};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Int, Tensor, TensorPrimitive};

/// A burn backend the GPT runs on: burn's [`Backend`] plus the operations it may fuse.
pub trait GptBackend: Backend {
    /// Whether the operations run as CPU kernels that split their work over rayon's threads
    /// (a training step then runs inside rayon's pool, see `midigpt_train::train_step`).
    const RAYON: bool = false;

    /// A linear layer `x·w + bias`, plus `residual` when given, for `x` `(N, K)`, `w`
    /// `(K, M)`, `bias` `(M)` and `residual` `(N, M)`. On the CPU training backend the
    /// products run in the thread's [`Precision`] ([`set_cpu_precision`]).
    fn fused_linear(
        x: Tensor<Self, 2>,
        w: Tensor<Self, 2>,
        bias: Option<Tensor<Self, 1>>,
        residual: Option<Tensor<Self, 2>>,
    ) -> Tensor<Self, 2> {
        burn_linear(x, w, bias, residual)
    }

    /// Causal attention `softmax(q·kᵀ/√hs + mask)·v` for `q` `(B, nh, T, hs)` and `k`, `v`
    /// `(B, nh, S, hs)`, `S ≥ T`: query `i` sees keys `0..=i + S - T` (the queries are the
    /// last `T` positions).
    fn causal_attention(
        q: Tensor<Self, 4>,
        k: Tensor<Self, 4>,
        v: Tensor<Self, 4>,
    ) -> Tensor<Self, 4> {
        burn_attention(q, k, v)
    }

    /// Causal self-attention (GPT-2's, no cache) over `qkv` `(B, T, 3C)`, the query, key and
    /// value projections side by side, each `n_head` heads of `C / n_head`: the result
    /// `(B, T, C)` with the heads side by side again.
    fn causal_self_attention(qkv: Tensor<Self, 3>, n_head: usize) -> Tensor<Self, 3> {
        burn_self_attention(qkv, n_head)
    }

    /// LayerNorm over the last dimension of `x` `(B, T, C)`, scaled by `gamma` and shifted by
    /// `beta` `(C)`.
    fn layernorm(
        x: Tensor<Self, 3>,
        gamma: Tensor<Self, 1>,
        beta: Option<Tensor<Self, 1>>,
        epsilon: f64,
    ) -> Tensor<Self, 3> {
        burn_layernorm(x, gamma, beta, epsilon)
    }

    /// The exact (erf) GELU of nanoGPT's MLP; GPT-2 used the tanh approximation.
    fn exact_gelu<const D: usize>(x: Tensor<Self, D>) -> Tensor<Self, D> {
        gelu(x)
    }

    /// Mean cross-entropy of `logits` `(N, V)` against `targets` `(N)`, as a one-element
    /// tensor.
    fn cross_entropy(logits: Tensor<Self, 2>, targets: Tensor<Self, 1, Int>) -> Tensor<Self, 1> {
        burn_cross_entropy(logits, targets)
    }

    /// One AdamW update of `param` from its gradient and its moments (none before the first
    /// update): the new parameter and moments. On the CPU backend one pass in place, with the
    /// same bits as [`burn_adamw`], the default.
    fn adamw_update<const D: usize>(
        param: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<Moments<Self, D>>,
        step: &AdamWStep,
    ) -> (Tensor<Self, D>, Moments<Self, D>) {
        burn_adamw(param, grad, moments, step)
    }
}

/// A backend the GPT trains on: autodiff over a [`GptBackend`], itself a [`GptBackend`].
pub trait GptTrainBackend: AutodiffBackend<InnerBackend: GptBackend> + GptBackend {}

impl<B> GptTrainBackend for B
where
    B: AutodiffBackend + GptBackend,
    B::InnerBackend: GptBackend,
{
}

pub use adamw::{burn_adamw, AdamWStep, Moments};
pub use cpu_feature::{cpu_feature_or_skip, CpuFeature};
pub use precision::{
    bf16_kernel, bf16_preferred, cpu_precision, native_bf16, set_cpu_precision, Precision,
};

/// burn's linear layer, then the residual added.
pub fn burn_linear<B: Backend>(
    x: Tensor<B, 2>,
    w: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    residual: Option<Tensor<B, 2>>,
) -> Tensor<B, 2> {
    let y = linear(x, w, bias);
    match residual {
        Some(residual) => y + residual,
        None => y,
    }
}

/// [`GptBackend::causal_self_attention`] from burn's operations: heads split apart by views,
/// attention, heads merged back together.
pub fn burn_self_attention<B: GptBackend>(qkv: Tensor<B, 3>, n_head: usize) -> Tensor<B, 3> {
    let [b, t, c3] = qkv.dims();
    let (c, hs) = (c3 / 3, c3 / 3 / n_head);
    let heads = |x: Tensor<B, 3>| x.reshape([b, t, n_head, hs]).swap_dims(1, 2); // (B, nh, T, hs)
    let [q, k, v] = [0, 1, 2].map(|i| heads(qkv.clone().narrow(2, i * c, c)));
    let y = B::causal_attention(q, k, v); // (B, nh, T, hs)
    y.swap_dims(1, 2).reshape([b, t, c])
}

/// burn's attention, which flex runs as a tiled kernel and autodiff as separate operations.
pub fn burn_attention<B: Backend>(
    q: Tensor<B, 4>,
    k: Tensor<B, 4>,
    v: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let causal = AttentionModuleOptions {
        is_causal: true,
        ..Default::default()
    };
    attention(q, k, v, None, None, causal)
}

/// burn's LayerNorm.
pub fn burn_layernorm<B: Backend>(
    x: Tensor<B, 3>,
    gamma: Tensor<B, 1>,
    beta: Option<Tensor<B, 1>>,
    epsilon: f64,
) -> Tensor<B, 3> {
    let y = B::layer_norm(
        x.into_primitive().tensor(),
        gamma.into_primitive().tensor(),
        beta.map(|b| b.into_primitive().tensor()),
        epsilon,
    );
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// Cross-entropy from burn's operations: log-softmax, gather, mean.
pub fn burn_cross_entropy<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
) -> Tensor<B, 1> {
    let n = targets.dims()[0];
    let log_probs = log_softmax(logits, 1); // (N, V)
    let picked = log_probs.gather(1, targets.reshape([n, 1])); // (N, 1): log p(target)
    picked.mean().neg()
}

/// CPU inference: burn's flex kernels (its attention is already a fused, tiled kernel). The
/// optimizer of CPU training runs here too (on the inner backend of autodiff).
impl GptBackend for burn::backend::Flex {
    const RAYON: bool = true;

    fn adamw_update<const D: usize>(
        param: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<Moments<Self, D>>,
        step: &AdamWStep,
    ) -> (Tensor<Self, D>, Moments<Self, D>) {
        let float = |t: Tensor<Self, D>| t.into_primitive().tensor();
        let wrap = |t| Tensor::from_primitive(TensorPrimitive::Float(t));
        let (p, g) = (float(param), float(grad));
        let moments = moments.map(|(m, v)| (float(m), float(v)));
        let mut all = vec![&p, &g];
        all.extend(moments.iter().flat_map(|(m, v)| [m, v]));
        if !cpu::supported(&all) {
            let moments = moments.map(|(m, v)| (wrap(m), wrap(v)));
            return burn_adamw(wrap(p), wrap(g), moments, step);
        }
        let [p, m, v] = cpu::adamw(p, &g, moments, step);
        (wrap(p), (wrap(m), wrap(v)))
    }
}

#[cfg(feature = "cuda")]
impl GptBackend for burn::backend::Cuda {}

#[cfg(feature = "cuda")]
impl GptBackend for burn::backend::Autodiff<burn::backend::Cuda> {}
