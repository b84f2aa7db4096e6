//! Composing: one library path from a trained model and a musician's request to new MIDI.
//!
//! Load a [`ModelPackage`] (a run folder, an exported model folder, a Hugging Face folder or
//! the built-in POP909 model, found on disk by `midigpt_store`), say what you want in an
//! [`Ask`] (sampling, how many pieces, instruments, tempo, metre, length in bars or seconds,
//! form, key, caps on notes per bar, polyphony and pitch range — each optional, with one set
//! of defaults for every front end), make it a [`Request`] for a new piece or a [`Prompt`]
//! to continue ([`Ask::request`]) or an [`InfillRequest`] ([`Ask::infill`]), and [`compose`]
//! or [`infill`] returns [`Piece`]s: the score, its tokens and what it came to, telling a
//! progress hook of every token (it may stop them). [`compose_model`] does the same for a
//! model held elsewhere, as a training run's samples are.
//!
//! Controls act on the model's next-token logits, with no retraining, in one generation per
//! piece. Instruments, tempo, metre, length, the caps on notes per bar and polyphony and the
//! pitch range are hard constraints: a token that would break one is never drawn, so every
//! piece obeys them by construction. A form dictates its repeated sections: each token of a
//! section named again is the one at the same place in its first occurrence, read by the
//! model as if it had drawn it. Key is a preference: an out-of-scale pitch is made e² ≈ 7
//! times less likely than the model would have it, at any temperature, never forbidden (at
//! temperature 0 it is chosen only where its logit leads the in-key choices by more than
//! [`KEY_PENALTY`]; see [`Key`]); [`Stats`] counts the steps at which that changed the most
//! likely token. A fill takes the key, the caps and the pitch range; the other controls make
//! no sense in a hole.
//!
//! ```no_run
//! use midigpt_compose::{compose, Ask, ModelPackage};
//! use midigpt_model::Cpu;
//! let pkg = ModelPackage::<Cpu>::load(None, &Default::default())?;
//! let ask = Ask {
//!     instruments: vec!["piano,bass,drums".into()],
//!     tempo: Some(100.0),
//!     time_signature: Some("3/4".into()),
//!     bars: Some(16),
//!     ..Ask::default()
//! };
//! for piece in compose(&pkg, &ask.request(None)?, &mut |_| true)? {
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
mod long_fill;
mod package;
pub mod parse;
mod prompt;
mod ranges;
mod splice;
mod tempo;
mod watch;

pub use ask::{Ask, Defaults, DEFAULTS, DEFAULT_BARS, DEFAULT_KEY, MAX_TOKENS, MIN_TOKENS};
pub use compose::{compose, compose_model, Piece, Progress, Request, Stats};
pub use constraints::Length;
pub use controls::{supports, Controls};
pub use error::{ComposeError, Control};
pub use fill::FillConstraint;
pub use fit::PromptFit;
pub use form::{Form, Section, SECTION_BARS};
pub use infill::{infill, InfillRequest};
pub use key::{Key, AUTO_NOTES, KEY_PENALTY};
pub use long_fill::WINDOW_BARS;
pub use midigpt_generate::{Constraint, SamplingConfig};
pub use package::{read_tokenizer, ModelPackage, BUILTIN_NAME};
pub use prompt::Prompt;
pub use ranges::{usual_range, GM_DRUMS};
pub use splice::{bar_start, insert, splice};
pub use tempo::TempoChanges;
pub use watch::{MAX_NOTES_PER_QUARTER, MAX_SILENT_TOKENS};
