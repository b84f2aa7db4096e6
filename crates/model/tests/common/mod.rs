//! Helpers shared by the integration tests: tiny configs and deterministic inputs.
#![allow(dead_code)] // each test binary uses a different subset

pub mod grads;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use midigpt_model::{Arch, GptConfig};

/// A model small enough to run in milliseconds; Llama gets 2 query heads per kv head.
pub fn tiny(arch: Arch) -> GptConfig {
    let llama = arch == Arch::Llama;
    GptConfig {
        arch,
        vocab_size: 50,
        block_size: 16,
        n_layer: 2,
        n_head: 4,
        n_kv_head: if llama { 2 } else { 4 },
        n_embd: 32,
        dropout: 0.0,
        bias: !llama,
        mlp_hidden: None,
        rope_theta: 10_000.0,
        norm_eps: 1e-5,
    }
}

/// Pseudo-random token ids `(batch, len)` below `vocab`, the same for the same `seed`.
pub fn ids<B: Backend>(
    batch: usize,
    len: usize,
    vocab: usize,
    seed: u64,
    device: &B::Device,
) -> Tensor<B, 2, Int> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let values: Vec<i64> = (0..batch * len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % vocab as u64) as i64
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [batch, len]), device)
}

/// Largest absolute difference between two tensors of the same shape.
pub fn max_abs_diff<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f32 {
    (a - b)
        .abs()
        .max()
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 data")[0]
}

/// The single value of a one-element tensor.
pub fn scalar<B: Backend>(t: Tensor<B, 1>) -> f32 {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("f32 data")[0]
}
