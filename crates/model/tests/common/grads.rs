//! Random inputs, fresh leaves and gradients on the CPU training backend, for the tests of
//! the fused kernels against burn's own operations.

use burn::tensor::{Tensor, TensorData};
use midigpt_model::CpuTrain;

type B = CpuTrain;

/// Values spread over about [-1.7, 1.7], from a generator of the test's own (burn's seed is
/// global, and tests run in parallel).
pub fn random<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let n = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 3.4
        })
        .collect();
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

/// A fresh leaf with `t`'s values: burn frees a graph after its backward pass, so the fused
/// and the reference computation each get their own inputs.
pub fn leaf<const D: usize>(t: &Tensor<B, D>) -> Tensor<B, D> {
    Tensor::from_inner(t.clone().inner()).require_grad()
}

/// Reduces an output to a scalar with fixed random weights, so every output element gets a
/// different gradient.
pub fn weighted_sum<const D: usize>(out: Tensor<B, D>, seed: u64) -> Tensor<B, 1> {
    let w = random(out.dims(), seed).detach();
    (out * w).sum()
}

pub fn grad<const D: usize>(
    t: &Tensor<B, D>,
    grads: &<B as burn::tensor::backend::AutodiffBackend>::Gradients,
) -> Tensor<B, D> {
    Tensor::from_inner(t.grad(grads).expect("gradient"))
}
