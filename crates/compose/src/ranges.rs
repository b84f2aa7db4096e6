//! Each instrument in its own register: a bass below middle C, a flute above it, drums only
//! on the General MIDI kit. A small model trained on few instruments writes any instrument
//! asked of it in the register it knows (a bass in the piano's treble); the General MIDI
//! ranges below keep it where the instrument plays, unless a pitch range is asked for.

use midigpt_tokenize::TokenKind;

use crate::clock::Clock;
use crate::constraints::{forbid_where, Rule};

/// The General MIDI percussion kit: key 35 (acoustic bass drum) to 81 (open triangle).
pub const GM_DRUMS: (u8, u8) = (35, 81);

/// Where GM program `program` (0..=127) usually plays, as MIDI pitches (inclusive): the
/// written range of the instrument, by family, with the string section and the brass and
/// reeds of very different sizes by instrument. Basses stop below middle C (60).
pub fn usual_range(program: u8) -> (u8, u8) {
    match program {
        0..=7 => (21, 108),    // pianos
        8..=15 => (36, 108),   // chromatic percussion
        16..=23 => (36, 96),   // organs
        24..=31 => (40, 88),   // guitars: E2 to E6
        32..=39 => (24, 59),   // basses, below middle C
        40 => (55, 103),       // violin
        41 => (48, 91),        // viola
        42 => (36, 76),        // cello
        43 => (28, 59),        // contrabass
        44..=46 => (28, 103),  // string ensembles, pizzicato, harp
        47 => (36, 57),        // timpani
        48..=55 => (28, 103),  // ensembles and choirs
        56 | 59 => (52, 86),   // trumpet, muted trumpet
        57 => (40, 77),        // trombone
        58 => (28, 58),        // tuba
        60 => (34, 77),        // French horn
        61..=63 => (34, 86),   // brass sections
        64 => (56, 88),        // soprano sax
        65 => (49, 81),        // alto sax
        66 => (44, 76),        // tenor sax
        67 => (36, 69),        // baritone sax
        68 => (58, 91),        // oboe
        69 => (52, 81),        // English horn
        70 => (34, 75),        // bassoon
        71 => (50, 94),        // clarinet
        72..=79 => (60, 108),  // pipes: piccolo, flute, recorder...
        80..=95 => (36, 96),   // synth leads and pads
        96..=103 => (24, 108), // synth effects
        104..=111 => (36, 96), // ethnic
        112..=119 => (36, 96), // percussive
        _ => (21, 108),        // sound effects
    }
}

/// Notes of the generated part only where the instrument being written plays
/// ([`usual_range`], [`GM_DRUMS`] for drums). After a pitched program a drum token reads as
/// a pitch and after the drums a pitch token reads as a drum hit (as MidiTok decodes them),
/// so both are held to the program's range. Without program tokens (REMI), notes are of
/// `program`, where it is known.
pub struct InstrumentRanges {
    pub(crate) program: Option<i16>,
}

impl Rule for InstrumentRanges {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        let Some(program) = clock.program.or(self.program) else {
            return;
        };
        let (low, high) = match u8::try_from(program) {
            Ok(p) => usual_range(p),
            Err(_) => GM_DRUMS,
        };
        forbid_where(clock.table(), logits, |_, kind| match kind {
            TokenKind::Pitch(p) | TokenKind::Drum(p) => p < low || p > high,
            _ => false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_tokenize::{TokenTable, Vocab};
    use std::sync::Arc;

    #[test]
    fn a_bass_plays_low_and_drums_play_the_kit() {
        let mut names = vec!["Bar_None".to_string(), "Position_0".into()];
        names.extend(["Program_33", "Program_-1", "Program_0"].map(String::from));
        names.extend((20..110).map(|p| format!("Pitch_{p}")));
        names.extend((27..89).map(|p| format!("PitchDrum_{p}")));
        let vocab = Vocab::new(names.iter().cloned());
        let table = Arc::new(TokenTable::new(&vocab, Some(8)));
        let allowed = |program: &str| -> Vec<String> {
            let ids: Vec<u32> = ["Bar_None", "Position_0", program]
                .iter()
                .map(|t| vocab.get(t).unwrap())
                .collect();
            let mut clock = Clock::new(table.clone());
            clock.advance(&ids, 1);
            let mut logits = vec![0.0; names.len()];
            InstrumentRanges { program: None }.apply(&clock, &mut logits);
            (0..names.len())
                .filter(|&i| logits[i].is_finite() && names[i].contains("itch"))
                .map(|i| names[i].clone())
                .collect()
        };
        let bass = allowed("Program_33");
        assert_eq!(bass.first().unwrap(), "Pitch_24");
        assert_eq!(
            bass.iter().rfind(|n| n.starts_with("Pitch_")).unwrap(),
            "Pitch_59"
        );
        let drums = allowed("Program_-1");
        assert!(drums.iter().all(|n| {
            let p: u8 = n.rsplit('_').next().unwrap().parse().unwrap();
            (35..=81).contains(&p)
        }));
        assert!(
            drums.contains(&"PitchDrum_36".to_string()) && drums.contains(&"Pitch_42".to_string())
        );
        // The piano keeps its whole keyboard.
        assert_eq!(
            allowed("Program_0")
                .iter()
                .filter(|n| n.starts_with("Pitch_"))
                .count(),
            88
        );
    }
}
