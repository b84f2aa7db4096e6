//! One sampling step: mask, temperature, top-k, top-p, draw.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// How to draw the next token from the model's logits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingConfig {
    /// Divides the logits: below 1 sharpens, above 1 flattens; 0 picks the most likely token.
    pub temperature: f32,
    /// Keep only the `k` most likely tokens (`None`: all).
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely tokens whose probability reaches `p` (`None`: all).
    pub top_p: Option<f32>,
    /// The end-of-sequence token is not drawn before this many new tokens (Hugging Face's
    /// `min_new_tokens`): a small model may otherwise close a piece after a few notes.
    #[serde(default)]
    pub min_tokens: usize,
}

impl Default for SamplingConfig {
    /// Temperature 1, top-k 0 (off), top-p off, no minimum length: the model's own
    /// distribution.
    fn default() -> Self {
        SamplingConfig {
            temperature: 1.0,
            top_k: None,
            top_p: None,
            min_tokens: 0,
        }
    }
}

/// A sampling setting out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SamplingError {
    /// Temperature negative or not a number.
    #[error(
        "temperature {0} must be a number ≥ 0 (0 always picks the most likely token, \
         1 samples the model's own distribution)"
    )]
    Temperature(f32),
    /// Top-p outside 0..=1.
    #[error(
        "top-p {0} must be within 0..=1 (0.9 samples among the most likely tokens that make \
         up 90% of the probability)"
    )]
    TopP(f32),
}

impl SamplingConfig {
    /// Checks the settings: a temperature ≥ 0, a top-p within 0..=1 (top-k 0 means off).
    pub fn validate(&self) -> Result<(), SamplingError> {
        if self.temperature.is_nan() || self.temperature < 0.0 {
            return Err(SamplingError::Temperature(self.temperature));
        }
        match self.top_p {
            Some(p) if !(0.0..=1.0).contains(&p) => Err(SamplingError::TopP(p)),
            _ => Ok(()),
        }
    }
}

/// Draws a token index from `logits`. Tokens with `allowed[i] == false` (or a non-finite
/// logit) are never drawn. Returns `None` when no token is allowed.
pub fn sample(
    logits: &[f32],
    allowed: Option<&[bool]>,
    cfg: &SamplingConfig,
    rng: &mut impl Rng,
) -> Option<usize> {
    let ok = |i: usize| logits[i].is_finite() && allowed.is_none_or(|a| a.get(i) == Some(&true));
    let mut cand: Vec<(usize, f32)> = (0..logits.len())
        .filter(|&i| ok(i))
        .map(|i| (i, logits[i]))
        .collect();
    if cand.is_empty() {
        return None;
    }
    // Most likely first: top-k and top-p both cut this order.
    cand.sort_by(|a, b| b.1.total_cmp(&a.1));
    if cfg.temperature <= 0.0 {
        return Some(cand[0].0);
    }
    if let Some(k) = cfg.top_k.filter(|k| *k > 0) {
        cand.truncate(k);
    }
    let max = cand[0].1;
    let mut probs: Vec<f64> = cand
        .iter()
        .map(|(_, l)| (((l - max) / cfg.temperature) as f64).exp())
        .collect();
    let total: f64 = probs.iter().sum();
    if let Some(p) = cfg.top_p.filter(|p| *p < 1.0) {
        let mut cumulative = 0.0;
        let keep = probs
            .iter()
            .position(|q| {
                cumulative += q / total;
                cumulative >= p as f64
            })
            .map_or(probs.len(), |i| i + 1);
        probs.truncate(keep);
    }
    let total: f64 = probs.iter().sum();
    let mut r = rng.random::<f64>() * total;
    for (i, q) in probs.iter().enumerate() {
        if r < *q {
            return Some(cand[i].0);
        }
        r -= q;
    }
    Some(cand[probs.len() - 1].0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn draws(logits: &[f32], cfg: SamplingConfig, n: usize) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut counts = vec![0; logits.len()];
        for _ in 0..n {
            counts[sample(logits, None, &cfg, &mut rng).unwrap()] += 1;
        }
        counts
    }

    #[test]
    fn zero_temperature_is_greedy() {
        let cfg = SamplingConfig {
            temperature: 0.0,
            ..Default::default()
        };
        assert_eq!(draws(&[0.1, 2.0, 1.9], cfg, 50), vec![0, 50, 0]);
    }

    #[test]
    fn follows_the_softmax_distribution() {
        // Probabilities 0.5, 0.25, 0.25.
        let logits = [2f32.ln(), 0.0, 0.0];
        let counts = draws(&logits, SamplingConfig::default(), 20_000);
        assert!(
            (counts[0] as f64 / 20_000.0 - 0.5).abs() < 0.02,
            "{counts:?}"
        );
        assert!(
            (counts[1] as f64 / 20_000.0 - 0.25).abs() < 0.02,
            "{counts:?}"
        );
    }

    #[test]
    fn top_k_and_top_p_cut_the_tail() {
        let logits = [3.0, 2.0, 1.0, 0.0];
        let k2 = draws(
            &logits,
            SamplingConfig {
                top_k: Some(2),
                ..Default::default()
            },
            2_000,
        );
        assert_eq!((k2[2], k2[3]), (0, 0));
        assert!(k2[0] > 0 && k2[1] > 0);
        // p(0) ≈ 0.64, p(0)+p(1) ≈ 0.88: top-p 0.8 keeps exactly two tokens.
        let p = draws(
            &logits,
            SamplingConfig {
                top_p: Some(0.8),
                ..Default::default()
            },
            2_000,
        );
        assert_eq!((p[2], p[3]), (0, 0));
        assert!(p[1] > 0);
    }

    #[test]
    fn masked_tokens_are_never_drawn() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let allowed = [false, true, false];
        for _ in 0..200 {
            let got = sample(
                &[5.0, 0.0, 5.0],
                Some(&allowed),
                &SamplingConfig::default(),
                &mut rng,
            );
            assert_eq!(got, Some(1));
        }
        assert_eq!(
            sample(&[1.0], Some(&[false]), &SamplingConfig::default(), &mut rng),
            None
        );
    }

    #[test]
    fn same_seed_same_draws() {
        let logits: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let cfg = SamplingConfig {
            temperature: 0.9,
            top_k: Some(20),
            top_p: Some(0.95),
            ..Default::default()
        };
        let run = || {
            let mut rng = ChaCha8Rng::seed_from_u64(42);
            (0..100)
                .map(|_| sample(&logits, None, &cfg, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
