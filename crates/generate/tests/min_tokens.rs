//! `min_tokens` holds back the end-of-sequence token, and only for that many new tokens.

use midigpt_generate::{generate, Constraint, Marks, MinTokens, SamplingConfig};
use midigpt_model::{Cpu, GptConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn eos_is_held_back_for_min_tokens() {
    let config = GptConfig {
        vocab_size: 20,
        block_size: 16,
        n_layer: 1,
        n_head: 2,
        n_kv_head: 2,
        n_embd: 16,
        ..GptConfig::small(20)
    };
    let model = config.init::<Cpu>(&Default::default()).expect("model");
    let greedy = |eos: Option<u32>, min_tokens, max_tokens| {
        let sampling = SamplingConfig {
            temperature: 0.0,
            min_tokens,
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut constraints: Vec<Box<dyn Constraint>> = eos
            .map(|eos| {
                Box::new(MinTokens {
                    eos,
                    min: min_tokens,
                }) as Box<dyn Constraint>
            })
            .into_iter()
            .collect();
        let mut go_on = |_: u32, _: usize| true;
        generate(
            &model,
            &[1],
            max_tokens,
            &mut constraints,
            Marks { eos, bar: None },
            &sampling,
            &mut rng,
            &mut go_on,
        )
        .expect("generates")
    };
    // Whatever the greedy model says first becomes the end token.
    let first = greedy(None, 0, 1).ids[0];
    let ended = greedy(Some(first), 0, 8);
    assert!(ended.ended && ended.ids.is_empty(), "{ended:?}");
    let held = greedy(Some(first), 6, 6);
    assert_eq!(held.ids.len(), 6, "{held:?}");
    assert!(!held.ids.contains(&first) && !held.ended, "{held:?}");
    assert!(
        held.corrected >= 1,
        "the model wanted to end at the first step: {held:?}"
    );
}
