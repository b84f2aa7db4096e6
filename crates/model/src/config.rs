//! The model's hyper-parameters: [`GptConfig`], its presets and its checks.

use serde::{Deserialize, Serialize};

use std::path::Path;

use midigpt_store::MODEL_CONFIG_FILE;

use crate::ModelError;

/// Which transformer recipe the model follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// GPT-2: learned positions, LayerNorm, GELU, tied LM head.
    Gpt2,
    /// Llama: RoPE, RMSNorm, SwiGLU, grouped-query attention, no biases, untied LM head.
    Llama,
}

/// Hyper-parameters of the model. Saved as itself beside every weights file
/// (`model_config.json`) and read back as is: every key is required (nothing is filled in
/// from a preset, so changing a preset never changes what a saved model means) and unknown
/// keys are an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GptConfig {
    /// The recipe (see [`Arch`]).
    pub arch: Arch,
    /// Number of token ids; the tokenizer's vocabulary size.
    pub vocab_size: usize,
    /// Context length: the most positions the model attends over.
    pub block_size: usize,
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Number of query heads; divides `n_embd`.
    pub n_head: usize,
    /// Number of key/value heads; divides `n_head`. Below `n_head` is grouped-query
    /// attention (Llama only; GPT-2 needs `n_kv_head == n_head`).
    pub n_kv_head: usize,
    /// Width of the residual stream.
    pub n_embd: usize,
    /// Dropout after embeddings, attention and MLP, while training (0 to turn off).
    pub dropout: f64,
    /// Biases in linear layers and LayerNorm (GPT-2 only; Llama has none).
    pub bias: bool,
    /// MLP hidden size; `None` uses the recipe's rule, see [`GptConfig::mlp_hidden_size`].
    pub mlp_hidden: Option<usize>,
    /// RoPE base frequency (Llama only): larger is slower rotation, for longer contexts.
    pub rope_theta: f64,
    /// Epsilon of LayerNorm / RMSNorm, for numerical stability.
    pub norm_eps: f64,
}

/// The model's keys of a training config, named as there (nanoGPT's names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    /// The recipe.
    pub arch: Arch,
    /// Context length.
    pub block_size: usize,
    /// Transformer blocks.
    pub n_layer: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads; 0 means `n_head`.
    #[serde(default)]
    pub n_kv_head: usize,
    /// Width of the residual stream.
    pub n_embd: usize,
    /// Dropout while training.
    pub dropout: f64,
    /// Biases in linear layers and norms.
    pub bias: bool,
}

impl Default for GptConfig {
    /// nanoGPT's defaults: GPT-2 124M with the vocabulary padded to 50,304 (a multiple of 64).
    fn default() -> Self {
        Self::gpt2_124m(50_304)
    }
}

impl GptConfig {
    /// GPT-2 small (124M parameters with GPT-2's vocabulary): 12 layers, 12 heads, 768 wide, 1,024 context.
    pub fn gpt2_124m(vocab_size: usize) -> Self {
        Self {
            arch: Arch::Gpt2,
            vocab_size,
            block_size: 1024,
            n_layer: 12,
            n_head: 12,
            n_kv_head: 12,
            n_embd: 768,
            dropout: 0.0,
            bias: true,
            mlp_hidden: None,
            rope_theta: 10_000.0,
            norm_eps: 1e-5,
        }
    }

    /// The CPU benchmark model: GPT-2 recipe, 4 layers, 4 heads, 256 wide, 256 context.
    pub fn small(vocab_size: usize) -> Self {
        Self {
            block_size: 256,
            n_layer: 4,
            n_head: 4,
            n_kv_head: 4,
            n_embd: 256,
            ..Self::gpt2_124m(vocab_size)
        }
    }

    /// Mistral 7B's proportions at any depth and width: Llama recipe, head size 128, 4 query
    /// heads per key/value head, MLP 3.5 × `n_embd`, RoPE θ = 10⁶, 4,096 context.
    /// `n_embd` should be a multiple of 512 (checked by [`GptConfig::validate`]).
    pub fn mistral_like(vocab_size: usize, n_layer: usize, n_embd: usize) -> Self {
        let n_head = (n_embd / 128).max(1);
        Self {
            arch: Arch::Llama,
            vocab_size,
            block_size: 4096,
            n_layer,
            n_head,
            n_kv_head: (n_head / 4).max(1),
            n_embd,
            dropout: 0.0,
            bias: false,
            mlp_hidden: Some(n_embd * 7 / 2),
            rope_theta: 1e6,
            norm_eps: 1e-5,
        }
    }

    /// The config saved beside the weights file `weights` ([`MODEL_CONFIG_FILE`] in its
    /// folder), if there is one; checked with [`GptConfig::validate`].
    pub fn beside(weights: &Path) -> Result<Option<GptConfig>, ModelError> {
        let path = weights.with_file_name(MODEL_CONFIG_FILE);
        let text = midigpt_store::read_optional(&path)?;
        text.map(|text| Self::from_json(&text, &path)).transpose()
    }

    /// The model a training run describes: its [`Shape`] over a vocabulary, with the settings
    /// a training config does not hold fixed (the MLP's rule, RoPE base 10,000, epsilon
    /// 1e-5). Not validated: see [`GptConfig::validate`].
    pub fn from_shape(shape: &Shape, vocab_size: usize) -> GptConfig {
        GptConfig {
            arch: shape.arch,
            vocab_size,
            block_size: shape.block_size,
            n_layer: shape.n_layer,
            n_head: shape.n_head,
            n_kv_head: match shape.n_kv_head {
                0 => shape.n_head,
                n => n,
            },
            n_embd: shape.n_embd,
            dropout: shape.dropout,
            bias: shape.bias,
            mlp_hidden: None,
            rope_theta: 10_000.0,
            norm_eps: 1e-5,
        }
    }

    /// The model a training config (`midigpt train`'s `config.json`, as JSON) describes over
    /// a vocabulary: how a model saved before `model_config.json` existed was trained.
    /// `origin` names the file in errors.
    pub fn from_training_config(
        text: &str,
        vocab_size: usize,
        origin: &Path,
    ) -> Result<GptConfig, ModelError> {
        let shape: Shape = serde_json::from_str(text)
            .map_err(|e| ModelError::Config(format!("{}: {e}", origin.display())))?;
        let config = Self::from_shape(&shape, vocab_size);
        config.validate()?;
        Ok(config)
    }

    /// Parses and checks a config as [`GptConfig::to_json`] writes it; `origin` names the
    /// file in errors.
    pub fn from_json(text: &str, origin: &Path) -> Result<GptConfig, ModelError> {
        let config: GptConfig = serde_json::from_str(text)
            .map_err(|e| ModelError::Config(format!("{}: {e}", origin.display())))?;
        config.validate()?;
        Ok(config)
    }

    /// The config as pretty JSON, every key written.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a config always serializes")
    }

    /// Size of one attention head.
    pub fn head_size(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// MLP hidden size: `mlp_hidden` if set, else GPT-2's 4 × `n_embd`, or for Llama's SwiGLU
    /// (three matrices instead of two) 2/3 of that, rounded up to a multiple of 64, so both
    /// recipes spend about the same parameters on the MLP.
    pub fn mlp_hidden_size(&self) -> usize {
        match (self.mlp_hidden, self.arch) {
            (Some(hidden), _) => hidden,
            (None, Arch::Gpt2) => 4 * self.n_embd,
            (None, Arch::Llama) => (8 * self.n_embd / 3).div_ceil(64) * 64,
        }
    }

    /// Checks that the sizes fit together.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |msg: String| Err(ModelError::Config(msg));
        let sizes = [
            self.vocab_size,
            self.block_size,
            self.n_layer,
            self.n_head,
            self.n_kv_head,
        ];
        if sizes.contains(&0) || self.n_embd == 0 || self.mlp_hidden_size() == 0 {
            return bad(format!("sizes must be positive: {self:?}"));
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return bad(format!(
                "n_embd {} is not divisible by n_head {}",
                self.n_embd, self.n_head
            ));
        }
        if !self.n_head.is_multiple_of(self.n_kv_head) {
            return bad(format!(
                "n_head {} is not divisible by n_kv_head {}",
                self.n_head, self.n_kv_head
            ));
        }
        if self.arch == Arch::Gpt2 && self.n_kv_head != self.n_head {
            return bad(format!(
                "gpt2 needs n_kv_head == n_head, got {} and {}",
                self.n_kv_head, self.n_head
            ));
        }
        if self.arch == Arch::Llama && !self.head_size().is_multiple_of(2) {
            return bad(format!(
                "RoPE needs an even head size, got {}",
                self.head_size()
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} is not in [0, 1)", self.dropout));
        }
        Ok(())
    }
}
