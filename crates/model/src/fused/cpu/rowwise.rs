//! The row-wise and element-wise kernels on flex tensors (f32): LayerNorm, cross-entropy
//! and GELU, each one pass over memory (two for a backward pass), rows spread over rayon's
//! threads.

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

use super::{contiguous, tensor};
use crate::fused::math::{erf, exp};

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
    let mut y = vec![0.0; xs.len()];
    let mut stats = NormStats {
        mean: vec![0.0; rows],
        rstd: vec![0.0; rows],
    };
    y.par_chunks_mut(c)
        .zip(xs.par_chunks(c))
        .zip(stats.mean.par_iter_mut().zip(stats.rstd.par_iter_mut()))
        .with_min_len(ROWS_PER_TASK)
        .for_each(|((y, x), (mean, rstd))| {
            let m = x.iter().sum::<f32>() / c as f32;
            let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f32>() / c as f32;
            let r = 1.0 / (var + epsilon as f32).sqrt();
            for j in 0..c {
                y[j] = (x[j] - m) * r * g[j] + bt[j];
            }
            (*mean, *rstd) = (m, r);
        });
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
                let (mut a, mut b) = (0.0, 0.0);
                for j in 0..c {
                    let xhat = (x[j] - m) * r;
                    let gj = dy[j] * g[j];
                    a += gj;
                    b += gj * xhat;
                    dg[j] += dy[j] * xhat;
                    db[j] += dy[j];
                }
                let (a, b) = (a / c as f32, b / c as f32);
                for j in 0..c {
                    let xhat = (x[j] - m) * r;
                    dx[j] = r * (dy[j] * g[j] - a - xhat * b);
                }
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
        .map(|row| {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            max + row.iter().map(|&x| exp(x - max)).sum::<f32>().ln()
        })
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
            for (d, x) in d.iter_mut().zip(row) {
                *d = g * exp(x - lse);
            }
            d[t] -= g;
        });
    tensor(d, shape)
}

/// Elements per rayon task in the element-wise kernels.
const ELEMENTS_PER_TASK: usize = 16 * 1024;

/// The exact GELU, `x·Φ(x)` with Φ the standard normal distribution function.
pub(crate) fn gelu(x: &FlexTensor) -> FlexTensor {
    let x = x.to_contiguous();
    let mut y = vec![0.0; x.layout().num_elements()];
    y.par_chunks_mut(ELEMENTS_PER_TASK)
        .zip(contiguous(&x).par_chunks(ELEMENTS_PER_TASK))
        .for_each(|(y, x)| {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = x * 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
            }
        });
    tensor(y, x.layout().shape().to_vec())
}

/// Gradient of [`gelu`]: `dy · (Φ(x) + x·φ(x))`.
pub(crate) fn gelu_backward(x: &FlexTensor, dy: &FlexTensor) -> FlexTensor {
    let (x, dy) = (x.to_contiguous(), dy.to_contiguous());
    let inv_sqrt_2pi = 0.5 * std::f32::consts::FRAC_2_SQRT_PI * std::f32::consts::FRAC_1_SQRT_2;
    let mut dx = vec![0.0; x.layout().num_elements()];
    dx.par_chunks_mut(ELEMENTS_PER_TASK)
        .zip(contiguous(&x).par_chunks(ELEMENTS_PER_TASK))
        .zip(contiguous(&dy).par_chunks(ELEMENTS_PER_TASK))
        .for_each(|((dx, x), dy)| {
            for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
                *dx = dy * (cdf + x * inv_sqrt_2pi * exp(-0.5 * x * x));
            }
        });
    tensor(dx, x.layout().shape().to_vec())
}
