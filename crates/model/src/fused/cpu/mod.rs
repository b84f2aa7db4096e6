//! Forward and backward kernels of the fused operations on flex tensors (f32): one pass over
//! memory where burn's decomposition makes several, work split over rayon's threads.

mod attention;
mod rowwise;

use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, TensorData};

pub(super) use attention::{attention, attention_backward};
pub(super) use rowwise::{
    cross_entropy, cross_entropy_backward, gelu, gelu_backward, layernorm, layernorm_backward,
    LossStats, NormStats,
};

/// Whether these tensors can go through this module's kernels.
pub(super) fn supported(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// A contiguous f32 tensor of `shape` holding `values`.
pub(super) fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The elements of a contiguous f32 tensor (callers make it so with `to_contiguous`).
pub(super) fn contiguous(t: &FlexTensor) -> &[f32] {
    t.as_slice().expect("contiguous f32 tensor")
}
