//! The fused CPU training kernels against burn's own operations: same values, same gradients.

mod common;

use burn::tensor::{Int, Tensor, TensorData};
use common::grads::{grad, leaf, random, weighted_sum};
use common::{ids, max_abs_diff};
use midigpt_model::{
    burn_attention, burn_cross_entropy, burn_layernorm, cpu_feature_or_skip, set_cpu_precision,
    CpuFeature, CpuTrain, GptBackend, Precision,
};

type B = CpuTrain;

/// Kernels and reference accumulate in different orders: f32 rounding, nothing more.
const TOL: f32 = 2e-5;

fn check_attention(b: usize, nh: usize, t: usize, s: usize, hs: usize, tol: f32) {
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
    assert!(max_abs_diff(fused, reference) < tol, "forward T={t} S={s}");
    for ((name, f), r) in ["q", "k", "v"].iter().zip(fused_grads).zip(reference_grads) {
        let diff = max_abs_diff(f, r);
        assert!(diff < tol, "d{name} differs by {diff} (T={t} S={s})");
    }
}

/// The shapes every precision is checked on.
fn check_attention_shapes(tol: f32) {
    check_attention(2, 3, 70, 70, 8, tol); // more than one row block, a ragged last one
    check_attention(1, 2, 129, 129, 16, tol);
    check_attention(2, 2, 5, 70, 8, tol); // 5 new queries after 65 cached keys
    check_attention(1, 1, 1, 1, 4, tol);
}

#[test]
fn attention_matches_burn_over_row_blocks_and_cached_keys() {
    set_cpu_precision(Precision::F32).unwrap();
    check_attention_shapes(TOL);
}

/// Where attention's products run on bf16 tiles (AMX), they match f32 to bf16 rounding, and
/// really are not f32.
#[test]
fn bf16_attention_matches_burn_to_bf16_rounding() {
    // Attention's products stay f32 without AMX.
    if !cpu_feature_or_skip(CpuFeature::Amx) {
        return;
    }
    set_cpu_precision(Precision::Bf16).unwrap();
    // Inputs in [-1, 1), operands rounded to 8 significant bits: scores and outputs within
    // a few hundredths.
    check_attention_shapes(3e-2);
    let result = std::panic::catch_unwind(|| check_attention(2, 3, 70, 70, 8, TOL));
    set_cpu_precision(Precision::F32).unwrap();
    assert!(result.is_err(), "bf16 attention gave f32's values");
}

/// burn's operations for [`GptBackend::causal_self_attention`]: views and burn's attention.
fn reference_self_attention(qkv: Tensor<B, 3>, n_head: usize) -> Tensor<B, 3> {
    let [b, t, c3] = qkv.dims();
    let (c, hs) = (c3 / 3, c3 / 3 / n_head);
    let heads = |x: Tensor<B, 3>| x.reshape([b, t, n_head, hs]).swap_dims(1, 2);
    let [q, k, v] = [0, 1, 2].map(|i| heads(qkv.clone().narrow(2, i * c, c)));
    burn_attention(q, k, v).swap_dims(1, 2).reshape([b, t, c])
}

#[test]
fn self_attention_on_the_fused_projection_matches_burn() {
    for (b, t, nh, hs) in [(2, 70, 3, 8), (1, 1, 1, 4)] {
        let qkv = random([b, t, 3 * nh * hs], 21);
        let run = |attention: fn(Tensor<B, 3>, usize) -> Tensor<B, 3>| {
            let qkv = leaf(&qkv);
            let out = attention(qkv.clone(), nh);
            let grads = weighted_sum(out.clone(), 22).backward();
            (out, grad(&qkv, &grads))
        };
        let (fused, reference) = (run(B::causal_self_attention), run(reference_self_attention));
        assert!(max_abs_diff(fused.0, reference.0) < TOL, "forward T={t}");
        let diff = max_abs_diff(fused.1, reference.1);
        assert!(diff < TOL, "dqkv differs by {diff} (T={t})");
    }
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
