//! General MIDI through a SoundFont, with rustysynth.
//!
//! rustysynth is driven note by note from the score rather than through its own MIDI file
//! player: the notes are already on the sample grid through the score's exact tempo map
//! (`plan`), and the score's tracks (one per program) map onto MIDI channels here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use midigpt_midi::Score;
use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

use crate::error::RenderError;
use crate::plan::{note_spans, track_pans};

/// Environment variable naming a SoundFont to use when none is given.
pub const SOUNDFONT_ENV: &str = "MIDIGPT_SOUNDFONT";

/// Where Linux distributions install General MIDI SoundFonts (Debian and Ubuntu's
/// `fluid-soundfont-gm`, then Arch's and Fedora's folders).
const SEARCH: [&str; 3] = [
    "/usr/share/sounds/sf2",
    "/usr/share/soundfonts",
    "/usr/share/sounds/sf3",
];

/// The SoundFont to use when none is given: `$MIDIGPT_SOUNDFONT` if set, else FluidR3_GM or
/// the first `.sf2` in the usual system folders; `None` if there is none.
pub fn find_soundfont() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(SOUNDFONT_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let preferred = Path::new("/usr/share/sounds/sf2/FluidR3_GM.sf2");
    if preferred.is_file() {
        return Some(preferred.to_owned());
    }
    SEARCH.iter().find_map(|dir| {
        let mut fonts: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("sf2")) && p.is_file())
            .collect();
        fonts.sort();
        fonts.into_iter().next()
    })
}

/// A loaded SoundFont, ready to render scores.
pub(crate) struct SoundFontSynth {
    font: Arc<SoundFont>,
    sample_rate: u32,
}

/// What happens at one frame, in the order that matters within a frame: releases first (so a
/// repeated note starts again), then program changes, then new notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Off { channel: u8, key: u8 },
    Program { channel: u8, program: u8 },
    On { channel: u8, key: u8, velocity: u8 },
}

impl SoundFontSynth {
    pub(crate) fn load(path: &Path, sample_rate: u32) -> Result<Self, RenderError> {
        let bad = |message: String| RenderError::SoundFont {
            path: path.to_owned(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
        let font = SoundFont::new(&mut std::io::BufReader::new(file))
            .map_err(|e| bad(format!("not a usable SoundFont: {e}")))?;
        Ok(SoundFontSynth {
            font: Arc::new(font),
            sample_rate,
        })
    }

    /// Adds `score` into `out` (interleaved stereo).
    pub(crate) fn render(&self, score: &Score, out: &mut [f32]) -> Result<(), RenderError> {
        let mut settings = SynthesizerSettings::new(self.sample_rate as i32);
        // Dense piano parts with long releases exceed the default 64 voices.
        settings.maximum_polyphony = 256;
        let mut synth = Synthesizer::new(&self.font, &settings)
            .map_err(|e| RenderError::Options(e.to_string()))?;

        let channels = assign_channels(score);
        // Pan each channel where its first track sits, as the built-in synthesizer does.
        let pans = track_pans(score);
        let mut panned = [false; 16];
        for (track, &channel) in channels.iter().enumerate() {
            if !std::mem::replace(&mut panned[channel as usize], true) {
                let value = (64.0 + 63.0 * pans[track]).round() as i32;
                synth.process_midi_message(channel as i32, 0xB0, 10, value.clamp(0, 127));
            }
        }

        let frames = out.len() / 2;
        let (mut left, mut right) = (vec![0.0f32; frames], vec![0.0f32; frames]);
        let mut playing = [[0u16; 128]; 16];
        let mut current = [None::<u8>; 16];
        let mut cursor = 0;
        for (frame, event) in events(score, &channels, self.sample_rate) {
            let frame = frame.min(frames);
            if frame > cursor {
                synth.render(&mut left[cursor..frame], &mut right[cursor..frame]);
                cursor = frame;
            }
            match event {
                Event::Program { channel, program } => {
                    if current[channel as usize] != Some(program) {
                        current[channel as usize] = Some(program);
                        synth.process_midi_message(channel as i32, 0xC0, program as i32, 0);
                    }
                }
                Event::On {
                    channel,
                    key,
                    velocity,
                } => {
                    playing[channel as usize][key as usize] += 1;
                    synth.note_on(channel as i32, key as i32, velocity as i32);
                }
                Event::Off { channel, key } => {
                    // rustysynth releases every voice of a key on a channel: when two notes
                    // of one pitch overlap there, only the last release may stop the sound.
                    let count = &mut playing[channel as usize][key as usize];
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        synth.note_off(channel as i32, key as i32);
                    }
                }
            }
        }
        if frames > cursor {
            synth.render(&mut left[cursor..], &mut right[cursor..]);
        }
        for (frame, (l, r)) in out.chunks_exact_mut(2).zip(left.iter().zip(&right)) {
            frame[0] += l;
            frame[1] += r;
        }
        Ok(())
    }
}

/// The MIDI channel of each track. Drums go to channel 10 (index 9, where rustysynth plays
/// bank 128, the GM drum kit); each other program gets a channel of its own, shared by the
/// tracks that play it. Past 15 programs channels are reused, with a program change before
/// every note whose channel last played another program.
fn assign_channels(score: &Score) -> Vec<u8> {
    const MELODIC: [u8; 15] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15];
    let mut programs: Vec<u8> = Vec::new();
    score
        .tracks
        .iter()
        .map(|track| {
            if track.is_drum {
                return 9;
            }
            let index = programs
                .iter()
                .position(|&p| p == track.program)
                .unwrap_or_else(|| {
                    programs.push(track.program);
                    programs.len() - 1
                });
            MELODIC[index % MELODIC.len()]
        })
        .collect()
}

/// Every event of the score, sorted by frame (and within a frame, by [`Event`]'s order).
fn events(score: &Score, channels: &[u8], sample_rate: u32) -> Vec<(usize, Event)> {
    let mut events = Vec::new();
    for span in note_spans(score, sample_rate) {
        let track = &score.tracks[span.track];
        let channel = channels[span.track];
        let key = span.pitch;
        events.push((span.off, Event::Off { channel, key }));
        // The drum channel keeps the standard kit; melodic channels play the track's program.
        let program = if track.is_drum { 0 } else { track.program };
        events.push((span.on, Event::Program { channel, program }));
        let velocity = span.velocity;
        events.push((
            span.on,
            Event::On {
                channel,
                key,
                velocity,
            },
        ));
    }
    events.sort();
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_midi::{Note, Track};

    fn track(program: u8, is_drum: bool, notes: Vec<Note>) -> Track {
        Track {
            program,
            is_drum,
            notes,
            ..Default::default()
        }
    }

    #[test]
    fn drums_on_channel_ten_and_programs_share_channels() {
        let mut score = Score::new(480);
        score.tracks = vec![
            track(0, false, vec![]),
            track(0, true, vec![]),
            track(33, false, vec![]),
            track(0, false, vec![]),
        ];
        assert_eq!(assign_channels(&score), vec![0, 9, 1, 0]);
        score.tracks = (0..20).map(|p| track(p, false, vec![])).collect();
        let channels = assign_channels(&score);
        assert!(!channels.contains(&9));
        assert_eq!(channels[15], 0);
    }

    #[test]
    fn releases_come_before_onsets_in_a_frame() {
        let mut score = Score::new(480);
        let note = |time| Note {
            time,
            duration: 480,
            pitch: 60,
            velocity: 90,
        };
        score.tracks = vec![track(0, false, vec![note(0), note(480)])];
        let events = events(&score, &[0], 44_100);
        let kinds: Vec<_> = events.iter().map(|e| e.1).collect();
        let off = Event::Off {
            channel: 0,
            key: 60,
        };
        assert_eq!(kinds[2], off, "{kinds:?}");
        assert!(matches!(kinds[3], Event::Program { .. }));
        assert_eq!(events[2].0, 22_050);
    }
}
