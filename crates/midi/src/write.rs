//! Writing: [`Score`] → Standard MIDI File (format 1), and atomic file writes.

use std::path::Path;

use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use crate::{MidiError, Score};

/// Channels for melodic tracks: every channel but 10 (index 9), which General MIDI keeps for drums.
const MELODIC_CHANNELS: [u8; 15] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15];

impl Score {
    /// Encodes the score as a format-1 Standard MIDI File: a conductor track with the tempos
    /// and time signatures, then one track per score track.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MidiError> {
        if self.ticks_per_quarter == 0 || self.ticks_per_quarter > 0x7FFF {
            return Err(MidiError::Unwritable(format!(
                "ticks per quarter {} is outside 1..=32767",
                self.ticks_per_quarter
            )));
        }
        let mut tracks = vec![conductor_track(self)?];
        let mut melodic = 0;
        for track in &self.tracks {
            let channel = if track.is_drum {
                9
            } else {
                melodic += 1;
                MELODIC_CHANNELS[(melodic - 1) % MELODIC_CHANNELS.len()]
            };
            let channel = u4::new(channel);
            // (tick, order, event): at one tick note-offs go first so re-reading pairs them right.
            let mut timed: Vec<(u32, u8, TrackEventKind<'_>)> = Vec::new();
            timed.push((
                0,
                0,
                TrackEventKind::Meta(MetaMessage::TrackName(track.name.as_bytes())),
            ));
            let program = u7::try_from(track.program)
                .ok_or_else(|| MidiError::Unwritable(format!("program {}", track.program)))?;
            timed.push((0, 0, midi(channel, MidiMessage::ProgramChange { program })));
            for note in &track.notes {
                let key = u7::try_from(note.pitch)
                    .ok_or_else(|| MidiError::Unwritable(format!("pitch {}", note.pitch)))?;
                let vel = u7::try_from(note.velocity.max(1))
                    .ok_or_else(|| MidiError::Unwritable(format!("velocity {}", note.velocity)))?;
                let off_order = if note.duration == 0 { 2 } else { 1 };
                timed.push((
                    note.time,
                    2,
                    midi(channel, MidiMessage::NoteOn { key, vel }),
                ));
                let off = MidiMessage::NoteOff {
                    key,
                    vel: u7::new(0),
                };
                timed.push((note.end(), off_order, midi(channel, off)));
            }
            tracks.push(to_delta_events(timed));
        }
        let smf = Smf {
            header: Header::new(
                Format::Parallel,
                Timing::Metrical(u15::new(self.ticks_per_quarter)),
            ),
            tracks,
        };
        let mut out = Vec::new();
        smf.write_std(&mut out)
            .map_err(|e| MidiError::Unwritable(e.to_string()))?;
        Ok(out)
    }

    /// Writes the score to `path` through a temporary file renamed into place, so an
    /// interrupted write never leaves a half-written file.
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<(), MidiError> {
        let path = path.as_ref();
        midigpt_store::write_atomic(path, &self.to_bytes()?).map_err(|source| MidiError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn midi(channel: u4, message: MidiMessage) -> TrackEventKind<'static> {
    TrackEventKind::Midi { channel, message }
}

fn conductor_track(score: &Score) -> Result<Vec<TrackEvent<'static>>, MidiError> {
    let mut timed = Vec::new();
    for ts in &score.time_signatures {
        let pow = ts.denominator.max(1).trailing_zeros() as u8;
        let meta = MetaMessage::TimeSignature(ts.numerator, pow, 24, 8);
        timed.push((ts.time, 0, TrackEventKind::Meta(meta)));
    }
    for tempo in &score.tempos {
        let mspq = u24::try_from(tempo.mspq)
            .ok_or_else(|| MidiError::Unwritable(format!("tempo {} µs/quarter", tempo.mspq)))?;
        timed.push((
            tempo.time,
            1,
            TrackEventKind::Meta(MetaMessage::Tempo(mspq)),
        ));
    }
    Ok(to_delta_events(timed))
}

/// Sorts timed events (stable, by tick then order class) into delta-timed track events.
fn to_delta_events(mut timed: Vec<(u32, u8, TrackEventKind<'_>)>) -> Vec<TrackEvent<'_>> {
    timed.sort_by_key(|(tick, order, _)| (*tick, *order));
    let mut events = Vec::with_capacity(timed.len() + 1);
    let mut last = 0;
    for (tick, _, kind) in timed {
        // A delta time holds 28 bits. Longer gaps (a file read may have them: a note held over
        // several events' deltas) are bridged with empty text events, which readers ignore.
        let mut gap = tick - last;
        while gap > u28::max_value().as_int() {
            events.push(TrackEvent {
                delta: u28::max_value(),
                kind: TrackEventKind::Meta(MetaMessage::Text(&[])),
            });
            gap -= u28::max_value().as_int();
        }
        events.push(TrackEvent {
            delta: u28::new(gap),
            kind,
        });
        last = tick;
    }
    events.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    events
}
