//! The concrete backends, in one place so that moving to another is a change to this file.
//!
//! Everything else in the crate is generic over [`burn::tensor::backend::Backend`].

/// Inference on the CPU: burn's pure-Rust `flex` backend (SIMD kernels, rayon threads), f32.
pub type Cpu = burn::backend::Flex;

/// Training on the CPU: [`Cpu`] with reverse-mode autodiff.
pub type CpuTrain = burn::backend::Autodiff<Cpu>;

/// The CPU device (there is only one).
pub type CpuDevice = burn::backend::flex::FlexDevice;

/// Inference on an NVIDIA GPU (feature `cuda`; needs the CUDA driver at run time).
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;

/// Training on an NVIDIA GPU: [`Cuda`] with reverse-mode autodiff.
#[cfg(feature = "cuda")]
pub type CudaTrain = burn::backend::Autodiff<Cuda>;

/// A CUDA device, e.g. `CudaDevice::new(0)`.
#[cfg(feature = "cuda")]
pub type CudaDevice = burn::backend::cuda::CudaDevice;
