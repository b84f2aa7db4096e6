//! Composing: one library path from a trained model and a musician's request to new MIDI.
//!
//! Load a [`ModelPackage`] (a run folder, an exported model folder, or the built-in POP909
//! model), describe a [`Request`] (a prompt and the bars of it to keep, sampling, how many
//! pieces, and [`Controls`]: instruments, tempo, metre, length in bars or seconds, caps on
//! notes per bar, polyphony and pitch range), and [`compose`] returns [`Piece`]s: the score,
//! its tokens and what it came to. Controls are constraints on the model's next-token
//! logits, so they are obeyed by construction, with no retraining.
//!
//! ```no_run
//! use midigpt_compose::{compose, parse, Controls, Length, ModelPackage, Request};
//! use midigpt_model::Cpu;
//! let pkg = ModelPackage::<Cpu>::load(None, &Default::default())?;
//! let request = Request {
//!     controls: Controls {
//!         instruments: Some(parse::instruments("piano,bass,drums")?),
//!         tempo: Some(100.0),
//!         time_signature: Some((3, 4)),
//!         length: Some(Length::Bars(16)),
//!         ..Controls::default()
//!     },
//!     max_tokens: 4096,
//!     ..Request::default()
//! };
//! for piece in compose(&pkg, &request)? {
//!     piece.score.write_file(format!("sample-{}.mid", piece.stats.seed)).unwrap();
//!     println!("{}", piece.stats);
//! }
//! # Ok::<(), midigpt_compose::ComposeError>(())
//! ```

mod ask;
mod clock;
mod compose;
mod constraints;
mod controls;
mod error;
mod fill;
mod fit;
mod form;
mod hf;
mod infill;
mod key;
mod package;
pub mod parse;
mod splice;

pub use ask::{Ask, DEFAULT_BARS, MAX_TOKENS, MIN_TOKENS};
pub use compose::{
    compose, compose_model, compose_with, constraints, prompt_tokens, Piece, Progress, Prompt,
    Request, Stats,
};
pub use constraints::Length;
pub use controls::Controls;
pub use error::{ComposeError, Control};
pub use fill::FillConstraint;
pub use fit::PromptFit;
pub use form::{Form, Section, SECTION_BARS};
pub use infill::{infill, infill_model, infill_with, InfillRequest};
pub use key::{Key, AUTO_NOTES, KEY_PENALTY};
pub use midigpt_generate::{Constraint, SamplingConfig};
pub use package::{ModelPackage, BUILTIN_NAME};
pub use splice::{bar_start, splice};
