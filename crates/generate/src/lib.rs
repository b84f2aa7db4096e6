//! Generation: turning a model's next-token logits into music.
//!
//! [`sample`] draws one token from logits with temperature, top-k and top-p (nucleus)
//! filtering, after masking the tokens the tokenizer's [`Grammar`] forbids, so that every
//! generated sequence decodes into the events it spells.

mod generate;
mod sample;

pub use generate::{generate, Generated};
pub use midigpt_tokenize::Grammar;
pub use sample::{sample, SamplingConfig, SamplingError};
