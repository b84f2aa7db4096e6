//! The optimizer step around burn's AdamW, as nanoGPT does it: gradients clipped by their
//! global norm, and decoupled weight decay only on matrices (not on norms or biases).
//!
//! burn's AdamW decays every parameter and clips each gradient by its own norm, so the
//! optimizer is built with no decay and no clipping, and both happen here.

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};

/// AdamW with decay and clipping left to [`step`].
pub fn adamw<B: AutodiffBackend, M: AutodiffModule<B>>(
    beta1: f64,
    beta2: f64,
) -> impl Optimizer<M, B> {
    AdamWConfig::new()
        .with_beta_1(beta1 as f32)
        .with_beta_2(beta2 as f32)
        .with_epsilon(1e-8)
        .with_weight_decay(0.0)
        .init()
}

/// One update: clip the gradients to `grad_clip` global norm (0: no clipping), decay the
/// matrices by `lr * weight_decay` (before the Adam update, as PyTorch's AdamW), then step.
/// Returns the gradient norm before clipping.
pub fn step<B: AutodiffBackend, M: AutodiffModule<B>, O: Optimizer<M, B>>(
    optimizer: &mut O,
    model: M,
    mut grads: GradientsParams,
    lr: f64,
    weight_decay: f64,
    grad_clip: f64,
) -> (M, f64) {
    let mut norm = GradNorm::<B> {
        grads: &grads,
        sum: 0.0,
        _b: Default::default(),
    };
    model.visit(&mut norm);
    let norm = norm.sum.sqrt();
    if grad_clip > 0.0 && norm > grad_clip {
        let mut scale = ScaleGrads::<B> {
            grads: &mut grads,
            factor: grad_clip / (norm + 1e-6),
            _b: Default::default(),
        };
        model.visit(&mut scale);
    }
    let model = if weight_decay > 0.0 {
        model.map(&mut DecayMatrices {
            factor: 1.0 - lr * weight_decay,
        })
    } else {
        model
    };
    (optimizer.step(lr, model, grads), norm)
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

/// Multiplies every gradient by `factor`.
struct ScaleGrads<'a, B> {
    grads: &'a mut GradientsParams,
    factor: f64,
    _b: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for ScaleGrads<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// Multiplies every parameter of two or more dimensions by `factor`: weight matrices and
/// embeddings decay; norm scales and biases (one dimension) do not.
struct DecayMatrices {
    factor: f64,
}

impl<B: AutodiffBackend> ModuleMapper<B> for DecayMatrices {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let tensor = if D >= 2 {
            // On the inner backend: the decay is not part of the graph being differentiated.
            Tensor::from_inner(tensor.inner().mul_scalar(self.factor)).require_grad()
        } else {
            tensor
        };
        Param::from_mapped_value(id, tensor, mapper)
    }
}
