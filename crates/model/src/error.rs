//! Errors from building, running and loading the model.

use std::path::PathBuf;

/// Why a model could not be built, run or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The configuration is inconsistent (the message names the offending fields).
    #[error("invalid model config: {0}")]
    Config(String),
    /// A cached forward would run past the context window; the caller must crop the context
    /// (start a new cache from the last tokens) before going on.
    #[error(
        "context overflow: {cached} cached + {new} new positions exceed block_size {block_size}"
    )]
    ContextOverflow {
        /// Positions already in the cache.
        cached: usize,
        /// Positions in this call.
        new: usize,
        /// The model's context length.
        block_size: usize,
    },
    /// The cache was made for a model with another number of layers.
    #[error("KV cache has {cache} layers, the model {model}")]
    CacheMismatch {
        /// Layers in the cache.
        cache: usize,
        /// Layers in the model.
        model: usize,
    },
    /// bf16 products were asked for on a CPU that cannot multiply bf16 natively.
    #[error("this CPU has no native bf16 dot products (AVX-512-BF16): train in f32")]
    Bf16Unsupported,
    /// The weights file lacks a tensor the model needs.
    #[error("{path}: missing tensor {name}")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the file.
        name: String,
    },
    /// A tensor in the weights file has another shape than the config implies.
    #[error("{path}: tensor {name} has shape {found:?}, the config expects {expected:?}")]
    ShapeMismatch {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the file.
        name: String,
        /// Shape in the file.
        found: Vec<usize>,
        /// Shape the config implies.
        expected: Vec<usize>,
    },
    /// A tensor in the weights file has a dtype other than F32, F16 or BF16.
    #[error("{path}: tensor {name} has unsupported dtype {dtype}")]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The tensor's name in the file.
        name: String,
        /// The dtype found.
        dtype: String,
    },
    /// A Hugging Face `config.json` asks for something midigpt does not compute exactly.
    #[error("{path}: {setting} {why}")]
    HfConfig {
        /// The config file.
        path: PathBuf,
        /// The setting, as the file names it.
        setting: String,
        /// What it says and why it cannot be honoured.
        why: String,
    },
    /// The file is not a valid safetensors file.
    #[error("{path}: {source}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: safetensors::SafeTensorError,
    },
    /// A model file could not be read.
    #[error(transparent)]
    Store(#[from] midigpt_store::StoreError),
    /// Reading or writing the weights file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}
