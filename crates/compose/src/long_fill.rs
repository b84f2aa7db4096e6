//! A fill longer than the model's context sees at once ("add a bass" under a whole song) is
//! written a few bars at a time, left to right: each window of [`WINDOW_BARS`] bars is filled
//! with the music around it in view, the bars already filled included, and put into the
//! score before the next.

use std::ops::Range;

use midigpt_model::{Gpt, GptBackend};
use midigpt_tokenize::infill::InfillVocab;
use midigpt_tokenize::Tokenizer;

use crate::infill::{fill_hole, targets};
use crate::watch::no_note;
use crate::{ComposeError, InfillRequest, Piece, Progress, Stats};

/// Bars filled at once: with the bars around them, about what a 1,024-token context holds
/// of a full texture (~11 bars).
pub const WINDOW_BARS: usize = 4;

/// The windows of `bars`: [`WINDOW_BARS`] each, the last what is left.
fn windows(bars: &Range<usize>) -> Vec<Range<usize>> {
    (bars.clone())
        .step_by(WINDOW_BARS)
        .map(|start| start..(start + WINDOW_BARS).min(bars.end))
        .collect()
}

/// Fills `request` window by window ([`fill_hole`] at once where it is one window).
pub(crate) fn fill_long<B: GptBackend>(
    model: &Gpt<B>,
    tokenizer: &dyn Tokenizer,
    request: &InfillRequest,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Vec<Piece>, ComposeError> {
    let windows = windows(&request.bars);
    if windows.len() <= 1 || request.pieces == 0 || request.max_tokens == 0 {
        return fill_hole(model, tokenizer, request, progress);
    }
    // The tracks to write are the whole hole's, not each window's.
    let mut request = request.clone();
    if request.programs.is_none() {
        let starts: Vec<u32> = request.score.bars().take(request.bars.end + 1).collect();
        let ticks = starts[request.bars.start]..starts[request.bars.end];
        let v = InfillVocab::new(tokenizer)?;
        // REMI+: the programs playing in the whole hole; REMI: none (its one track).
        request.programs = targets(&v, &request.score, None, &ticks)?.0;
    }
    let total = request.bars.len();
    let mut out = Vec::new();
    for i in 0..request.pieces {
        let seed = request.seed.wrapping_add(i as u64);
        let mut score = request.score.clone();
        let (mut ids, mut stats, mut stop) = (Vec::new(), None::<Stats>, false);
        for bars in &windows {
            // Each window's share of the budget, as each bar of one fill gets its share.
            let share = request.max_tokens * (bars.len() + 1) / (total + 1);
            let window = InfillRequest {
                score,
                bars: bars.clone(),
                seed,
                pieces: 1,
                max_tokens: share.max(1),
                ..request.clone()
            };
            let before = ids.len();
            let mut hook = |p: Progress| {
                let go = progress(Progress {
                    piece: i,
                    tokens: before + p.tokens,
                    token: p.token,
                });
                stop |= !go;
                go
            };
            let piece = fill_hole(model, tokenizer, &window, &mut hook)?.remove(0);
            ids.extend_from_slice(&piece.tokens[piece.new_from..]);
            stats = Some(merge(stats, &piece.stats));
            score = piece.score;
            if stop {
                break;
            }
        }
        let stats = stats.expect("at least one window");
        out.push(Piece {
            stats: Stats {
                notes: score.note_count(),
                tracks: score.tracks.iter().filter(|t| !t.notes.is_empty()).count(),
                seconds: score.seconds_at(score.end()),
                seed,
                // No note in one window is no warning while another has notes.
                warning: no_note(&ids, stop, &tokenizer.table()),
                ..stats
            },
            score,
            tokens: ids,
            new_from: 0,
        });
        if stop {
            break;
        }
    }
    Ok(out)
}

/// The stats of windows so far, and one more.
fn merge(so_far: Option<Stats>, next: &Stats) -> Stats {
    let Some(a) = so_far else {
        return next.clone();
    };
    let seconds = |s: &Stats| s.new_tokens as f64 / s.tokens_per_second.max(1e-9);
    let tokens = a.new_tokens + next.new_tokens;
    Stats {
        new_tokens: tokens,
        tokens_per_second: tokens as f64 / (seconds(&a) + seconds(next)).max(1e-9),
        corrected: a.corrected + next.corrected,
        key_corrections: a.key_corrections + next.key_corrections,
        copied: a.copied + next.copied,
        ended: a.ended && next.ended,
        cancelled: next.cancelled,
        ..next.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_hole_in_order() {
        assert_eq!(windows(&(3..13)), [3..7, 7..11, 11..13]);
        assert_eq!(windows(&(0..4)).len(), 1);
    }
}
