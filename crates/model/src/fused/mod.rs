//! The four operations of a training step that burn's autodiff would otherwise break into
//! many small tensor operations, each with its own allocation and pass over memory: causal
//! self-attention, LayerNorm, GELU and the cross-entropy loss.
//!
//! [`GptBackend`] names them. Its default methods are burn's own operations, so any backend
//! runs the model; on the CPU training backend ([`CpuTrain`](crate::CpuTrain)) they are single
//! graph nodes whose forward and backward passes are the hand-written kernels of [`cpu`],
//! which also skip the masked half of causal attention.

mod cpu;
mod math;
mod nodes;

use burn::tensor::activation::{gelu, log_softmax};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Int, Tensor, TensorPrimitive};

/// A burn backend the GPT runs on: burn's [`Backend`] plus the operations it may fuse.
pub trait GptBackend: Backend {
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
}

/// A backend the GPT trains on: autodiff over a [`GptBackend`], itself a [`GptBackend`].
pub trait GptTrainBackend: AutodiffBackend<InnerBackend: GptBackend> + GptBackend {}

impl<B> GptTrainBackend for B
where
    B: AutodiffBackend + GptBackend,
    B::InnerBackend: GptBackend,
{
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

/// CPU inference: burn's flex kernels (its attention is already a fused, tiled kernel).
impl GptBackend for burn::backend::Flex {}

#[cfg(feature = "cuda")]
impl GptBackend for burn::backend::Cuda {}

#[cfg(feature = "cuda")]
impl GptBackend for burn::backend::Autodiff<burn::backend::Cuda> {}
