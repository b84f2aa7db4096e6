//! Reading: bytes → [`Score`], by symusic's rules (see the crate docs).

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::path::Path;

use midly::{EventIter, MetaMessage, MidiMessage, Timing, TrackEventKind};

use crate::{pdqsort, MidiError, Note, Score, Tempo, TimeSignature, Track};

/// Marks a note whose note-off has not been seen yet.
const OPEN: u32 = u32::MAX;

/// The largest MIDI file read, in bytes. Real MIDI files are kilobytes to a few megabytes; a
/// bigger "MIDI file" is a mistake (a wrong path, a device such as /dev/zero) and could take
/// all the memory, its notes more than its bytes.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The bytes of a file, refused with [`MidiError::TooLarge`] past [`MAX_FILE_BYTES`].
pub fn read_file_bytes(path: &Path) -> Result<Vec<u8>, MidiError> {
    let io = |source| MidiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let too_large = |bytes| MidiError::TooLarge {
        path: path.to_path_buf(),
        bytes,
        max: MAX_FILE_BYTES,
    };
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(too_large(size));
    }
    // The size the file system gives is not trusted (devices and pipes give 0): read at most
    // one byte past the limit.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

impl Score {
    /// Reads a `.mid`/`.midi` file, or a RIFF `.rmi` file wrapping one (at most
    /// [`MAX_FILE_BYTES`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Score, MidiError> {
        Score::from_bytes(&read_file_bytes(path.as_ref())?)
    }

    /// Parses a Standard MIDI File (or a RIFF `.rmi` wrapping one) from memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Score, MidiError> {
        let bytes = unwrap_riff(bytes)?;
        check_headers(bytes)?;
        let (header, tracks) =
            midly::parse(bytes).map_err(|e| MidiError::Malformed(e.to_string()))?;
        let tpq = match header.timing {
            Timing::Metrical(t) => t.as_int(),
            Timing::Timecode(..) => return Err(MidiError::Smpte),
        };
        if tpq == 0 {
            return Err(MidiError::ZeroResolution);
        }
        let mut score = Score::new(tpq);
        // Read as many tracks as the header declares: bytes after them (often a little
        // padding) are not an error.
        let declared = bytes
            .get(10..12)
            .map_or(usize::MAX, |n| u16::from_be_bytes([n[0], n[1]]) as usize);
        // One table of open notes for the whole file, emptied between tracks.
        let mut open: Vec<VecDeque<OpenNote>> = std::iter::repeat_with(VecDeque::new)
            .take(16 * 128)
            .collect();
        for (index, events) in tracks.take(declared).enumerate() {
            let events = events.map_err(|e| MidiError::Malformed(format!("track {index}: {e}")))?;
            read_track(index, events, &mut open, &mut score)?;
        }
        // symusic's unstable sort, not a stable one: with several changes on one tick, the one
        // that comes last (and wins) must be the one MidiTok sees last.
        pdqsort::sort_by_time(&mut score.tempos, |t| t.time);
        pdqsort::sort_by_time(&mut score.time_signatures, |t| t.time);
        Ok(score)
    }
}

/// Returns the SMF inside a RIFF `RMID` container, or the bytes unchanged.
fn unwrap_riff(bytes: &[u8]) -> Result<&[u8], MidiError> {
    if !bytes.starts_with(b"RIFF") {
        return Ok(bytes);
    }
    // RIFF header (12 bytes), then chunks of id (4) + little-endian size (4) + data.
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let start = pos + 8;
        let end = start.saturating_add(size).min(bytes.len());
        if id == b"data" {
            // A RIFF inside the RIFF would go to midly's own unwrapping, past our checks.
            let data = &bytes[start..end];
            return if data.starts_with(b"RIFF") {
                Err(MidiError::BadRiff)
            } else {
                Ok(data)
            };
        }
        // Chunks are padded to an even size.
        pos = start.saturating_add(size).saturating_add(size & 1);
    }
    Err(MidiError::BadRiff)
}

/// Checks the header chunks midly will read before it reads them: midly 0.5.3 negates an
/// SMPTE frame-rate byte as an `i8`, which overflows (a panic where overflow checks are on) for
/// 0x80. The file's header with SMPTE timing is refused (midigpt reads ticks per quarter only),
/// and so is a second header chunk among the tracks read (midly's strict mode refuses it too).
/// Anything else malformed is left for midly to report.
fn check_headers(bytes: &[u8]) -> Result<(), MidiError> {
    let (mut pos, mut tracks, mut declared) = (0usize, 0usize, None);
    while let Some(head) = bytes.get(pos..pos.saturating_add(8)) {
        let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let start = pos + 8;
        let data = &bytes[start..start.saturating_add(len).min(bytes.len())];
        match (&head[..4], declared) {
            (b"MThd", None) if data.len() >= 6 => {
                if data[4] & 0x80 != 0 {
                    return Err(MidiError::Smpte);
                }
                declared = Some(u16::from_be_bytes([data[2], data[3]]) as usize);
            }
            (b"MThd", Some(_)) => {
                return Err(MidiError::Malformed(format!(
                    "a second header chunk at byte {pos}"
                )))
            }
            (b"MTrk", Some(_)) => tracks += 1,
            _ if declared.is_none() => return Ok(()),
            _ => {}
        }
        if declared.is_some_and(|n| tracks >= n) {
            return Ok(());
        }
        pos = start.saturating_add(len);
    }
    Ok(())
}

fn slot(channel: u8, pitch: u8) -> usize {
    (channel as usize & 15) * 128 + (pitch as usize & 127)
}

/// Where an open note lives: (channel, program, index in that track's notes).
type OpenNote = (u8, u8, usize);

/// The symusic tracks being built from one MIDI track.
struct TrackBuilder<'a> {
    /// (channel, program) → notes; ordered like symusic's `std::map`.
    tracks: BTreeMap<(u8, u8), Vec<Note>>,
    /// Open notes per (channel, pitch), oldest first: (channel, program, index into notes).
    /// Indexed by `channel * 128 + pitch` (a table, not a hash map: this is the hot path).
    open: &'a mut [VecDeque<OpenNote>],
    /// Current program of each channel.
    programs: [u8; 16],
}

impl TrackBuilder<'_> {
    fn note_on(&mut self, channel: u8, pitch: u8, velocity: u8, time: u32) {
        let program = self.programs[channel as usize];
        let notes = self.tracks.entry((channel, program)).or_default();
        notes.push(Note {
            time,
            duration: OPEN,
            pitch,
            velocity,
        });
        let index = notes.len() - 1;
        self.open[slot(channel, pitch)].push_back((channel, program, index));
    }

    fn note_off(&mut self, channel: u8, pitch: u8, time: u32) {
        if let Some((ch, program, index)) = self.open[slot(channel, pitch)].pop_front() {
            if let Some(note) = self
                .tracks
                .get_mut(&(ch, program))
                .and_then(|n| n.get_mut(index))
            {
                note.duration = time - note.time;
            }
        }
    }

    fn finish(self, name: &str, score: &mut Score) {
        for ((channel, program), mut notes) in self.tracks {
            notes.retain(|n| n.duration != OPEN);
            if notes.is_empty() {
                continue;
            }
            score.tracks.push(Track {
                name: name.to_string(),
                program,
                is_drum: channel == 9,
                notes,
            });
        }
    }
}

fn read_track(
    index: usize,
    mut events: EventIter<'_>,
    open: &mut [VecDeque<OpenNote>],
    score: &mut Score,
) -> Result<(), MidiError> {
    open.iter_mut().for_each(VecDeque::clear);
    let mut builder = TrackBuilder {
        open,
        tracks: BTreeMap::new(),
        programs: [0; 16],
    };
    let mut name = String::new();
    let mut tick: u32 = 0;
    let mut channel_status = None;
    let mut count = 0usize;
    while let Some(event) = events.next() {
        let event = event.map_err(|e| {
            MidiError::Malformed(format!(
                "track {index}, event {count} (after tick {tick}): {e}"
            ))
        })?;
        count += 1;
        // Many files rely on running status surviving meta and sysex events (the standard
        // says it does not); symusic keeps it, and so do we.
        match event.kind {
            TrackEventKind::Midi { .. } => channel_status = events.running_status(),
            _ => *events.running_status_mut() = channel_status,
        }
        tick = tick
            .checked_add(event.delta.as_int())
            .filter(|t| *t != OPEN)
            .ok_or(MidiError::TimeOverflow { track: index })?;
        match event.kind {
            TrackEventKind::Midi { channel, message } => {
                let ch = channel.as_int();
                match message {
                    MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                        builder.note_on(ch, key.as_int(), vel.as_int(), tick)
                    }
                    MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                        builder.note_off(ch, key.as_int(), tick)
                    }
                    MidiMessage::ProgramChange { program } => {
                        builder.programs[ch as usize] = program.as_int()
                    }
                    _ => {}
                }
            }
            TrackEventKind::Meta(meta) => match meta {
                MetaMessage::TrackName(bytes) => name = String::from_utf8_lossy(bytes).into(),
                MetaMessage::Tempo(mspq) => score.tempos.push(Tempo {
                    time: tick,
                    mspq: mspq.as_int(),
                }),
                MetaMessage::TimeSignature(numerator, denominator_pow, _, _) => {
                    score.time_signatures.push(TimeSignature {
                        time: tick,
                        numerator,
                        denominator: 1u8.checked_shl(denominator_pow as u32).unwrap_or(0),
                    })
                }
                _ => {}
            },
            _ => {}
        }
    }
    builder.finish(name.trim_end_matches('\0'), score);
    Ok(())
}
