//! A linear layer on flex tensors (f32 storage): `y = x·w + bias + residual` with the bias and
//! the residual stream written into the output before the product accumulates onto it (no
//! separate passes to add them), and its gradients. The products run in the precision the
//! caller picks ([`Precision`]); everything else stays f32.

use burn::backend::flex::FlexTensor;

use super::mat::Mat;
use super::matmul::{product, product_new};
use super::{contiguous, readable, tensor};
use crate::fused::Precision;

/// A 2-D tensor with non-negative strides ([`readable`]) as a strided matrix.
fn view(t: &FlexTensor) -> Mat<'_> {
    let layout = t.layout();
    let [rows, cols]: [usize; 2] = layout.shape().dims();
    let strides = layout.strides();
    let data: &[f32] = t.storage();
    let (rs, cs) = (strides[0] as usize, strides[1] as usize);
    // The view starts at the tensor's first element; an empty one may start anywhere.
    let start = layout.start_offset().min(data.len());
    Mat::new(&data[start..], rows, cols, rs, cs)
}

/// `x·w (+ bias) (+ residual)` for `x` `(N, K)`, `w` `(K, M)`, `bias` `(M)`, `residual`
/// `(N, M)`: an `(N, M)` tensor.
pub(crate) fn linear(
    x: &FlexTensor,
    w: &FlexTensor,
    bias: Option<&FlexTensor>,
    residual: Option<&FlexTensor>,
    precision: Precision,
) -> FlexTensor {
    let (x, w) = (readable(x), readable(w));
    let (xm, wm) = (view(&x), view(&w));
    let (n, m) = (xm.rows(), wm.cols());
    if bias.is_none() && residual.is_none() {
        return tensor(product_new(precision, xm, wm), vec![n, m]);
    }
    // The product adds onto the residual and the bias, written first.
    let bias = bias.map(FlexTensor::to_contiguous);
    let bias = bias.as_ref().map(contiguous);
    assert!(bias.is_none_or(|b| b.len() == m), "bias length");
    let mut y = match residual {
        Some(r) => {
            let r = r.to_contiguous();
            assert_eq!(r.layout().shape().dims::<2>(), [n, m], "residual shape");
            let mut y = contiguous(&r).to_vec();
            if let Some(b) = bias {
                for row in y.chunks_exact_mut(m.max(1)) {
                    row.iter_mut().zip(b).for_each(|(y, b)| *y += b);
                }
            }
            y
        }
        // Every row starts as the bias (no zero fill first).
        None => bias.map_or_else(Vec::new, |b| b.repeat(n)),
    };
    product(precision, &mut y, m, xm, wm, true);
    tensor(y, vec![n, m])
}

/// Which gradients [`linear_backward`] computes: those of parents that want one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wanted {
    pub(crate) x: bool,
    pub(crate) w: bool,
    pub(crate) bias: bool,
}

/// Gradients `[dx, dw, dbias]` of [`linear`] given the output gradient `dy` `(N, M)` (the
/// residual's is `dy` itself); `None` where not wanted.
pub(crate) fn linear_backward(
    x: &FlexTensor,
    w: &FlexTensor,
    dy: &FlexTensor,
    precision: Precision,
    wanted: Wanted,
) -> [Option<FlexTensor>; 3] {
    let (x, w, dy) = (readable(x), readable(w), readable(dy));
    let (xm, wm, dym) = (view(&x), view(&w), view(&dy));
    let (n, k, m) = (xm.rows(), xm.cols(), wm.cols());
    let dx = wanted.x.then(|| {
        // dx = dy·wᵀ  (N, M)·(M, K)
        tensor(product_new(precision, dym, wm.t()), vec![n, k])
    });
    let dw = wanted.w.then(|| {
        // dw = xᵀ·dy  (K, N)·(N, M)
        tensor(product_new(precision, xm.t(), dym), vec![k, m])
    });
    let dbias = wanted.bias.then(|| {
        // Column sums, row after row: the same order, so the same bits, every run.
        let dy = dy.to_contiguous();
        let mut db = vec![0.0; m];
        for row in contiguous(&dy).chunks_exact(m.max(1)) {
            db.iter_mut().zip(row).for_each(|(d, g)| *d += g);
        }
        tensor(db, vec![m])
    });
    [dx, dw, dbias]
}
