//! The AdamW update on flex tensors: one pass over the parameter, its gradient and both
//! moments, in place wherever a buffer is not shared, elements spread over rayon's threads.

use burn::backend::flex::FlexTensor;
use burn::tensor::DType;
use rayon::prelude::*;

use super::contiguous;
use crate::fused::adamw::{corrections, AdamWStep};

/// Elements per rayon task: large enough that a task outweighs its scheduling.
const CHUNK: usize = 1 << 14;

/// [`burn_adamw`](crate::fused::adamw::burn_adamw) in one pass, the same f32 operations in
/// the same order (so the same bits). Returns the parameter and the two moments.
pub(crate) fn adamw(
    param: FlexTensor,
    grad: &FlexTensor,
    moments: Option<(FlexTensor, FlexTensor)>,
    step: &AdamWStep,
) -> [FlexTensor; 3] {
    let mut p = writable(param);
    let (mut m, mut v) = match moments {
        Some((m, v)) => (writable(m), writable(v)),
        None => {
            let zeros = || FlexTensor::zeros(p.layout().shape().clone(), DType::F32);
            (zeros(), zeros())
        }
    };
    let grad = grad.to_contiguous();
    let g = contiguous(&grad);
    let (scale, decay, lr) = (step.grad_scale as f32, step.decay as f32, step.lr as f32);
    let (b1, b2, eps) = (step.beta1, step.beta2, step.epsilon);
    let (f1, f2) = (1.0 - b1, 1.0 - b2);
    let (c1, c2) = corrections(step);
    values_mut(&mut p)
        .par_chunks_mut(CHUNK)
        .zip(values_mut(&mut m).par_chunks_mut(CHUNK))
        .zip(values_mut(&mut v).par_chunks_mut(CHUNK))
        .zip(g.par_chunks(CHUNK))
        .for_each(|(((p, m), v), g)| {
            update(p, m, v, g, [scale, b1, f1, b2, f2, c1, c2, eps, decay, lr]);
        });
    [p, m, v]
}

/// `t` laid out so that its elements are one contiguous run.
fn writable(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The elements of a contiguous tensor, copied first if another tensor shares its buffer.
fn values_mut(t: &mut FlexTensor) -> &mut [f32] {
    let (start, end) = t
        .layout()
        .contiguous_offsets()
        .expect("contiguous f32 tensor");
    &mut t.storage_mut::<f32>()[start..end]
}

simd_fn! {
    /// AdamW on one chunk; `k` holds the gradient scale, β₁, 1 − β₁, β₂, 1 − β₂, both bias
    /// corrections, ε, the decay factor and the learning rate.
    fn update(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], k: [f32; 10]) {
        let [scale, b1, f1, b2, f2, c1, c2, eps, decay, lr] = k;
        for (((p, m), v), &g) in p.iter_mut().zip(m).zip(v).zip(g) {
            let g = g * scale;
            *m = *m * b1 + g * f1;
            *v = *v * b2 + g * g * f2;
            let delta = (*m / c1) / ((*v / c2).sqrt() + eps);
            *p = *p * decay - delta * lr;
        }
    }
}
