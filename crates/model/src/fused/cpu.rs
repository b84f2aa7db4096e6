//! Forward and backward kernels of the fused operations on flex tensors (f32): one pass over
//! memory where burn's decomposition makes ten, products through the `gemm` crate (the one
//! flex itself uses), work split over rayon's threads.

use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, TensorData};
use gemm::Parallelism;
use rayon::prelude::*;

use super::math::{erf, exp};

/// Rows of the attention matrix computed together: causal attention skips, for each block of
/// query rows, the key columns none of them sees (about 40% of the work at T = 256).
const ROW_BLOCK: usize = 64;

/// A strided matrix inside a tensor's storage.
#[derive(Clone, Copy)]
struct Mat {
    ptr: *const f32,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
}

impl Mat {
    /// A row-major matrix over `data` with row stride `ld`.
    fn dense(data: &[f32], rows: usize, cols: usize, ld: usize) -> Self {
        assert!(rows == 0 || (rows - 1) * ld + cols <= data.len());
        Mat {
            ptr: data.as_ptr(),
            rows,
            cols,
            rs: ld as isize,
            cs: 1,
        }
    }

    fn t(self) -> Self {
        Mat {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Rows `r0..r1`, columns `0..cols`.
    fn block(self, r0: usize, r1: usize, cols: usize) -> Self {
        assert!(r0 <= r1 && r1 <= self.rows && cols <= self.cols);
        Mat {
            // SAFETY: r0 < rows, so the offset stays inside the matrix.
            ptr: self.ptr.wrapping_offset(r0 as isize * self.rs),
            rows: r1 - r0,
            cols,
            ..self
        }
    }
}

/// `dst = beta·a·b`, or `dst += beta·a·b` when `accumulate`; `dst` row-major with row stride
/// `ld`. Single-threaded: callers parallelise over heads.
fn matmul(dst: &mut [f32], ld: usize, a: Mat, b: Mat, beta: f32, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    let (m, n) = (a.rows, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    assert!((m - 1) * ld + n <= dst.len(), "destination too small");
    // SAFETY: the destination bounds are checked above; `a` and `b` were built from views whose
    // extents were checked against their storage (`Mat::dense`, `Heads::mat`).
    unsafe {
        gemm::gemm(
            m,
            n,
            a.cols,
            dst.as_mut_ptr(),
            1,
            ld as isize,
            accumulate,
            a.ptr,
            a.cs,
            a.rs,
            b.ptr,
            b.cs,
            b.rs,
            if accumulate { 1.0 } else { 0.0 },
            beta,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// A `(B, n, L, hs)` f32 tensor with non-negative strides, read one `(L, hs)` head at a time.
struct Heads<'a> {
    data: &'a [f32],
    offset: usize,
    strides: [usize; 4],
    dims: [usize; 4],
}

impl<'a> Heads<'a> {
    fn new(t: &'a FlexTensor) -> Self {
        let layout = t.layout();
        let dims: [usize; 4] = layout.shape().dims();
        let strides = layout.strides();
        let strides = [0, 1, 2, 3].map(|i| usize::try_from(strides[i]).expect("strided view"));
        let data: &[f32] = t.storage();
        let last = layout.start_offset()
            + (0..4)
                .map(|i| dims[i].saturating_sub(1) * strides[i])
                .sum::<usize>();
        assert!(dims.contains(&0) || last < data.len(), "view past storage");
        Heads {
            data,
            offset: layout.start_offset(),
            strides,
            dims,
        }
    }

    /// Head `h` of batch row `b`: an `(L, hs)` matrix.
    fn mat(&self, b: usize, h: usize) -> Mat {
        let [s0, s1, s2, s3] = self.strides;
        let start = self.offset + b * s0 + h * s1;
        Mat {
            ptr: self.data[start..].as_ptr(),
            rows: self.dims[2],
            cols: self.dims[3],
            rs: s2 as isize,
            cs: s3 as isize,
        }
    }
}

/// A tensor whose strides [`Heads`] can read: non-negative (broadcast strides of 0 are fine).
fn readable(t: &FlexTensor) -> FlexTensor {
    if t.layout().strides().iter().all(|&s| s >= 0) {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Row blocks `(r0, r1, keys)` of a causal `(T, S)` attention matrix: rows `r0..r1` see keys
/// `0..keys`.
fn row_blocks(t: usize, s: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..t).step_by(ROW_BLOCK).map(move |r0| {
        let r1 = (r0 + ROW_BLOCK).min(t);
        (r0, r1, (r1 + s - t).min(s))
    })
}

/// Whether these tensors can go through the kernels below.
pub(super) fn supported(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// Causal attention for `q` `(B, nh, T, hs)`, `k`, `v` `(B, nh, S, hs)`: the output
/// `(B, nh, T, hs)` and the probabilities `(B, nh, T, S)` (zero above the diagonal).
pub(super) fn attention(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
) -> (FlexTensor, FlexTensor) {
    let (q, k, v) = (readable(q), readable(k), readable(v));
    let (qh, kh, vh) = (Heads::new(&q), Heads::new(&k), Heads::new(&v));
    let [b, nh, t, hs] = qh.dims;
    let s = kh.dims[2];
    assert!(
        s >= t && kh.dims == [b, nh, s, hs] && vh.dims == kh.dims,
        "attention shapes"
    );
    let scale = 1.0 / (hs as f32).sqrt();
    let mut out = vec![0.0; b * nh * t * hs];
    let mut probs = vec![0.0; b * nh * t * s];
    out.par_chunks_mut(t * hs.max(1))
        .zip(probs.par_chunks_mut(t * s.max(1)))
        .enumerate()
        .for_each(|(i, (o, p))| {
            let (q, k, v) = (
                qh.mat(i / nh, i % nh),
                kh.mat(i / nh, i % nh),
                vh.mat(i / nh, i % nh),
            );
            for (r0, r1, keys) in row_blocks(t, s) {
                // P[r0..r1, ..keys] = scale · Q[r0..r1] · K[..keys]ᵀ, then softmax by row.
                let rows = &mut p[r0 * s..];
                matmul(
                    rows,
                    s,
                    q.block(r0, r1, hs),
                    k.block(0, keys, hs).t(),
                    scale,
                    false,
                );
                for r in r0..r1 {
                    softmax_prefix(&mut p[r * s..(r + 1) * s], r + 1 + s - t);
                }
                // O[r0..r1] = P[r0..r1, ..keys] · V[..keys]
                let pm = Mat::dense(&p[r0 * s..], r1 - r0, keys, s);
                matmul(&mut o[r0 * hs..], hs, pm, v.block(0, keys, hs), 1.0, false);
            }
        });
    (
        tensor(out, vec![b, nh, t, hs]),
        tensor(probs, vec![b, nh, t, s]),
    )
}

/// Softmax of `row[..n]` in place; the rest of the row (masked keys) becomes 0.
fn softmax_prefix(row: &mut [f32], n: usize) {
    let (seen, masked) = row.split_at_mut(n);
    let max = seen.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in seen.iter_mut() {
        *x = exp(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    seen.iter_mut().for_each(|x| *x *= inv);
    masked.fill(0.0);
}

/// Gradients `[dq, dk, dv]` of [`attention`] given the output gradient `dout` `(B, nh, T, hs)`.
pub(super) fn attention_backward(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    probs: &FlexTensor,
    dout: &FlexTensor,
) -> [FlexTensor; 3] {
    let (q, k, v, dout) = (readable(q), readable(k), readable(v), readable(dout));
    let (qh, kh, vh, dh) = (
        Heads::new(&q),
        Heads::new(&k),
        Heads::new(&v),
        Heads::new(&dout),
    );
    let [b, nh, t, hs] = qh.dims;
    let s = kh.dims[2];
    assert!(dh.dims == qh.dims, "attention gradient shape");
    let probs: &[f32] = probs.storage();
    let scale = 1.0 / (hs as f32).sqrt();
    let mut dq = vec![0.0; b * nh * t * hs];
    let mut dk = vec![0.0; b * nh * s * hs];
    let mut dv = vec![0.0; b * nh * s * hs];
    dq.par_chunks_mut(t * hs.max(1))
        .zip(dk.par_chunks_mut(s * hs.max(1)))
        .zip(dv.par_chunks_mut(s * hs.max(1)))
        .enumerate()
        .for_each(|(i, ((dq, dk), dv))| {
            let (bi, hi) = (i / nh, i % nh);
            let (q, k, v, d_o) = (
                qh.mat(bi, hi),
                kh.mat(bi, hi),
                vh.mat(bi, hi),
                dh.mat(bi, hi),
            );
            let p = &probs[i * t * s..(i + 1) * t * s];
            let mut ds = vec![0.0; t * s];
            for (r0, r1, keys) in row_blocks(t, s) {
                let pm = Mat::dense(&p[r0 * s..], r1 - r0, keys, s);
                let d_o = d_o.block(r0, r1, hs);
                // (dK and dV start at zero and gather every row block.)
                // dV[..keys] += P[r0..r1, ..keys]ᵀ · dO[r0..r1]
                matmul(dv, hs, pm.t(), d_o, 1.0, true);
                // dP = dO · Vᵀ, then dS = P ∘ (dP − rowsum(P ∘ dP))
                matmul(
                    &mut ds[r0 * s..],
                    s,
                    d_o,
                    v.block(0, keys, hs).t(),
                    1.0,
                    false,
                );
                for r in r0..r1 {
                    let (pr, dr) = (&p[r * s..r * s + keys], &mut ds[r * s..r * s + keys]);
                    let dot: f32 = pr.iter().zip(dr.iter()).map(|(p, d)| p * d).sum();
                    dr.iter_mut().zip(pr).for_each(|(d, p)| *d = p * (*d - dot));
                }
                let dsm = Mat::dense(&ds[r0 * s..], r1 - r0, keys, s);
                // dQ[r0..r1] = scale · dS · K[..keys];  dK[..keys] += scale · dSᵀ · Q[r0..r1]
                matmul(
                    &mut dq[r0 * hs..],
                    hs,
                    dsm,
                    k.block(0, keys, hs),
                    scale,
                    false,
                );
                matmul(dk, hs, dsm.t(), q.block(r0, r1, hs), scale, true);
            }
        });
    [
        tensor(dq, vec![b, nh, t, hs]),
        tensor(dk, vec![b, nh, s, hs]),
        tensor(dv, vec![b, nh, s, hs]),
    ]
}

/// What LayerNorm's backward pass needs besides its input: per-row mean and 1/σ.
#[derive(Clone, Debug)]
pub(super) struct NormStats {
    mean: Vec<f32>,
    rstd: Vec<f32>,
}

/// Rows per rayon task in the row-wise kernels.
const ROWS_PER_TASK: usize = 32;

/// LayerNorm over the last dimension: `(x − mean)/σ · gamma + beta`.
pub(super) fn layernorm(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
) -> (FlexTensor, NormStats) {
    let x = x.to_contiguous();
    let shape = x.layout().shape().dims::<3>().to_vec();
    let c = shape[2];
    let (xs, g, bt) = (contiguous(&x), contiguous(gamma), contiguous(beta));
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
pub(super) fn layernorm_backward(
    x: &FlexTensor,
    stats: &NormStats,
    gamma: &FlexTensor,
    dy: &FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (x, dy) = (x.to_contiguous(), dy.to_contiguous());
    let shape = x.layout().shape().dims::<3>().to_vec();
    let c = shape[2];
    let (xs, dys, g) = (contiguous(&x), contiguous(&dy), contiguous(gamma));
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
        .reduce(
            || (vec![0.0; c], vec![0.0; c]),
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
pub(super) struct LossStats {
    lse: Vec<f32>,
    targets: Vec<usize>,
}

/// Mean over rows of `logsumexp(logits[r]) − logits[r, target[r]]`, for `logits` `(N, V)`.
pub(super) fn cross_entropy(logits: &FlexTensor, targets: Vec<usize>) -> (FlexTensor, LossStats) {
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
pub(super) fn cross_entropy_backward(
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
pub(super) fn gelu(x: &FlexTensor) -> FlexTensor {
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
pub(super) fn gelu_backward(x: &FlexTensor, dy: &FlexTensor) -> FlexTensor {
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

/// The elements of a contiguous f32 tensor.
fn contiguous(t: &FlexTensor) -> &[f32] {
    t.as_slice().expect("contiguous f32 tensor")
}
