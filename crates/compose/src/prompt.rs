//! What a continuation continues: a score and the bars of it kept.

use midigpt_midi::Score;
use midigpt_tokenize::{TokenId, TokenKind, TokenTable, Tokenizer};

use crate::ComposeError;

/// What to continue: a score, and how many of its bars to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The music to continue.
    pub score: Score,
    /// Keep only its first this many bars (bars by its time-signature map).
    pub bars: Option<usize>,
}

impl Prompt {
    /// The instruments (GM programs, -1 for drums) that play in the kept bars, in track
    /// order; `None` where none does.
    pub fn instruments(&self) -> Option<Vec<i16>> {
        let kept = self.score.slice_bars(0..self.kept_bars());
        let mut programs: Vec<i16> = Vec::new();
        for track in kept.tracks.iter().filter(|t| !t.notes.is_empty()) {
            if !programs.contains(&track.program_or_drums()) {
                programs.push(track.program_or_drums());
            }
        }
        (!programs.is_empty()).then_some(programs)
    }

    /// Whether the kept bars change tempo (hold more than one tempo value).
    pub fn changes_tempo(&self) -> bool {
        let end = crate::bar_start(&self.score, self.kept_bars());
        let mut values = (self.score.tempos.iter())
            .filter(|t| t.time < end)
            .map(|t| t.mspq);
        let first = values.next();
        values.any(|v| Some(v) != first)
    }

    /// How many of its bars are kept: the new music starts after them.
    pub fn kept_bars(&self) -> usize {
        self.bars.unwrap_or_else(|| self.score.bar_count())
    }

    /// Its tokens (its first bars when asked), as one sequence: what generation continues,
    /// and what a front end decodes with the new tokens to show a piece as it grows. The
    /// sequence holds exactly the kept bars, so that a length counts from the cut: notes the
    /// grid moves across the cut are left out (the piece keeps them as they were), and empty
    /// bars at the end (or every kept bar: an intro of silence) are written out.
    pub fn tokens(&self, tokenizer: &dyn Tokenizer) -> Result<Vec<TokenId>, ComposeError> {
        let kept = self.kept_bars();
        // Bars of silence before the cut are fine (a song that starts quietly); a file with
        // no note at all is not something to continue.
        if self.score.note_count() == 0 {
            return Err(ComposeError::Request(
                "the prompt has no notes to continue".into(),
            ));
        }
        let score = self.score.slice_bars(0..kept);
        // One stream, or (tokenizers with a sequence per track) the first track.
        let mut tokens = (tokenizer.encode(&score)?.into_iter().next()).unwrap_or_default();
        // BPE merges hide where bars start.
        if !tokenizer.is_bpe() {
            to_bar_count(&mut tokens, &tokenizer.table(), &score, kept);
        }
        Ok(tokens)
    }
}

/// Cuts `tokens` before its bar `bars + 1`, or adds empty bars (in `score`'s metres, where
/// the tokenizer writes metres) until it has `bars`.
fn to_bar_count(tokens: &mut Vec<TokenId>, table: &TokenTable, score: &Score, bars: usize) {
    let Some(bar) = table.bar() else {
        return;
    };
    let starts: Vec<usize> = (tokens.iter().enumerate())
        .filter(|&(_, &id)| id == bar)
        .map(|(i, _)| i)
        .collect();
    if let Some(&past) = starts.get(bars) {
        tokens.truncate(past);
        return;
    }
    let metres = tokens
        .iter()
        .any(|&id| matches!(table.kind(id), TokenKind::TimeSig(..)));
    let bar_ticks: Vec<u32> = score.bars().take(bars).collect();
    for &tick in &bar_ticks[starts.len().min(bar_ticks.len())..] {
        tokens.push(bar);
        let ts = score.time_signature_at(tick);
        let metre = table.time_sig(ts.numerator, ts.denominator);
        if let (true, Some(metre)) = (metres, metre) {
            tokens.push(metre);
        }
    }
}
