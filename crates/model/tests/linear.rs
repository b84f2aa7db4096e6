//! The fused linear layer (bias and residual added inside the product) against burn's
//! operations, in f32 and, where the CPU has native bf16 dot products, in bf16.

mod common;

use burn::tensor::Tensor;
use common::grads::{grad, leaf, random, weighted_sum};
use common::max_abs_diff;
use midigpt_model::{
    burn_linear, cpu_feature_or_skip, set_cpu_precision, CpuFeature, CpuTrain, GptBackend,
    ModelError, Precision,
};

type B = CpuTrain;

/// The output and the gradients of x, w, bias and residual.
type Run = (Tensor<B, 2>, [Tensor<B, 2>; 4]);

type Linear =
    fn(Tensor<B, 2>, Tensor<B, 2>, Option<Tensor<B, 1>>, Option<Tensor<B, 2>>) -> Tensor<B, 2>;

/// `x` `(n, k)` times a weight `(k, m)`, stored transposed when `transposed` (the tied LM
/// head is the token embedding's transpose), plus bias and residual.
fn run(linear: Linear, n: usize, k: usize, m: usize, transposed: bool) -> Run {
    let x = leaf(&random([n, k], 1));
    let w = leaf(&if transposed {
        random([m, k], 2)
    } else {
        random([k, m], 2)
    });
    let bias = leaf(&random([m], 3));
    let residual = leaf(&random([n, m], 4));
    let w_used = if transposed {
        w.clone().transpose()
    } else {
        w.clone()
    };
    let out = linear(
        x.clone(),
        w_used,
        Some(bias.clone()),
        Some(residual.clone()),
    );
    let grads = weighted_sum(out.clone(), 5).backward();
    let dw = grad(&w, &grads);
    let dw = if transposed { dw.transpose() } else { dw };
    let db = grad(&bias, &grads).unsqueeze::<2>();
    (out, [grad(&x, &grads), dw, db, grad(&residual, &grads)])
}

/// Largest difference relative to the reference's largest magnitude.
fn rel_diff(ours: Tensor<B, 2>, reference: Tensor<B, 2>) -> f32 {
    let scale = reference.clone().abs().max().into_scalar().max(1e-6);
    max_abs_diff(ours, reference) / scale
}

/// Checks forward and gradients against burn's f32 operations to within `tol` of each
/// tensor's largest magnitude.
fn check(tol: f32) {
    // Sizes off every block edge: 37 rows (micro-kernels take 12), inner 45 (odd: bf16 takes
    // pairs), 70 columns (blocks of 32).
    for (n, k, m, transposed) in [(37, 45, 70, false), (37, 45, 70, true), (1, 1, 1, false)] {
        let (ours, ours_grads) = run(B::fused_linear, n, k, m, transposed);
        let (reference, reference_grads) = run(burn_linear, n, k, m, transposed);
        let diff = rel_diff(ours, reference);
        assert!(diff < tol, "forward off by {diff} ({n}×{k}·{k}×{m})");
        let names = ["x", "w", "bias", "residual"];
        for ((name, o), r) in names.iter().zip(ours_grads).zip(reference_grads) {
            let diff = rel_diff(o, r);
            assert!(
                diff < tol,
                "d{name} off by {diff} ({n}×{k}·{k}×{m}, t={transposed})"
            );
        }
    }
}

#[test]
fn f32_linear_matches_burn() {
    set_cpu_precision(Precision::F32).unwrap();
    // Different accumulation orders: f32 rounding only.
    check(1e-5);
}

#[test]
fn bf16_linear_matches_f32_to_bf16_rounding() {
    if !cpu_feature_or_skip(CpuFeature::Bf16) {
        assert!(matches!(
            set_cpu_precision(Precision::Bf16),
            Err(ModelError::Bf16Unsupported)
        ));
        return;
    }
    set_cpu_precision(Precision::Bf16).unwrap();
    // Operands rounded to 8 significant bits (relative error ≤ 2⁻⁹ each), f32 sums: sums of
    // up to 45 terms of mixed sign stay within 1% of the largest element.
    check(1e-2);
    // Not exact f32 either: the bf16 path really ran.
    let (ours, _) = run(B::fused_linear, 37, 45, 70, false);
    set_cpu_precision(Precision::F32).unwrap();
    let (f32_out, _) = run(B::fused_linear, 37, 45, 70, false);
    assert!(rel_diff(ours, f32_out) > 1e-6, "bf16 gave f32's bits");
}
