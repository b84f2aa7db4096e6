//! The generation loop: prompt → KV-cached decoding → constrained sampling → ids.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use midigpt_model::{Gpt, GptBackend, KvCache, ModelError};
use midigpt_tokenize::TokenId;
use rand::Rng;

use crate::{sample, Constraint, SamplingConfig};

/// What one generated sequence came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The new ids (the prompt not included), up to and without the end-of-sequence token.
    pub ids: Vec<TokenId>,
    /// Steps at which a constraint forbade the model's most likely token (dictated steps
    /// not included).
    pub corrected: usize,
    /// Steps at which a constraint dictated the token ([`Constraint::dictates`]).
    pub dictated: usize,
    /// Whether the sequence ended with the end token (drawn by the model or forced by a
    /// constraint) before the token budget.
    pub ended: bool,
    /// Whether the progress hook asked to stop.
    pub cancelled: bool,
    /// Seconds spent after the first new token (tokens/s is measured from there).
    pub seconds: f64,
}

/// The tokens the loop gives a meaning to.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Marks {
    /// Drawing it ends the sequence.
    pub eos: Option<TokenId>,
    /// Where bars start (the bar line). Past the model's context, the window the model reads
    /// restarts on one, so it reads whole bars ([`window_start`]).
    pub bar: Option<TokenId>,
}

/// Told of every new token: the token and how many new tokens there are now. Returns whether
/// to go on (`false` stops generation: a cancel button).
pub type OnToken<'a> = &'a mut dyn FnMut(TokenId, usize) -> bool;

/// Samples up to `max_tokens` ids after `prompt` (which must not be empty: start with BOS).
/// Before each draw, every constraint in turn restricts the logits; drawing `eos` ends the
/// sequence, as does a step at which the constraints leave no token. A token a constraint
/// dictates is fed to the model like a drawn one, so its cache carries on. Past the model's
/// context, the cache is rebuilt over a window of the most recent bars ([`window_start`]), so
/// generation can run longer than `block_size`.
#[allow(clippy::too_many_arguments)]
pub fn generate<B: GptBackend>(
    model: &Gpt<B>,
    prompt: &[TokenId],
    max_tokens: usize,
    constraints: &mut [Box<dyn Constraint + '_>],
    marks: Marks,
    sampling: &SamplingConfig,
    rng: &mut impl Rng,
    on_token: OnToken<'_>,
) -> Result<Generated, ModelError> {
    let block = model.config().block_size;
    let device = model.devices().into_iter().next().unwrap_or_default();
    let mut cache = KvCache::new(model.config().n_layer);
    // Everything so far, for the constraints; `context` is what the cache holds.
    let mut tokens: Vec<TokenId> = prompt.to_vec();
    let new_from = tokens.len();
    // The window moves on by a quarter of the context at a time (two or three bars of
    // POP909 piano). Positions are absolute, so each move reads the whole window again: an
    // eighth (about a bar) made long pieces 30% slower than a half, a quarter costs far less.
    let window = block - (block / 4).max(1);
    let from = if prompt.len() > block {
        window_start(prompt, marks.bar, window)
    } else {
        0
    };
    let mut context: Vec<TokenId> = prompt[from..].to_vec();
    let mut logits = step(model, &context, &mut cache, &device)?;
    let mut out = Generated {
        ids: Vec::new(),
        corrected: 0,
        dictated: 0,
        ended: false,
        cancelled: false,
        seconds: 0.0,
    };
    let mut start = Instant::now();
    while out.ids.len() < max_tokens {
        let favourite = argmax(&logits);
        for c in constraints.iter_mut() {
            c.apply(&tokens, new_from, &mut logits);
        }
        if constraints.iter().any(|c| c.dictates()) {
            out.dictated += 1;
        } else if favourite.is_some_and(|f| !logits[f].is_finite()) {
            out.corrected += 1;
        }
        let Some(next) = sample(&logits, None, sampling, rng) else {
            break;
        };
        if Some(next as TokenId) == marks.eos {
            out.ended = true;
            break;
        }
        let next = next as TokenId;
        out.ids.push(next);
        tokens.push(next);
        context.push(next);
        if out.ids.len() == 1 {
            start = Instant::now();
        }
        if !on_token(next, out.ids.len()) {
            out.cancelled = true;
            break;
        }
        if out.ids.len() == max_tokens {
            break;
        }
        logits = if cache.len() + 1 > block {
            // Positions are absolute: start a fresh cache over the most recent bars.
            cache.clear();
            let from = window_start(&context, marks.bar, window);
            context.drain(..from);
            step(model, &context, &mut cache, &device)?
        } else {
            step(model, &context[context.len() - 1..], &mut cache, &device)?
        };
    }
    out.seconds = start.elapsed().as_secs_f64();
    Ok(out)
}

/// Where a window of at most `limit` ids over the end of `context` starts: on the first
/// bar line that leaves at least half of `limit`, so the model reads whole bars (training
/// windows start anywhere, but a bar line is where a musical thought starts); without one,
/// simply the last `limit` ids.
pub fn window_start(context: &[TokenId], bar: Option<TokenId>, limit: usize) -> usize {
    let earliest = context.len().saturating_sub(limit);
    let latest = context.len().saturating_sub(limit / 2);
    bar.and_then(|b| (earliest..latest).find(|&i| context[i] == b))
        .unwrap_or(earliest)
}

/// Index of the largest finite logit.
fn argmax(logits: &[f32]) -> Option<usize> {
    (0..logits.len())
        .filter(|&i| logits[i].is_finite())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
}

/// Feeds `ids` through the cache and returns the logits of the last position.
fn step<B: GptBackend>(
    model: &Gpt<B>,
    ids: &[TokenId],
    cache: &mut KvCache<B>,
    device: &B::Device,
) -> Result<Vec<f32>, ModelError> {
    let data: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    let x = Tensor::<B, 2, Int>::from_data(TensorData::new(data, [1, ids.len()]), device);
    let logits = model.forward_cached(x, cache)?; // (1, T, V)
    let [_, t, v] = logits.dims();
    let last = logits.narrow(1, t - 1, 1).reshape([v]);
    last.into_data()
        .to_vec::<f32>()
        .map_err(|e| ModelError::Config(format!("reading logits: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::window_start;

    #[test]
    fn windows_start_on_the_first_bar_line_that_fits() {
        // Bar lines (9) at 0, 3, 7 and 10.
        let context = [9, 1, 2, 9, 1, 2, 3, 9, 1, 2, 9, 1];
        // At most 8 ids: the earliest start is 4; the bar at 7 leaves 5 ≥ 4.
        assert_eq!(window_start(&context, Some(9), 8), 7);
        // At most 9 ids: the bar at 3 fits exactly.
        assert_eq!(window_start(&context, Some(9), 9), 3);
        // A bar line leaving less than half the window is not taken: the last ids are.
        assert_eq!(window_start(&context, Some(9), 3), 10);
        assert_eq!(window_start(&context, Some(9), 4), 8);
        assert_eq!(window_start(&context, None, 8), 4);
        assert_eq!(window_start(&context, Some(9), 50), 0);
    }
}
