//! What both synthesizers play: every note placed on the sample grid through the score's tempo
//! map, and where each track sits in the stereo field.

use midigpt_midi::{Score, TempoMap};

/// One note on the sample grid (sample indices count frames, one per stereo pair).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoteSpan {
    /// Index of the note's track in `Score::tracks`.
    pub track: usize,
    pub pitch: u8,
    pub velocity: u8,
    /// Frame of the onset.
    pub on: usize,
    /// Frame of the release (after `on`: a zero-length note still sounds briefly).
    pub off: usize,
}

/// The shortest note either synthesizer plays: MIDI files do hold zero-length notes, and a
/// note-off in the same frame as its note-on would be silent.
const MIN_NOTE_SECONDS: f64 = 0.03;

/// Every note of `score`, ordered by onset.
pub(crate) fn note_spans(score: &Score, sample_rate: u32) -> Vec<NoteSpan> {
    let map = TempoMap::new(score);
    let frame = |seconds: f64| (seconds * sample_rate as f64).round() as usize;
    let min_len = frame(MIN_NOTE_SECONDS).max(1);
    let mut spans: Vec<NoteSpan> = score
        .tracks
        .iter()
        .enumerate()
        .flat_map(|(track, t)| t.notes.iter().map(move |n| (track, n)))
        .map(|(track, n)| {
            let on = frame(map.seconds(n.time));
            let off = frame(map.seconds(n.end())).max(on + min_len);
            NoteSpan {
                track,
                pitch: n.pitch.min(127),
                velocity: n.velocity.clamp(1, 127),
                on,
                off,
            }
        })
        .collect();
    spans.sort_by_key(|s| (s.on, s.track, s.pitch));
    spans
}

/// Frames of the whole rendering: the score's last event plus `tail_seconds` of release.
pub(crate) fn total_frames(score: &Score, sample_rate: u32, tail_seconds: f64) -> usize {
    let seconds = TempoMap::new(score).seconds(score.end()) + tail_seconds.max(0.0);
    (seconds * sample_rate as f64).round() as usize
}

/// Pan of each track, -1 (left) to 1 (right): melodic tracks spread evenly from -0.3 to 0.3
/// in track order (a wider spread leaves a dense part alone on one side) so parts can be told apart; bass and drums stay centred, as in
/// most mixes (low frequencies carry the beat and the energy).
pub(crate) fn track_pans(score: &Score) -> Vec<f32> {
    let centred = |t: &midigpt_midi::Track| t.is_drum || (32..40).contains(&t.program);
    let spread: Vec<usize> = (0..score.tracks.len())
        .filter(|&i| !centred(&score.tracks[i]))
        .collect();
    let mut pans = vec![0.0; score.tracks.len()];
    if spread.len() > 1 {
        let last = (spread.len() - 1) as f32;
        for (k, &i) in spread.iter().enumerate() {
            pans[i] = 0.6 * (k as f32 / last - 0.5);
        }
    }
    pans
}

/// Left and right gains of a pan position (equal power: a sound keeps its loudness as it
/// moves across).
pub(crate) fn pan_gains(pan: f32) -> (f32, f32) {
    let angle = (pan.clamp(-1.0, 1.0) + 1.0) * std::f32::consts::FRAC_PI_4;
    (angle.cos(), angle.sin())
}

/// MIDI velocity → amplitude: 40·log10(v/127) dB, the General MIDI recommendation.
pub(crate) fn velocity_gain(velocity: u8) -> f32 {
    let v = velocity as f32 / 127.0;
    v * v
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_midi::Tempo;

    #[test]
    fn tempo_map_agrees_with_seconds_at() {
        let mut score = Score::new(480);
        // Unsorted, repeated at one tick, and starting after 0.
        score.tempos = vec![
            Tempo {
                time: 1920,
                mspq: 400_000,
            },
            Tempo {
                time: 960,
                mspq: 600_000,
            },
            Tempo {
                time: 960,
                mspq: 750_000,
            },
            Tempo {
                time: 5000,
                mspq: 1_000_000,
            },
        ];
        let map = TempoMap::new(&score);
        for tick in [0, 1, 480, 959, 960, 961, 1920, 3000, 5000, 100_000] {
            let (a, b) = (map.seconds(tick), score.seconds_at(tick));
            assert!((a - b).abs() < 1e-9, "tick {tick}: {a} vs {b}");
        }
    }

    #[test]
    fn pans_spread_melody_and_centre_bass_and_drums() {
        let mut score = Score::new(480);
        for (program, is_drum) in [(0, false), (33, false), (40, false), (0, true)] {
            score.tracks.push(midigpt_midi::Track {
                program,
                is_drum,
                ..Default::default()
            });
        }
        assert_eq!(track_pans(&score), vec![-0.3, 0.0, 0.3, 0.0]);
        let (l, r) = pan_gains(0.0);
        assert!((l - r).abs() < 1e-6 && (l * l + r * r - 1.0).abs() < 1e-6);
    }
}
