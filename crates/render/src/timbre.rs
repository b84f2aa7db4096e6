//! The built-in synthesizer's instruments: one timbre per family of General MIDI programs,
//! each a harmonic spectrum (played from a wavetable), an ADSR envelope and an optional
//! low-pass filter that opens with the envelope.
//!
//! The aim is to tell parts apart and hear melody, harmony and rhythm, not realism: a piano
//! decays and darkens, an organ holds, strings and pads swell, a bass sits on its fundamental,
//! a pluck is short and bright, brass brightens as it speaks.

/// A family of General MIDI programs that shares one sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Piano,
    Mallet,
    Organ,
    Pluck,
    Bass,
    Strings,
    Choir,
    Brass,
    Reed,
    Pipe,
    Lead,
    Pad,
}

impl Family {
    /// Every family, in the order of `Family as usize`.
    pub(crate) const ALL: [Family; 12] = [
        Family::Piano,
        Family::Mallet,
        Family::Organ,
        Family::Pluck,
        Family::Bass,
        Family::Strings,
        Family::Choir,
        Family::Brass,
        Family::Reed,
        Family::Pipe,
        Family::Lead,
        Family::Pad,
    ];

    /// The family of a General MIDI program (0..=127), following GM's groups of eight with the
    /// few exceptions whose sound differs from their group's.
    pub(crate) fn of_program(program: u8) -> Family {
        match program {
            29 | 30 => Family::Lead, // overdriven and distortion guitar: sustained and buzzy
            45 | 46 => Family::Pluck, // pizzicato strings, harp
            47 => Family::Bass,      // timpani: low and decaying
            52..=54 => Family::Choir, // choir, voice, synth voice
            55 => Family::Brass,     // orchestra hit
            109..=111 => Family::Reed, // bagpipe, fiddle, shanai
            _ => match program / 8 {
                0 => Family::Piano,
                1 | 14 => Family::Mallet, // chromatic and pitched percussion
                2 => Family::Organ,
                3 | 13 | 15 => Family::Pluck, // guitars, ethnic plucked, effects
                4 => Family::Bass,
                5 | 6 => Family::Strings,
                7 => Family::Brass,
                8 => Family::Reed,
                9 => Family::Pipe,
                10 => Family::Lead,
                _ => Family::Pad, // pads and synth effects
            },
        }
    }

    /// The sound of the family.
    pub(crate) fn timbre(self) -> Timbre {
        let t = Timbre::default();
        match self {
            Family::Piano => Timbre {
                decay: 1.6,
                sustain: 0.0,
                release: 0.25,
                filter: Some((2.0, 12.0)),
                ..t
            },
            Family::Mallet => Timbre {
                attack: 0.002,
                decay: 0.6,
                sustain: 0.0,
                release: 0.3,
                filter: None,
                ..t
            },
            Family::Organ => Timbre {
                attack: 0.01,
                release: 0.06,
                filter: None,
                gain: 0.5,
                ..t
            },
            Family::Pluck => Timbre {
                decay: 0.7,
                sustain: 0.0,
                release: 0.15,
                filter: Some((1.5, 14.0)),
                gain: 0.9,
                ..t
            },
            Family::Bass => Timbre {
                attack: 0.006,
                decay: 0.8,
                sustain: 0.45,
                release: 0.12,
                filter: Some((2.0, 8.0)),
                gain: 1.2,
                pitch_tracks_decay: false,
                ..t
            },
            Family::Strings => Timbre {
                attack: 0.12,
                release: 0.35,
                filter: Some((3.0, 5.0)),
                detune_cents: 7.0,
                gain: 0.5,
                ..t
            },
            Family::Choir => Timbre {
                attack: 0.15,
                release: 0.4,
                filter: None,
                detune_cents: 6.0,
                gain: 0.55,
                ..t
            },
            Family::Brass => Timbre {
                attack: 0.04,
                decay: 0.4,
                sustain: 0.8,
                release: 0.15,
                filter: Some((1.5, 9.0)),
                gain: 0.6,
                pitch_tracks_decay: false,
                ..t
            },
            Family::Reed => Timbre {
                attack: 0.03,
                sustain: 0.9,
                release: 0.1,
                filter: Some((3.0, 5.0)),
                gain: 0.55,
                ..t
            },
            Family::Pipe => Timbre {
                attack: 0.06,
                sustain: 0.9,
                release: 0.12,
                filter: None,
                gain: 0.7,
                ..t
            },
            Family::Lead => Timbre {
                attack: 0.01,
                decay: 0.5,
                sustain: 0.8,
                release: 0.12,
                filter: Some((5.0, 6.0)),
                detune_cents: 5.0,
                gain: 0.45,
                pitch_tracks_decay: false,
            },
            Family::Pad => Timbre {
                attack: 0.35,
                release: 0.8,
                filter: Some((2.5, 3.0)),
                detune_cents: 9.0,
                gain: 0.45,
                ..t
            },
        }
    }

    /// Amplitude of harmonic `n` (1 = the fundamental).
    pub(crate) fn harmonic(self, n: usize) -> f32 {
        let x = n as f32;
        let odd = n % 2 == 1;
        match self {
            Family::Piano => x.powf(-1.5),
            // A struck bar: the fundamental and a strong fourth partial (where a marimba's
            // tuned overtone sits), little else.
            Family::Mallet => [1.0, 0.08, 0.0, 0.35, 0.0, 0.0, 0.0, 0.0, 0.0, 0.06]
                .get(n - 1)
                .copied()
                .unwrap_or(0.0),
            // Drawbars 8', 4', 2 2/3', 2', 1 3/5', 1 1/3', 1'.
            Family::Organ => match n {
                1 => 1.0,
                2 => 0.7,
                3 => 0.5,
                4 => 0.4,
                5 => 0.15,
                6 => 0.25,
                8 => 0.2,
                _ => 0.0,
            },
            Family::Pluck | Family::Strings | Family::Brass | Family::Lead => 1.0 / x,
            Family::Bass => x.powf(-2.0),
            Family::Pad => x.powf(-1.3),
            // Odd harmonics strong (a clarinet's closed tube), even ones weaker.
            Family::Reed => {
                if odd {
                    1.0 / x
                } else {
                    0.35 / x
                }
            }
            Family::Pipe => [1.0, 0.25, 0.12, 0.05].get(n - 1).copied().unwrap_or(0.0),
            // A vowel-like hump around the third harmonic.
            Family::Choir => [0.7, 0.9, 1.0, 0.6, 0.3, 0.15, 0.1, 0.05]
                .get(n - 1)
                .copied()
                .unwrap_or(0.0),
        }
    }
}

/// How one family sounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timbre {
    /// Seconds from silence to full level.
    pub attack: f32,
    /// Time constant (seconds) of the fall from full level to `sustain`, at middle C.
    pub decay: f32,
    /// Level held while the key is down, 0..=1 (0: the note dies away like a struck string).
    pub sustain: f32,
    /// Seconds from the key's release to silence.
    pub release: f32,
    /// Low-pass cutoff as multiples of the note's frequency: (at silence, added at full
    /// level); the filter opens and closes with the envelope. `None`: no filter.
    pub filter: Option<(f32, f32)>,
    /// Two oscillators this many cents apart (a chorus), or one when 0.
    pub detune_cents: f32,
    /// Loudness relative to the other families (sustained, bright sounds are louder).
    pub gain: f32,
    /// Low notes ring longer than high ones (strings and bars do); `decay` is at middle C.
    pub pitch_tracks_decay: bool,
}

impl Default for Timbre {
    fn default() -> Self {
        Timbre {
            attack: 0.004,
            decay: 1.0,
            sustain: 1.0,
            release: 0.2,
            filter: None,
            detune_cents: 0.0,
            gain: 1.0,
            pitch_tracks_decay: true,
        }
    }
}

impl Timbre {
    /// Envelope level `t` seconds after the onset of a key held down, for a note of `decay`
    /// seconds (already adjusted for pitch).
    pub(crate) fn held_level(&self, t: f32, decay: f32) -> f32 {
        if t < self.attack {
            t / self.attack
        } else {
            self.sustain + (1.0 - self.sustain) * (-(t - self.attack) / decay).exp()
        }
    }
}

/// Samples in one cycle of a wavetable.
pub(crate) const TABLE_LEN: usize = 2048;
/// Most harmonics in a table: beyond this the spectra above are inaudibly small.
const MAX_HARMONICS: usize = 64;

/// One family's waveform, band-limited per octave: table `k` serves MIDI notes `12k..12k+12`
/// and holds only the harmonics below Nyquist for the highest of them (plus detune), so high
/// notes do not alias.
pub(crate) struct Wavetable {
    octaves: Vec<Vec<f32>>,
}

impl Wavetable {
    /// Builds the tables of `family` for `sample_rate`, from a shared sine table (one pass of
    /// additions per harmonic, no `sin` per sample).
    pub(crate) fn new(family: Family, sample_rate: u32, sine: &[f32]) -> Self {
        let octaves = (0..11)
            .map(|octave| {
                let top = midi_hz(12 * octave + 11) * 1.01;
                let limit = ((0.45 * sample_rate as f32 / top) as usize).clamp(1, MAX_HARMONICS);
                let mut table = vec![0.0f32; TABLE_LEN + 1];
                for n in 1..=limit {
                    let amp = family.harmonic(n);
                    if amp == 0.0 {
                        continue;
                    }
                    for (i, v) in table.iter_mut().enumerate().take(TABLE_LEN) {
                        *v += amp * sine[(i * n) % TABLE_LEN];
                    }
                }
                let peak = table.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-9);
                table.iter_mut().for_each(|v| *v /= peak);
                // A guard sample so interpolation at the last index needs no wrap.
                table[TABLE_LEN] = table[0];
                table
            })
            .collect();
        Wavetable { octaves }
    }

    /// The table for MIDI note `pitch`.
    pub(crate) fn for_pitch(&self, pitch: u8) -> &[f32] {
        &self.octaves[(pitch as usize / 12).min(self.octaves.len() - 1)]
    }
}

/// One cycle of a sine, `TABLE_LEN` samples.
pub(crate) fn sine_table() -> Vec<f32> {
    (0..TABLE_LEN)
        .map(|i| (i as f32 / TABLE_LEN as f32 * std::f32::consts::TAU).sin())
        .collect()
}

/// Frequency of a MIDI note (A4 = 69 = 440 Hz).
pub(crate) fn midi_hz(pitch: u8) -> f32 {
    440.0 * ((pitch as f32 - 69.0) / 12.0).exp2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_has_a_family_and_every_family_a_sound() {
        for p in 0..=127u8 {
            let family = Family::of_program(p);
            assert_eq!(Family::ALL[family as usize], family);
            assert!(family.harmonic(1) > 0.0);
        }
        assert_eq!(Family::of_program(0), Family::Piano);
        assert_eq!(Family::of_program(19), Family::Organ);
        assert_eq!(Family::of_program(33), Family::Bass);
        assert_eq!(Family::of_program(48), Family::Strings);
        assert_eq!(Family::of_program(89), Family::Pad);
    }

    #[test]
    fn tables_are_normalised_and_band_limited() {
        let sine = sine_table();
        let table = Wavetable::new(Family::Strings, 44_100, &sine);
        for octave in &table.octaves {
            let peak = octave.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!((peak - 1.0).abs() < 1e-4);
        }
        // The top octave of a sawtooth keeps only the fundamental: a near-pure sine.
        let top = table.for_pitch(127);
        let err = top[..TABLE_LEN]
            .iter()
            .zip(&sine)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-4, "{err}");
    }
}
