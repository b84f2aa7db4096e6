//! The learning-rate schedule: nanoGPT's `get_lr`, linear warmup then cosine decay.

use crate::TrainConfig;

/// Linear warmup to `learning_rate`, cosine decay to `min_lr` at `lr_decay_iters`, `min_lr`
/// after. For a constant rate set `min_lr = learning_rate` and `warmup_iters = 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    /// Peak rate.
    pub learning_rate: f64,
    /// Floor.
    pub min_lr: f64,
    /// Steps of warmup.
    pub warmup_iters: u64,
    /// Step where decay ends.
    pub lr_decay_iters: u64,
}

impl LrSchedule {
    /// The schedule a config describes.
    pub fn from_config(config: &TrainConfig) -> LrSchedule {
        LrSchedule {
            learning_rate: config.learning_rate,
            min_lr: config.min_lr,
            warmup_iters: config.warmup_iters,
            lr_decay_iters: config.lr_decay_iters,
        }
    }

    /// The learning rate of step `it` (0-based).
    pub fn lr(&self, it: u64) -> f64 {
        let (warmup, decay) = (self.warmup_iters, self.lr_decay_iters);
        if it < warmup {
            // (it + 1): step 0 already learns a little instead of wasting a step at lr 0.
            return self.learning_rate * (it + 1) as f64 / (warmup + 1) as f64;
        }
        if it >= decay {
            // `>=` rather than nanoGPT's `>`: equal at `it == decay` anyway, and it avoids
            // 0/0 when warmup and decay end on the same step.
            return self.min_lr;
        }
        let decay_ratio = (it - warmup) as f64 / (decay - warmup) as f64;
        let coeff = 0.5 * (1.0 + (std::f64::consts::PI * decay_ratio).cos()); // 1 → 0
        self.min_lr + coeff * (self.learning_rate - self.min_lr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-12)
    }

    const S: LrSchedule = LrSchedule {
        learning_rate: 1e-3,
        min_lr: 1e-4,
        warmup_iters: 100,
        lr_decay_iters: 1100,
    };

    #[test]
    fn warmup_is_linear_from_the_first_step() {
        assert!(close(S.lr(0), 1e-3 / 101.0));
        assert!(close(S.lr(49), 1e-3 * 50.0 / 101.0));
        assert!(close(S.lr(99), 1e-3 * 100.0 / 101.0));
    }

    #[test]
    fn cosine_hits_peak_middle_and_floor() {
        assert!(close(S.lr(100), 1e-3));
        assert!(close(S.lr(600), (1e-3 + 1e-4) / 2.0));
        assert!(close(S.lr(1100), 1e-4));
        assert!(close(S.lr(5000), 1e-4));
        // Monotone decreasing over the decay.
        assert!((100..1100).all(|it| S.lr(it + 1) <= S.lr(it)));
    }

    #[test]
    fn degenerate_schedules() {
        let no_warmup = LrSchedule {
            warmup_iters: 0,
            ..S
        };
        assert!(close(no_warmup.lr(0), 1e-3));
        let step = LrSchedule {
            warmup_iters: 10,
            lr_decay_iters: 10,
            ..S
        };
        assert!(close(step.lr(9), 1e-3 * 10.0 / 11.0));
        assert!(close(step.lr(10), 1e-4));
        let constant = LrSchedule {
            min_lr: 1e-3,
            warmup_iters: 0,
            ..S
        };
        assert!((0..2000).all(|it| close(constant.lr(it), 1e-3)));
    }

    #[test]
    fn built_from_config() {
        let s = LrSchedule::from_config(&TrainConfig::default());
        assert!(close(s.lr(100), TrainConfig::default().learning_rate));
    }
}
