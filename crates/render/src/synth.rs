//! The built-in synthesizer: plays a score with no SoundFont at hand.
//!
//! Every note is an independent voice that adds itself into the stereo buffer over its own
//! span only (onset to end of release), so the cost is the total length of the notes, never
//! the song's length times the number of tracks. Inside a voice the envelope and the filter
//! cutoff are computed once per block of [`BLOCK`] frames and interpolated in between, which
//! leaves a wavetable lookup and two one-pole filter steps per sample.

use midigpt_midi::Score;

use crate::drums::{choke_group, render_drum};
use crate::plan::{note_spans, pan_gains, track_pans, velocity_gain, NoteSpan};
use crate::timbre::{midi_hz, sine_table, Family, Timbre, Wavetable, TABLE_LEN};

/// Frames per envelope/filter update: 1.5 ms at 44.1 kHz, finer than any attack here.
const BLOCK: usize = 64;

/// The built-in synthesizer at one sample rate, with its wavetables built.
pub(crate) struct BuiltinSynth {
    sample_rate: u32,
    /// One wavetable per [`Family`], in `Family::ALL` order.
    tables: Vec<Wavetable>,
}

impl BuiltinSynth {
    pub(crate) fn new(sample_rate: u32) -> Self {
        let sine = sine_table();
        let tables = Family::ALL
            .iter()
            .map(|&f| Wavetable::new(f, sample_rate, &sine))
            .collect();
        BuiltinSynth {
            sample_rate,
            tables,
        }
    }

    /// Adds every note of `score` into `out` (interleaved stereo, `frames` frames).
    pub(crate) fn render(&self, score: &Score, out: &mut [f32]) {
        let pans: Vec<_> = track_pans(score).into_iter().map(pan_gains).collect();
        let spans = note_spans(score, self.sample_rate);
        let chokes = drum_chokes(score, &spans);
        for (i, span) in spans.iter().enumerate() {
            let track = &score.tracks[span.track];
            if track.is_drum {
                // The note index seeds the noise: the same score always sounds the same.
                render_drum(span, chokes[i], self.sample_rate, i as u32, out);
            } else {
                let family = Family::of_program(track.program);
                let table = self.tables[family as usize].for_pitch(span.pitch);
                let voice = Voice::new(family.timbre(), span, self.sample_rate);
                voice.render(table, pans[span.track], out);
            }
        }
    }
}

/// For each drum hit (by index in `spans`, which are in onset order), the onset of the next
/// hit of the same track and choke group, which cuts it short; `None` for other notes.
fn drum_chokes(score: &Score, spans: &[NoteSpan]) -> Vec<Option<usize>> {
    let mut chokes = vec![None; spans.len()];
    // Walking backwards in time: the earliest later hit seen so far, by (track, choke group),
    // with its own choke (what hits at the same frame share: they sound together).
    let mut next = std::collections::HashMap::new();
    for (i, span) in spans.iter().enumerate().rev() {
        if score.tracks[span.track].is_drum {
            let key = (span.track, choke_group(span.pitch));
            chokes[i] = match next.get(&key) {
                Some(&(at, choke)) if at == span.on => choke,
                Some(&(at, _)) => Some(at),
                None => None,
            };
            next.insert(key, (span.on, chokes[i]));
        }
    }
    chokes
}

/// One melodic note being played.
struct Voice {
    timbre: Timbre,
    sample_rate: f32,
    /// Frame of the onset and of the key's release.
    on: usize,
    off: usize,
    /// Oscillator frequency in Hz.
    hz: f32,
    /// Decay time constant for this pitch.
    decay: f32,
    /// Velocity and family loudness together.
    amp: f32,
}

impl Voice {
    fn new(timbre: Timbre, span: &NoteSpan, sample_rate: u32) -> Self {
        let decay = if timbre.pitch_tracks_decay {
            // Twice as long two octaves down, half as long two octaves up.
            timbre.decay * ((60.0 - span.pitch as f32) / 24.0).exp2()
        } else {
            timbre.decay
        };
        Voice {
            timbre,
            sample_rate: sample_rate as f32,
            on: span.on,
            off: span.off,
            hz: midi_hz(span.pitch),
            decay,
            amp: velocity_gain(span.velocity) * timbre.gain,
        }
    }

    /// Envelope level `frames` after the onset.
    fn level(&self, frames: usize) -> f32 {
        let held = self.off - self.on;
        if frames < held {
            return self
                .timbre
                .held_level(frames as f32 / self.sample_rate, self.decay);
        }
        // Release: from the level at the key's release to exactly zero, fast at first like
        // an exponential but without a tail that never ends.
        let x = ((frames - held) as f32 / self.release_frames() as f32).min(1.0);
        let at_release = self
            .timbre
            .held_level(held as f32 / self.sample_rate, self.decay);
        at_release * (1.0 - x).powi(3)
    }

    fn release_frames(&self) -> usize {
        ((self.timbre.release * self.sample_rate).ceil() as usize).max(1)
    }

    /// Total frames from the onset to the end of the release.
    fn frames(&self) -> usize {
        self.off - self.on + self.release_frames()
    }

    /// Low-pass coefficient of a one-pole filter with its cutoff where the envelope puts it.
    fn filter_coefficient(&self, level: f32) -> f32 {
        let Some((rest, opening)) = self.timbre.filter else {
            return 1.0;
        };
        let cutoff = (self.hz * (rest + opening * level)).min(0.45 * self.sample_rate);
        1.0 - (-std::f32::consts::TAU * cutoff / self.sample_rate).exp()
    }

    /// Adds the voice into `out` (interleaved stereo) with pan gains `(left, right)`.
    fn render(&self, table: &[f32], (left, right): (f32, f32), out: &mut [f32]) {
        let end = (self.on + self.frames()).min(out.len() / 2);
        if end <= self.on {
            return;
        }
        let step = self.hz * TABLE_LEN as f32 / self.sample_rate;
        let detuned = self.timbre.detune_cents > 0.0;
        let ratio = (self.timbre.detune_cents / 1200.0).exp2();
        // Two oscillators a few cents apart beat slowly against each other (an ensemble); the
        // second starts a third of a cycle later so the two do not begin in phase.
        let (step_a, step_b) = if detuned {
            (step / ratio.sqrt(), step * ratio.sqrt())
        } else {
            (step, 0.0)
        };
        let (mut phase_a, mut phase_b) = (0.0f32, TABLE_LEN as f32 / 3.0);
        let (mut low1, mut low2) = (0.0f32, 0.0f32);
        let osc_gain = if detuned { 0.5 } else { 1.0 };
        let mut start = self.on;
        while start < end {
            let len = BLOCK.min(end - start);
            let level0 = self.level(start - self.on);
            let level1 = self.level(start + len - self.on);
            let coef = self.filter_coefficient(level0);
            let slope = (level1 - level0) / len as f32;
            let frames = &mut out[2 * start..2 * (start + len)];
            for (k, frame) in frames.chunks_exact_mut(2).enumerate() {
                let mut x = lookup(table, phase_a);
                phase_a = wrap(phase_a + step_a);
                if detuned {
                    x += lookup(table, phase_b);
                    phase_b = wrap(phase_b + step_b);
                }
                // Two one-pole low-passes in a row: 12 dB per octave, enough to darken.
                low1 += coef * (x - low1);
                low2 += coef * (low1 - low2);
                let y = low2 * osc_gain * self.amp * (level0 + slope * k as f32);
                frame[0] += y * left;
                frame[1] += y * right;
            }
            start += len;
        }
    }
}

/// Linear interpolation in a wavetable with a guard sample at `TABLE_LEN`.
#[inline]
fn lookup(table: &[f32], phase: f32) -> f32 {
    let i = phase as usize;
    let frac = phase - i as f32;
    table[i] + frac * (table[i + 1] - table[i])
}

#[inline]
fn wrap(phase: f32) -> f32 {
    if phase >= TABLE_LEN as f32 {
        phase - TABLE_LEN as f32
    } else {
        phase
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(on: usize, off: usize) -> NoteSpan {
        NoteSpan {
            track: 0,
            pitch: 60,
            velocity: 100,
            on,
            off,
        }
    }

    #[test]
    fn envelope_rises_holds_and_ends_at_zero() {
        let voice = Voice::new(Family::Organ.timbre(), &span(0, 44_100), 44_100);
        assert_eq!(voice.level(0), 0.0);
        assert!((voice.level(22_050) - 1.0).abs() < 1e-6);
        assert_eq!(voice.level(voice.frames()), 0.0);
        let piano = Voice::new(Family::Piano.timbre(), &span(0, 441_000), 44_100);
        assert!(
            piano.level(44_100 * 5) < 0.2 * piano.level(441),
            "a piano decays"
        );
    }

    #[test]
    fn voice_stays_within_its_span() {
        let voice = Voice::new(Family::Strings.timbre(), &span(1000, 5000), 44_100);
        let table = Wavetable::new(Family::Strings, 44_100, &sine_table());
        let mut out = vec![0.0f32; 2 * 100_000];
        voice.render(table.for_pitch(60), (0.7, 0.7), &mut out);
        let end = 1000 + voice.frames();
        assert!(out[..2000].iter().all(|&v| v == 0.0));
        assert!(out[2 * end..].iter().all(|&v| v == 0.0));
        assert!(out[2 * 3000..2 * 3100].iter().any(|&v| v.abs() > 0.01));
    }
}
