//! Shared by the tests that drive the compose layer with an untrained model.

use midigpt_model::{Cpu, Gpt, GptConfig};
use midigpt_tokenize::Tokenizer;

/// An untrained one-layer model over `tokenizer`'s vocabulary, seeing `block_size` tokens: it
/// draws anything, so only the constraints stand between it and nonsense.
pub fn random_model(tokenizer: &dyn Tokenizer, block_size: usize) -> Gpt<Cpu> {
    let v = tokenizer.vocab_size();
    let config = GptConfig {
        vocab_size: v,
        block_size,
        n_layer: 1,
        n_head: 2,
        n_kv_head: 2,
        n_embd: 16,
        ..GptConfig::small(v)
    };
    config.init::<Cpu>(&Default::default()).expect("model")
}
