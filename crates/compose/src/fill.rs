//! The constraint that shapes a generated fill: exactly the hole's bars, in the hole's
//! metre, only the asked programs, no tempo, each onset inside its bar, then `FillBar_End`.
//! It replaces the plain grammar constraint (which never lets a piece start after a
//! `Program` token, as the fill's program list ends).

use std::sync::Arc;

use midigpt_generate::{forbid, keep_only, transfer, Constraint, Grammar};
use midigpt_tokenize::infill::InfillVocab;
use midigpt_tokenize::{TokenId, TokenKind, TokenTable};

/// Keeps a generated fill to `bars` bars of the hole's metres and programs.
pub struct FillConstraint {
    grammar: Grammar,
    table: Arc<TokenTable>,
    bar: TokenId,
    fill_end: TokenId,
    eos: Option<TokenId>,
    /// The `TimeSig` id after each bar's `Bar_None` (none without time signature tokens),
    /// and the bar's beats.
    bars: Vec<(Option<TokenId>, u32)>,
    /// The programs the fill may use (`None`: every one, for REMI without programs).
    programs: Option<Vec<i16>>,
    /// Tokens in one bar at most: a model that never draws `Bar_None` still ends.
    per_bar_cap: usize,
}

impl FillConstraint {
    /// A fill of `bars` (each bar's `TimeSig` id, if the tokenizer has them, and beats).
    pub fn new(
        v: &InfillVocab,
        grammar: Grammar,
        bars: Vec<(Option<TokenId>, u32)>,
        programs: Option<Vec<i16>>,
        per_bar_cap: usize,
    ) -> FillConstraint {
        let table = v.table().clone();
        FillConstraint {
            grammar,
            eos: table.first(|k| k == TokenKind::Eos),
            table,
            bar: v.bar,
            fill_end: v.fill_end,
            bars,
            programs,
            per_bar_cap: per_bar_cap.max(8),
        }
    }
}

impl Constraint for FillConstraint {
    fn apply(&mut self, tokens: &[TokenId], new_from: usize, logits: &mut [f32]) {
        let new = &tokens[new_from..];
        let Some(&prev) = new.last() else {
            // The fill starts with its first bar.
            return keep_only(logits, |id| id == self.bar);
        };
        let bars_done = new.iter().filter(|&&t| t == self.bar).count();
        let (time_sig, beats) = self.bars[bars_done.saturating_sub(1).min(self.bars.len() - 1)];
        if let (Some(ts), true) = (time_sig, prev == self.bar) {
            return keep_only(logits, |id| id == ts);
        }
        let last_bar = new.iter().rposition(|&t| t == self.bar).unwrap_or(0);
        // Closing is only offered where a bar may end (not inside a note).
        let full =
            new.len() - last_bar >= self.per_bar_cap && self.grammar.allows(Some(prev), self.bar);
        let positions_in_bar = beats * self.table.ticks_per_beat();
        keep_only(logits, |id| {
            let fits = match self.table.kind(id) {
                TokenKind::Tempo(_) | TokenKind::TimeSig(..) => false,
                TokenKind::Program(p) => self.programs.as_ref().is_none_or(|s| s.contains(&p)),
                TokenKind::Position(n) => n < positions_in_bar,
                _ => true,
            };
            // A bar that ran over its budget may only close (once a note is complete).
            let closes = id == self.bar || Some(id) == self.eos;
            fits && (!full || closes) && self.grammar.allows(Some(prev), id)
        });
        if bars_done < self.bars.len() {
            forbid(logits, self.fill_end);
            if let Some(eos) = self.eos {
                forbid(logits, eos);
            }
        } else {
            // Where the model would open another bar or end the piece, the fill ends.
            transfer(logits, self.bar, self.fill_end);
            if let Some(eos) = self.eos {
                transfer(logits, eos, self.fill_end);
            }
            if full {
                keep_only(logits, |id| id == self.fill_end);
            }
        }
    }
}
