//! Holding a key: pitches outside the key's scale made less likely, not forbidden.
//!
//! A small model's pitch choices drift out of key a note at a time, and every wrong note
//! makes the next one likelier. Pop music is diatonic with a few chromatic notes (POP909's
//! songs put 99% of their notes in one major or minor scale), so a soft penalty keeps the
//! chromatic colour the model has and removes most of the drift.
//!
//! The penalty is set for the request's temperature, so that what is drawn is what the README
//! says at any temperature: an out-of-key pitch e² ≈ 7 times less likely than the model would
//! have it (relative to the other tokens). Greedy decoding (temperature 0) draws no odds: there
//! an out-of-key pitch is chosen only where the model's logit for it leads every other
//! choice, out-of-key pitches aside, by more than [`KEY_PENALTY`] (where, at temperature 1,
//! it was over e² times likelier).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use midigpt_tokenize::TokenKind;

use crate::clock::Clock;
use crate::constraints::Rule;
use crate::{ComposeError, Control};

/// An out-of-key pitch is e^`KEY_PENALTY` = e² ≈ 7 times less likely: its logit is lowered by
/// this much times the temperature, which the sampler then divides by (at temperature 0, by
/// this much).
pub const KEY_PENALTY: f32 = 2.0;
/// Pitched notes read before `Key::Auto` names a key.
pub const AUTO_NOTES: usize = 16;
/// Semitones of a major scale above its tonic (a minor key uses its relative major's).
const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];

/// The key to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The scale that holds the most notes so far (the prompt's and the new ones'), once
    /// there are [`AUTO_NOTES`] of them; it follows the music, but the more notes there are,
    /// the less one drifting bar moves it.
    Auto,
    /// A tonic pitch class (0 = C) and mode.
    Fixed {
        /// Pitch class of the tonic, 0..12.
        tonic: u8,
        /// Minor (natural minor: the relative major's notes) rather than major.
        minor: bool,
    },
}

impl Key {
    /// `auto`, or a tonic and an optional mode: `C`, `F#`, `Bb minor`, `Am`, `c#m`, `Eb major`.
    pub fn parse(text: &str) -> Result<Key, ComposeError> {
        let squashed: String = text.split_whitespace().collect::<Vec<_>>().join("");
        let lower = squashed.to_ascii_lowercase();
        if lower == "auto" {
            return Ok(Key::Auto);
        }
        let bad = || {
            ComposeError::control(
                Control::Key,
                format!(
                    "{text:?} is no key: give a tonic and a mode (C, F#, Bb minor, Am) or auto"
                ),
            )
        };
        let mut chars = lower.chars();
        let tonic = match chars.next().ok_or_else(bad)? {
            'c' => 0,
            'd' => 2,
            'e' => 4,
            'f' => 5,
            'g' => 7,
            'a' => 9,
            'b' => 11,
            _ => return Err(bad()),
        };
        let rest = chars.as_str();
        let (shift, mode) = match rest.strip_prefix('#') {
            Some(m) => (1, m),
            None => match rest.strip_prefix('b') {
                Some(m) if m.is_empty() || m.starts_with('m') => (11, m),
                _ => (0, rest),
            },
        };
        let minor = match mode {
            "" | "maj" | "major" => false,
            "m" | "min" | "minor" => true,
            _ => return Err(bad()),
        };
        Ok(Key::Fixed {
            tonic: (tonic + shift) % 12,
            minor,
        })
    }

    /// A front end's setting: empty or `none` for no key, else [`Key::parse`].
    pub fn from_setting(text: &str) -> Result<Option<Key>, ComposeError> {
        match text.trim() {
            "" | "none" => Ok(None),
            text => Key::parse(text).map(Some),
        }
    }

    /// The pitch class of the major scale with this key's notes.
    fn major_tonic(self) -> Option<u8> {
        match self {
            Key::Auto => None,
            Key::Fixed { tonic, minor } => Some((tonic + if minor { 3 } else { 0 }) % 12),
        }
    }
}

/// Whether pitch class `pc` is in the major scale on `tonic`.
fn in_scale(tonic: u8, pc: u8) -> bool {
    MAJOR.contains(&((pc + 12 - tonic) % 12))
}

/// The major scale holding the most of `counts` (per pitch class); the lowest tonic of a tie.
fn best_scale(counts: &[usize; 12]) -> u8 {
    (0..12u8)
        .max_by_key(|&t| {
            let inside: usize = (0..12u8)
                .filter(|&pc| in_scale(t, pc))
                .map(|pc| counts[pc as usize])
                .sum();
            (inside, std::cmp::Reverse(t))
        })
        .unwrap_or(0)
}

/// Steps at which the key changed the most likely token, counted by its rule and read by
/// whoever reports on the generation.
pub(crate) type Corrections = Arc<AtomicUsize>;

/// Lowers the logits of pitched notes outside the key, counting the steps at which that
/// changed the most likely token.
pub struct InKey {
    key: Key,
    /// Subtracted from an out-of-key pitch's logit.
    penalty: f32,
    /// Steps at which the penalty changed the most likely token.
    corrections: Corrections,
}

impl InKey {
    /// `key` for sampling at `temperature`: after the sampler divides the logits by it, an
    /// out-of-key pitch is e^[`KEY_PENALTY`] times less likely (see the module docs for 0).
    pub(crate) fn new(key: Key, temperature: f32, corrections: Corrections) -> InKey {
        let scale = if temperature > 0.0 { temperature } else { 1.0 };
        InKey {
            key,
            penalty: KEY_PENALTY * scale,
            corrections,
        }
    }
}

impl Rule for InKey {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        if clock.drums() {
            return;
        }
        // The notes so far, the prompt's and the new ones'.
        let counts = &clock.pitch_classes;
        let tonic = match self.key.major_tonic() {
            Some(t) => t,
            None if counts.iter().sum::<usize>() >= AUTO_NOTES => best_scale(counts),
            None => return,
        };
        let favourite = most_likely(logits);
        for (id, kind) in clock.table().iter() {
            if let TokenKind::Pitch(p) = kind {
                if !in_scale(tonic, p % 12) {
                    if let Some(l) = logits.get_mut(id as usize) {
                        *l -= self.penalty;
                    }
                }
            }
        }
        if most_likely(logits) != favourite {
            self.corrections.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The id with the largest finite logit (the first of a tie).
fn most_likely(logits: &[f32]) -> Option<usize> {
    (0..logits.len())
        .filter(|&i| logits[i].is_finite())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_as_musicians_write_them() {
        let fixed = |tonic, minor| Key::Fixed { tonic, minor };
        assert_eq!(Key::parse("C").unwrap(), fixed(0, false));
        assert_eq!(Key::parse("F# minor").unwrap(), fixed(6, true));
        assert_eq!(Key::parse("Bb").unwrap(), fixed(10, false));
        assert_eq!(Key::parse("bbm").unwrap(), fixed(10, true));
        assert_eq!(Key::parse("Am").unwrap(), fixed(9, true));
        assert_eq!(Key::parse("Eb major").unwrap(), fixed(3, false));
        assert_eq!(Key::parse("B").unwrap(), fixed(11, false));
        assert_eq!(Key::parse(" auto ").unwrap(), Key::Auto);
        for bad in ["H", "", "C dorian", "#"] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Key::from_setting(" none ").unwrap(), None);
        assert_eq!(Key::from_setting("").unwrap(), None);
        assert_eq!(Key::from_setting("C").unwrap(), Some(fixed(0, false)));
        assert!(Key::from_setting("H").is_err());
        // A minor holds C major's notes.
        assert_eq!(Key::parse("Am").unwrap().major_tonic(), Some(0));
    }

    #[test]
    fn the_odds_hold_at_any_temperature_and_changes_are_counted() {
        let names = ["Bar_None", "Pitch_60", "Pitch_61", "Pitch_62"];
        let vocab = midigpt_tokenize::Vocab::new(names.iter().map(|t| t.to_string()));
        let table = Arc::new(midigpt_tokenize::TokenTable::new(&vocab, Some(8)));
        let clock = Clock::new(table);
        let c_major = Key::parse("C").unwrap();
        // C# leads by 1.5: lowered by 2 (at temperature 1) it is no longer the favourite.
        for (temperature, lowered, changed) in
            [(1.0, 2.0, 1), (0.5, 1.0, 0), (2.0, 4.0, 1), (0.0, 2.0, 1)]
        {
            let count = Arc::new(AtomicUsize::new(0));
            let mut rule = InKey::new(c_major, temperature, count.clone());
            let mut logits = vec![0.0, 0.0, 1.5, 0.0];
            rule.apply(&clock, &mut logits);
            assert_eq!(logits, [0.0, 0.0, 1.5 - lowered, 0.0], "at {temperature}");
            if temperature > 0.0 {
                // What the sampler draws from: e² less likely, whatever the temperature.
                assert_eq!((1.5 - logits[2]) / temperature, KEY_PENALTY);
            }
            assert_eq!(count.load(Ordering::Relaxed), changed, "at {temperature}");
        }
    }

    #[test]
    fn the_scale_with_the_most_notes_wins() {
        // G major's notes (F#, no F).
        let mut counts = [0; 12];
        for pc in [7, 9, 11, 0, 2, 4, 6, 7, 2] {
            counts[pc] += 1;
        }
        assert_eq!(best_scale(&counts), 7);
        assert!(in_scale(7, 6) && !in_scale(7, 5));
    }
}
