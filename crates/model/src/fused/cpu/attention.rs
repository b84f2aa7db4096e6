//! Causal attention on flex tensors (f32): per head, the score block of each group of query
//! rows is computed, soft-maxed and applied in one go, through the `gemm` crate (the one flex
//! uses for its own products), heads spread over rayon's threads.

use burn::backend::flex::FlexTensor;
use gemm::Parallelism;
use rayon::prelude::*;

use super::tensor;
use crate::fused::math::exp;

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

/// Row blocks `(r0, r1, keys)` of a causal `(T, S)` attention matrix: rows `r0..r1` see keys
/// `0..keys`.
fn row_blocks(t: usize, s: usize) -> impl Iterator<Item = (usize, usize, usize)> {
    (0..t).step_by(ROW_BLOCK).map(move |r0| {
        let r1 = (r0 + ROW_BLOCK).min(t);
        (r0, r1, (r1 + s - t).min(s))
    })
}

/// Causal attention for `q` `(B, nh, T, hs)`, `k`, `v` `(B, nh, S, hs)`: the output
/// `(B, nh, T, hs)` and the probabilities `(B, nh, T, S)` (zero above the diagonal).
pub(crate) fn attention(
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
pub(crate) fn attention_backward(
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
