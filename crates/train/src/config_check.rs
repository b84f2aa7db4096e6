//! [`TrainConfig::validate`]: the ranges of the keys and the relations between them.

use crate::config::Arch;
use crate::{ConfigError, TrainConfig};

impl TrainConfig {
    /// Checks ranges and relations between keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: String| Err(ConfigError::Invalid { key, reason });
        for (key, value) in [
            ("batch_size", self.batch_size as u64),
            ("block_size", self.block_size as u64),
            (
                "gradient_accumulation_steps",
                self.gradient_accumulation_steps as u64,
            ),
            ("max_iters", self.max_iters),
            ("eval_interval", self.eval_interval),
            ("eval_iters", self.eval_iters as u64),
            ("log_interval", self.log_interval),
            ("keep_last", self.keep_last as u64),
            ("n_layer", self.n_layer as u64),
            ("n_head", self.n_head as u64),
            ("n_embd", self.n_embd as u64),
        ] {
            if value == 0 {
                return invalid(key, "must be positive, got 0".into());
            }
        }
        // TOML integers are signed 64-bit: larger values could not be saved as config.toml.
        for (key, value) in [
            ("max_iters", self.max_iters),
            ("warmup_iters", self.warmup_iters),
            ("lr_decay_iters", self.lr_decay_iters),
            ("eval_interval", self.eval_interval),
            ("log_interval", self.log_interval),
            ("sample_interval", self.sample_interval),
            ("checkpoint_interval", self.checkpoint_interval),
            ("seed", self.seed),
        ] {
            if value > i64::MAX as u64 {
                return invalid(key, format!("must be at most {}, got {value}", i64::MAX));
            }
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid(
                "learning_rate",
                format!("must be > 0, got {}", self.learning_rate),
            );
        }
        if !(self.min_lr >= 0.0 && self.min_lr <= self.learning_rate) {
            let (lr, min) = (self.learning_rate, self.min_lr);
            return invalid(
                "min_lr",
                format!("must be in 0..=learning_rate ({lr}), got {min}"),
            );
        }
        if !(self.peak_tflops.is_finite() && self.peak_tflops >= 0.0) {
            let peak = self.peak_tflops;
            return invalid("peak_tflops", format!("must be >= 0, got {peak}"));
        }
        if self.warmup_iters > self.lr_decay_iters {
            let (w, d) = (self.warmup_iters, self.lr_decay_iters);
            return invalid(
                "warmup_iters",
                format!("({w}) must be <= lr_decay_iters ({d})"),
            );
        }
        for (key, rate) in [
            ("infill_rate", self.infill_rate),
            ("song_start_rate", self.song_start_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return invalid(key, format!("must be in [0, 1], got {rate}"));
            }
        }
        for (key, value) in [
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("dropout", self.dropout),
        ] {
            if !(0.0..1.0).contains(&value) {
                return invalid(key, format!("must be in [0, 1), got {value}"));
            }
        }
        for (key, value) in [
            ("weight_decay", self.weight_decay),
            ("grad_clip", self.grad_clip),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return invalid(key, format!("must be >= 0, got {value}"));
            }
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            let (e, h) = (self.n_embd, self.n_head);
            return invalid(
                "n_embd",
                format!("({e}) must be a multiple of n_head ({h})"),
            );
        }
        let kv = self.kv_heads();
        match self.arch {
            Arch::Gpt2 if kv != self.n_head => {
                return invalid(
                    "n_kv_head",
                    format!("must be 0 or n_head for gpt2, got {kv}"),
                );
            }
            Arch::Llama if !self.n_head.is_multiple_of(kv) => {
                let h = self.n_head;
                return invalid("n_kv_head", format!("({kv}) must divide n_head ({h})"));
            }
            // Rotary embeddings rotate pairs of dimensions.
            Arch::Llama if !(self.n_embd / self.n_head).is_multiple_of(2) => {
                return invalid("n_embd", "/ n_head must be even for llama (rotary)".into());
            }
            _ => {}
        }
        if self.device.trim().is_empty() {
            return invalid("device", "must not be empty".into());
        }
        if self.window > self.block_size {
            let reason = format!(
                "({}) must not exceed block_size ({})",
                self.window, self.block_size
            );
            return invalid("window", reason);
        }
        if self.init_from.trim().is_empty() {
            return invalid(
                "init_from",
                "must be scratch, builtin or a model folder".into(),
            );
        }
        Ok(())
    }
}
