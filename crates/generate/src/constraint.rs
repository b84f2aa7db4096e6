//! Constraints: small logits processors that run before every draw.
//!
//! A [`Constraint`] looks at the tokens so far and forbids next tokens by setting their logits
//! to minus infinity (or moves probability from one token to another). Any number of them
//! compose: each sees the logits the previous ones left. The token grammar and the minimum
//! length are two of them; the musical controls of `midigpt-compose` are others. A constraint
//! may also dictate the next token outright ([`force`], [`Constraint::dictates`]): music it
//! was told to play again, which the model's cache reads like any drawn token.

use midigpt_tokenize::{Grammar, TokenId};

/// A logits processor applied before each sampled token.
pub trait Constraint: Send {
    /// Restricts the logits of the next token. `tokens` is everything so far (the prompt,
    /// then the generated tokens); the generated part starts at `new_from`.
    fn apply(&mut self, tokens: &[TokenId], new_from: usize, logits: &mut [f32]);

    /// Whether the last [`apply`](Constraint::apply) dictated the next token ([`force`]):
    /// the caller was told what comes (a section played again), so the step is counted as
    /// dictated, not as a correction of the model's taste.
    fn dictates(&self) -> bool {
        false
    }
}

/// Forbids `id` (an id outside the logits is ignored).
pub fn forbid(logits: &mut [f32], id: TokenId) {
    if let Some(l) = logits.get_mut(id as usize) {
        *l = f32::NEG_INFINITY;
    }
}

/// Forbids every token except those for which `keep` holds.
pub fn keep_only(logits: &mut [f32], keep: impl Fn(TokenId) -> bool) {
    for (id, l) in logits.iter_mut().enumerate() {
        if !keep(id as TokenId) {
            *l = f32::NEG_INFINITY;
        }
    }
}

/// Makes `id` the only token that can be drawn, whatever the logits (and the constraints
/// before) said: a token the caller must play, not one the model may choose.
pub fn force(logits: &mut [f32], id: TokenId) {
    keep_only(logits, |t| t == id);
    if let Some(l) = logits.get_mut(id as usize) {
        *l = 0.0;
    }
}

/// Gives `to` the probability of `from` as well, and forbids `from`: `to` is drawn exactly
/// when the model would have drawn either (e.g. "end here" wherever it would start a bar).
pub fn transfer(logits: &mut [f32], from: TokenId, to: TokenId) {
    let (f, t) = (from as usize, to as usize);
    if f == t || f >= logits.len() || t >= logits.len() {
        return;
    }
    let (a, b) = (logits[f], logits[t]);
    // log(e^a + e^b), safe when either is -inf.
    let hi = a.max(b);
    if hi.is_finite() {
        logits[t] = hi + ((a - hi).exp() + (b - hi).exp()).ln();
    }
    logits[f] = f32::NEG_INFINITY;
}

/// The token grammar: only tokens that may follow the last one (so every piece decodes).
#[derive(Debug, Clone)]
pub struct GrammarConstraint(pub Grammar);

impl Constraint for GrammarConstraint {
    fn apply(&mut self, tokens: &[TokenId], _new_from: usize, logits: &mut [f32]) {
        let prev = tokens.last().copied();
        keep_only(logits, |id| self.0.allows(prev, id));
    }
}

/// Holds back the end token for the first `min` new tokens (Hugging Face's `min_new_tokens`):
/// a small model may otherwise close a piece after a few notes.
#[derive(Debug, Clone, Copy)]
pub struct MinTokens {
    /// The end-of-sequence token.
    pub eos: TokenId,
    /// New tokens before the end token may be drawn.
    pub min: usize,
}

impl Constraint for MinTokens {
    fn apply(&mut self, tokens: &[TokenId], new_from: usize, logits: &mut [f32]) {
        if tokens.len().saturating_sub(new_from) < self.min {
            forbid(logits, self.eos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_tokenize::Vocab;

    fn vocab() -> Vocab {
        Vocab::new(
            ["BOS_None", "EOS_None", "A_1", "A_2", "B_1"]
                .into_iter()
                .map(String::from),
        )
    }

    #[test]
    fn grammar_masks_exactly_what_may_not_follow() {
        let v = vocab();
        let g = Grammar::new(&v, &[("A", vec!["B"]), ("B", vec!["A"])], &["A"]);
        let mut c = GrammarConstraint(g);
        let finite = |logits: &[f32]| -> Vec<usize> {
            (0..logits.len())
                .filter(|&i| logits[i].is_finite())
                .collect()
        };
        let mut logits = vec![0.0; 5];
        c.apply(&[0], 1, &mut logits);
        assert_eq!(
            finite(&logits),
            vec![2, 3],
            "after BOS: the first types, no EOS"
        );
        let mut logits = vec![0.0; 5];
        c.apply(&[0, 2], 1, &mut logits);
        assert_eq!(finite(&logits), vec![1, 4], "after A: B or the end");
    }

    #[test]
    fn min_tokens_holds_only_the_end_token_and_only_that_long() {
        let mut c = MinTokens { eos: 1, min: 3 };
        let mut logits = vec![0.5; 4];
        c.apply(&[7, 0, 3], 1, &mut logits);
        assert_eq!(logits, [0.5, f32::NEG_INFINITY, 0.5, 0.5]);
        let mut logits = vec![0.5; 4];
        c.apply(&[7, 0, 3, 3], 1, &mut logits);
        assert_eq!(logits, [0.5; 4]);
    }

    #[test]
    fn force_leaves_one_token_even_a_forbidden_one() {
        let mut logits = vec![1.0f32, f32::NEG_INFINITY, 3.0];
        force(&mut logits, 1);
        assert_eq!(logits, [f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY]);
    }

    #[test]
    fn transfer_moves_all_probability() {
        let mut logits = vec![0.0f32, 2f32.ln(), f32::NEG_INFINITY];
        transfer(&mut logits, 1, 0);
        assert!((logits[0] - 3f32.ln()).abs() < 1e-6, "{logits:?}");
        assert_eq!(logits[1], f32::NEG_INFINITY);
        transfer(&mut logits, 0, 2);
        assert!(
            (logits[2] - 3f32.ln()).abs() < 1e-6,
            "onto a forbidden token: {logits:?}"
        );
    }
}
