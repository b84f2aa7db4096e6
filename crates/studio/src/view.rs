//! Scores as the page sees them (times in quarter notes, whatever the file's resolution).

use midigpt_midi::{program_name, Score};
use serde::Serialize;

/// A score for the page: times in quarter notes from the start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreView {
    /// The score's id on the server (its files are under `/api/scores/{id}/`).
    pub id: u64,
    /// What to call it (the uploaded file's name, "candidate 2", ...).
    pub name: String,
    /// One entry per track with notes.
    pub tracks: Vec<TrackView>,
    /// Start of every bar, and the end of the last one.
    pub bars: Vec<f64>,
    /// Metre changes: `[at, numerator, denominator]`.
    pub metres: Vec<(f64, u8, u8)>,
    /// Tempo changes: `[at, quarter notes per minute]`.
    pub tempos: Vec<(f64, f64)>,
    /// End of the last note.
    pub end: f64,
    /// Length in seconds.
    pub seconds: f64,
    /// Notes in all tracks.
    pub notes: usize,
}

/// One track for the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackView {
    /// The file's track name (may be empty).
    pub name: String,
    /// GM program (0..=127), -1 for drums.
    pub program: i16,
    /// The General MIDI instrument's name.
    pub instrument: String,
    /// Notes: `[start, duration, pitch, velocity]`, start and duration in quarter notes.
    pub notes: Vec<(f64, f64, u8, u8)>,
}

/// Quarter notes, rounded to 1/10 000 (enough for any grid, short in JSON).
fn quarters(ticks: u32, tpq: u16) -> f64 {
    (ticks as f64 / tpq.max(1) as f64 * 1e4).round() / 1e4
}

/// The notes of `score` that start at or after `from` ticks, as the page draws them.
pub fn track_views(score: &Score, from: u32) -> Vec<TrackView> {
    let tpq = score.ticks_per_quarter;
    let tracks = score.tracks.iter().filter_map(|t| {
        let notes: Vec<_> = (t.notes.iter().filter(|n| n.time >= from))
            .map(|n| {
                let d = quarters(n.duration, tpq);
                (quarters(n.time, tpq), d, n.pitch, n.velocity)
            })
            .collect();
        (!notes.is_empty()).then(|| TrackView {
            name: t.name.clone(),
            program: t.program_or_drums(),
            instrument: program_name(t.program, t.is_drum).to_owned(),
            notes,
        })
    });
    tracks.collect()
}

impl ScoreView {
    /// The page's view of `score`.
    pub fn new(id: u64, name: &str, score: &Score) -> ScoreView {
        let tpq = score.ticks_per_quarter;
        let end = score.end();
        // Every bar that starts before the end, and the bar line that closes the last.
        let bars = score.bars().take_while(|&t| t < end).count() + 1;
        let bars = score.bars().take(bars.max(2)).map(|t| quarters(t, tpq));
        let mut metres: Vec<_> = (score.time_signatures.iter())
            .map(|t| (quarters(t.time, tpq), t.numerator, t.denominator))
            .collect();
        if metres.first().is_none_or(|m| m.0 > 0.0) {
            metres.insert(0, (0.0, 4, 4));
        }
        let tempos = score
            .tempos
            .iter()
            .map(|t| (quarters(t.time, tpq), t.qpm()));
        ScoreView {
            id,
            name: name.to_owned(),
            tracks: track_views(score, 0),
            bars: bars.collect(),
            metres,
            tempos: tempos.collect(),
            end: quarters(end, tpq),
            seconds: score.seconds_at(end),
            notes: score.note_count(),
        }
    }
}

/// The tokenizer in a few words ("REMI+", "MIDI-like with BPE"), from its MidiTok config.
pub fn describe_tokenizer(json: &serde_json::Value) -> String {
    let kind = json
        .get("tokenization")
        .and_then(|k| k.as_str())
        .unwrap_or("unknown");
    let config = json.get("config");
    let on = |key: &str| {
        config
            .and_then(|c| c.get(key))
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    let mut name = match kind {
        "REMI" if on("use_programs") => "REMI+".to_owned(),
        "MIDILike" => "MIDI-like".to_owned(),
        other => other.to_owned(),
    };
    if json.get("_model").is_some_and(|m| !m.is_null()) {
        name.push_str(" with BPE");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_midi::{Note, Track};

    #[test]
    fn a_view_counts_bars_in_quarters() {
        let note = |time, pitch| Note {
            time,
            duration: 96,
            pitch,
            velocity: 80,
        };
        let mut s = Score::new(96);
        s.tracks.push(Track {
            notes: vec![note(0, 60), note(96 * 5, 62)],
            ..Track::default()
        });
        let v = ScoreView::new(7, "x.mid", &s);
        assert_eq!(v.bars, [0.0, 4.0, 8.0]);
        assert_eq!(v.tracks[0].notes[1], (5.0, 1.0, 62, 80));
        assert_eq!(v.tracks[0].instrument, "Acoustic Grand Piano");
        assert_eq!(v.metres, [(0.0, 4, 4)]);
        assert_eq!(v.end, 6.0);
    }
}
