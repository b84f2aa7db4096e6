//! Does a model use the music after a hole? Bits per filled note in the infill layout
//! against the same notes scored left to right, on a fixed, seeded set of holes.
//!
//! Each hole is drawn as training draws them ([`midigpt_data::infill::draw_hole`]) in a
//! window of the validation split. A moved note's tokens (`Program`, `Pitch`, `Velocity`,
//! `Duration`) are scored once where they stand in the plain window, with only the music
//! before them in view, and once in the fill, after the whole context; positions and bar
//! lines are left out of both, so the two figures count the same tokens.

use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use midigpt_data::infill::{draw_hole, longest_document};
use midigpt_data::Shard;
use midigpt_model::{Gpt, GptBackend};
use midigpt_tokenize::infill::{make_example, InfillVocab};
use midigpt_tokenize::TokenId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::TrainError;

/// What [`evaluate_infill`] measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfillEval {
    /// Holes scored.
    pub holes: usize,
    /// Filled notes scored.
    pub notes: usize,
    /// Bits per filled note, scored in the fill (context on both sides).
    pub bits_per_note_infill: f64,
    /// Bits per filled note, the same notes scored left to right in the plain window.
    pub bits_per_note_left_to_right: f64,
    /// Mean loss of every token of the fill (bars, positions, notes, `FillBar_End`), nats.
    pub fill_loss: f64,
}

/// Scores `holes` holes drawn with `seed` from windows of `shard` (the validation split).
pub fn evaluate_infill<B: GptBackend>(
    model: &Gpt<B>,
    shard: &Shard,
    v: &InfillVocab,
    holes: usize,
    seed: u64,
) -> Result<InfillEval, TrainError> {
    let block = model.config().block_size;
    // A window a quarter shorter than the context leaves room for the fill's markers.
    let window = block * 3 / 4;
    if shard.len() <= window + 1 {
        return Err(midigpt_data::DataError::ShardTooShort {
            path: shard.path().to_owned(),
            len: shard.len() as u64,
            needed: window as u64 + 2,
        }
        .into());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut bits_fill, mut bits_plain, mut fill_nats, mut fill_tokens) = (0.0, 0.0, 0.0, 0);
    let (mut done, mut notes) = (0, 0);
    // Windows without a usable hole are passed over; give up after many in a row.
    for _ in 0..holes * 50 {
        if done == holes {
            break;
        }
        let start = rng.random_range(0..(shard.len() - window) as u64) as usize;
        let row = shard.window(start, window);
        let ids = &row[longest_document(v, &row)];
        let Some(ex) = draw_hole(v, ids, &mut rng).and_then(|h| make_example(v, ids, &h)) else {
            continue;
        };
        if ex.moved.is_empty() || ex.tokens.len() > block {
            continue;
        }
        let plain = log_probs(model, ids);
        let infill = log_probs(model, &ex.tokens);
        for (from, to) in &ex.moved {
            bits_plain -= from.clone().map(&plain).sum::<f64>();
            bits_fill -= to.clone().map(&infill).sum::<f64>();
        }
        fill_nats -= (ex.fill_start + 1..ex.tokens.len())
            .map(&infill)
            .sum::<f64>();
        fill_tokens += ex.tokens.len() - ex.fill_start - 1;
        notes += ex.moved.len();
        done += 1;
    }
    let ln2 = std::f64::consts::LN_2;
    Ok(InfillEval {
        holes: done,
        notes,
        bits_per_note_infill: bits_fill / ln2 / notes.max(1) as f64,
        bits_per_note_left_to_right: bits_plain / ln2 / notes.max(1) as f64,
        fill_loss: fill_nats / fill_tokens.max(1) as f64,
    })
}

/// Log-probability (nats) the model gives `ids[k]` after `ids[..k]`, for k ≥ 1.
fn log_probs<B: GptBackend>(model: &Gpt<B>, ids: &[TokenId]) -> impl Fn(usize) -> f64 {
    let device = model.devices().into_iter().next().unwrap_or_default();
    let data: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    let x = Tensor::<B, 2, Int>::from_data(TensorData::new(data, [1, ids.len()]), &device);
    let logits = model.forward(x); // (1, T, V)
    let [_, t, vocab] = logits.dims();
    let lp: Vec<f32> = log_softmax(logits.reshape([t, vocab]), 1)
        .into_data()
        .to_vec()
        .unwrap_or_default();
    let ids = ids.to_vec();
    move |k: usize| {
        lp.get((k - 1) * vocab + ids[k] as usize)
            .map_or(f64::NAN, |&p| p as f64)
    }
}
