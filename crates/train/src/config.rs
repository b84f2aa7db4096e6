//! `TrainConfig`: every hyper-parameter of a run, flat and named as nanoGPT names them.
//!
//! Loaded from a TOML file (missing keys take the defaults below, unknown keys are an error),
//! then `--set key=value` overrides are applied, each value parsed as the type of the key it
//! replaces (nanoGPT's `configurator.py` does the same with `literal_eval`). The result is
//! validated once and saved next to the checkpoints as `config.json` and `config.toml`.
//!
//! The defaults train a small model that a laptop CPU can fit in minutes: 4 layers, 4 heads,
//! 256-wide embeddings (about 3.2M parameters plus the embedding table), 8 windows of 256
//! tokens per step.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::Dtype;
pub use midigpt_model::Arch;
use midigpt_model::Shape;

fn parse_error(path: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Every setting of a training run. Field names follow nanoGPT's `train.py`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    // --- data and batches ---
    /// Windows per micro-batch (B).
    pub batch_size: usize,
    /// The model's context length, and the tokens per training window (T) unless `window`
    /// says otherwise.
    pub block_size: usize,
    /// Tokens per training and validation window when shorter than `block_size`; 0 (the
    /// default) means `block_size`. A fine-tune of a long-context model on a few short files
    /// trains on windows its data can fill; the positions past them keep what they learnt.
    pub window: usize,
    /// Micro-batches whose gradients are summed before each optimizer step; the tokens per
    /// step are `batch_size * block_size * gradient_accumulation_steps`.
    pub gradient_accumulation_steps: usize,
    /// Fraction of training windows turned into bar-infill examples (a span of bars of some
    /// tracks moved after the rest, between `FillBar_Start` and `FillBar_End`), so that the
    /// model learns to fill holes with the music on both sides in view. Needs a REMI / REMI+
    /// tokenizer with the infill tokens (`prepare --infill-tokens`). 0 (the default) trains
    /// on plain windows only; 0.5 is the usual choice (FIM for code: up to 0.9 costs little
    /// left-to-right quality). Validation always scores plain windows.
    pub infill_rate: f64,
    /// Fraction of training windows that begin at a song's first token (its BOS) rather than
    /// anywhere. Generation starts a piece from BOS at position 0, which windows drawn
    /// anywhere show a model with learned positions about once per song length of windows,
    /// so it opens pieces as it never saw a song open (no tempo, no intro). 0 (the default)
    /// draws every window anywhere, as nanoGPT does.
    pub song_start_rate: f64,

    /// The weights the run starts from (nanoGPT's `init_from`): "scratch" (the default) for
    /// random ones, "builtin" for the built-in model, or a model folder (a run, an export or
    /// a Hugging Face folder). The model's keys then take that model's values.
    pub init_from: String,

    // --- optimizer and schedule (AdamW, warmup + cosine decay) ---
    /// Optimizer steps in the whole run.
    pub max_iters: u64,
    /// Peak learning rate, reached at the end of warmup. Small models tolerate 1e-3.
    pub learning_rate: f64,
    /// Steps of linear warmup from near zero to `learning_rate`.
    pub warmup_iters: u64,
    /// Step at which the cosine decay reaches `min_lr`; usually `max_iters`.
    pub lr_decay_iters: u64,
    /// Floor of the learning rate, about `learning_rate / 10` per Chinchilla.
    pub min_lr: f64,
    /// AdamW weight decay (applied to matrices, not to biases and norms).
    pub weight_decay: f64,
    /// AdamW β1.
    pub beta1: f64,
    /// AdamW β2; 0.99 rather than GPT-2's 0.95 because our steps see few tokens.
    pub beta2: f64,
    /// Clip the global gradient norm to this value; 0 disables clipping.
    pub grad_clip: f64,

    // --- evaluation, logging, sampling, checkpoints ---
    /// Evaluate train and val loss every this many steps.
    pub eval_interval: u64,
    /// Batches averaged per split at each evaluation.
    pub eval_iters: usize,
    /// Log the training loss every this many steps.
    pub log_interval: u64,
    /// Generate a sample every this many steps; 0 disables sampling during training.
    pub sample_interval: u64,
    /// Tokens per sample.
    pub sample_tokens: usize,
    /// Save a checkpoint every this many steps (and at the end); 0 saves only at the end.
    pub checkpoint_interval: u64,
    /// Stop early after this many evaluations in a row without a new best validation loss
    /// (the best checkpoint stays); 0 (the default) never stops early.
    pub patience: u64,
    /// Checkpoints kept besides the best one by validation loss.
    pub keep_last: usize,
    /// Seed of parameter initialisation, dropout and batch sampling.
    pub seed: u64,
    /// Where to train: "cpu", "cuda" or "cuda:N" (`cuda` needs a build with that feature).
    pub device: String,
    /// Precision of the matrix products on the CPU: "auto" (the default) trains with bf16
    /// operands and f32 accumulation where the CPU's native bf16 dot products outrun its f32
    /// ones (Intel AMX, AMD with AVX-512-BF16), f32 elsewhere; "bf16" or "f32" choose.
    /// Weights and optimizer state stay f32, so a run may resume in another precision.
    pub dtype: Dtype,
    /// The device's peak TFLOP/s in the precision it trains in (989 for an H100 SXM in bf16,
    /// dense), for the model FLOPs utilisation (MFU) on the progress bar; 0 leaves MFU out.
    pub peak_tflops: f64,

    // --- model ---
    /// GPT variant.
    pub arch: Arch,
    /// Transformer blocks.
    pub n_layer: usize,
    /// Attention (query) heads.
    pub n_head: usize,
    /// Key/value heads for grouped-query attention (llama); 0 means `n_head` (plain
    /// multi-head attention, the only choice for gpt2).
    pub n_kv_head: usize,
    /// Embedding width; a multiple of `n_head`.
    pub n_embd: usize,
    /// Dropout probability. 0 suits short runs; raise to 0.1-0.2 when validation loss
    /// turns up while training loss keeps falling (small MIDI corpora overfit quickly).
    pub dropout: f64,
    /// Biases in linear layers and norms; without them is a bit better and faster.
    pub bias: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            batch_size: 8,
            block_size: 256,
            window: 0,
            gradient_accumulation_steps: 1,
            infill_rate: 0.0,
            song_start_rate: 0.0,
            init_from: "scratch".to_owned(),
            max_iters: 5000,
            learning_rate: 1e-3,
            warmup_iters: 100,
            lr_decay_iters: 5000,
            min_lr: 1e-4,
            weight_decay: 0.1,
            beta1: 0.9,
            beta2: 0.99,
            grad_clip: 1.0,
            eval_interval: 250,
            eval_iters: 20,
            log_interval: 10,
            sample_interval: 0,
            sample_tokens: 256,
            checkpoint_interval: 500,
            patience: 0,
            keep_last: 3,
            seed: 1337,
            device: "cpu".to_owned(),
            dtype: Dtype::Auto,
            peak_tflops: 0.0,
            arch: Arch::Gpt2,
            n_layer: 4,
            n_head: 4,
            n_kv_head: 0,
            n_embd: 256,
            dropout: 0.0,
            bias: false,
        }
    }
}

impl TrainConfig {
    /// Keys that change neither the model nor the batches it learns from: `--resume` may
    /// give them new values (to extend a run, change its schedule or intervals, or recover
    /// from a divergence with a lower learning rate), and `song_start_rate`, which changes
    /// where windows start but not what they hold (to teach a trained model how songs open).
    /// The others are fixed for a run.
    pub const RESUMABLE: &'static [&'static str] = &[
        "max_iters",
        "learning_rate",
        "warmup_iters",
        "lr_decay_iters",
        "min_lr",
        "weight_decay",
        "beta1",
        "beta2",
        "grad_clip",
        "eval_interval",
        "eval_iters",
        "log_interval",
        "sample_interval",
        "sample_tokens",
        "checkpoint_interval",
        "keep_last",
        "device",
        "dtype",
        "peak_tflops",
        "song_start_rate",
        "patience",
    ];

    /// Parses TOML text; `origin` names it in errors. Missing keys take their defaults.
    pub fn from_toml_str(text: &str, origin: &Path) -> Result<TrainConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads a config file: JSON when its name ends in `.json` (a run's `config.json`), TOML
    /// otherwise. Not validated: apply overrides first, then call [`TrainConfig::validate`].
    pub fn load(path: &Path) -> Result<TrainConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })
        } else {
            TrainConfig::from_toml_str(&text, path)
        }
    }

    /// Applies `key=value` overrides in order (see [`TrainConfig::set`]).
    pub fn apply_overrides<S: AsRef<str>>(&mut self, overrides: &[S]) -> Result<(), ConfigError> {
        for text in overrides {
            let text = text.as_ref();
            let (key, value) = text
                .split_once('=')
                .ok_or_else(|| ConfigError::OverrideSyntax(text.to_owned()))?;
            self.set(key.trim(), value.trim())?;
        }
        Ok(())
    }

    /// Sets one key from text, parsed as the key's type: an integer, a number (integers
    /// accepted), `true`/`false`, or a string (quotes optional).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let mut table = toml::Table::try_from(&*self).map_err(|e| ConfigError::BadValue {
            key: key.to_owned(),
            message: format!("the config before this override does not fit TOML: {e}"),
        })?;
        let current = table.get(key).ok_or_else(|| ConfigError::UnknownKey {
            key: key.to_owned(),
            known: table.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
        let mismatch = |expected| ConfigError::TypeMismatch {
            key: key.to_owned(),
            expected,
            value: value.to_owned(),
        };
        let new = match current {
            toml::Value::Integer(_) => toml::Value::Integer(
                value
                    .replace('_', "")
                    .parse()
                    .map_err(|_| mismatch("an integer"))?,
            ),
            toml::Value::Float(_) => {
                toml::Value::Float(value.parse().map_err(|_| mismatch("a number"))?)
            }
            toml::Value::Boolean(_) => match value {
                "true" => toml::Value::Boolean(true),
                "false" => toml::Value::Boolean(false),
                _ => return Err(mismatch("true or false")),
            },
            _ => toml::Value::String(value.trim_matches(|c| c == '"' || c == '\'').to_owned()),
        };
        table.insert(key.to_owned(), new);
        // Deserializing checks what the text parse cannot: negative sizes, unknown `arch`.
        *self = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::BadValue {
                key: key.to_owned(),
                message: e.message().to_owned(),
            })?;
        Ok(())
    }

    /// The model's keys.
    pub fn shape(&self) -> Shape {
        Shape {
            arch: self.arch,
            block_size: self.block_size,
            n_layer: self.n_layer,
            n_head: self.n_head,
            n_kv_head: self.n_kv_head,
            n_embd: self.n_embd,
            dropout: self.dropout,
            bias: self.bias,
        }
    }

    /// `n_kv_head` with 0 resolved to `n_head`.
    pub fn kv_heads(&self) -> usize {
        if self.n_kv_head == 0 {
            self.n_head
        } else {
            self.n_kv_head
        }
    }

    /// Tokens per training and validation window: `window`, or `block_size` when 0.
    pub fn window(&self) -> usize {
        match self.window {
            0 => self.block_size,
            w => w,
        }
    }

    /// Whether the run starts from random weights.
    pub fn from_scratch(&self) -> bool {
        self.init_from == "scratch"
    }

    /// Tokens consumed by one optimizer step.
    pub fn tokens_per_step(&self) -> usize {
        self.batch_size * self.window() * self.gradient_accumulation_steps
    }

    /// Sets the keys a config file gives (TOML, or JSON when the name ends in `.json`) and
    /// leaves the others as they are: a file over the defaults for a new run, over the run's
    /// saved config for `--resume`.
    pub fn overlay_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        // Loading the whole file first reports unknown keys and wrong types with its name.
        let file = TrainConfig::load(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let given: Vec<String> = if path.extension().is_some_and(|e| e == "json") {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&text).map_err(|e| parse_error(path, e))?;
            map.keys().cloned().collect()
        } else {
            let table: toml::Table = toml::from_str(&text).map_err(|e| parse_error(path, e))?;
            table.keys().cloned().collect()
        };
        let (mut base, file) = (self.table(path)?, file.table(path)?);
        for key in given {
            if let Some(value) = file.get(&key) {
                base.insert(key, value.clone());
            }
        }
        *self = base.try_into().map_err(|e| parse_error(path, e))?;
        Ok(())
    }

    fn table(&self, origin: &Path) -> Result<toml::Table, ConfigError> {
        toml::Table::try_from(self).map_err(|e| parse_error(origin, e))
    }

    /// This config (a run's saved one) changed to `requested` for `--resume`, when every
    /// key that differs is one of [`TrainConfig::RESUMABLE`]; the others are refused, named
    /// with both values.
    pub fn resumed_with(&self, requested: &TrainConfig) -> Result<TrainConfig, ConfigError> {
        let origin = Path::new("config.json");
        let (saved, new) = (self.table(origin)?, requested.table(origin)?);
        let changes: Vec<String> = new
            .iter()
            .filter(|(key, value)| {
                saved.get(*key) != Some(*value) && !Self::RESUMABLE.contains(&key.as_str())
            })
            .map(|(key, value)| match saved.get(key) {
                Some(old) => format!("{key} ({old} → {value})"),
                None => format!("{key} (→ {value})"),
            })
            .collect();
        if !changes.is_empty() {
            return Err(ConfigError::FixedOnResume {
                changes: changes.join(", "),
            });
        }
        requested.validate()?;
        Ok(requested.clone())
    }

    /// Settings that are legal but probably not what was meant, one sentence each.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self.dtype.warning().into_iter().collect();
        // A run shortened with `--set max_iters=300` keeps the default decay to 5,000 steps
        // and ends at almost its peak rate, without the low-rate steps that settle the loss.
        if self.lr_decay_iters > self.max_iters {
            let end = crate::LrSchedule::from_config(self).lr(self.max_iters);
            warnings.push(format!(
                "lr_decay_iters ({}) is past max_iters ({}): the learning rate ends at {end:.2e} \
                 instead of decaying to min_lr ({:.2e}); set lr_decay_iters={} as well",
                self.lr_decay_iters, self.max_iters, self.min_lr, self.max_iters
            ));
        }
        warnings
    }

    /// The config as TOML text, loadable by [`TrainConfig::from_toml_str`].
    ///
    /// Panics if an integer exceeds TOML's range, which [`TrainConfig::validate`] rejects.
    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).expect("a TrainConfig serializes to TOML")
    }

    /// The config as pretty JSON.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(self).expect("a TrainConfig serializes to JSON")
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
