//! The note grid MusPy's metrics are computed on, and cutting a piece to its first seconds.

use midigpt_midi::Score;

/// A note on the metrics grid: onset and end in steps, as MusPy's `adjust_resolution` leaves
/// it (both rounded, so the duration is the difference of the rounded times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GridNote {
    pub start: u64,
    pub end: u64,
    pub pitch: u8,
    pub drum: bool,
}

/// Every note of `score` on a grid of `steps_per_quarter` steps per quarter note. Times are
/// scaled by `steps / ticks_per_quarter` and rounded half to even with the very floating-point
/// operations MusPy does (`round(time * factor)`), so that both give the same steps.
pub(crate) fn grid_notes(score: &Score, steps_per_quarter: u32) -> Vec<GridNote> {
    let factor = steps_per_quarter as f64 / score.ticks_per_quarter.max(1) as f64;
    let step = |tick: u32| (tick as f64 * factor).round_ties_even() as u64;
    score
        .tracks
        .iter()
        .flat_map(|t| t.notes.iter().map(move |n| (t.is_drum, n)))
        .map(|(drum, n)| GridNote {
            start: step(n.time),
            end: step(n.end()),
            pitch: n.pitch,
            drum,
        })
        .collect()
}

/// Start ticks of the bars that begin before `until`: every `bar_quarters` quarter notes, or
/// by the score's time signatures when `None`.
pub(crate) fn bar_starts(score: &Score, bar_quarters: Option<u32>, until: u32) -> Vec<u32> {
    match bar_quarters {
        Some(q) => {
            let bar = (q.max(1) * score.ticks_per_quarter.max(1) as u32) as usize;
            (0..until).step_by(bar).collect()
        }
        None => score.bar_starts(until),
    }
}

/// Total length of the union of half-open intervals `[start, end)` (empty ones ignored).
pub(crate) fn union_length(mut intervals: Vec<(u64, u64)>) -> u64 {
    intervals.retain(|(s, e)| e > s);
    intervals.sort_unstable();
    let mut total = 0;
    let mut current: Option<(u64, u64)> = None;
    for (s, e) in intervals {
        current = match current {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    total + current.map_or(0, |(s, e)| e - s)
}

/// The first `seconds` of `score`: the notes that start before then, cut to end there at the
/// latest, and the tempo and time-signature changes before then. A score shorter than that
/// comes back whole.
pub fn cut_seconds(score: &Score, seconds: f64) -> Score {
    let map = score.tempo_map();
    let end = score.end();
    if map.seconds(end) < seconds {
        return score.clone();
    }
    // The first tick at `seconds` or later: seconds grow with ticks, so a binary search.
    let (mut lo, mut hi) = (0u32, end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if map.seconds(mid) < seconds {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let limit = lo;
    let mut out = score.clone();
    out.tempos.retain(|t| t.time < limit);
    out.time_signatures.retain(|t| t.time < limit);
    for track in &mut out.tracks {
        track.notes.retain(|n| n.time < limit);
        for n in &mut track.notes {
            n.duration = n.duration.min(limit - n.time);
        }
    }
    out.tracks.retain(|t| !t.notes.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_merge_overlapping_and_touching_intervals() {
        assert_eq!(union_length(vec![]), 0);
        assert_eq!(
            union_length(vec![(0, 4), (2, 6), (6, 7), (10, 12), (3, 3)]),
            9
        );
    }

    #[test]
    fn grid_rounds_half_to_even_like_python() {
        let mut score = Score::new(480);
        // 20 ticks at 12 steps per quarter is 0.5 step (rounds to 0), 60 is 1.5 (to 2).
        score.tracks.push(midigpt_midi::Track {
            notes: vec![midigpt_midi::Note {
                time: 20,
                duration: 40,
                pitch: 60,
                velocity: 80,
            }],
            ..Default::default()
        });
        let n = grid_notes(&score, 12)[0];
        assert_eq!((n.start, n.end), (0, 2));
    }
}
