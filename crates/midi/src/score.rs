//! The score model: what a MIDI file means to a music model.

use serde::{Deserialize, Serialize};

/// A note: onset and duration in ticks, MIDI pitch and velocity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Note {
    /// Onset, in ticks from the start.
    pub time: u32,
    /// Length in ticks (0 is possible in raw files; tokenizers make it at least 1).
    pub duration: u32,
    /// MIDI pitch, 0..=127.
    pub pitch: u8,
    /// MIDI velocity, 1..=127.
    pub velocity: u8,
}

impl Note {
    /// Tick at which the note ends.
    pub fn end(&self) -> u32 {
        self.time.saturating_add(self.duration)
    }
}

/// A tempo change, kept as MIDI stores it: microseconds per quarter note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tempo {
    /// Tick of the change.
    pub time: u32,
    /// Microseconds per quarter note.
    pub mspq: u32,
}

impl Tempo {
    /// Quarter notes per minute.
    pub fn qpm(&self) -> f64 {
        60_000_000.0 / self.mspq.max(1) as f64
    }
}

/// A time signature change (`numerator / denominator`, denominator a power of two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSignature {
    /// Tick of the change.
    pub time: u32,
    /// Beats per bar.
    pub numerator: u8,
    /// Beat unit (4 = quarter, 8 = eighth).
    pub denominator: u8,
}

/// One instrument's notes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Track {
    /// Track name from the file (may be empty).
    pub name: String,
    /// General MIDI program, 0..=127 (0 for drums).
    pub program: u8,
    /// Whether the track plays on the drum channel (MIDI channel 10).
    pub is_drum: bool,
    /// Notes in onset order.
    pub notes: Vec<Note>,
}

impl Track {
    /// Program as MidiTok numbers it: -1 for drums.
    pub fn program_or_drums(&self) -> i16 {
        if self.is_drum {
            -1
        } else {
            self.program as i16
        }
    }
}

/// A whole piece: tracks, tempos and time signatures on one tick grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// Ticks per quarter note (the file's time division).
    pub ticks_per_quarter: u16,
    /// Tempo changes sorted by time.
    pub tempos: Vec<Tempo>,
    /// Time signature changes sorted by time.
    pub time_signatures: Vec<TimeSignature>,
    /// Tracks, in file order.
    pub tracks: Vec<Track>,
}

impl Score {
    /// An empty score at the given resolution.
    pub fn new(ticks_per_quarter: u16) -> Self {
        Score {
            ticks_per_quarter,
            tempos: Vec::new(),
            time_signatures: Vec::new(),
            tracks: Vec::new(),
        }
    }

    /// Total number of notes over all tracks.
    pub fn note_count(&self) -> usize {
        self.tracks.iter().map(|t| t.notes.len()).sum()
    }

    /// Lowest and highest pitch over all notes; `None` without notes.
    pub fn pitch_range(&self) -> Option<(u8, u8)> {
        let pitches = self
            .tracks
            .iter()
            .flat_map(|t| t.notes.iter().map(|n| n.pitch));
        pitches.fold(None, |range, p| match range {
            None => Some((p, p)),
            Some((lo, hi)) => Some((lo.min(p), hi.max(p))),
        })
    }

    /// Seconds from the start to `tick`, following the tempo changes (120 quarters per minute
    /// before the first, as MIDI specifies).
    pub fn seconds_at(&self, tick: u32) -> f64 {
        self.tempo_map().seconds(tick)
    }

    /// Last tick of any note end, tempo or time signature.
    pub fn end(&self) -> u32 {
        let notes = self
            .tracks
            .iter()
            .flat_map(|t| t.notes.iter().map(Note::end));
        let tempos = self.tempos.iter().map(|t| t.time);
        let sigs = self.time_signatures.iter().map(|t| t.time);
        notes.chain(tempos).chain(sigs).max().unwrap_or(0)
    }
}
