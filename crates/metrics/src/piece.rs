//! The metrics of one piece.

use std::collections::BTreeMap;

use midigpt_midi::Score;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::grid::{bar_starts, grid_notes, union_length, GridNote};
use crate::{cut_seconds, structure, Metric, MetricsConfig};

/// Every metric of one piece, NaN where it has no meaning (see the crate documentation).
/// Serializes as a map from [`Metric::key`] to the value, NaN as `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct PieceMetrics {
    values: [f64; Metric::ALL.len()],
}

impl PieceMetrics {
    /// The value of `metric`.
    pub fn get(&self, metric: Metric) -> f64 {
        self.values[index(metric)]
    }
}

fn index(metric: Metric) -> usize {
    Metric::ALL
        .iter()
        .position(|&m| m == metric)
        .expect("ALL lists every metric")
}

impl Serialize for PieceMetrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Metric::ALL.len()))?;
        for metric in Metric::ALL {
            map.serialize_entry(metric.key(), &self.get(metric))?;
        }
        map.end()
    }
}

/// Measures one piece (cut to `config.seconds` first when set).
pub fn measure(score: &Score, config: &MetricsConfig) -> PieceMetrics {
    let cut;
    let score = match config.seconds {
        Some(s) => {
            cut = cut_seconds(score, s);
            &cut
        }
        None => score,
    };
    let steps = config.steps_per_quarter.max(1) as u64;
    let notes = grid_notes(score, config.steps_per_quarter);
    let pitched: Vec<u8> = notes.iter().filter(|n| !n.drum).map(|n| n.pitch).collect();
    let length = notes.iter().map(|n| n.end).max().unwrap_or(0);
    let mut pitch_counts = [0usize; 128];
    pitched.iter().for_each(|&p| pitch_counts[p as usize] += 1);
    let mut class_counts = [0usize; 12];
    pitched
        .iter()
        .for_each(|&p| class_counts[p as usize % 12] += 1);
    let (poly, poly_rate) = polyphony(&notes, length);

    let mut values = [f64::NAN; Metric::ALL.len()];
    let mut set = |m: Metric, v: f64| values[index(m)] = v;
    set(Metric::PitchClassEntropy, entropy(&class_counts));
    set(Metric::PitchEntropy, entropy(&pitch_counts));
    set(Metric::ScaleConsistency, scale_consistency(&class_counts));
    set(
        Metric::GrooveConsistency,
        groove_consistency(
            &notes,
            length,
            measure_steps(score, config.bar_quarters, steps),
        ),
    );
    set(
        Metric::EmptyBeatRate,
        empty_beat_rate(&notes, length, steps),
    );
    set(Metric::Polyphony, poly);
    set(Metric::PolyphonyRate, poly_rate);
    if let (Some(lo), Some(hi)) = (pitched.iter().min(), pitched.iter().max()) {
        set(Metric::PitchRange, (hi - lo) as f64);
    }
    let used = |counts: &[usize]| counts.iter().filter(|&&c| c > 0).count() as f64;
    set(Metric::NPitchClassesUsed, used(&class_counts));
    set(Metric::NPitchesUsed, used(&pitch_counts));
    let (per_second, per_bar) = density(score, config.bar_quarters);
    set(Metric::NotesPerSecond, per_second);
    set(Metric::NotesPerBar, per_bar);
    set(Metric::MeanDuration, mean_duration(score));
    set(Metric::Structure, structure::structure(score, config));
    if let Some(tempo) = tempo_changes(score) {
        set(Metric::TempoChangesPerMinute, tempo.per_minute);
        set(Metric::LargestTempoJump, tempo.largest_jump);
        set(Metric::OneTempo, f64::from(u8::from(tempo.changes == 0)));
    }
    PieceMetrics { values }
}

/// How a piece's tempo moves.
struct TempoChanges {
    changes: usize,
    per_minute: f64,
    largest_jump: f64,
}

/// The tempo changes before the last note's end (of the last change at a tick, where several
/// share one; a change to the tempo already playing is none); `None` for a piece without
/// notes. A piece without tempo events plays at MIDI's 120 BPM throughout: one tempo.
fn tempo_changes(score: &Score) -> Option<TempoChanges> {
    // The music's end: tempo events after the last note play nothing.
    let notes = score.tracks.iter().flat_map(|t| &t.notes);
    let end = notes.map(|n| n.end()).max().unwrap_or(0);
    let seconds = score.tempo_map().seconds(end);
    if end == 0 || seconds <= 0.0 {
        return None;
    }
    // In time order, as the tempo map reads them (stable: of changes at one tick, the last
    // in the list holds).
    let mut played: Vec<_> = score.tempos.iter().filter(|t| t.time < end).collect();
    played.sort_by_key(|t| t.time);
    let mut tempos: Vec<(u32, f64)> = Vec::new();
    for t in played {
        match tempos.last_mut() {
            Some(last) if last.0 == t.time => last.1 = t.qpm(),
            _ => tempos.push((t.time, t.qpm())),
        }
    }
    tempos.dedup_by(|b, a| a.1 == b.1);
    let jumps = tempos.windows(2).map(|w| (w[1].1 - w[0].1).abs());
    let changes = tempos.len().saturating_sub(1);
    Some(TempoChanges {
        changes,
        per_minute: changes as f64 / (seconds / 60.0),
        largest_jump: jumps.fold(0.0, f64::max),
    })
}

/// Shannon entropy in bits of a histogram; NaN when it is empty.
fn entropy(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    let p = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| c as f64 / total as f64);
    -p.map(|p| p * p.log2()).sum::<f64>()
}

/// MusPy's `scale_consistency`: the largest share of notes in one of the 12 major or 12 minor
/// scales.
fn scale_consistency(class_counts: &[usize; 12]) -> f64 {
    const MAJOR: [bool; 12] = [
        true, false, true, false, true, true, false, true, false, true, false, true,
    ];
    const MINOR: [bool; 12] = [
        true, false, true, true, false, true, false, true, true, false, true, false,
    ];
    let total: usize = class_counts.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    let mut best = 0.0f64;
    for scale in [MAJOR, MINOR] {
        for root in 0..12 {
            // `np.roll(c_scale, root)`: pitch class `pc` is in the scale when `pc - root` is.
            let inside: usize = (0..12)
                .filter(|pc| scale[(pc + 12 - root) % 12])
                .map(|pc| class_counts[pc])
                .sum();
            best = best.max(inside as f64 / total as f64);
        }
    }
    best
}

/// MusPy's `measure_resolution`: steps of a bar of `bar_quarters`, or of the time signature
/// at tick 0 (4/4 when none), rounded (half to even) when the grid does not divide it evenly.
fn measure_steps(score: &Score, bar_quarters: Option<u32>, steps: u64) -> u64 {
    if let Some(q) = bar_quarters {
        return steps * q.max(1) as u64;
    }
    let ts = score.time_signature_at(0);
    let bar = steps as f64 * 4.0 * ts.numerator.max(1) as f64 / ts.denominator.max(1) as f64;
    (bar.round_ties_even() as u64).max(1)
}

/// MusPy's `groove_consistency`: 1 − the Hamming distances between the onset patterns of
/// neighbouring bars, summed and divided by `(bars − 1) × steps per bar`; NaN under 2 bars.
fn groove_consistency(notes: &[GridNote], length: u64, bar: u64) -> f64 {
    let bars = length / bar + 1;
    if bars < 2 {
        return f64::NAN;
    }
    // Onset positions of each bar that has any (most of a long piece's bars can be empty).
    let mut patterns: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for n in notes {
        patterns
            .entry(n.start / bar)
            .or_default()
            .push(n.start % bar);
    }
    patterns.values_mut().for_each(|p| {
        p.sort_unstable();
        p.dedup();
    });
    // d(G_i, G_i+1) = |G_i| + |G_i+1| - 2 |G_i ∩ G_i+1|: each bar's onsets count once per
    // neighbour pair it belongs to, minus what it shares with the next bar.
    let mut distance = 0i64;
    for (&i, pattern) in &patterns {
        let pairs = i64::from(i > 0) + i64::from(i + 1 < bars);
        distance += pairs * pattern.len() as i64;
        if let Some(next) = patterns.get(&(i + 1)) {
            let shared = pattern
                .iter()
                .filter(|p| next.binary_search(p).is_ok())
                .count();
            distance -= 2 * shared as i64;
        }
    }
    1.0 - distance as f64 / (bar * (bars - 1)) as f64
}

/// MusPy's `empty_beat_rate`: beats (quarter notes) without a sounding note over all beats up
/// to the piece's end; NaN for an empty piece.
fn empty_beat_rate(notes: &[GridNote], length: u64, steps: u64) -> f64 {
    if length < 1 {
        return f64::NAN;
    }
    let beats = length / steps + 1;
    // A note sounds in the beats of its onset and of its end, both included.
    let covered = union_length(
        notes
            .iter()
            .map(|n| (n.start / steps, n.end / steps + 1))
            .collect(),
    );
    1.0 - covered as f64 / beats as f64
}

/// MusPy's `polyphony` and `polyphony_rate` of the binary piano roll of the pitched notes (one
/// pitch sounding twice counts once), without building it: the steps where 0, 1, 2, ...
/// pitches sound follow from each pitch's merged intervals.
fn polyphony(notes: &[GridNote], length: u64) -> (f64, f64) {
    let mut by_pitch: Vec<Vec<(u64, u64)>> = vec![Vec::new(); 128];
    for n in notes.iter().filter(|n| !n.drum) {
        by_pitch[n.pitch as usize].push((n.start, n.end));
    }
    let mut pitch_steps = 0u64;
    let mut events: Vec<(u64, i64)> = Vec::new();
    for mut intervals in by_pitch {
        intervals.retain(|(s, e)| e > s);
        intervals.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (s, e) in intervals {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        for (s, e) in merged {
            pitch_steps += e - s;
            events.extend([(s, 1), (e, -1)]);
        }
    }
    events.sort_unstable();
    let (mut sounding, mut busy, mut many) = (0i64, 0u64, 0u64);
    for (i, &(time, delta)) in events.iter().enumerate() {
        sounding += delta;
        let next = events.get(i + 1).map_or(time, |e| e.0);
        if sounding > 0 {
            busy += next - time;
        }
        if sounding > 2 {
            many += next - time;
        }
    }
    let poly = if busy < 1 {
        f64::NAN
    } else {
        pitch_steps as f64 / busy as f64
    };
    let rate = if length < 1 {
        f64::NAN
    } else {
        many as f64 / length as f64
    };
    (poly, rate)
}

/// Notes (every track) per second and per bar, up to the end of the last note.
fn density(score: &Score, bar_quarters: Option<u32>) -> (f64, f64) {
    let notes = score.note_count() as f64;
    let end = score
        .tracks
        .iter()
        .flat_map(|t| t.notes.iter().map(|n| n.end()))
        .max();
    let Some(end) = end.filter(|&e| e > 0) else {
        return (f64::NAN, f64::NAN);
    };
    let seconds = score.seconds_at(end);
    let bars = bar_starts(score, bar_quarters, end).len() as f64;
    (notes / seconds, notes / bars)
}

/// Mean length of the pitched notes, in quarter notes.
fn mean_duration(score: &Score) -> f64 {
    let durations: Vec<u32> = score
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| t.notes.iter().map(|n| n.duration))
        .collect();
    let total: f64 = durations.iter().map(|&d| d as f64).sum();
    total / durations.len() as f64 / score.ticks_per_quarter.max(1) as f64
}
