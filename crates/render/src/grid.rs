//! Bars and beats of a score, from its time signatures: the vertical lines of a piano roll.

use midigpt_midi::Score;

/// A bar line or a beat line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GridLine {
    /// Where the line is.
    pub tick: u32,
    /// The bar number (from 1) when the line starts a bar; `None` for a beat inside a bar.
    pub bar: Option<u32>,
}

/// Bar and beat lines from tick 0 to `end` (inclusive), at most `max_lines` of them. Before the
/// first time signature the bar is 4/4, as MIDI specifies; a change in the middle of a bar
/// starts a new bar there (the usual reading of such files).
pub(crate) fn grid_lines(score: &Score, end: u32, max_lines: usize) -> Vec<GridLine> {
    let tpq = score.ticks_per_quarter.max(1) as u64;
    let mut sigs: Vec<(u64, u64, u64)> = score
        .time_signatures
        .iter()
        .filter(|s| s.numerator > 0 && s.denominator > 0)
        .map(|s| (s.time as u64, s.numerator as u64, s.denominator as u64))
        .collect();
    sigs.sort_by_key(|s| s.0);

    let (mut numerator, mut denominator) = (4, 4);
    let (mut tick, mut bar, mut next_sig) = (0u64, 1u32, 0usize);
    let mut lines = Vec::new();
    while tick <= end as u64 && lines.len() < max_lines {
        while let Some(&(_, n, d)) = sigs.get(next_sig).filter(|s| s.0 <= tick) {
            (numerator, denominator) = (n, d);
            next_sig += 1;
        }
        let change = sigs.get(next_sig).map_or(u64::MAX, |s| s.0);
        let beat = (tpq * 4 / denominator).max(1);
        let bar_end = (tick + beat * numerator).min(change);
        lines.push(GridLine {
            tick: tick as u32,
            bar: Some(bar),
        });
        let beats = (1..numerator)
            .map(|b| tick + b * beat)
            .take_while(|&t| t < bar_end && t <= end as u64);
        lines.extend(beats.map(|t| GridLine {
            tick: t as u32,
            bar: None,
        }));
        tick = bar_end;
        bar += 1;
    }
    lines.truncate(max_lines);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_midi::TimeSignature;

    fn bars(lines: &[GridLine]) -> Vec<(u32, u32)> {
        lines
            .iter()
            .filter_map(|l| l.bar.map(|b| (b, l.tick)))
            .collect()
    }

    #[test]
    fn four_four_by_default() {
        let score = Score::new(100);
        let lines = grid_lines(&score, 800, 1000);
        assert_eq!(bars(&lines), vec![(1, 0), (2, 400), (3, 800)]);
        assert_eq!(lines.len(), 9);
        assert_eq!(
            lines[1],
            GridLine {
                tick: 100,
                bar: None
            }
        );
    }

    #[test]
    fn changes_start_new_bars() {
        let mut score = Score::new(100);
        let sig = |time, numerator, denominator| TimeSignature {
            time,
            numerator,
            denominator,
        };
        // 3/4 from the start, 6/8 in the middle of the second bar.
        score.time_signatures = vec![sig(450, 6, 8), sig(0, 3, 4)];
        let lines = grid_lines(&score, 1100, 1000);
        assert_eq!(
            bars(&lines),
            vec![(1, 0), (2, 300), (3, 450), (4, 750), (5, 1050)]
        );
        let beats: Vec<_> = lines
            .iter()
            .filter(|l| l.bar.is_none())
            .map(|l| l.tick)
            .collect();
        assert_eq!(
            beats,
            vec![100, 200, 400, 500, 550, 600, 650, 700, 800, 850, 900, 950, 1000, 1100]
        );
        assert_eq!(grid_lines(&score, u32::MAX, 50).len(), 50);
    }
}
