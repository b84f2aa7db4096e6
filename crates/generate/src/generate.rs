//! The generation loop: prompt → KV-cached decoding → sampled ids.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use midigpt_model::{Gpt, GptBackend, KvCache, ModelError};
use midigpt_tokenize::{Grammar, TokenId};
use rand::Rng;

use crate::{sample, SamplingConfig};

/// What one generated sequence came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The new ids (the prompt not included), up to and without the end-of-sequence token.
    pub ids: Vec<TokenId>,
    /// Steps at which the model's most likely token broke the grammar and was masked out.
    pub repaired: usize,
    /// Whether the model ended the sequence itself (EOS) before the token budget.
    pub ended: bool,
    /// Seconds spent after the first new token (tokens/s is measured from there).
    pub seconds: f64,
}

/// Samples up to `max_tokens` ids after `prompt` (which must not be empty: start with BOS).
/// With a grammar, only tokens it allows are drawn; `eos` ends the sequence, and is held back
/// for the first `sampling.min_tokens` new tokens. Past the model's context, the cache is
/// rebuilt from the last half context, so generation can run longer than `block_size`.
pub fn generate<B: GptBackend>(
    model: &Gpt<B>,
    prompt: &[TokenId],
    max_tokens: usize,
    grammar: Option<&Grammar>,
    eos: Option<TokenId>,
    sampling: &SamplingConfig,
    rng: &mut impl Rng,
) -> Result<Generated, ModelError> {
    let block = model.config().block_size;
    let device = model.devices().into_iter().next().unwrap_or_default();
    let mut cache = KvCache::new(model.config().n_layer);
    let mut context: Vec<TokenId> = prompt[prompt.len().saturating_sub(block)..].to_vec();
    let mut logits = step(model, &context, &mut cache, &device)?;
    let mut out = Generated {
        ids: Vec::new(),
        repaired: 0,
        ended: false,
        seconds: 0.0,
    };
    let mut mask = vec![true; logits.len()];
    let mut start = Instant::now();
    while out.ids.len() < max_tokens {
        let prev = context.last().copied();
        let held_eos = eos.filter(|_| out.ids.len() < sampling.min_tokens);
        let allowed = (grammar.is_some() || held_eos.is_some()).then(|| {
            match grammar {
                Some(g) => g.fill_mask(prev, &mut mask),
                None => mask.fill(true),
            }
            if let Some(slot) = held_eos.and_then(|e| mask.get_mut(e as usize)) {
                *slot = false;
            }
            mask.as_slice()
        });
        let greedy = SamplingConfig {
            temperature: 0.0,
            ..*sampling
        };
        let Some(next) = sample(&logits, allowed, sampling, rng) else {
            break;
        };
        // A repair is the grammar overruling the model; holding back EOS is not one.
        let overruled = |g: usize| !mask[g] && Some(g as TokenId) != held_eos;
        if grammar.is_some() && sample(&logits, None, &greedy, rng).is_some_and(overruled) {
            out.repaired += 1;
        }
        if Some(next as TokenId) == eos {
            out.ended = true;
            break;
        }
        out.ids.push(next as TokenId);
        context.push(next as TokenId);
        if out.ids.len() == 1 {
            start = Instant::now();
        }
        if out.ids.len() == max_tokens {
            break;
        }
        logits = if cache.len() + 1 > block {
            // Positions are absolute: start a fresh cache over the recent half context.
            cache.clear();
            let keep = context.len().saturating_sub(block / 2);
            context.drain(..keep);
            step(model, &context, &mut cache, &device)?
        } else {
            step(model, &context[context.len() - 1..], &mut cache, &device)?
        };
    }
    out.seconds = start.elapsed().as_secs_f64();
    Ok(out)
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
