//! The fused CPU training kernels against burn's own operations: same values, same gradients.

mod common;

use burn::tensor::{Int, Tensor, TensorData};
use common::{ids, max_abs_diff};
use midigpt_model::{burn_attention, burn_cross_entropy, burn_layernorm, CpuTrain, GptBackend};

type B = CpuTrain;

/// Kernels and reference accumulate in different orders: f32 rounding, nothing more.
const TOL: f32 = 2e-5;

/// Values spread over about [-1.7, 1.7], from a generator of the test's own (burn's seed is
/// global, and tests run in parallel).
fn random<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
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
fn leaf<const D: usize>(t: &Tensor<B, D>) -> Tensor<B, D> {
    Tensor::from_inner(t.clone().inner()).require_grad()
}

/// Reduces an output to a scalar with fixed random weights, so every output element gets a
/// different gradient.
fn weighted_sum<const D: usize>(out: Tensor<B, D>, seed: u64) -> Tensor<B, 1> {
    let w = random(out.dims(), seed).detach();
    (out * w).sum()
}

fn grad<const D: usize>(
    t: &Tensor<B, D>,
    grads: &<B as burn::tensor::backend::AutodiffBackend>::Gradients,
) -> Tensor<B, D> {
    Tensor::from_inner(t.grad(grads).expect("gradient"))
}

fn check_attention(b: usize, nh: usize, t: usize, s: usize, hs: usize) {
    let inputs = [
        random([b, nh, t, hs], 1),
        random([b, nh, s, hs], 2),
        random([b, nh, s, hs], 3),
    ];
    let run = |attention: fn(Tensor<B, 4>, Tensor<B, 4>, Tensor<B, 4>) -> Tensor<B, 4>| {
        let [q, k, v] = inputs.each_ref().map(leaf);
        // A strided view, as the model passes them: heads are a swap of (B, T, nh, hs).
        let q_view = q.clone().swap_dims(1, 2).swap_dims(1, 2);
        let out = attention(q_view, k.clone(), v.clone());
        let grads = weighted_sum(out.clone(), 4).backward();
        (out, [q, k, v].map(|x| grad(&x, &grads)))
    };
    let (fused, fused_grads) = run(B::causal_attention);
    let (reference, reference_grads) = run(burn_attention);
    assert!(max_abs_diff(fused, reference) < TOL, "forward T={t} S={s}");
    for ((name, f), r) in ["q", "k", "v"].iter().zip(fused_grads).zip(reference_grads) {
        let diff = max_abs_diff(f, r);
        assert!(diff < TOL, "d{name} differs by {diff} (T={t} S={s})");
    }
}

#[test]
fn attention_matches_burn_over_row_blocks_and_cached_keys() {
    check_attention(2, 3, 70, 70, 8); // more than one row block, a ragged last one
    check_attention(1, 2, 129, 129, 16);
    check_attention(2, 2, 5, 70, 8); // 5 new queries after 65 cached keys
    check_attention(1, 1, 1, 1, 4);
}

#[test]
fn layernorm_matches_burn() {
    let x = random([3, 17, 40], 5) * 3.0 + 1.0; // off-centre and wide, as activations are
    let (gamma, beta) = (random([40], 6), random([40], 7));
    type Norm = fn(Tensor<B, 3>, Tensor<B, 1>, Option<Tensor<B, 1>>, f64) -> Tensor<B, 3>;
    let run = |norm: Norm| {
        let (x, gamma, beta) = (leaf(&x), leaf(&gamma), leaf(&beta));
        let out = norm(x.clone(), gamma.clone(), Some(beta.clone()), 1e-5);
        let grads = weighted_sum(out.clone(), 8).backward();
        (
            out,
            grad(&x, &grads),
            grad(&gamma, &grads),
            grad(&beta, &grads),
        )
    };
    let (fused, reference) = (run(B::layernorm), run(burn_layernorm));
    assert!(max_abs_diff(fused.0, reference.0) < TOL);
    assert!(max_abs_diff(fused.1, reference.1) < 1e-4, "dx");
    assert!(max_abs_diff(fused.2, reference.2) < 1e-4, "dgamma");
    assert!(max_abs_diff(fused.3, reference.3) < 1e-4, "dbeta");
}

#[test]
fn gelu_matches_burn() {
    let x = random([4, 9, 33], 11) * 3.0;
    let run = |gelu: fn(Tensor<B, 3>) -> Tensor<B, 3>| {
        let x = leaf(&x);
        let out = gelu(x.clone());
        let grads = weighted_sum(out.clone(), 12).backward();
        (out, grad(&x, &grads))
    };
    let (fused, reference) = (run(B::exact_gelu), run(burn::tensor::activation::gelu));
    assert!(max_abs_diff(fused.0, reference.0) < 1e-5);
    assert!(max_abs_diff(fused.1, reference.1) < 1e-5);
}

#[test]
fn cross_entropy_matches_burn() {
    let logits = random([37, 23], 9) * 4.0;
    let targets: Tensor<B, 1, Int> = ids::<B>(1, 37, 23, 10, &Default::default()).reshape([37]);
    let run = |loss: fn(Tensor<B, 2>, Tensor<B, 1, Int>) -> Tensor<B, 1>| {
        let logits = leaf(&logits);
        let out = loss(logits.clone(), targets.clone());
        let grads = out.backward();
        (out, grad(&logits, &grads))
    };
    let (fused, reference) = (run(B::cross_entropy), run(burn_cross_entropy));
    assert!(max_abs_diff(fused.0, reference.0) < TOL);
    assert!(max_abs_diff(fused.1, reference.1) < 1e-6);
}

#[test]
fn cross_entropy_of_a_certain_prediction_is_zero() {
    let mut values = vec![-30.0f32; 2 * 4];
    values[1] = 30.0; // row 0 predicts 1
    values[4 + 3] = 30.0; // row 1 predicts 3
    let logits = Tensor::<B, 2>::from_data(TensorData::new(values, [2, 4]), &Default::default());
    let targets =
        Tensor::<B, 1, Int>::from_data(TensorData::new(vec![1i64, 3], [2]), &Default::default());
    let loss = B::cross_entropy(logits, targets).into_scalar();
    assert!(loss.abs() < 1e-6, "{loss}");
}
