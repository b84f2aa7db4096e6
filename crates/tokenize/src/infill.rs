//! Bar infilling in the REMI / REMI+ token stream (MMM's "bar fill", adapted to REMI+).
//!
//! Three special tokens, appended to MidiTok's `special_tokens` (so a `tokenizer.json` with
//! them still loads in MidiTok): `Infill_Bar` marks a bar whose notes of the target tracks
//! were taken out, and `FillBar_Start … FillBar_End` holds those notes after the rest of the
//! window. In the context each hole bar keeps its `Bar_None` (and `TimeSig`), then gets one
//! `Infill_Bar`, then the notes of the other tracks (a `Position` left without events is
//! dropped, as MidiTok never writes one). The fill lists the target programs (REMI+), then
//! the hole's bars with only the target notes:
//!
//! ```text
//! … Bar_None TimeSig_4/4 Infill_Bar Position_0 Program_0 Pitch_67 Velocity_79 Duration_1.0.8 …
//! … suffix bars …
//! FillBar_Start Program_33 Bar_None TimeSig_4/4 Position_0 Program_33 Pitch_40 … FillBar_End
//! ```
//!
//! The same [`make_example`] builds training examples and the prompt of a generation, so a
//! model sees at generation exactly the layout it learnt.

use std::ops::Range;
use std::sync::Arc;

use crate::{TokenId, TokenKind, TokenTable, TokenizeError, Tokenizer, Vocab};

/// The infill placeholder of a hole bar in the context.
pub const INFILL_BAR: &str = "Infill_Bar";
/// Opens the filled part.
pub const FILL_START: &str = "FillBar_Start";
/// Closes the filled part.
pub const FILL_END: &str = "FillBar_End";
/// The three infill tokens, in the order they are appended to `special_tokens`.
pub const INFILL_TOKENS: [&str; 3] = [INFILL_BAR, FILL_START, FILL_END];

/// The role of a token id in the infill layout (its [`TokenKind`], coarser).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `PAD`, `BOS`, `EOS`, `MASK` and other specials.
    Special,
    /// `Infill_Bar`.
    InfillBar,
    /// `FillBar_Start`.
    FillStart,
    /// `FillBar_End`.
    FillEnd,
    /// `Bar_None`.
    Bar,
    /// `TimeSig_n/d`.
    TimeSig,
    /// `Position_n`.
    Position,
    /// `Tempo_q`.
    Tempo,
    /// `Program_p` (-1 = drums).
    Program(i16),
    /// `Pitch_p` or `PitchDrum_p`.
    Pitch,
    /// `Velocity_v` or `Duration_d`: the tokens after a pitch.
    NoteTail,
}

/// The ids of a REMI / REMI+ vocabulary that has the infill tokens, by role.
#[derive(Debug, Clone)]
pub struct InfillVocab {
    table: Arc<TokenTable>,
    /// `Infill_Bar`.
    pub infill_bar: TokenId,
    /// `FillBar_Start`.
    pub fill_start: TokenId,
    /// `FillBar_End`.
    pub fill_end: TokenId,
    /// `Bar_None`.
    pub bar: TokenId,
    /// Whether notes carry `Program` tokens (REMI+): the fill then lists its programs.
    pub programs: bool,
}

/// Appends the infill tokens to a MidiTok tokenizer's special tokens (a no-op when it has
/// them). The other ids shift by three: data must be prepared again with the result.
pub fn with_infill_tokens(tokenizer: &dyn Tokenizer) -> Result<Box<dyn Tokenizer>, TokenizeError> {
    if tokenizer.is_bpe() {
        return Err(TokenizeError::Unsupported(
            "infill tokens on a BPE tokenizer: add them to the base tokenizer, then train BPE"
                .into(),
        ));
    }
    let mut json = tokenizer.to_json();
    let specials = json
        .get_mut("config")
        .and_then(|c| c.get_mut("special_tokens"))
        .and_then(|s| s.as_array_mut())
        .ok_or_else(|| {
            TokenizeError::Unsupported("infill tokens on a tokenizer without special_tokens".into())
        })?;
    for token in INFILL_TOKENS {
        if !specials.iter().any(|s| s.as_str() == Some(token)) {
            specials.push(token.into());
        }
    }
    crate::from_json(&json)
}

impl InfillVocab {
    /// The infill roles of `tokenizer`'s ids. Fails with a message a user can act on when
    /// the tokenizer is no REMI / REMI+ with the infill tokens, or uses BPE.
    pub fn new(tokenizer: &dyn Tokenizer) -> Result<InfillVocab, TokenizeError> {
        if tokenizer.is_bpe() {
            return Err(TokenizeError::Infill(
                "infilling with a BPE tokenizer is not supported yet".into(),
            ));
        }
        let json = tokenizer.to_json();
        if json.get("tokenization").and_then(|t| t.as_str()) != Some("REMI") {
            return Err(TokenizeError::Infill(
                "infilling needs a REMI or REMI+ tokenizer".into(),
            ));
        }
        InfillVocab::from_table(tokenizer.table())
    }

    /// The roles of a REMI vocabulary's tokens (by their names).
    pub fn from_vocab(vocab: &Vocab) -> Result<InfillVocab, TokenizeError> {
        InfillVocab::from_table(Arc::new(TokenTable::new(vocab, None)))
    }

    fn from_table(table: Arc<TokenTable>) -> Result<InfillVocab, TokenizeError> {
        let need = |kind: TokenKind, name: &str| {
            table.first(|k| k == kind).ok_or_else(|| {
                TokenizeError::Infill(format!(
                    "no {name} token in the vocabulary: this model was not trained with \
                     infilling; train with infill_rate > 0 on data prepared with --infill-tokens"
                ))
            })
        };
        Ok(InfillVocab {
            infill_bar: need(TokenKind::InfillBar, INFILL_BAR)?,
            fill_start: need(TokenKind::FillStart, FILL_START)?,
            fill_end: need(TokenKind::FillEnd, FILL_END)?,
            bar: need(TokenKind::Bar, "Bar_None")?,
            programs: table.has(|k| matches!(k, TokenKind::Program(_))),
            table,
        })
    }

    /// What each id means, and the position resolution.
    pub fn table(&self) -> &Arc<TokenTable> {
        &self.table
    }

    /// The role of `id` (ids outside the vocabulary are specials).
    pub fn kind(&self, id: TokenId) -> Kind {
        match self.table.kind(id) {
            TokenKind::InfillBar => Kind::InfillBar,
            TokenKind::FillStart => Kind::FillStart,
            TokenKind::FillEnd => Kind::FillEnd,
            TokenKind::Bar => Kind::Bar,
            TokenKind::TimeSig(..) => Kind::TimeSig,
            TokenKind::Position(_) => Kind::Position,
            TokenKind::Tempo(_) => Kind::Tempo,
            TokenKind::Program(p) => Kind::Program(p),
            TokenKind::Pitch(_) | TokenKind::Drum(_) => Kind::Pitch,
            TokenKind::Velocity(_) | TokenKind::Duration(_) => Kind::NoteTail,
            _ => Kind::Special,
        }
    }

    /// The id of `Program_p`.
    pub fn program_id(&self, program: i16) -> Option<TokenId> {
        self.table.program(program)
    }
}

/// One event of a bar: a note (its `Program`, `Pitch`, `Velocity`, `Duration` tokens), a
/// `Position`, or any other single token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    /// Its tokens in the sequence.
    pub range: Range<usize>,
    /// What it is.
    pub what: AtomKind,
}

/// What an [`Atom`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomKind {
    /// A note with a pitch; `program` is `None` without `Program` tokens (REMI).
    Note {
        /// Its program (-1 = drums).
        program: Option<i16>,
    },
    /// A `Position` token.
    Position,
    /// Anything else (a tempo, a note cut by the window's edge).
    Other,
}

/// Bars of a token sequence: where each `Bar_None` starts one, and what comes before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bars {
    /// Token ranges of the bars, each from its `Bar_None` to the next (or the end).
    pub bars: Vec<Range<usize>>,
    /// Tokens before the first bar (a window that starts inside a bar).
    pub head: Range<usize>,
}

impl Bars {
    /// The bars of `ids`.
    pub fn of(v: &InfillVocab, ids: &[TokenId]) -> Bars {
        let starts: Vec<usize> = (0..ids.len())
            .filter(|&i| v.kind(ids[i]) == Kind::Bar)
            .collect();
        let first = starts.first().copied().unwrap_or(ids.len());
        let ends = starts.iter().skip(1).copied().chain([ids.len()]);
        Bars {
            bars: starts.iter().zip(ends).map(|(&s, e)| s..e).collect(),
            head: 0..first,
        }
    }
}

/// The events of `ids[range]`, in order.
pub fn atoms(v: &InfillVocab, ids: &[TokenId], range: Range<usize>) -> Vec<Atom> {
    let mut out = Vec::new();
    let mut i = range.start;
    while i < range.end {
        let start = i;
        let what = match v.kind(ids[i]) {
            Kind::Position => AtomKind::Position,
            kind @ (Kind::Program(_) | Kind::Pitch) => {
                let program = match kind {
                    Kind::Program(p) => {
                        i += 1;
                        Some(p)
                    }
                    _ => None,
                };
                if i < range.end && v.kind(ids[i]) == Kind::Pitch {
                    while i + 1 < range.end && v.kind(ids[i + 1]) == Kind::NoteTail {
                        i += 1;
                    }
                    AtomKind::Note { program }
                } else {
                    i -= usize::from(program.is_some());
                    AtomKind::Other
                }
            }
            _ => AtomKind::Other,
        };
        i += 1;
        out.push(Atom {
            range: start..i,
            what,
        });
    }
    out
}

/// Which bars and which tracks to fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// Bars of the sequence (0-based, by its `Bar_None` tokens).
    pub bars: Range<usize>,
    /// The programs whose notes are filled (-1 = drums), listed after `FillBar_Start`;
    /// `None`: every note (REMI, whose sequences hold one track each).
    pub programs: Option<Vec<i16>>,
}

impl Hole {
    fn takes(&self, what: AtomKind) -> bool {
        match (what, &self.programs) {
            (AtomKind::Note { .. }, None) => true,
            (AtomKind::Note { program: Some(p) }, Some(set)) => set.contains(&p),
            _ => false,
        }
    }
}

/// An infill example: the context with the hole, then the fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The whole sequence: context, `FillBar_Start`, programs, bars, `FillBar_End`.
    pub tokens: Vec<TokenId>,
    /// Index of `FillBar_Start` in `tokens`.
    pub fill_start: usize,
    /// Index of the fill's first `Bar_None` (after the program list).
    pub fill_bars: usize,
    /// Each moved note: its tokens in the input, and in `tokens`.
    pub moved: Vec<(Range<usize>, Range<usize>)>,
}

/// The infill layout of `ids` with `hole` taken out; `None` when the hole's bars are not
/// all in `ids` or a program has no token.
pub fn make_example(v: &InfillVocab, ids: &[TokenId], hole: &Hole) -> Option<Example> {
    let bars = Bars::of(v, ids);
    if hole.bars.is_empty() || hole.bars.end > bars.bars.len() {
        return None;
    }
    let mut tokens = ids[..bars.bars[hole.bars.start].start].to_vec();
    // Each hole bar's start and the atoms (positions and notes) it gives to the fill.
    let mut fill: Vec<(usize, Vec<Atom>)> = Vec::new();
    for bar in &bars.bars[hole.bars.clone()] {
        let header = bar.start..bar.start + 1 + usize::from(has_time_sig(v, ids, bar.start));
        tokens.extend_from_slice(&ids[header.clone()]);
        tokens.push(v.infill_bar);
        let mut taken = Vec::new();
        for group in groups(atoms(v, ids, header.end..bar.end)) {
            // Notes before any position (a malformed bar) stay where they are.
            let position = group
                .first()
                .filter(|a| a.what == AtomKind::Position)
                .cloned();
            let (moved, kept): (Vec<Atom>, Vec<Atom>) = group
                .into_iter()
                .partition(|a| position.is_some() && hole.takes(a.what));
            // A position left with no event is dropped, as MidiTok never writes one.
            if kept.len() > 1 || position.is_none() {
                kept.iter()
                    .for_each(|a| tokens.extend_from_slice(&ids[a.range.clone()]));
            }
            if !moved.is_empty() {
                taken.extend(position);
                taken.extend(moved);
            }
        }
        fill.push((bar.start, taken));
    }
    let after = bars.bars[hole.bars.end - 1].end;
    tokens.extend_from_slice(&ids[after..]);
    let fill_start = tokens.len();
    tokens.push(v.fill_start);
    for &p in hole.programs.iter().flatten() {
        tokens.push(v.program_id(p)?);
    }
    let fill_bars = tokens.len();
    let mut moved = Vec::new();
    for (bar_start, taken) in fill {
        let header = bar_start..bar_start + 1 + usize::from(has_time_sig(v, ids, bar_start));
        tokens.extend_from_slice(&ids[header]);
        for atom in taken {
            let at = tokens.len();
            tokens.extend_from_slice(&ids[atom.range.clone()]);
            if atom.what != AtomKind::Position {
                moved.push((atom.range.clone(), at..at + atom.range.len()));
            }
        }
    }
    tokens.push(v.fill_end);
    Some(Example {
        tokens,
        fill_start,
        fill_bars,
        moved,
    })
}

/// Whether the bar starting at `bar` has a `TimeSig` right after its `Bar_None`.
fn has_time_sig(v: &InfillVocab, ids: &[TokenId], bar: usize) -> bool {
    ids.get(bar + 1)
        .is_some_and(|&t| v.kind(t) == Kind::TimeSig)
}

/// Atoms grouped by position: each group starts at a `Position` (the first may not, in a
/// bar whose notes come before any position).
fn groups(atoms: Vec<Atom>) -> Vec<Vec<Atom>> {
    let mut out: Vec<Vec<Atom>> = Vec::new();
    for atom in atoms {
        match out.last_mut() {
            Some(group) if atom.what != AtomKind::Position => group.push(atom),
            _ => out.push(vec![atom]),
        }
    }
    out
}

#[cfg(test)]
#[path = "infill_tests.rs"]
mod tests;
