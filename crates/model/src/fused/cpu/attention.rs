//! Causal attention on flex tensors (f32): per head, the score block of each group of query
//! rows is computed, soft-maxed and applied in one go, heads spread over rayon's threads.
//!
//! Two layouts: separate `(B, nh, L, hs)` q, k and v ([`attention`]), and the fused one the
//! GPT-2 block uses ([`self_attention`]): q, k and v read straight out of the `(B, T, 3C)`
//! projection and the result written straight into `(B, T, C)` with the heads side by side,
//! so that neither pass copies heads apart or back together.

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

use super::mat::Mat;
use super::matmul::{matmul_to, SendPtr};
use super::{readable, tensor};
use crate::fused::math::{exp, max_of, sum1, sum2};
use crate::fused::Precision;

thread_local! {
    /// Each thread's `dS` block of one head in [`backward`].
    static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Rows of the attention matrix computed together: causal attention skips, for each block of
/// query rows, the key columns none of them sees (about 40% of the work at T = 256).
const ROW_BLOCK: usize = 64;

/// A `(B, n, L, hs)` f32 tensor with non-negative strides, read one `(L, hs)` head at a time.
#[derive(Clone, Copy)]
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

    /// Columns `col0..col0 + n·hs` of a contiguous `(B, L, W)` tensor as `n` heads of `hs`.
    fn columns(t: &'a FlexTensor, n: usize, hs: usize, col0: usize) -> Self {
        let [b, l, w]: [usize; 3] = t.layout().shape().dims();
        assert!(t.is_contiguous() && col0 + n * hs <= w, "head columns");
        Heads {
            data: t.storage(),
            offset: t.layout().start_offset() + col0,
            strides: [l * w, hs, w, 1],
            dims: [b, n, l, hs],
        }
    }

    /// Head `h` of batch row `b`: an `(L, hs)` matrix.
    fn mat(&self, b: usize, h: usize) -> Mat<'a> {
        let [s0, s1, s2, s3] = self.strides;
        let start = self.offset + b * s0 + h * s1;
        Mat::new(&self.data[start..], self.dims[2], self.dims[3], s2, s3)
    }
}

/// Each head's products, in the precision the operation was called with.
#[derive(Clone, Copy)]
struct Products(Precision);

impl Products {
    /// [`matmul_to`] in this precision.
    ///
    /// # Safety
    /// As [`matmul_to`].
    unsafe fn run(self, dst: *mut f32, ld: usize, a: Mat, b: Mat, beta: f32, acc: bool) {
        // SAFETY: the caller's contract.
        unsafe { matmul_to(self.0, dst, ld, a, b, beta, acc) }
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

/// Where heads' `(L, hs)` results go in a buffer: row `r` of head `h` of batch row `b` starts
/// at `base + b·batch + h·head + r·row`.
#[derive(Clone, Copy)]
struct Place {
    base: SendPtr,
    batch: usize,
    head: usize,
    row: usize,
}

impl Place {
    /// Heads one after the other, `(B, n, L, hs)`.
    fn heads(buf: &mut [f32], n: usize, l: usize, hs: usize) -> Place {
        let batch = n * l * hs;
        let place = Place {
            base: SendPtr(buf.as_mut_ptr()),
            batch,
            head: l * hs,
            row: hs,
        };
        place.check(buf.len(), buf.len() / batch.max(1), [n, l, hs])
    }

    /// Heads side by side from column `col0` of a `(B, L, W)` buffer.
    fn columns(buf: &mut [f32], l: usize, w: usize, col0: usize, dims: [usize; 3]) -> Place {
        let rows = buf.len() / (l * w).max(1);
        let col0 = col0.min(buf.len());
        let place = Place {
            base: SendPtr(buf[col0..].as_mut_ptr()),
            batch: l * w,
            head: dims[2],
            row: w,
        };
        place.check(buf.len() - col0, rows, dims)
    }

    /// Checks that every element of `rows` batch rows of heads `dims` `[n, L, hs]` falls
    /// inside the `len` elements after `base`.
    fn check(self, len: usize, rows: usize, dims: [usize; 3]) -> Place {
        let [n, l, hs] = dims;
        let last = rows.saturating_sub(1) * self.batch
            + n.saturating_sub(1) * self.head
            + l.saturating_sub(1) * self.row
            + hs;
        assert!(rows * n * l * hs == 0 || last <= len, "place past buffer");
        self
    }

    /// Where row 0 of head `h` of batch row `b` goes.
    fn at(&self, b: usize, h: usize) -> *mut f32 {
        self.base.get().wrapping_add(b * self.batch + h * self.head)
    }
}

/// Causal attention of heads `qh` `(B, nh, T, hs)` over `kh`, `vh` `(B, nh, S, hs)`, each
/// head's output written to `out`: the probabilities `(B, nh, T, S)` (zero above the
/// diagonal).
fn forward(qh: Heads, kh: Heads, vh: Heads, out: Place, precision: Precision) -> Vec<f32> {
    let [b, nh, t, hs] = qh.dims;
    let s = kh.dims[2];
    assert!(
        s >= t && kh.dims == [b, nh, s, hs] && vh.dims == kh.dims,
        "attention shapes"
    );
    let scale = 1.0 / (hs as f32).sqrt();
    let mm = Products(precision);
    let mut probs = vec![0.0; b * nh * t * s];
    probs
        .par_chunks_mut(t * s.max(1))
        .enumerate()
        .for_each(|(i, p)| {
            let (bi, hi) = (i / nh, i % nh);
            let (q, k, v) = (qh.mat(bi, hi), kh.mat(bi, hi), vh.mat(bi, hi));
            let o = out.at(bi, hi);
            for (r0, r1, keys) in row_blocks(t, s) {
                // P[r0..r1, ..keys] = scale · Q[r0..r1] · K[..keys]ᵀ, then softmax by row.
                let (qb, kb) = (q.block(r0, r1, hs), k.block(0, keys, hs).t());
                // SAFETY: rows r0..r1 of this head's own probability chunk.
                unsafe { mm.run(p[r0 * s..].as_mut_ptr(), s, qb, kb, scale, false) };
                for r in r0..r1 {
                    softmax_prefix(&mut p[r * s..(r + 1) * s], r + 1 + s - t);
                }
                // O[r0..r1] = P[r0..r1, ..keys] · V[..keys]
                let pm = Mat::dense(&p[r0 * s..], r1 - r0, keys, s);
                let dst = o.wrapping_add(r0 * out.row);
                // SAFETY: this head's rows of `out`, inside it (`Place::check`); no other
                // task writes them.
                unsafe { mm.run(dst, out.row, pm, v.block(0, keys, hs), 1.0, false) };
            }
        });
    probs
}

/// Gradients of [`forward`] given `dh` `(B, nh, T, hs)`, written to `dq`, `dk` and `dv`
/// (which start at zero: `dk` and `dv` gather every row block).
fn backward(
    qh: Heads,
    kh: Heads,
    vh: Heads,
    probs: &[f32],
    dh: Heads,
    grads: [Place; 3],
    precision: Precision,
) {
    let [b, nh, t, hs] = qh.dims;
    let s = kh.dims[2];
    assert!(
        dh.dims == qh.dims && probs.len() == b * nh * t * s,
        "attention gradient shape"
    );
    let scale = 1.0 / (hs as f32).sqrt();
    let mm = Products(precision);
    let [dq, dk, dv] = grads;
    (0..b * nh).into_par_iter().for_each(|i| {
        let (bi, hi) = (i / nh, i % nh);
        let (q, k, v, d_o) = (
            qh.mat(bi, hi),
            kh.mat(bi, hi),
            vh.mat(bi, hi),
            dh.mat(bi, hi),
        );
        let (dq_h, dk_h, dv_h) = (dq.at(bi, hi), dk.at(bi, hi), dv.at(bi, hi));
        let p = &probs[i * t * s..(i + 1) * t * s];
        // Each row block writes its own rows of `ds` before reading them, so the buffer is
        // reused from head to head without clearing.
        SCRATCH.with_borrow_mut(|ds| {
            ds.resize(t * s, 0.0);
            for (r0, r1, keys) in row_blocks(t, s) {
                let pm = Mat::dense(&p[r0 * s..], r1 - r0, keys, s);
                let d_o = d_o.block(r0, r1, hs);
                // SAFETY (every product below): the destinations are this head's rows of the
                // gradient buffers (`Place::check`) or of its own `ds`; no other task writes
                // them.
                // dV[..keys] += P[r0..r1, ..keys]ᵀ · dO[r0..r1]
                unsafe { mm.run(dv_h, dv.row, pm.t(), d_o, 1.0, true) };
                // dP = dO · Vᵀ, then dS = P ∘ (dP − rowsum(P ∘ dP))
                let vt = v.block(0, keys, hs).t();
                unsafe { mm.run(ds[r0 * s..].as_mut_ptr(), s, d_o, vt, 1.0, false) };
                for r in r0..r1 {
                    softmax_backward_row(&mut ds[r * s..r * s + keys], &p[r * s..r * s + keys]);
                }
                let dsm = Mat::dense(&ds[r0 * s..], r1 - r0, keys, s);
                // dQ[r0..r1] = scale · dS · K[..keys];  dK[..keys] += scale · dSᵀ · Q[r0..r1]
                let dq_rows = dq_h.wrapping_add(r0 * dq.row);
                unsafe { mm.run(dq_rows, dq.row, dsm, k.block(0, keys, hs), scale, false) };
                unsafe { mm.run(dk_h, dk.row, dsm.t(), q.block(r0, r1, hs), scale, true) };
            }
        });
    });
}

/// Causal attention for `q` `(B, nh, T, hs)`, `k`, `v` `(B, nh, S, hs)`: the output
/// `(B, nh, T, hs)` and the probabilities `(B, nh, T, S)` (zero above the diagonal).
pub(crate) fn attention(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    precision: Precision,
) -> (FlexTensor, FlexTensor) {
    let (q, k, v) = (readable(q), readable(k), readable(v));
    let (qh, kh, vh) = (Heads::new(&q), Heads::new(&k), Heads::new(&v));
    let [b, nh, t, hs] = qh.dims;
    let s = kh.dims[2];
    let mut out = vec![0.0; b * nh * t * hs];
    let probs = forward(qh, kh, vh, Place::heads(&mut out, nh, t, hs), precision);
    (
        tensor(out, vec![b, nh, t, hs]),
        tensor(probs, vec![b, nh, t, s]),
    )
}

/// Gradients `[dq, dk, dv]` of [`attention`] given the output gradient `dout` `(B, nh, T, hs)`.
pub(crate) fn attention_backward(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    probs: &FlexTensor,
    dout: &FlexTensor,
    precision: Precision,
) -> [FlexTensor; 3] {
    let (q, k, v, dout) = (readable(q), readable(k), readable(v), readable(dout));
    let (qh, kh, vh) = (Heads::new(&q), Heads::new(&k), Heads::new(&v));
    let [b, nh, t, hs] = qh.dims;
    let s = kh.dims[2];
    let mut dq = vec![0.0; b * nh * t * hs];
    let mut dk = vec![0.0; b * nh * s * hs];
    let mut dv = vec![0.0; b * nh * s * hs];
    let places = [
        Place::heads(&mut dq, nh, t, hs),
        Place::heads(&mut dk, nh, s, hs),
        Place::heads(&mut dv, nh, s, hs),
    ];
    backward(
        qh,
        kh,
        vh,
        probs.storage(),
        Heads::new(&dout),
        places,
        precision,
    );
    [
        tensor(dq, vec![b, nh, t, hs]),
        tensor(dk, vec![b, nh, s, hs]),
        tensor(dv, vec![b, nh, s, hs]),
    ]
}

/// Causal self-attention of `n_head` heads over `qkv` `(B, T, 3C)` (q, k and v side by side):
/// the output `(B, T, C)`, heads side by side, and the probabilities `(B, nh, T, T)`.
pub(crate) fn self_attention(
    qkv: &FlexTensor,
    n_head: usize,
    precision: Precision,
) -> (FlexTensor, FlexTensor) {
    let qkv = qkv.to_contiguous();
    let [b, t, c3]: [usize; 3] = qkv.layout().shape().dims();
    let (c, hs) = (c3 / 3, c3 / 3 / n_head);
    assert!(c3 == 3 * c && c == n_head * hs, "qkv width");
    let [qh, kh, vh] = [0, c, 2 * c].map(|col0| Heads::columns(&qkv, n_head, hs, col0));
    let mut out = vec![0.0; b * t * c];
    let place = Place::columns(&mut out, t, c, 0, [n_head, t, hs]);
    let probs = forward(qh, kh, vh, place, precision);
    (
        tensor(out, vec![b, t, c]),
        tensor(probs, vec![b, n_head, t, t]),
    )
}

/// Gradient `(B, T, 3C)` of [`self_attention`] for `qkv` given `dout` `(B, T, C)`.
pub(crate) fn self_attention_backward(
    qkv: &FlexTensor,
    probs: &FlexTensor,
    dout: &FlexTensor,
    n_head: usize,
    precision: Precision,
) -> FlexTensor {
    let (qkv, dout) = (qkv.to_contiguous(), dout.to_contiguous());
    let [b, t, c3]: [usize; 3] = qkv.layout().shape().dims();
    let (c, hs) = (c3 / 3, c3 / 3 / n_head);
    let [qh, kh, vh] = [0, c, 2 * c].map(|col0| Heads::columns(&qkv, n_head, hs, col0));
    let dh = Heads::columns(&dout, n_head, hs, 0);
    let mut dqkv = vec![0.0; b * t * c3];
    let places = [0, c, 2 * c].map(|col0| Place::columns(&mut dqkv, t, c3, col0, [n_head, t, hs]));
    backward(qh, kh, vh, probs.storage(), dh, places, precision);
    tensor(dqkv, vec![b, t, c3])
}

simd_fn! {
    /// Softmax of `row[..n]` in place; the rest of the row (masked keys) becomes 0.
    fn softmax_prefix(row: &mut [f32], n: usize) {
        let (seen, masked) = row.split_at_mut(n);
        let max = max_of(seen);
        seen.iter_mut().for_each(|x| *x = exp(*x - max));
        let inv = 1.0 / sum1(seen, |x| x);
        seen.iter_mut().for_each(|x| *x *= inv);
        masked.fill(0.0);
    }
}

simd_fn! {
    /// Softmax's backward pass over one row: `d = p ∘ (d − Σ p ∘ d)`.
    fn softmax_backward_row(d: &mut [f32], p: &[f32]) {
        let dot = sum2(p, d, |p, d| p * d);
        d.iter_mut().zip(p).for_each(|(d, p)| *d = p * (*d - dot));
    }
}
