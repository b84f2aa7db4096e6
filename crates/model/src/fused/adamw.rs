//! One AdamW update of one parameter tensor, with the global-norm clipping of its gradient and
//! the decoupled weight decay of the parameter folded in. burn's AdamW runs it as about a dozen
//! tensor operations, each a pass over memory with its own allocation; the CPU backend runs it
//! as one pass that updates the parameter and both moments in place.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// The scalars of one AdamW update ([`GptBackend::adamw_update`](super::GptBackend)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWStep {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// Added to the root of the second moment.
    pub epsilon: f32,
    /// Updates of this parameter, this one included (1 on the first): the bias correction.
    pub time: usize,
    /// Factor the gradient is multiplied by first (global-norm clipping; 1: none).
    pub grad_scale: f64,
    /// Factor the parameter is multiplied by before the update (decoupled weight decay,
    /// `1 - lr·weight_decay`; 1: none).
    pub decay: f64,
}

/// A parameter's first and second moments.
pub type Moments<B, const D: usize> = (Tensor<B, D>, Tensor<B, D>);

/// The update from burn's tensor operations, in the order and precision of burn's own AdamW
/// (`burn::optim::AdamW`), so that the fused kernel can be held to the same bits:
/// `g ← g·scale`, `p ← p·decay`, `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `p ← p − lr · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)`. No moments: both start at zero.
pub fn burn_adamw<B: Backend, const D: usize>(
    param: Tensor<B, D>,
    grad: Tensor<B, D>,
    moments: Option<Moments<B, D>>,
    step: &AdamWStep,
) -> (Tensor<B, D>, Moments<B, D>) {
    let grad = match step.grad_scale {
        1.0 => grad,
        scale => grad.mul_scalar(scale),
    };
    let param = match step.decay {
        1.0 => param,
        decay => param.mul_scalar(decay),
    };
    let (f1, f2) = (1.0 - step.beta1, 1.0 - step.beta2);
    let (m, v) = match moments {
        Some((m, v)) => (
            m.mul_scalar(step.beta1).add(grad.clone().mul_scalar(f1)),
            v.mul_scalar(step.beta2).add(grad.square().mul_scalar(f2)),
        ),
        None => (grad.clone().mul_scalar(f1), grad.square().mul_scalar(f2)),
    };
    let (c1, c2) = corrections(step);
    let m_hat = m.clone().div_scalar(c1);
    let v_hat = v.clone().div_scalar(c2);
    let delta = m_hat.div(v_hat.sqrt().add_scalar(step.epsilon));
    (param - delta.mul_scalar(step.lr), (m, v))
}

/// The bias corrections `1 − β₁ᵗ` and `1 − β₂ᵗ`, computed as burn does.
pub(crate) fn corrections(step: &AdamWStep) -> (f32, f32) {
    let t = step.time as i32;
    (1.0 - step.beta1.powi(t), 1.0 - step.beta2.powi(t))
}
