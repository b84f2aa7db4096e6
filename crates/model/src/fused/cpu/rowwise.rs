//! The row-wise and element-wise kernels on flex tensors (f32): LayerNorm, cross-entropy
//! and GELU, each one pass over memory (two for a backward pass), rows spread over rayon's
//! threads.

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

use std::mem::MaybeUninit;

use super::{contiguous, tensor, written};
use crate::fused::math::{erf, exp, max_of, sum1, sum2, sum3};

/// What LayerNorm's backward pass needs besides its input: per-row mean and 1/σ.
#[derive(Clone, Debug)]
pub(crate) struct NormStats {
    mean: Vec<f32>,
    rstd: Vec<f32>,
}

/// Rows per rayon task in the row-wise kernels.
const ROWS_PER_TASK: usize = 32;

/// LayerNorm over the last dimension: `(x − mean)/σ · gamma + beta`.
pub(crate) fn layernorm(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
) -> (FlexTensor, NormStats) {
    let x = x.to_contiguous();
    let shape = x.layout().shape().dims::<3>().to_vec();
    let c = shape[2];
    let (gamma, beta) = (gamma.to_contiguous(), beta.to_contiguous());
    let (xs, g, bt) = (contiguous(&x), contiguous(&gamma), contiguous(&beta));
    let rows = xs.len() / c.max(1);
    let mut stats = NormStats {
        mean: vec![0.0; rows],
        rstd: vec![0.0; rows],
    };
    // SAFETY: every row of `y` is written by `layernorm_row`.
    let y = unsafe {
        written(xs.len(), |y| {
            y.par_chunks_mut(c.max(1))
                .zip(xs.par_chunks(c.max(1)))
                .zip(stats.mean.par_iter_mut().zip(stats.rstd.par_iter_mut()))
                .with_min_len(ROWS_PER_TASK)
                .for_each(|((y, x), (mean, rstd))| {
                    (*mean, *rstd) = layernorm_row(y, x, g, bt, epsilon as f32);
                })
        })
    };
    (tensor(y, shape), stats)
}

/// Gradients `(dx, dgamma, dbeta)` of [`layernorm`] given the output gradient `dy`.
pub(crate) fn layernorm_backward(
    x: &FlexTensor,
    stats: &NormStats,
    gamma: &FlexTensor,
    dy: &FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (x, dy) = (x.to_contiguous(), dy.to_contiguous());
    let shape = x.layout().shape().dims::<3>().to_vec();
    let c = shape[2];
    let gamma = gamma.to_contiguous();
    let (xs, dys, g) = (contiguous(&x), contiguous(&dy), contiguous(&gamma));
    let mut dx = vec![0.0; xs.len()];
    let chunk = ROWS_PER_TASK * c.max(1);
    let (dgamma, dbeta) = dx
        .par_chunks_mut(chunk)
        .zip(xs.par_chunks(chunk).zip(dys.par_chunks(chunk)))
        .enumerate()
        .map(|(n, (dx, (x, dy)))| {
            let (mut dg, mut db) = (vec![0.0; c], vec![0.0; c]);
            for (i, ((dx, x), dy)) in dx
                .chunks_mut(c)
                .zip(x.chunks(c))
                .zip(dy.chunks(c))
                .enumerate()
            {
                let row = n * ROWS_PER_TASK + i;
                let (m, r) = (stats.mean[row], stats.rstd[row]);
                layernorm_backward_row(dx, x, dy, g, &mut dg, &mut db, m, r);
            }
            (dg, db)
        })
        // Collected in order and summed in order: the same bits every run, as resuming needs
        // (rayon's `reduce` pairs partial sums as the threads happen to split the work).
        .collect::<Vec<_>>()
        .into_iter()
        .fold(
            (vec![0.0; c], vec![0.0; c]),
            |(mut g1, mut b1), (g2, b2)| {
                g1.iter_mut().zip(g2).for_each(|(a, b)| *a += b);
                b1.iter_mut().zip(b2).for_each(|(a, b)| *a += b);
                (g1, b1)
            },
        );
    (
        tensor(dx, shape),
        tensor(dgamma, vec![c]),
        tensor(dbeta, vec![c]),
    )
}

/// What the cross-entropy backward pass needs besides the logits: each row's log-sum-exp.
#[derive(Clone, Debug)]
pub(crate) struct LossStats {
    lse: Vec<f32>,
    targets: Vec<usize>,
}

/// Mean over rows of `logsumexp(logits[r]) − logits[r, target[r]]`, for `logits` `(N, V)`.
pub(crate) fn cross_entropy(logits: &FlexTensor, targets: Vec<usize>) -> (FlexTensor, LossStats) {
    let logits = logits.to_contiguous();
    let ls = contiguous(&logits);
    let v = logits.layout().shape().dims::<2>()[1];
    assert_eq!(ls.len(), targets.len() * v, "one target per row");
    assert!(
        targets.iter().all(|&t| t < v),
        "target id outside the vocabulary"
    );
    let lse: Vec<f32> = ls
        .par_chunks(v)
        .with_min_len(ROWS_PER_TASK)
        .map(log_sum_exp)
        .collect();
    let total: f64 = lse
        .iter()
        .zip(&targets)
        .enumerate()
        .map(|(r, (lse, &t))| (lse - ls[r * v + t]) as f64)
        .sum();
    let loss = (total / targets.len().max(1) as f64) as f32;
    (tensor(vec![loss], vec![1]), LossStats { lse, targets })
}

/// Gradient of [`cross_entropy`] for the logits: `grad/N · (softmax − onehot(target))`.
pub(crate) fn cross_entropy_backward(
    logits: &FlexTensor,
    stats: &LossStats,
    grad: &FlexTensor,
) -> FlexTensor {
    let logits = logits.to_contiguous();
    let shape = logits.layout().shape().dims::<2>().to_vec();
    let (ls, v) = (contiguous(&logits), shape[1]);
    let grad = grad.to_contiguous();
    let g = contiguous(&grad)[0] / stats.targets.len().max(1) as f32;
    let mut d = vec![0.0; ls.len()];
    d.par_chunks_mut(v)
        .zip(ls.par_chunks(v))
        .zip(stats.lse.par_iter().zip(stats.targets.par_iter()))
        .with_min_len(ROWS_PER_TASK)
        .for_each(|((d, row), (&lse, &t))| {
            softmax_grad_row(d, row, lse, g);
            d[t] -= g;
        });
    tensor(d, shape)
}

/// Elements per rayon task in the element-wise kernels.
const ELEMENTS_PER_TASK: usize = 16 * 1024;

/// The exact GELU, `x·Φ(x)` with Φ the standard normal distribution function.
pub(crate) fn gelu(x: &FlexTensor) -> FlexTensor {
    let x = x.to_contiguous();
    let xs = contiguous(&x);
    // SAFETY: the chunks of `y` and `x` pair up one to one and `gelu_slice` writes all of each.
    let y = unsafe {
        written(xs.len(), |y| {
            y.par_chunks_mut(ELEMENTS_PER_TASK)
                .zip(xs.par_chunks(ELEMENTS_PER_TASK))
                .for_each(|(y, x)| gelu_slice(y, x))
        })
    };
    tensor(y, x.layout().shape().to_vec())
}

/// Gradient of [`gelu`]: `dy · (Φ(x) + x·φ(x))`.
pub(crate) fn gelu_backward(x: &FlexTensor, dy: &FlexTensor) -> FlexTensor {
    let (x, dy) = (x.to_contiguous(), dy.to_contiguous());
    let (xs, dys) = (contiguous(&x), contiguous(&dy));
    assert_eq!(xs.len(), dys.len(), "gradient shape");
    // SAFETY: as in `gelu`.
    let dx = unsafe {
        written(xs.len(), |dx| {
            dx.par_chunks_mut(ELEMENTS_PER_TASK)
                .zip(xs.par_chunks(ELEMENTS_PER_TASK))
                .zip(dys.par_chunks(ELEMENTS_PER_TASK))
                .for_each(|((dx, x), dy)| gelu_backward_slice(dx, x, dy))
        })
    };
    tensor(dx, x.layout().shape().to_vec())
}

simd_fn! {
    /// `y = x·Φ(x)`.
    fn gelu_slice(y: &mut [MaybeUninit<f32>], x: &[f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            y.write(x * 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2)));
        }
    }
}

simd_fn! {
    /// `dx = dy · (Φ(x) + x·φ(x))`.
    fn gelu_backward_slice(dx: &mut [MaybeUninit<f32>], x: &[f32], dy: &[f32]) {
        let inv_sqrt_2pi = 0.5 * std::f32::consts::FRAC_2_SQRT_PI * std::f32::consts::FRAC_1_SQRT_2;
        for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
            let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
            dx.write(dy * (cdf + x * inv_sqrt_2pi * exp(-0.5 * x * x)));
        }
    }
}

simd_fn! {
    /// One row of LayerNorm: `y = (x − m)·r·g + b`; returns the mean `m` and `r = 1/σ`.
    fn layernorm_row(
        y: &mut [MaybeUninit<f32>],
        x: &[f32],
        g: &[f32],
        b: &[f32],
        eps: f32,
    ) -> (f32, f32) {
        let c = x.len() as f32;
        let m = sum1(x, |x| x) / c;
        let var = sum1(x, |x| (x - m) * (x - m)) / c;
        let r = 1.0 / (var + eps).sqrt();
        for (((y, &x), &g), &b) in y.iter_mut().zip(x).zip(g).zip(b) {
            y.write((x - m) * r * g + b);
        }
        (m, r)
    }
}

simd_fn! {
    /// One row of LayerNorm's backward pass: `dx`, with the row's share of the gradients of
    /// gamma and beta added to `dg` and `db`.
    #[allow(clippy::too_many_arguments)]
    fn layernorm_backward_row(
        dx: &mut [f32],
        x: &[f32],
        dy: &[f32],
        g: &[f32],
        dg: &mut [f32],
        db: &mut [f32],
        m: f32,
        r: f32,
    ) {
        let c = x.len() as f32;
        let a = sum2(dy, g, |dy, g| dy * g) / c;
        let b = sum3(dy, g, x, |dy, g, x| dy * g * ((x - m) * r)) / c;
        let grads = dg.iter_mut().zip(db.iter_mut());
        for ((((dx, &x), &dy), &g), (dg, db)) in dx.iter_mut().zip(x).zip(dy).zip(g).zip(grads) {
            let xhat = (x - m) * r;
            *dg += dy * xhat;
            *db += dy;
            *dx = r * (dy * g - a - xhat * b);
        }
    }
}

simd_fn! {
    /// `log Σ exp(x)`, shifted by the row's largest value.
    fn log_sum_exp(x: &[f32]) -> f32 {
        let max = max_of(x);
        max + sum1(x, |x| exp(x - max)).ln()
    }
}

simd_fn! {
    /// `d = g·exp(x − lse)`: the softmax of a row scaled by `g`.
    fn softmax_grad_row(d: &mut [f32], x: &[f32], lse: f32, g: f32) {
        for (d, &x) in d.iter_mut().zip(x) {
            *d = g * exp(x - lse);
        }
    }
}
