//! Why a model could not be loaded or a piece could not be composed.

use std::path::PathBuf;

/// An error from loading a model package or composing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComposeError {
    /// The path is no model, or one of its files could not be read or written.
    #[error(transparent)]
    Store(#[from] midigpt_store::StoreError),
    /// The model could not be built, loaded or run.
    #[error(transparent)]
    Model(#[from] midigpt_model::ModelError),
    /// The tokenizer could not be loaded, or could not encode the prompt or decode a piece.
    #[error(transparent)]
    Tokenize(#[from] midigpt_tokenize::TokenizeError),
    /// A sampling setting is out of range.
    #[error(transparent)]
    Sampling(#[from] midigpt_generate::SamplingError),
    /// A control the model's tokenizer cannot express, or a control value out of range.
    #[error("{control}: {why}")]
    Control {
        /// The control (each front end spells it its own way: [`Control::flag`],
        /// [`Control::name`]).
        control: Control,
        /// What is wrong.
        why: String,
    },
    /// The request cannot be met as it stands (no pieces asked for, an empty prompt, ...).
    #[error("{0}")]
    Request(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl ComposeError {
    pub(crate) fn control(control: Control, why: impl Into<String>) -> Self {
        ComposeError::Control {
            control,
            why: why.into(),
        }
    }
}

/// A control of a request, for messages: every front end names it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    /// Instruments.
    Instruments,
    /// Tempo.
    Tempo,
    /// Metre.
    TimeSignature,
    /// Length in bars.
    Bars,
    /// Length in seconds.
    Seconds,
    /// Notes per bar at most.
    MaxNotesPerBar,
    /// Notes sounding at once at most.
    MaxPolyphony,
    /// Pitch range.
    PitchRange,
    /// Sections.
    Form,
    /// Key.
    Key,
    /// The bars an infill writes.
    InfillBars,
}

impl Control {
    /// Every control.
    pub const ALL: [Control; 11] = [
        Control::Instruments,
        Control::Tempo,
        Control::TimeSignature,
        Control::Bars,
        Control::Seconds,
        Control::MaxNotesPerBar,
        Control::MaxPolyphony,
        Control::PitchRange,
        Control::Form,
        Control::Key,
        Control::InfillBars,
    ];

    /// Its name as a field of [`crate::Ask`] (and of the studio's requests): `time_signature`.
    pub fn name(self) -> &'static str {
        match self {
            Control::Instruments => "instruments",
            Control::Tempo => "tempo",
            Control::TimeSignature => "time_signature",
            Control::Bars => "bars",
            Control::Seconds => "seconds",
            Control::MaxNotesPerBar => "max_notes_per_bar",
            Control::MaxPolyphony => "max_polyphony",
            Control::PitchRange => "pitch_range",
            Control::Form => "form",
            Control::Key => "key",
            Control::InfillBars => "infill_bars",
        }
    }

    /// The command line's option: `--time-signature`.
    pub fn flag(self) -> String {
        format!("--{}", self.name().replace('_', "-"))
    }
}

impl std::fmt::Display for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl ComposeError {
    /// The message with the control spelt by `spell` (a front end's name for it); other
    /// errors as they are.
    pub fn spelt(&self, spell: impl Fn(Control) -> String) -> String {
        match self {
            ComposeError::Control { control, why } => format!("{}: {why}", spell(*control)),
            other => other.to_string(),
        }
    }
}
