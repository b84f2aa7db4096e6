//! Objective music metrics of MIDI pieces, as researchers compare generated music with data.
//!
//! Per piece ([`measure`]): the metrics of MusPy (Dong et al., ISMIR 2020) with MusPy's exact
//! definitions, computed as MusPy computes them after `music.adjust_resolution(12)` (a grid of
//! [`MetricsConfig::steps_per_quarter`] steps per quarter note, the one the MMT evaluation
//! uses; times round half to even, as Python's `round` does):
//!
//! | metric | definition | drums |
//! | --- | --- | --- |
//! | `pitch_class_entropy` | Shannon entropy (bits) of the notes' pitch-class histogram | ignored |
//! | `pitch_entropy` | the same over the 128 pitches | ignored |
//! | `scale_consistency` | largest share of notes inside one major or minor scale (24 scales) | ignored |
//! | `groove_consistency` | 1 − mean Hamming distance of the onset patterns of neighbouring bars, divided by the steps per bar (MusPy's `measure_resolution`: [`MetricsConfig::bar_quarters`] × 12 steps, 48 by default) | counted |
//! | `empty_beat_rate` | share of beats (quarter notes) where no note sounds; a note covers the beats from its onset's to its end's, both included | counted |
//! | `polyphony` | mean number of pitches sounding, over the steps where at least one sounds | ignored |
//! | `polyphony_rate` | share of all steps where more than 2 pitches sound (MusPy's default threshold 2, compared with `>`) | ignored (but the piece's length counts them) |
//! | `pitch_range` | highest − lowest pitch (NaN without pitched notes, where MusPy gives 0, or −127 for drums only) | ignored |
//! | `n_pitch_classes_used`, `n_pitches_used` | distinct pitch classes, pitches | ignored |
//!
//! and, MusPy having no such metric, midigpt's own:
//!
//! | metric | definition |
//! | --- | --- |
//! | `notes_per_second` | notes (all tracks) / seconds from 0 to the last note's end, following the tempo map |
//! | `notes_per_bar` | notes (all tracks) / bars up to the last note's end (bars of [`MetricsConfig::bar_quarters`]) |
//! | `mean_duration` | mean length of the pitched notes, in quarter notes |
//! | `structure` | share of bars that come back: see [`structure`] |
//! | `tempo_changes_per_minute` | changes of tempo (a new value; repeats of the same one do not count) before the last note's end, per minute of the piece |
//! | `largest_tempo_jump` | largest difference, in quarter notes per minute, between one tempo and the next (0 with one tempo) |
//! | `one_tempo` | 1 when the piece keeps one tempo, else 0: its mean over a set is the share of pieces with one tempo |
//!
//! Files are read as everywhere in midigpt (symusic's rules): a note-on never closed is
//! dropped, where MusPy's reader closes it at the end of its track. A piece's length, for
//! MusPy's metrics, is the end of its last note (MusPy also counts
//! control changes and lyrics, which a [`Score`] does not hold). A metric without meaning for a
//! piece (no pitched note, a single bar) is NaN, `null` in JSON, and left out of the means.
//!
//! Per set of pieces ([`Report`]): mean, standard deviation and count of each metric, and with
//! two sets (generated and reference) the overlapping area of their distributions
//! ([`overlap`]), as Yang & Lerch ("On the evaluation of generative models in music", 2020)
//! compare a model's output with its data.

mod error;
mod grid;
mod piece;
mod plot;
mod report;
mod stats;
pub mod structure;

use serde::{Deserialize, Serialize};

pub use error::MetricsError;
pub use grid::cut_seconds;
pub use piece::{measure, PieceMetrics};
pub use plot::{plot_distributions, register_plot_font, PLOT_PANEL_SIZE};
pub use report::{measure_paths, Failure, Piece, Report, Set, SetSummary};
pub use stats::{overlap, Summary};

/// One metric of a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    PitchClassEntropy,
    PitchEntropy,
    ScaleConsistency,
    GrooveConsistency,
    EmptyBeatRate,
    Polyphony,
    PolyphonyRate,
    PitchRange,
    NPitchClassesUsed,
    NPitchesUsed,
    NotesPerSecond,
    NotesPerBar,
    MeanDuration,
    Structure,
    TempoChangesPerMinute,
    LargestTempoJump,
    OneTempo,
}

impl Metric {
    /// Every metric, in the order tables and pictures show them.
    pub const ALL: [Metric; 17] = [
        Metric::PitchClassEntropy,
        Metric::PitchEntropy,
        Metric::ScaleConsistency,
        Metric::GrooveConsistency,
        Metric::EmptyBeatRate,
        Metric::Polyphony,
        Metric::PolyphonyRate,
        Metric::PitchRange,
        Metric::NPitchClassesUsed,
        Metric::NPitchesUsed,
        Metric::NotesPerSecond,
        Metric::NotesPerBar,
        Metric::MeanDuration,
        Metric::Structure,
        Metric::TempoChangesPerMinute,
        Metric::LargestTempoJump,
        Metric::OneTempo,
    ];

    /// The metric's name in tables and JSON: MusPy's function name where MusPy has it.
    pub fn key(self) -> &'static str {
        match self {
            Metric::PitchClassEntropy => "pitch_class_entropy",
            Metric::PitchEntropy => "pitch_entropy",
            Metric::ScaleConsistency => "scale_consistency",
            Metric::GrooveConsistency => "groove_consistency",
            Metric::EmptyBeatRate => "empty_beat_rate",
            Metric::Polyphony => "polyphony",
            Metric::PolyphonyRate => "polyphony_rate",
            Metric::PitchRange => "pitch_range",
            Metric::NPitchClassesUsed => "n_pitch_classes_used",
            Metric::NPitchesUsed => "n_pitches_used",
            Metric::NotesPerSecond => "notes_per_second",
            Metric::NotesPerBar => "notes_per_bar",
            Metric::MeanDuration => "mean_duration",
            Metric::Structure => "structure",
            Metric::TempoChangesPerMinute => "tempo_changes_per_minute",
            Metric::LargestTempoJump => "largest_tempo_jump",
            Metric::OneTempo => "one_tempo",
        }
    }

    /// Whether MusPy has this metric (under the same name).
    pub fn in_muspy(self) -> bool {
        !matches!(
            self,
            Metric::NotesPerSecond
                | Metric::NotesPerBar
                | Metric::MeanDuration
                | Metric::Structure
                | Metric::TempoChangesPerMinute
                | Metric::LargestTempoJump
                | Metric::OneTempo
        )
    }
}

/// How pieces are measured. Defaults are the ones documented on each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Time steps per quarter note of MusPy's metrics (default 12, as in the MMT evaluation:
    /// sixteenths and eighth-note triplets both fall on it).
    pub steps_per_quarter: u32,
    /// Cut every piece to its first this many seconds before measuring (default: none).
    pub seconds: Option<f64>,
    /// Bars are this many quarter notes long, whatever the time signatures say (default 4),
    /// for the groove, notes per bar and the structure: time-signature metadata differ from
    /// one source to another (POP909 marks many 4/4 songs 2/4), and the metrics of two sets
    /// should not follow it. `None`: bars follow the score's time signatures (the groove, the
    /// one at tick 0).
    pub bar_quarters: Option<u32>,
    /// Onsets of the structure measure are compared on a grid of this many steps per quarter
    /// note (default 4: sixteenths, so a slightly early or late note still matches).
    pub structure_steps_per_quarter: u32,
    /// Two bars are alike when this share of their notes agree (default 0.8); see
    /// [`structure`].
    pub structure_similarity: f64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            steps_per_quarter: 12,
            seconds: None,
            bar_quarters: Some(4),
            structure_steps_per_quarter: 4,
            structure_similarity: 0.8,
        }
    }
}

impl MetricsConfig {
    /// Checks every field is in range.
    pub fn validate(&self) -> Result<(), MetricsError> {
        let bad = |m: String| Err(MetricsError::Config(m));
        if self.steps_per_quarter == 0 || self.structure_steps_per_quarter == 0 {
            return bad("steps per quarter note must be at least 1".into());
        }
        if self.bar_quarters == Some(0) {
            return bad("a bar must be at least 1 quarter note long".into());
        }
        if !(self.structure_similarity > 0.0 && self.structure_similarity <= 1.0) {
            return bad(format!(
                "structure similarity must be in (0, 1], not {}",
                self.structure_similarity
            ));
        }
        if let Some(s) = self.seconds {
            if !(s.is_finite() && s > 0.0) {
                return bad(format!("seconds must be a positive number, not {s}"));
            }
        }
        Ok(())
    }
}
