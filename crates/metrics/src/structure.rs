//! The structure measure: how much of a piece comes back.
//!
//! A bar's *content* is the set of (pitch, onset) of the pitched notes that start in it, the
//! onset measured from the bar line on a grid of
//! [`MetricsConfig::structure_steps_per_quarter`] steps per quarter note (sixteenths by
//! default, rounded half to even). Bars are [`MetricsConfig::bar_quarters`] long (4 quarter
//! notes by default) or follow the score's time signatures. Two bars are
//! *alike* when the Jaccard similarity of their contents, |A ∩ B| / |A ∪ B|, is at least
//! [`MetricsConfig::structure_similarity`] (0.8 by default; 1 only for exact repeats). A bar
//! *comes back* when an earlier bar is alike to it.
//!
//! `structure` = bars that come back / bars with notes. Bars without a pitched onset are left
//! out of both counts (silence repeating is not structure); drums are left out (a drum loop
//! repeats every bar). A piece in which every bar is a copy of the first scores (n − 1) / n;
//! one that never repeats, 0; NaN without a pitched note. Verses and choruses of a pop song
//! score well above 0.

use midigpt_midi::Score;

use crate::grid::bar_starts;
use crate::MetricsConfig;

/// The structure measure of `score` (see the module documentation).
pub fn structure(score: &Score, config: &MetricsConfig) -> f64 {
    let bars = bar_contents(score, config);
    if bars.is_empty() {
        return f64::NAN;
    }
    let threshold = config.structure_similarity;
    let returning = (1..bars.len())
        .filter(|&i| bars[..i].iter().any(|b| alike(b, &bars[i], threshold)))
        .count();
    returning as f64 / bars.len() as f64
}

/// The contents of the bars with pitched onsets, in time order, each sorted.
fn bar_contents(score: &Score, config: &MetricsConfig) -> Vec<Vec<(u8, u64)>> {
    let pitched = || {
        score
            .tracks
            .iter()
            .filter(|t| !t.is_drum)
            .flat_map(|t| &t.notes)
    };
    let Some(last) = pitched().map(|n| n.time).max() else {
        return Vec::new();
    };
    let starts = bar_starts(score, config.bar_quarters, last.saturating_add(1));
    let factor = config.structure_steps_per_quarter as f64 / score.ticks_per_quarter.max(1) as f64;
    let mut bars: Vec<Vec<(u8, u64)>> = vec![Vec::new(); starts.len()];
    for n in pitched() {
        // The last bar that starts at or before the onset (bar 0 starts at tick 0).
        let bar = starts.partition_point(|&s| s <= n.time).saturating_sub(1);
        let onset = ((n.time - starts[bar]) as f64 * factor).round_ties_even() as u64;
        bars[bar].push((n.pitch, onset));
    }
    bars.retain(|b| !b.is_empty());
    for b in &mut bars {
        b.sort_unstable();
        b.dedup();
    }
    bars
}

/// Whether two sorted, deduplicated contents have a Jaccard similarity of at least
/// `threshold`.
fn alike(a: &[(u8, u64)], b: &[(u8, u64)], threshold: f64) -> bool {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    // |A ∩ B| / |A ∪ B| ≤ |small| / |large|: most pairs are ruled out without a merge.
    if (small.len() as f64) < threshold * large.len() as f64 {
        return false;
    }
    let shared = small
        .iter()
        .filter(|x| large.binary_search(x).is_ok())
        .count();
    let union = a.len() + b.len() - shared;
    shared as f64 >= threshold * union as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_threshold_is_inclusive() {
        let a: Vec<(u8, u64)> = (0..8).map(|i| (60, i)).collect();
        let mut b = a.clone();
        b.push((62, 0));
        b.push((64, 0));
        // 8 shared of 10: exactly 0.8.
        assert!(alike(&a, &b, 0.8));
        assert!(!alike(&a, &b, 0.81));
        assert!(alike(&a, &a, 1.0));
    }
}
