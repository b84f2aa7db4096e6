//! A piece that has lost its way is stopped, and said so: a small model can fall into a
//! stream of tokens that writes no note (an instrument it never learnt, a metre it rarely
//! saw) or pile hundreds of notes into one bar. Either would run to the token budget and
//! come back as if it were music.

use std::sync::{Arc, Mutex, PoisonError};

use midigpt_generate::Generated;
use midigpt_tokenize::{TokenId, TokenKind, TokenTable};

use crate::clock::Clock;
use crate::constraints::Rule;
use crate::Length;

/// New tokens in a row with no note start after which a piece is stopped. A bar of dense
/// piano is about 150 tokens, each note 4 or 5 of them; an empty bar is 2.
pub const MAX_SILENT_TOKENS: usize = 256;

/// Notes starting in one bar, per quarter note of its length, above which a piece is
/// stopped (256 in a 4/4 bar; the densest 4/4 bar of POP909 holds 158).
pub const MAX_NOTES_PER_QUARTER: f64 = 64.0;

/// Why a piece was stopped, once it was.
pub(crate) type Stopped = Arc<Mutex<Option<String>>>;

/// Ends the generation (every token forbidden) once the new part has gone
/// [`MAX_SILENT_TOKENS`] without a note, or a bar holds more than [`MAX_NOTES_PER_QUARTER`]
/// per quarter note; says why in `stopped`.
pub(crate) struct Watch {
    pub(crate) stopped: Stopped,
}

impl Rule for Watch {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        if clock.read <= clock.new_from {
            return;
        }
        let quiet_from = clock.last_note.map_or(0, |i| i + 1).max(clock.new_from);
        let quiet = clock.read - quiet_from;
        let why = if quiet >= MAX_SILENT_TOKENS {
            format!("{quiet} tokens without a note, at bar {}", clock.bars)
        } else if clock.notes_in_bar as f64 > MAX_NOTES_PER_QUARTER * clock.bar_quarters() {
            let n = clock.notes_in_bar;
            format!(
                "{n} notes in bar {}, denser than any bar it learnt from",
                clock.bars
            )
        } else {
            return;
        };
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
        logits.fill(f32::NEG_INFINITY);
    }
}

/// "no note was written", where `ids` hold no note start and their user did not stop them
/// (`cancelled`).
pub(crate) fn no_note(ids: &[TokenId], cancelled: bool, table: &TokenTable) -> Option<String> {
    let note = |&t: &TokenId| matches!(table.kind(t), TokenKind::Pitch(_) | TokenKind::Drum(_));
    (!cancelled && !ids.iter().any(note)).then(|| "no note was written".into())
}

/// What went wrong with a piece, if anything: stopped by [`Watch`], out of tokens before the
/// asked length (`ends`), or no note at all. A cancelled piece was stopped by its user.
pub(crate) fn warning(
    out: &Generated,
    table: &TokenTable,
    ends: Option<Length>,
    stopped: &Stopped,
) -> Option<String> {
    if out.cancelled {
        return None;
    }
    let stopped = stopped
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(why) = stopped {
        return Some(format!("the model lost its way ({why}); stopped there"));
    }
    if let Some(none) = no_note(&out.ids, false, table) {
        return Some(none);
    }
    match ends {
        Some(_) if out.ended => None,
        Some(Length::Bars(n)) => {
            let bars = out.ids.iter().filter(|&&t| table.kind(t) == TokenKind::Bar);
            let bars = bars.count();
            Some(format!(
                "the token budget ran out in bar {bars} of the {n} asked: raise it, or ask for fewer bars"
            ))
        }
        Some(Length::Seconds(s)) => Some(format!(
            "the token budget ran out before the {s} seconds asked: raise it, or ask for less"
        )),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_tokenize::Vocab;

    /// The watch's verdict after `tokens` (the new part starting at token 1), and the logits.
    fn watch(tokens: &[&str]) -> (Option<String>, Vec<f32>) {
        let names = [
            "Bar_None",
            "Position_0",
            "Pitch_60",
            "Duration_1.0.8",
            "Program_0",
        ];
        let vocab = Vocab::new(names.iter().map(|t| t.to_string()));
        let table = Arc::new(TokenTable::new(&vocab, Some(8)));
        let ids: Vec<TokenId> = tokens.iter().map(|t| vocab.get(t).unwrap()).collect();
        let mut clock = Clock::new(table);
        clock.advance(&ids, 1);
        let stopped = Stopped::default();
        let mut logits = vec![0.0; names.len()];
        Watch {
            stopped: stopped.clone(),
        }
        .apply(&clock, &mut logits);
        let why = stopped.lock().unwrap().clone();
        (why, logits)
    }

    #[test]
    fn a_piece_without_notes_or_with_a_flood_of_them_is_stopped() {
        let note = ["Position_0", "Program_0", "Pitch_60", "Duration_1.0.8"];
        let mut tokens = vec!["Bar_None"];
        tokens.extend(note);
        // Quiet for one token fewer than the limit: on it goes.
        tokens.extend(["Position_0"; MAX_SILENT_TOKENS - 3]);
        tokens.push("Bar_None");
        let (why, logits) = watch(&tokens);
        assert_eq!(why, None);
        assert!(logits.iter().all(|l| l.is_finite()));
        tokens.push("Position_0");
        let (why, logits) = watch(&tokens);
        assert!(why
            .unwrap()
            .starts_with("256 tokens without a note, at bar 2"));
        assert!(
            logits.iter().all(|l| l.is_infinite()),
            "nothing more is drawn"
        );
        // 257 notes in one 4/4 bar.
        let flood: Vec<&str> = std::iter::once("Bar_None")
            .chain(note.iter().copied().cycle().take(4 * 257))
            .collect();
        let (why, _) = watch(&flood);
        assert!(why.unwrap().starts_with("257 notes in bar 1"));
        let (why, _) = watch(&flood[..4 * 256 + 1]);
        assert_eq!(why, None, "256 is allowed");
    }
}
