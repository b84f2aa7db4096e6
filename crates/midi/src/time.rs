//! Musical time of a [`Score`]: where its bars start (from every time-signature change), how
//! ticks map to seconds (one tempo map for everything that needs it), and cutting a score by
//! bars.

use std::ops::Range;

use crate::{Score, Tempo, TimeSignature};

/// Tick → seconds for a whole score at once: the seconds at each tempo change, so that a tick
/// is looked up by binary search (a song has thousands of notes and may have hundreds of
/// tempo changes).
#[derive(Debug, Clone, PartialEq)]
pub struct TempoMap {
    /// Tempo changes in time order: (tick, seconds at that tick, seconds per tick from there).
    segments: Vec<(u32, f64, f64)>,
}

impl TempoMap {
    /// The map of a score's tempo changes (in any order).
    pub fn new(score: &Score) -> Self {
        let tpq = score.ticks_per_quarter.max(1) as f64;
        let per_tick = |mspq: u32| mspq.max(1) as f64 / 1e6 / tpq;
        let mut tempos: Vec<_> = score.tempos.iter().map(|t| (t.time, t.mspq)).collect();
        // Stable: of several changes at one tick, the last in the list holds.
        tempos.sort_by_key(|t| t.0);
        // MIDI's default of 120 quarters per minute holds until the first change.
        let mut segments = vec![(0u32, 0.0, per_tick(500_000))];
        for (tick, mspq) in tempos {
            let &(last_tick, last_s, last_rate) = segments.last().expect("never empty");
            let seconds = last_s + (tick - last_tick) as f64 * last_rate;
            if tick == last_tick {
                segments.pop();
            }
            segments.push((tick, seconds, per_tick(mspq)));
        }
        TempoMap { segments }
    }

    /// Seconds from the start to `tick`.
    pub fn seconds(&self, tick: u32) -> f64 {
        // The last segment that starts before `tick` (at `tick` gives the same answer).
        let i = self
            .segments
            .partition_point(|s| s.0 < tick)
            .saturating_sub(1);
        let (start, seconds, rate) = self.segments[i];
        seconds + (tick - start) as f64 * rate
    }
}

impl Score {
    /// The score's tempo map.
    pub fn tempo_map(&self) -> TempoMap {
        TempoMap::new(self)
    }

    /// Ticks of one bar of `ts` at this score's resolution.
    pub fn bar_ticks(&self, ts: &TimeSignature) -> u32 {
        let quarter = self.ticks_per_quarter.max(1) as u32;
        (quarter * 4 * ts.numerator.max(1) as u32 / ts.denominator.max(1) as u32).max(1)
    }

    /// Start ticks of the bars that begin before `until`, from the time-signature map: 4/4
    /// before the first change, and every change starts a bar (a change inside a bar cuts
    /// that bar short, as a MIDI file that changes metre mid-bar means).
    pub fn bar_starts(&self, until: u32) -> Vec<u32> {
        self.bars().take_while(|&t| t < until).collect()
    }

    /// Start ticks of every bar, without end (bars go on in the last metre).
    pub fn bars(&self) -> impl Iterator<Item = u32> + '_ {
        let mut changes: Vec<TimeSignature> = self.time_signatures.clone();
        changes.sort_by_key(|t| t.time);
        let mut ts = TimeSignature {
            time: 0,
            numerator: 4,
            denominator: 4,
        };
        let mut next = 0;
        let mut tick = Some(0u32);
        std::iter::from_fn(move || {
            let start = tick?;
            while changes.get(next).is_some_and(|c| c.time <= start) {
                ts = changes[next];
                next += 1;
            }
            let end = start.checked_add(self.bar_ticks(&ts));
            tick = match changes.get(next) {
                Some(c) => Some(end.map_or(c.time, |e| e.min(c.time))),
                None => end,
            };
            Some(start)
        })
    }

    /// Number of bars up to the end of the last note (or event).
    pub fn bar_count(&self) -> usize {
        self.bar_starts(self.end()).len()
    }

    /// The bars `bars` (0-based) as a score of their own, starting at tick 0: the notes that
    /// start in them (whole, even where they ring past the last bar), the tempo and time
    /// signature in effect at the first bar, and the changes inside.
    pub fn slice_bars(&self, bars: Range<usize>) -> Score {
        let starts = self.bar_starts(self.end().saturating_add(1));
        let at = |i: usize| {
            starts.get(i).copied().unwrap_or_else(|| {
                // Past the last event: the bars continue in the last metre.
                let last = *starts.last().unwrap_or(&0);
                let ts = self.time_signature_at(last);
                last.saturating_add((i - starts.len() + 1) as u32 * self.bar_ticks(&ts))
            })
        };
        let (from, to) = (at(bars.start), at(bars.end.max(bars.start)));
        let inside = |t: u32| t >= from && t < to;
        let mut out = Score::new(self.ticks_per_quarter);
        out.tempos = carry(
            &self.tempos,
            from,
            to,
            |t| t.time,
            |t, time| Tempo { time, ..t },
        );
        out.time_signatures = carry(
            &self.time_signatures,
            from,
            to,
            |t| t.time,
            |t, time| TimeSignature { time, ..t },
        );
        for track in &self.tracks {
            let mut t = track.clone();
            t.notes.retain(|n| inside(n.time));
            t.notes.iter_mut().for_each(|n| n.time -= from);
            out.tracks.push(t);
        }
        out
    }

    /// The time signature in effect at `tick` (4/4 before the first).
    pub fn time_signature_at(&self, tick: u32) -> TimeSignature {
        let mut best: Option<TimeSignature> = None;
        for ts in self.time_signatures.iter().filter(|t| t.time <= tick) {
            if best.is_none_or(|b| ts.time >= b.time) {
                best = Some(*ts);
            }
        }
        best.unwrap_or(TimeSignature {
            time: 0,
            numerator: 4,
            denominator: 4,
        })
    }
}

/// The events in `from..to` shifted to start at 0, led by the one in effect at `from` (if it
/// came before).
fn carry<T: Copy>(
    events: &[T],
    from: u32,
    to: u32,
    time: impl Fn(&T) -> u32,
    at: impl Fn(T, u32) -> T,
) -> Vec<T> {
    let mut sorted: Vec<T> = events.to_vec();
    sorted.sort_by_key(|e| time(e));
    let mut out: Vec<T> = sorted
        .iter()
        .rev()
        .find(|e| time(e) < from)
        .filter(|_| !sorted.iter().any(|e| time(e) == from))
        .map(|e| at(*e, 0))
        .into_iter()
        .collect();
    out.extend(
        sorted
            .iter()
            .filter(|e| time(e) >= from && time(e) < to)
            .map(|e| at(*e, time(e) - from)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Note, Track};

    fn ts(time: u32, numerator: u8, denominator: u8) -> TimeSignature {
        TimeSignature {
            time,
            numerator,
            denominator,
        }
    }

    /// Two bars of 4/4, then 3/4 (480 ticks per quarter), a note at every bar line.
    fn changing_metre() -> Score {
        let mut score = Score::new(480);
        score.time_signatures = vec![ts(0, 4, 4), ts(3840, 3, 4)];
        let notes = [0, 1920, 3840, 5280, 6720]
            .map(|time| Note {
                time,
                duration: 240,
                pitch: 60,
                velocity: 90,
            })
            .to_vec();
        score.tracks.push(Track {
            notes,
            ..Track::default()
        });
        score
    }

    #[test]
    fn bars_follow_every_time_signature_change() {
        let score = changing_metre();
        assert_eq!(score.bar_starts(7000), vec![0, 1920, 3840, 5280, 6720]);
        assert_eq!(score.bar_count(), 5);
        // A change inside a bar starts a new one there.
        let mut odd = Score::new(4);
        odd.time_signatures = vec![ts(0, 4, 4), ts(20, 2, 4)];
        assert_eq!(odd.bar_starts(40), vec![0, 16, 20, 28, 36]);
    }

    #[test]
    fn slicing_by_bars_cuts_at_the_bar_lines_after_a_metre_change() {
        let score = changing_metre();
        let first4 = score.slice_bars(0..4);
        let onsets: Vec<u32> = first4.tracks[0].notes.iter().map(|n| n.time).collect();
        assert_eq!(onsets, vec![0, 1920, 3840, 5280]);
        let last2 = score.slice_bars(3..5);
        let onsets: Vec<u32> = last2.tracks[0].notes.iter().map(|n| n.time).collect();
        assert_eq!(onsets, vec![0, 1440]);
        assert_eq!(last2.time_signatures, vec![ts(0, 3, 4)]);
    }

    #[test]
    fn tempo_map_walks_every_change() {
        let mut score = Score::new(100);
        score.tempos = vec![
            Tempo {
                time: 200,
                mspq: 1_000_000,
            },
            Tempo {
                time: 0,
                mspq: 250_000,
            },
        ];
        let map = score.tempo_map();
        assert!((map.seconds(200) - 0.5).abs() < 1e-12);
        assert!((map.seconds(300) - 1.5).abs() < 1e-12);
        assert_eq!(map.seconds(300), score.seconds_at(300));
    }
}
