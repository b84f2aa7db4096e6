//! The GPT that writes music: a decoder-only transformer over token ids, generic over the
//! [burn](https://burn.dev) backend, in the GPT-2 or the Llama recipe.
//!
//! - [`GptConfig`]: hyper-parameters with presets; [`GptConfig::init`] builds a [`Gpt`].
//! - [`Gpt::forward`]: logits for every position; [`loss`]: mean cross-entropy.
//! - [`Gpt::forward_cached`] with a [`KvCache`]: generation one token at a time.
//! - [`save_safetensors`] / [`load_safetensors`]: weights under Hugging Face's names.
//! - [`backend`]: the concrete CPU (and, with feature `cuda`, GPU) backends.
//!
//! ```
//! use burn::tensor::{Int, Tensor};
//! use midigpt_model::{loss, Cpu, GptConfig};
//!
//! let device = Default::default();
//! let config = GptConfig { n_layer: 2, n_embd: 64, n_head: 4, n_kv_head: 4, block_size: 32, ..GptConfig::small(100) };
//! let model = config.init::<Cpu>(&device)?;
//! let idx = Tensor::<Cpu, 2, Int>::from_ints([[1, 2, 3], [4, 5, 6]], &device);
//! let logits = model.forward(idx.clone()); // (2, 3, 100)
//! assert_eq!(logits.dims(), [2, 3, 100]);
//! let _loss = loss(logits, idx);
//! # Ok::<(), midigpt_model::ModelError>(())
//! ```

pub mod backend;
mod cache;
mod config;
mod error;
mod fused;
mod hf;
mod model;
mod weights;

pub use backend::{Cpu, CpuDevice, CpuTrain};
#[cfg(feature = "cuda")]
pub use backend::{Cuda, CudaDevice, CudaTrain};
pub use cache::KvCache;
pub use config::{Arch, GptConfig, Shape};
pub use error::ModelError;
pub use fused::{
    bf16_kernel, bf16_preferred, burn_adamw, burn_attention, burn_cross_entropy, burn_layernorm,
    burn_linear, burn_self_attention, cpu_feature_or_skip, cpu_precision, native_bf16,
    set_cpu_precision, AdamWStep, CpuFeature, GptBackend, GptTrainBackend, Moments, Precision,
};
pub use hf::{
    from_hf_config, hf_config, hf_generation_config, save_safetensors_hf, HfModel, SpecialIds,
};
pub use model::{loss, Gpt};
pub use weights::{
    load_safetensors, load_safetensors_bytes, load_safetensors_files, save_safetensors,
    save_safetensors_as, tensor_names, WeightDtype,
};
