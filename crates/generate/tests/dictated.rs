//! A dictated token is played as told, fed to the model like a drawn one, and counted as
//! dictated rather than as a correction.

use midigpt_generate::{force, generate, Constraint, Marks, SamplingConfig};
use midigpt_model::{Cpu, GptConfig};
use midigpt_tokenize::TokenId;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Dictates `tune` from the start of the new part, then lets the model go on.
struct Play {
    tune: Vec<TokenId>,
    told: bool,
}

impl Constraint for Play {
    fn apply(&mut self, tokens: &[TokenId], new_from: usize, logits: &mut [f32]) {
        let next = self.tune.get(tokens.len() - new_from).copied();
        self.told = next.is_some();
        if let Some(id) = next {
            force(logits, id);
        }
    }

    fn dictates(&self) -> bool {
        self.told
    }
}

#[test]
fn dictated_tokens_are_played_and_not_counted_as_corrections() {
    let config = GptConfig {
        vocab_size: 20,
        block_size: 8,
        n_layer: 1,
        n_head: 2,
        n_kv_head: 2,
        n_embd: 16,
        ..GptConfig::small(20)
    };
    let model = config.init::<Cpu>(&Default::default()).expect("model");
    let greedy = SamplingConfig {
        temperature: 0.0,
        ..Default::default()
    };
    let run = |tune: Vec<TokenId>, max_tokens| {
        let mut constraints: Vec<Box<dyn Constraint>> = vec![Box::new(Play { tune, told: false })];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        generate(
            &model,
            &[1],
            max_tokens,
            &mut constraints,
            Marks::default(),
            &greedy,
            &mut rng,
            &mut |_, _| true,
        )
        .expect("generates")
    };
    // Past the context (block 8): the cache is rebuilt over dictated tokens too.
    let long: Vec<TokenId> = (0..12).map(|i| (i * 7 % 19) as TokenId).collect();
    let out = run(long.clone(), 16);
    assert_eq!(out.ids[..12], long[..]);
    assert_eq!((out.dictated, out.corrected), (12, 0), "{out:?}");
    // Within the context, what follows a dictated tune is the model's own continuation of it,
    // as if the tune had been the prompt.
    let tune = &long[..4];
    let out = run(tune.to_vec(), 7);
    let mut prompt = vec![1];
    prompt.extend_from_slice(tune);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let after = generate(
        &model,
        &prompt,
        3,
        &mut [],
        Marks::default(),
        &greedy,
        &mut rng,
        &mut |_, _| true,
    )
    .expect("generates");
    assert_eq!(out.ids[4..], after.ids[..]);
    assert_eq!(out.dictated, 4);
}
