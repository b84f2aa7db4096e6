//! The controls as constraints: each masks the next token's logits so that what is
//! generated obeys it by construction. They read the stream through a [`Clock`] and act on
//! the generated part only (a prompt's own bars, tempos and instruments are left as they are).

use std::sync::Arc;

use midigpt_generate::{forbid, keep_only, transfer, Constraint};
use midigpt_tokenize::TokenId;

use crate::clock::{Clock, Kind, Table};

/// Only these programs (GM numbers, -1 for drums). Until each has played once in the new
/// part, a program token must be one that has not, and one must follow each note (so a new
/// piece uses every instrument asked for, from its first chord).
pub struct Instruments {
    pub(crate) table: Arc<Table>,
    pub(crate) programs: Vec<i16>,
    pub(crate) clock: Clock,
}

impl Constraint for Instruments {
    fn apply(&mut self, tokens: &[TokenId], new_from: usize, logits: &mut [f32]) {
        if self.clock.read == 0 {
            // The prompt's programs are the prompt's: count only what is generated.
            self.clock.read = new_from;
        }
        self.clock.catch_up(&self.table, tokens);
        let unused: Vec<i16> = (self.programs.iter())
            .filter(|p| !self.clock.programs.contains(p))
            .copied()
            .collect();
        let wanted = if unused.is_empty() {
            &self.programs
        } else {
            &unused
        };
        // After a note or a tempo, while some instrument has not played, a note comes next: a
        // model may otherwise go round position and tempo tokens to avoid an instrument it
        // never saw.
        let last = tokens.last().map(|&t| self.table.kind(t));
        let after = matches!(last, Some(Kind::Duration(_) | Kind::Tempo(_)));
        let force = !unused.is_empty() && after && tokens.len() > new_from;
        self.table.forbid_where(logits, |_, kind| match kind {
            Kind::Program(p) => !wanted.contains(&p),
            _ => force,
        });
    }
}

/// One tempo for the whole new part: its token at the first position, and no other tempo
/// token after it (a model that changes tempo at every position would otherwise loop on
/// position and tempo tokens without playing).
pub struct HoldTempo {
    pub(crate) table: Arc<Table>,
    pub(crate) tempo: TokenId,
    pub(crate) clock: Clock,
}

impl Constraint for HoldTempo {
    fn apply(&mut self, tokens: &[TokenId], new_from: usize, logits: &mut [f32]) {
        if self.clock.read == 0 {
            self.clock.read = new_from;
        }
        self.clock.catch_up(&self.table, tokens);
        let last = tokens.last().map(|&t| self.table.kind(t));
        let new_part = tokens.len() > new_from;
        if new_part && !self.clock.tempo_seen && matches!(last, Some(Kind::Position(_))) {
            keep_only(logits, |id| id == self.tempo);
            return;
        }
        let seen = self.clock.tempo_seen;
        self.table.forbid_where(logits, |id, kind| {
            matches!(kind, Kind::Tempo(_)) && (id != self.tempo || seen)
        });
    }
}

/// A new piece opens as every song MidiTok tokenizes does: at the first bar's first position,
/// with a tempo there, which the model draws among the tempo tokens. A model that seldom saw a
/// song begin (its training windows drawn anywhere) may otherwise set no tempo at the start,
/// and the piece plays at MIDI's default 120 BPM until it does. A prompt that has positions
/// already opened the piece: then this does nothing.
pub struct OpeningTempo {
    pub(crate) table: Arc<Table>,
    /// Set once the opening is over (or was the prompt's): nothing is scanned after that.
    pub(crate) done: bool,
}

impl Constraint for OpeningTempo {
    fn apply(&mut self, tokens: &[TokenId], new_from: usize, logits: &mut [f32]) {
        if self.done {
            return;
        }
        let is_position = |&t: &TokenId| matches!(self.table.kind(t), Kind::Position(_));
        match tokens.iter().position(is_position) {
            // No position yet: the first one is the bar's first.
            None => self
                .table
                .forbid_where(logits, |_, k| matches!(k, Kind::Position(p) if p != 0)),
            // Just drawn: a tempo comes next, where the grammar allows one.
            Some(i) if i + 1 == tokens.len() && i >= new_from => {
                let allowed = |t: TokenId| logits.get(t as usize).is_some_and(|l| l.is_finite());
                let tempos = self.table.ids(|k| matches!(k, Kind::Tempo(_)));
                if tempos.into_iter().any(allowed) {
                    self.table
                        .forbid_where(logits, |_, k| !matches!(k, Kind::Tempo(_)));
                }
                self.done = true;
            }
            // The prompt's own opening, or the opening is over.
            Some(_) => self.done = true,
        }
    }
}

/// One metre for every new bar, and no position past its end.
pub struct HoldMetre {
    pub(crate) table: Arc<Table>,
    pub(crate) metre: TokenId,
    /// Positions per bar of the metre.
    pub(crate) positions: u32,
}

impl Constraint for HoldMetre {
    fn apply(&mut self, _tokens: &[TokenId], _new_from: usize, logits: &mut [f32]) {
        self.table.forbid_where(logits, |id, kind| {
            let other_metre = matches!(kind, Kind::TimeSig(..)) && id != self.metre;
            other_metre || matches!(kind, Kind::Position(p) if p >= self.positions)
        });
    }
}

/// How long the new part is: it may not end before, and ends at the first bar line after.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    /// This many bars.
    Bars(usize),
    /// At least this many seconds, to the end of the bar that reaches them.
    Seconds(f64),
}

/// Ends the piece at a bar line once it is long enough: from then on, starting a bar means
/// ending the piece (the bar token's probability goes to the end token, which is drawn
/// nowhere else); before, the end token is forbidden. No new bar is empty, and no note is
/// placed past its bar line.
pub struct EndAt {
    pub(crate) table: Arc<Table>,
    pub(crate) length: Length,
    pub(crate) bar: TokenId,
    pub(crate) eos: TokenId,
    pub(crate) clock: Clock,
    /// Bars and seconds where the new part starts.
    pub(crate) start: Option<(usize, f64)>,
}

impl Constraint for EndAt {
    fn apply(&mut self, tokens: &[TokenId], new_from: usize, logits: &mut [f32]) {
        if self.start.is_none() {
            self.clock
                .catch_up(&self.table, &tokens[..new_from.min(tokens.len())]);
            let prompt_end = self
                .clock
                .now
                .max(self.clock.ends.iter().copied().fold(0.0, f64::max));
            self.start = Some((self.clock.bars, self.clock.seconds(prompt_end)));
        }
        self.clock.catch_up(&self.table, tokens);
        let (bars0, seconds0) = self.start.unwrap_or_default();
        let long_enough = match self.length {
            Length::Bars(n) => self.clock.bars - bars0 >= n,
            Length::Seconds(s) => {
                let bar_end = self.clock.bar_start + self.clock.bar_quarters();
                self.clock.bars > bars0 && self.clock.seconds(bar_end) - seconds0 >= s
            }
        };
        forbid_past_bar_line(&self.table, &self.clock, logits);
        // Every bar counted holds music: a model can pad a piece with silent bars (a metre
        // it rarely saw makes it do so), which would meet the length with nothing in it.
        if self.clock.bars > bars0 && self.clock.notes_in_bar == 0 {
            forbid(logits, self.bar);
            forbid(logits, self.eos);
            return;
        }
        if long_enough {
            // The end comes exactly where a bar would start, never inside the last bar.
            forbid(logits, self.eos);
            transfer(logits, self.bar, self.eos);
        } else {
            forbid(logits, self.eos);
        }
    }
}

/// At most this many notes start in a bar: once reached, nothing but a new bar (or the end).
pub struct NotesPerBar {
    pub(crate) table: Arc<Table>,
    pub(crate) max: usize,
    pub(crate) clock: Clock,
}

impl Constraint for NotesPerBar {
    fn apply(&mut self, tokens: &[TokenId], _new_from: usize, logits: &mut [f32]) {
        self.clock.catch_up(&self.table, tokens);
        forbid_past_bar_line(&self.table, &self.clock, logits);
        if self.clock.notes_in_bar >= self.max {
            forbid_note_starts(&self.table, logits, |_| true);
        }
    }
}

/// At most this many notes sound at once: no note starts where as many already ring, and no
/// position is taken where they would.
pub struct Polyphony {
    pub(crate) table: Arc<Table>,
    pub(crate) max: usize,
    pub(crate) clock: Clock,
}

impl Constraint for Polyphony {
    fn apply(&mut self, tokens: &[TokenId], _new_from: usize, logits: &mut [f32]) {
        self.clock.catch_up(&self.table, tokens);
        forbid_past_bar_line(&self.table, &self.clock, logits);
        let full_now = self.clock.sounding_at(self.clock.now) >= self.max;
        let clock = &self.clock;
        let table = &self.table;
        forbid_note_starts(table, logits, |kind| match kind {
            Kind::Position(p) => clock.sounding_at(clock.position(table, p)) >= self.max,
            _ => full_now,
        });
    }
}

/// Forbids positions past the current bar's end: a note there would sound in the next bar,
/// behind the back of any control that counts by bars.
fn forbid_past_bar_line(table: &Table, clock: &Clock, logits: &mut [f32]) {
    let positions = (clock.metre.0 as f64 * table.res).round() as u32;
    table.forbid_where(
        logits,
        |_, kind| matches!(kind, Kind::Position(p) if p >= positions),
    );
}

/// Forbids the tokens that lead to a new note (positions, programs, pitches, drum hits) for
/// which `when` holds.
fn forbid_note_starts(table: &Table, logits: &mut [f32], when: impl Fn(Kind) -> bool) {
    table.forbid_where(logits, |_, kind| {
        let starts = matches!(
            kind,
            Kind::Position(_) | Kind::Program(_) | Kind::Pitch(_) | Kind::Drum(_)
        );
        starts && when(kind)
    });
}

/// Pitched notes only within `low..=high` (drum hits are not pitches).
pub struct PitchRange {
    pub(crate) table: Arc<Table>,
    pub(crate) low: u8,
    pub(crate) high: u8,
}

impl Constraint for PitchRange {
    fn apply(&mut self, _tokens: &[TokenId], _new_from: usize, logits: &mut [f32]) {
        self.table.forbid_where(
            logits,
            |_, kind| matches!(kind, Kind::Pitch(p) if p < self.low || p > self.high),
        );
    }
}
