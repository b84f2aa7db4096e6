//! Drums of the built-in synthesizer: each hit is a burst of filtered noise, with a falling
//! sine under the drums that have a pitch (kick, snare body, toms). The filter and the decay
//! depend on the General MIDI drum key, so a kick, a snare, a hi-hat and a cymbal are each
//! recognisable, and other percussion gets a colour that rises with the key.
//!
//! A hit is a one-shot: it ignores the note's length, as drum machines and GM sound sets do.

use crate::plan::{pan_gains, velocity_gain, NoteSpan};

/// Which part of the noise spectrum a drum keeps.
#[derive(Debug, Clone, Copy)]
enum Band {
    Low,
    Mid,
    High,
}

/// The recipe of one drum sound.
#[derive(Debug, Clone, Copy)]
struct Drum {
    /// Noise: band, centre or cutoff (Hz), resonance Q, decay time constant (s), level.
    noise: (Band, f32, f32, f32, f32),
    /// Pitched body: start Hz, end Hz, decay time constant (s), level (0: none). The pitch
    /// falls from start to end with a 30 ms time constant, as a struck membrane's does.
    tone: (f32, f32, f32, f32),
    /// Stereo position, as a drummer's kit is heard from the audience.
    pan: f32,
}

/// The sound of General MIDI drum key `key`.
fn drum(key: u8) -> Drum {
    let none = (0.0, 0.0, 0.0, 0.0);
    let d = |noise, tone, pan| Drum { noise, tone, pan };
    match key {
        35 | 36 => d(
            (Band::Low, 1500.0, 0.7, 0.01, 0.4),
            (110.0, 45.0, 0.3, 1.0),
            0.0,
        ),
        37 => d(
            (Band::Mid, 2000.0, 2.0, 0.03, 0.6),
            (420.0, 400.0, 0.02, 0.3),
            0.0,
        ),
        38 | 40 => d(
            (Band::Mid, 2500.0, 0.6, 0.14, 0.8),
            (200.0, 175.0, 0.08, 0.5),
            0.05,
        ),
        39 => d((Band::Mid, 1200.0, 1.2, 0.1, 0.9), none, 0.05),
        // Toms: low floor tom (41) up to high tom (50), from right to left.
        41 | 43 | 45 | 47 | 48 | 50 => {
            let hz = 70.0 * ((key as f32 - 41.0) / 12.0).exp2();
            let pan = 0.4 - 0.8 * (key as f32 - 41.0) / 9.0;
            d(
                (Band::Low, 900.0, 0.7, 0.05, 0.2),
                (1.5 * hz, hz, 0.3, 0.9),
                pan,
            )
        }
        42 => d((Band::High, 8000.0, 0.7, 0.035, 0.5), none, -0.3),
        44 => d((Band::High, 7000.0, 0.7, 0.06, 0.35), none, -0.3),
        46 => d((Band::High, 7500.0, 0.7, 0.3, 0.45), none, -0.3),
        49 | 57 => d((Band::High, 5000.0, 0.7, 0.9, 0.5), none, -0.45),
        51 | 59 => d((Band::Mid, 7000.0, 0.8, 0.6, 0.3), none, 0.45),
        52 => d((Band::Mid, 4000.0, 1.0, 0.8, 0.5), none, 0.45),
        53 => d(
            (Band::Mid, 5000.0, 1.0, 0.4, 0.3),
            (900.0, 900.0, 0.4, 0.2),
            0.45,
        ),
        55 => d((Band::High, 6000.0, 0.7, 0.45, 0.5), none, -0.45),
        // Other percussion: a resonant band whose centre rises with the key.
        _ => {
            let hz = (250.0 * ((key as f32 - 35.0) / 10.0).exp2()).min(12_000.0);
            d((Band::Mid, hz, 2.0, 0.12, 0.7), none, 0.2)
        }
    }
}

/// Seconds over which a hit fades out when the next hit of the same drum chokes it.
const CHOKE_SECONDS: f32 = 0.005;

/// The drums that silence each other: a new hit of a drum stops the one still ringing (a drum
/// machine's pad retriggers), and the hi-hat pedal or a closed hi-hat stops an open one.
pub(crate) fn choke_group(key: u8) -> u8 {
    match key {
        42 | 44 | 46 => 42,
        _ => key,
    }
}

/// Adds one drum hit into `out` (interleaved stereo), faded out from frame `choke` on if the
/// next hit of its [`choke_group`] comes before it has died away; `seed` picks its noise.
pub(crate) fn render_drum(
    span: &NoteSpan,
    choke: Option<usize>,
    sample_rate: u32,
    seed: u32,
    out: &mut [f32],
) {
    let drum = drum(span.pitch);
    let sr = sample_rate as f32;
    let (band, hz, q, noise_decay, noise_level) = drum.noise;
    let (start_hz, end_hz, tone_decay, tone_level) = drum.tone;
    // Until the louder part has fallen 60 dB (ln 10^3 ≈ 6.9 time constants), or faded out
    // after a choke.
    let seconds = 6.9 * noise_decay.max(if tone_level > 0.0 { tone_decay } else { 0.0 });
    let fade = ((CHOKE_SECONDS * sr) as usize).max(1);
    let natural_end = span.on + (seconds * sr) as usize;
    let choke = choke.unwrap_or(usize::MAX).max(span.on);
    let end = natural_end
        .min(choke.saturating_add(fade))
        .min(out.len() / 2);
    let amp = velocity_gain(span.velocity);
    let (left, right) = pan_gains(drum.pan);

    let mut filter = Svf::new(hz, q, sr);
    let mut noise = Noise(seed.wrapping_mul(0x9E37_79B9) | 1);
    // Per-sample multipliers for the exponential decays and the pitch glide.
    let noise_fall = (-1.0 / (noise_decay * sr)).exp();
    let tone_fall = (-1.0 / (tone_decay.max(1e-3) * sr)).exp();
    let glide_fall = (-1.0 / (0.03 * sr)).exp();
    let (mut noise_env, mut tone_env, mut glide) = (noise_level, tone_level, 1.0f32);
    let mut phase = 0.0f32;
    for (i, frame) in out[2 * span.on..2 * end].chunks_exact_mut(2).enumerate() {
        let (low, mid, high) = filter.step(noise.next());
        let filtered = match band {
            Band::Low => low,
            Band::Mid => mid,
            Band::High => high,
        };
        let mut y = filtered * noise_env;
        if tone_level > 0.0 {
            y += (phase * std::f32::consts::TAU).sin() * tone_env;
            let hz = end_hz + (start_hz - end_hz) * glide;
            phase = (phase + hz / sr).fract();
            tone_env *= tone_fall;
            glide *= glide_fall;
        }
        noise_env *= noise_fall;
        let choked = (span.on + i).saturating_sub(choke);
        let y = y * amp * (1.0 - choked as f32 / fade as f32);
        frame[0] += y * left;
        frame[1] += y * right;
    }
}

/// White noise from a 32-bit xorshift: cheap, and the same for the same seed.
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x as f32 / u32::MAX as f32 * 2.0 - 1.0
    }
}

/// A state-variable filter (Zavalishin's trapezoidal form: stable at any cutoff below
/// Nyquist) giving low-, band- and high-pass outputs at once.
struct Svf {
    a1: f32,
    a2: f32,
    a3: f32,
    k: f32,
    ic1: f32,
    ic2: f32,
}

impl Svf {
    fn new(cutoff: f32, q: f32, sample_rate: f32) -> Self {
        let g = (std::f32::consts::PI * cutoff.min(0.45 * sample_rate) / sample_rate).tan();
        let k = 1.0 / q;
        let a1 = 1.0 / (1.0 + g * (g + k));
        Svf {
            a1,
            a2: g * a1,
            a3: g * g * a1,
            k,
            ic1: 0.0,
            ic2: 0.0,
        }
    }

    /// One sample in; (low, band, high) out.
    #[inline]
    fn step(&mut self, x: f32) -> (f32, f32, f32) {
        let v3 = x - self.ic2;
        let v1 = self.a1 * self.ic1 + self.a2 * v3;
        let v2 = self.ic2 + self.a2 * self.ic1 + self.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        (v2, v1, x - self.k * v1 - v2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(key: u8, lo: usize, hi: usize) -> f32 {
        let span = NoteSpan {
            track: 0,
            pitch: key,
            velocity: 100,
            on: 0,
            off: 100,
        };
        let mut out = vec![0.0; 2 * 500_000];
        render_drum(&span, None, 44_100, 7, &mut out);
        out[2 * lo..2 * hi].iter().map(|v| v * v).sum()
    }

    #[test]
    fn every_key_sounds_and_stops() {
        for key in 0..=127 {
            assert!(energy(key, 0, 2000) > 1e-3, "key {key} is silent");
            assert_eq!(energy(key, 400_000, 500_000), 0.0, "key {key} rings on");
        }
    }

    #[test]
    fn a_choked_hit_stops_after_its_fade() {
        let span = NoteSpan {
            track: 0,
            pitch: 46,
            velocity: 100,
            on: 100,
            off: 200,
        };
        let mut out = vec![0.0; 2 * 50_000];
        render_drum(&span, Some(1000), 44_100, 7, &mut out);
        assert!(out[2 * 990..2 * 1000].iter().any(|v| v.abs() > 1e-3));
        let fade = (CHOKE_SECONDS * 44_100.0) as usize;
        assert!(out[2 * (1000 + fade)..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn open_hat_rings_longer_than_closed() {
        assert!(energy(46, 4410, 13_230) > 10.0 * energy(42, 4410, 13_230));
    }
}
