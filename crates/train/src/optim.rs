//! The optimizer step, as nanoGPT takes it: gradients clipped by their global norm, and
//! decoupled weight decay only on matrices (not on norms or biases), both folded into the
//! fused AdamW update ([`FusedAdamW`]).

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use midigpt_model::GptBackend;

pub use crate::adamw::{AdamWRecord, FusedAdamW, UpdateFactors};

/// AdamW with decay and clipping left to [`step`].
pub fn adamw<B, M>(beta1: f64, beta2: f64) -> FusedAdamW<M, B>
where
    B: AutodiffBackend<InnerBackend: GptBackend>,
    M: AutodiffModule<B>,
{
    FusedAdamW::new(beta1 as f32, beta2 as f32, 1e-8)
}

/// One update: clip the gradients to `grad_clip` global norm (0: no clipping), decay the
/// matrices by `lr * weight_decay` (before the Adam update, as PyTorch's AdamW), then step.
/// Returns the gradient norm before clipping.
pub fn step<B, M>(
    optimizer: &mut FusedAdamW<M, B>,
    model: M,
    grads: GradientsParams,
    lr: f64,
    weight_decay: f64,
    grad_clip: f64,
) -> (M, f64)
where
    B: AutodiffBackend<InnerBackend: GptBackend>,
    M: AutodiffModule<B>,
{
    let mut norm = GradNorm::<B> {
        grads: &grads,
        sum: 0.0,
        _b: Default::default(),
    };
    model.visit(&mut norm);
    let norm = norm.sum.sqrt();
    let factors = UpdateFactors {
        grad_scale: match grad_clip > 0.0 && norm > grad_clip {
            true => grad_clip / (norm + 1e-6),
            false => 1.0,
        },
        matrix_decay: 1.0 - lr * weight_decay,
    };
    (optimizer.update(lr, model, grads, factors), norm)
}

/// Sum of squares of every gradient.
struct GradNorm<'a, B> {
    grads: &'a GradientsParams,
    sum: f64,
    _b: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradNorm<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            self.sum += g.powi_scalar(2).sum().into_scalar().elem::<f64>();
        }
    }
}
