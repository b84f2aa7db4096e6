//! AdamW as one pass over memory per parameter ([`GptBackend::adamw_update`]), with the
//! clipping of the gradient and the decoupled weight decay folded into the same pass.
//!
//! Its record is the very type burn's AdamW saves (`OptimizerAdaptor<AdamW, ..>`'s), moments and
//! step count per parameter, so checkpoints written with either load into the other.

use std::marker::PhantomData;

use burn::module::{AutodiffModule, ModuleMapper, Param, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::record::AdaptorRecord;
use burn::optim::{
    AdamW, AdamWState, AdaptiveMomentumState, GradientsParams, LearningRate, MultiGradientsParams,
    Optimizer,
};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use midigpt_model::{burn_adamw, AdamWStep, GptBackend};

/// Moments and step counts by parameter: the record of burn's AdamW.
pub type AdamWRecord<M, B> = <OptimizerAdaptor<AdamW, M, B> as Optimizer<M, B>>::Record;

/// AdamW (no AMSGrad) whose update is the backend's fused kernel.
pub struct FusedAdamW<M: AutodiffModule<B>, B: AutodiffBackend> {
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    records: AdamWRecord<M, B>,
    /// false: burn's tensor operations instead of the backend's kernel (for comparison).
    fused: bool,
    module: PhantomData<M>,
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> Clone for FusedAdamW<M, B> {
    fn clone(&self) -> Self {
        FusedAdamW {
            records: self.records.clone(),
            module: PhantomData,
            ..*self
        }
    }
}

/// What one update applies besides the learning rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateFactors {
    /// Every gradient is multiplied by this first (global-norm clipping; 1: none).
    pub grad_scale: f64,
    /// Parameters of two or more dimensions are multiplied by this first (decoupled weight
    /// decay, `1 - lr·weight_decay`; 1: none). Norm scales and biases do not decay.
    pub matrix_decay: f64,
}

impl UpdateFactors {
    /// Neither clipping nor decay.
    pub const NONE: UpdateFactors = UpdateFactors {
        grad_scale: 1.0,
        matrix_decay: 1.0,
    };
}

impl<M, B> FusedAdamW<M, B>
where
    M: AutodiffModule<B>,
    B: AutodiffBackend<InnerBackend: GptBackend>,
{
    /// No state yet: the moments start at zero on each parameter's first update.
    pub fn new(beta1: f32, beta2: f32, epsilon: f32) -> Self {
        FusedAdamW {
            beta1,
            beta2,
            epsilon,
            records: Default::default(),
            fused: true,
            module: PhantomData,
        }
    }

    /// The same optimizer running its update as burn's tensor operations ([`burn_adamw`]), one
    /// pass and one allocation each, as burn's own AdamW does: the benchmark's comparison.
    pub fn unfused(self) -> Self {
        FusedAdamW {
            fused: false,
            ..self
        }
    }

    /// One update of every parameter that has a gradient in `grads`.
    pub fn update(
        &mut self,
        lr: LearningRate,
        module: M,
        grads: GradientsParams,
        factors: UpdateFactors,
    ) -> M {
        self.update_from(lr, module, Grads::One(grads), factors)
    }

    fn update_from(&mut self, lr: LearningRate, module: M, grads: Grads, f: UpdateFactors) -> M {
        module.map(&mut Updater::<M, B> {
            optim: self,
            grads,
            lr,
            factors: f,
        })
    }
}

impl<M, B> Optimizer<M, B> for FusedAdamW<M, B>
where
    M: AutodiffModule<B>,
    B: AutodiffBackend<InnerBackend: GptBackend>,
{
    type Record = AdamWRecord<M, B>;

    fn step(&mut self, lr: LearningRate, module: M, grads: GradientsParams) -> M {
        self.update(lr, module, grads, UpdateFactors::NONE)
    }

    fn step_multi(&mut self, lr: LearningRate, module: M, grads: MultiGradientsParams) -> M {
        self.update_from(lr, module, Grads::Multi(grads), UpdateFactors::NONE)
    }

    fn to_record(&self) -> Self::Record {
        self.records.clone()
    }

    fn load_record(mut self, record: Self::Record) -> Self {
        self.records = record;
        self
    }
}

/// Gradients from one device or summed over several, as burn's optimizers take them.
enum Grads {
    One(GradientsParams),
    Multi(MultiGradientsParams),
}

struct Updater<'a, M: AutodiffModule<B>, B: AutodiffBackend> {
    optim: &'a mut FusedAdamW<M, B>,
    grads: Grads,
    lr: LearningRate,
    factors: UpdateFactors,
}

impl<M, B> ModuleMapper<B> for Updater<'_, M, B>
where
    M: AutodiffModule<B>,
    B: AutodiffBackend<InnerBackend: GptBackend>,
{
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let grad = match &mut self.grads {
            Grads::One(grads) => grads.remove::<B::InnerBackend, D>(id),
            Grads::Multi(grads) => grads.remove::<B::InnerBackend, D>(id).map(|(g, _)| g),
        };
        let Some(grad) = grad else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let tracked = tensor.is_require_grad();
        let tensor = tensor.to_device(&grad.device());
        let state = self.record(id);
        let step = AdamWStep {
            lr: self.lr,
            beta1: self.optim.beta1,
            beta2: self.optim.beta2,
            epsilon: self.optim.epsilon,
            time: state.as_ref().map_or(1, |s| s.time + 1),
            grad_scale: self.factors.grad_scale,
            decay: if D >= 2 {
                self.factors.matrix_decay
            } else {
                1.0
            },
        };
        let moments = state.map(|s| (s.moment_1, s.moment_2));
        let (updated, (moment_1, moment_2)) = match self.optim.fused {
            true => B::InnerBackend::adamw_update(tensor.inner(), grad, moments, &step),
            false => burn_adamw(tensor.inner(), grad, moments, &step),
        };
        let state = AdaptiveMomentumState {
            time: step.time,
            moment_1,
            moment_2,
            max_moment_2: None,
        };
        let record = AdaptorRecord::from_state(AdamWState::new(state));
        self.optim.records.insert(id, record);
        let mut tensor = Tensor::from_inner(updated);
        if tracked {
            tensor = tensor.require_grad();
        }
        Param::from_mapped_value(id, tensor, mapper)
    }
}

impl<M, B> Updater<'_, M, B>
where
    M: AutodiffModule<B>,
    B: AutodiffBackend<InnerBackend: GptBackend>,
{
    /// The parameter's moments, taken out of the record (on the parameter's device).
    fn record<const D: usize>(
        &mut self,
        id: ParamId,
    ) -> Option<AdaptiveMomentumState<B::InnerBackend, D>> {
        let record = self.optim.records.remove(&id)?;
        let state: AdamWState<B::InnerBackend, D> = record.into_state();
        Some(state.momentum)
    }
}

#[cfg(test)]
#[path = "adamw_tests.rs"]
mod tests;
