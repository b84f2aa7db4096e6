//! Tempo that behaves like music: songs mostly hold one tempo, and where they change it they
//! drift. A model left alone may jump between 60 and 128 BPM within a few bars.

use midigpt_tokenize::{TokenKind, TokenTable};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::constraints::Rule;
use midigpt_generate::transfer;

/// How the tempo of new music may move.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TempoChanges {
    /// After the opening tempo (the prompt's, or the model's first), at most one change a
    /// bar, to a neighbouring tempo token: a drift, never a jump ([`GradualTempo`]).
    #[default]
    Gradual,
    /// Whatever the model draws.
    Free,
}

impl TempoChanges {
    /// Parses `gradual` or `free`.
    pub fn parse(text: &str) -> Result<TempoChanges, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "gradual" => Ok(TempoChanges::Gradual),
            "free" => Ok(TempoChanges::Free),
            other => Err(format!("{other:?} is neither gradual nor free")),
        }
    }
}

/// Once a tempo is set, a new tempo token in the generated part is the current tempo or its
/// neighbour among the tempo tokens (one bin up or down: MidiTok's default bins are about
/// 7 BPM apart), at most one change a bar: a jump the model draws becomes a step that way.
pub struct GradualTempo {
    /// Every tempo token's value, ascending, with its id.
    tempos: Vec<(f64, u32)>,
}

impl GradualTempo {
    /// The rule over `table`'s tempo tokens; `None` when it has fewer than two.
    pub fn new(table: &TokenTable) -> Option<GradualTempo> {
        let mut tempos: Vec<(f64, u32)> = (table.iter())
            .filter_map(|(id, k)| match k {
                TokenKind::Tempo(t) => Some((t, id)),
                _ => None,
            })
            .collect();
        tempos.sort_by(|a, b| a.0.total_cmp(&b.0));
        (tempos.len() > 1).then_some(GradualTempo { tempos })
    }
}

impl Rule for GradualTempo {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        // The opening tempo is the model's to choose (or the prompt's); the generated part
        // starts being watched once it has begun.
        if clock.read <= clock.new_from || clock.tempos == 0 {
            return;
        }
        let now = clock.qpm();
        let at = (self.tempos.iter())
            .enumerate()
            .min_by(|a, b| (a.1 .0 - now).abs().total_cmp(&(b.1 .0 - now).abs()))
            .map_or(0, |(i, _)| i);
        // A change already made in this bar of the new part: only the tempo itself again.
        let changed = clock.new_tempo && clock.tempo_bar == clock.bars;
        let (low, high) = match changed {
            true => (at, at),
            false => (at.saturating_sub(1), (at + 1).min(self.tempos.len() - 1)),
        };
        // A change the model wants goes ahead, a step at most: the probability of every
        // tempo past a neighbour goes to that neighbour, so pieces change tempo as often as
        // the model would have them, never by a jump.
        for (i, &(_, id)) in self.tempos.iter().enumerate() {
            if i < low {
                transfer(logits, id, self.tempos[low].1);
            } else if i > high {
                transfer(logits, id, self.tempos[high].1);
            }
        }
    }
}
