//! Generation: turning a model's next-token logits into music.
//!
//! [`generate`] runs the model token by token; before each draw, a list of [`Constraint`]s
//! (logits processors) restricts the next token: the tokenizer's [`Grammar`]
//! ([`GrammarConstraint`]), so that every generated sequence decodes into the events it
//! spells, the minimum length ([`MinTokens`]), and any control a front end adds. [`sample`]
//! then draws with temperature, top-k and top-p (nucleus) filtering.

mod constraint;
mod generate;
mod sample;

pub use constraint::{
    forbid, force, keep_only, transfer, Constraint, GrammarConstraint, MinTokens,
};
pub use generate::{generate, window_start, Generated, Marks, OnToken};
pub use midigpt_tokenize::Grammar;
pub use sample::{sample, SamplingConfig, SamplingError};
