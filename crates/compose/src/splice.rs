//! A continuation put back on the score it continues: the kept bars as they were (at the
//! file's own resolution, with its track names, velocities and timing), then the new music.
//! The model reads and writes a quantised copy; what a musician gave is not replaced by it.

use midigpt_midi::{Note, Score, Tempo, TimeSignature, Track};

/// Tick where bar `bar` (0-based) starts; bars go on past the end in the last metre.
pub fn bar_start(score: &Score, bar: usize) -> u32 {
    score.bars().nth(bar).unwrap_or(u32::MAX)
}

/// The first `cut_bar` bars of `original` (as they were, at the original's resolution),
/// then what `piece` has from its bar `cut_bar` on: a continuation made from those bars,
/// put back on the original's time grid. Notes join the original's track of the same
/// instrument, or a new track; the piece's tempo and metre changes after the cut come
/// along. Tracks left without notes are dropped.
pub fn splice(original: &Score, cut_bar: usize, piece: &Score) -> Score {
    let mut out = original.slice_bars(0..cut_bar);
    let cut_o = bar_start(original, cut_bar);
    let cut_p = bar_start(piece, cut_bar);
    let scale = out.ticks_per_quarter as f64 / piece.ticks_per_quarter.max(1) as f64;
    let at = |t: u32| cut_o.saturating_add(((t - cut_p) as f64 * scale).round() as u32);
    for track in &piece.tracks {
        let notes = (track.notes.iter().filter(|n| n.time >= cut_p)).map(|n| Note {
            time: at(n.time),
            duration: ((n.duration as f64 * scale).round() as u32).max(1),
            ..*n
        });
        add_notes(&mut out, track, notes);
    }
    let tempos = piece.tempos.iter().filter(|t| t.time >= cut_p);
    let metres = piece.time_signatures.iter().filter(|t| t.time >= cut_p);
    add_changes(&mut out, tempos, metres, at);
    out
}

/// A continuation put into the song it continues: the first `cut_bar` bars of `piece` (a
/// [`splice`]d continuation of `original`, on its time grid) and its `new_bars` bars after
/// them, then the bars of `original` from `cut_bar` on, moved later by the new bars' length,
/// in their own tempo and metre again.
pub fn insert(original: &Score, cut_bar: usize, piece: &Score, new_bars: usize) -> Score {
    let end = cut_bar + new_bars;
    let mut out = piece.slice_bars(0..end);
    let at = bar_start(piece, end);
    let mut tail = original.slice_bars(cut_bar..original.bar_count().max(cut_bar));
    // The song's own metre and tempo again where it resumes, whatever the new bars changed.
    let from = bar_start(original, cut_bar);
    if !tail.time_signatures.iter().any(|t| t.time == 0) {
        let metre = original.time_signature_at(from);
        tail.time_signatures
            .insert(0, TimeSignature { time: 0, ..metre });
    }
    if !tail.tempos.iter().any(|t| t.time == 0) {
        let before = original.tempos.iter().filter(|t| t.time <= from);
        let tempo = before.max_by_key(|t| t.time).map_or(500_000, |t| t.mspq);
        tail.tempos.insert(
            0,
            Tempo {
                time: 0,
                mspq: tempo,
            },
        );
    }
    let moved = |t: u32| at.saturating_add(t);
    for track in &tail.tracks {
        let notes = track.notes.iter().map(|n| Note {
            time: moved(n.time),
            ..*n
        });
        add_notes(&mut out, track, notes);
    }
    add_changes(
        &mut out,
        tail.tempos.iter(),
        tail.time_signatures.iter(),
        moved,
    );
    out
}

/// Adds `notes` to `out`'s track of `track`'s instrument, or to a new one like it. Tracks
/// left without notes are dropped.
fn add_notes(out: &mut Score, track: &Track, notes: impl Iterator<Item = Note>) {
    let i = match (out.tracks.iter()).position(|t| t.program_or_drums() == track.program_or_drums())
    {
        Some(i) => i,
        None => {
            out.tracks.push(Track {
                notes: Vec::new(),
                ..track.clone()
            });
            out.tracks.len() - 1
        }
    };
    out.tracks[i].notes.extend(notes);
    out.tracks[i].notes.sort();
    out.tracks.retain(|t| !t.notes.is_empty());
}

/// Adds tempo and metre changes to `out`, each at `at(its time)`; a change to what is
/// already in effect says nothing and goes.
fn add_changes<'a>(
    out: &mut Score,
    tempos: impl Iterator<Item = &'a Tempo>,
    metres: impl Iterator<Item = &'a TimeSignature>,
    at: impl Fn(u32) -> u32,
) {
    let tempos = tempos.map(|t| Tempo {
        time: at(t.time),
        ..*t
    });
    out.tempos.extend(tempos);
    let metres = metres.map(|t| TimeSignature {
        time: at(t.time),
        ..*t
    });
    out.time_signatures.extend(metres);
    out.tempos.sort_by_key(|t| t.time);
    out.time_signatures.sort_by_key(|t| t.time);
    out.tempos.dedup_by(|b, a| a.mspq == b.mspq);
    out.time_signatures
        .dedup_by(|b, a| (a.numerator, a.denominator) == (b.numerator, b.denominator));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(tpq: u16, notes: &[(u32, u8)], program: u8) -> Score {
        let mut s = Score::new(tpq);
        s.tracks.push(Track {
            name: "lead".into(),
            program,
            is_drum: false,
            notes: (notes.iter())
                .map(|&(time, pitch)| Note {
                    time,
                    duration: tpq as u32,
                    pitch,
                    velocity: 80,
                })
                .collect(),
        });
        s
    }

    #[test]
    fn splice_keeps_the_head_and_rescales_the_tail() {
        // Original at 480 a quarter: notes in bars 0, 1 and 2 (4/4).
        let original = score(480, &[(0, 60), (1920, 62), (3840, 64)], 0);
        // The piece at 8 a quarter: the kept bars 0..2, then bar 2 and 3 new.
        let mut piece = score(8, &[(0, 60), (32, 62), (64, 70), (96, 72)], 0);
        piece.tracks.push(Track {
            program: 33,
            notes: vec![Note {
                time: 68,
                duration: 4,
                pitch: 40,
                velocity: 90,
            }],
            ..Track::default()
        });
        let out = splice(&original, 2, &piece);
        assert_eq!(out.ticks_per_quarter, 480);
        let lead: Vec<_> = out.tracks[0]
            .notes
            .iter()
            .map(|n| (n.time, n.pitch))
            .collect();
        assert_eq!(lead, [(0, 60), (1920, 62), (3840, 70), (5760, 72)]);
        assert_eq!(out.tracks[0].name, "lead", "the original's track goes on");
        assert_eq!(out.tracks[1].program, 33);
        assert_eq!(out.tracks[1].notes[0].time, 3840 + 240);
        assert_eq!(out.tracks[1].notes[0].duration, 240);
    }

    #[test]
    fn insert_keeps_the_bars_after_the_cut_later_by_the_new_ones() {
        // A song of three 4/4 bars, then a 3/4 bar; continued for two bars after bar 1.
        let mut original = score(480, &[(0, 60), (1920, 62), (3840, 64), (5760, 65)], 0);
        original.time_signatures.push(TimeSignature {
            time: 5760,
            numerator: 3,
            denominator: 4,
        });
        let piece = score(480, &[(0, 60), (1920, 70), (3840 + 480, 72)], 0);
        let out = insert(&original, 1, &piece, 2);
        let notes: Vec<_> = (out.tracks[0].notes.iter())
            .map(|n| (n.time, n.pitch))
            .collect();
        // Bar 1 kept, bars 2 and 3 new, then the original's bars 2 to 4 from bar 4 on.
        assert_eq!(
            notes,
            [
                (0, 60),
                (1920, 70),
                (4320, 72),
                (5760, 62),
                (7680, 64),
                (9600, 65)
            ]
        );
        let metres: Vec<_> = (out.time_signatures.iter())
            .map(|t| (t.time, t.numerator))
            .collect();
        // 4/4 said again where the song resumes, and the 3/4 bar moved with its bar.
        assert_eq!(metres, [(5760, 4), (9600, 3)]);
    }
}
