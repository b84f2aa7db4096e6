//! The controls as constraints: each masks the next token's logits so that what is
//! generated obeys it by construction. One constraint ([`clocked`]) reads the stream through a
//! single [`Clock`], a token at a time, and hands it to every control; the controls act on
//! the generated part only (a prompt's own bars, tempos and instruments are left as they are).

use std::sync::Arc;

use midigpt_generate::{forbid, keep_only, transfer, Constraint};
use midigpt_tokenize::{TokenId, TokenKind, TokenTable};

use crate::clock::Clock;

/// A control: masks the next token's logits, knowing where the stream stands.
pub(crate) trait Rule: Send {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]);

    /// Whether the last `apply` dictated the next token (see [`Constraint::dictates`]).
    fn dictates(&self) -> bool {
        false
    }
}

/// The controls of one generation over one clock: before each draw the clock reads the
/// tokens it has not read, then every control masks the logits in turn.
pub(crate) struct Clocked {
    clock: Clock,
    controls: Vec<Box<dyn Rule>>,
}

/// `controls` over one clock reading ids through `table` (no constraint without controls).
pub(crate) fn clocked(
    table: Arc<TokenTable>,
    controls: Vec<Box<dyn Rule>>,
) -> Option<Box<dyn Constraint>> {
    let clock = Clock::new(table);
    (!controls.is_empty()).then(|| Box::new(Clocked { clock, controls }) as Box<dyn Constraint>)
}

impl Constraint for Clocked {
    fn apply(&mut self, tokens: &[TokenId], new_from: usize, logits: &mut [f32]) {
        self.clock.advance(tokens, new_from);
        for control in &mut self.controls {
            control.apply(&self.clock, logits);
        }
    }

    fn dictates(&self) -> bool {
        self.controls.iter().any(|c| c.dictates())
    }
}

/// Forbids (see [`midigpt_generate::forbid`]) every id for which `f` holds.
pub(crate) fn forbid_where(
    table: &TokenTable,
    logits: &mut [f32],
    f: impl Fn(TokenId, TokenKind) -> bool,
) {
    for (id, kind) in table.iter() {
        if f(id, kind) {
            forbid(logits, id);
        }
    }
}

/// Whether the generated part has begun (a token is drawn after what the clock has read).
fn in_new_part(clock: &Clock) -> bool {
    clock.read > clock.new_from
}

/// Only these programs (GM numbers, -1 for drums). Until each has played once in the new
/// part, a program token must be one that has not, and one must follow each note (so a new
/// piece uses every instrument asked for, from its first chord).
pub struct Instruments {
    pub(crate) programs: Vec<i16>,
}

impl Rule for Instruments {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        // The prompt's programs are the prompt's: count only what is generated.
        let unused: Vec<i16> = (self.programs.iter())
            .filter(|p| !clock.new_programs.contains(p))
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
        let after = matches!(
            clock.last,
            Some(TokenKind::Duration(_) | TokenKind::Tempo(_))
        );
        let force = !unused.is_empty() && after && in_new_part(clock);
        forbid_where(clock.table(), logits, |_, kind| match kind {
            TokenKind::Program(p) => !wanted.contains(&p),
            _ => force,
        });
    }
}

/// One tempo for the whole new part: its token at the first position, and no other tempo
/// token after it (a model that changes tempo at every position would otherwise loop on
/// position and tempo tokens without playing).
pub struct HoldTempo {
    pub(crate) tempo: TokenId,
}

impl Rule for HoldTempo {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        let at_position = matches!(clock.last, Some(TokenKind::Position(_)));
        if in_new_part(clock) && !clock.new_tempo && at_position {
            keep_only(logits, |id| id == self.tempo);
            return;
        }
        let seen = clock.new_tempo;
        forbid_where(clock.table(), logits, |id, kind| {
            matches!(kind, TokenKind::Tempo(_)) && (id != self.tempo || seen)
        });
    }
}

/// A new piece opens as every song MidiTok tokenizes does: at the first bar's first position,
/// with a tempo there, which the model draws among the tempo tokens. A model that seldom saw a
/// song begin (its training windows drawn anywhere) may otherwise set no tempo at the start,
/// and the piece plays at MIDI's default 120 BPM until it does. A prompt that has positions
/// already opened the piece: then this does nothing.
pub struct OpeningTempo {
    /// Set once the opening is over (or was the prompt's).
    pub(crate) done: bool,
}

impl Rule for OpeningTempo {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        if self.done {
            return;
        }
        let table = clock.table();
        match clock.first_position {
            // No position yet: the first one is the bar's first.
            None => forbid_where(
                table,
                logits,
                |_, k| matches!(k, TokenKind::Position(p) if p != 0),
            ),
            // Just drawn: a tempo comes next, where the grammar allows one.
            Some(i) if i + 1 == clock.read && i >= clock.new_from => {
                let allowed = |t: TokenId| logits.get(t as usize).is_some_and(|l| l.is_finite());
                let tempos = table.ids(|k| matches!(k, TokenKind::Tempo(_)));
                if tempos.into_iter().any(allowed) {
                    forbid_where(table, logits, |_, k| !matches!(k, TokenKind::Tempo(_)));
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
    pub(crate) metre: TokenId,
    /// Positions per bar of the metre.
    pub(crate) positions: u32,
}

impl Rule for HoldMetre {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        forbid_where(clock.table(), logits, |id, kind| {
            let other_metre = matches!(kind, TokenKind::TimeSig(..)) && id != self.metre;
            other_metre || matches!(kind, TokenKind::Position(p) if p >= self.positions)
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
    pub(crate) length: Length,
    pub(crate) bar: TokenId,
    pub(crate) eos: TokenId,
}

impl Rule for EndAt {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        // Bars and seconds where the new part starts.
        let (bars0, seconds0) = clock.prompt_end.unwrap_or_default();
        let long_enough = match self.length {
            Length::Bars(n) => clock.bars - bars0 >= n,
            Length::Seconds(s) => {
                let bar_end = clock.bar_start + clock.bar_quarters();
                clock.bars > bars0 && clock.seconds(bar_end) - seconds0 >= s
            }
        };
        forbid_past_bar_line(clock, logits);
        // Every bar counted holds music: a model can pad a piece with silent bars (a metre
        // it rarely saw makes it do so), which would meet the length with nothing in it.
        if clock.bars > bars0 && clock.notes_in_bar == 0 {
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
    pub(crate) max: usize,
}

impl Rule for NotesPerBar {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        forbid_past_bar_line(clock, logits);
        if clock.notes_in_bar >= self.max {
            forbid_note_starts(clock.table(), logits, |_| true);
        }
    }
}

/// At most this many notes sound at once: no note starts where as many already ring, and no
/// position is taken where they would.
pub struct Polyphony {
    pub(crate) max: usize,
}

impl Rule for Polyphony {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        forbid_past_bar_line(clock, logits);
        let full_now = clock.sounding_at(clock.now) >= self.max;
        forbid_note_starts(clock.table(), logits, |kind| match kind {
            TokenKind::Position(p) => clock.sounding_at(clock.position(p)) >= self.max,
            _ => full_now,
        });
    }
}

/// Forbids positions past the current bar's end: a note there would sound in the next bar,
/// behind the back of any control that counts by bars.
fn forbid_past_bar_line(clock: &Clock, logits: &mut [f32]) {
    let positions = clock.positions_in_bar();
    forbid_where(
        clock.table(),
        logits,
        |_, kind| matches!(kind, TokenKind::Position(p) if p >= positions),
    );
}

/// Forbids the tokens that lead to a new note (positions, programs, pitches, drum hits) for
/// which `when` holds.
fn forbid_note_starts(table: &TokenTable, logits: &mut [f32], when: impl Fn(TokenKind) -> bool) {
    forbid_where(table, logits, |_, kind| {
        let starts = matches!(
            kind,
            TokenKind::Position(_)
                | TokenKind::Program(_)
                | TokenKind::Pitch(_)
                | TokenKind::Drum(_)
        );
        starts && when(kind)
    });
}

/// Pitched notes only within `low..=high` (drum hits are not pitches).
pub struct PitchRange {
    pub(crate) low: u8,
    pub(crate) high: u8,
}

impl Rule for PitchRange {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        let outside = |p: u8| p < self.low || p > self.high;
        // After a pitched program a drum token is read as a pitch (as MidiTok decodes it).
        let pitched = clock.program.is_some_and(|p| p >= 0);
        forbid_where(clock.table(), logits, |_, kind| match kind {
            TokenKind::Pitch(p) => outside(p),
            TokenKind::Drum(p) => pitched && outside(p),
            _ => false,
        });
    }
}
