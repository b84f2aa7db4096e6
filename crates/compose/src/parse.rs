//! Controls as a musician writes them: `piano,bass,drums`, `3/4`, `48..84`.

use midigpt_midi::program_name;

use crate::{ComposeError, Control};

/// Short names for the instruments people ask for most, with the GM program each means.
const ALIASES: [(&str, i16); 16] = [
    ("drums", -1),
    ("piano", 0),
    ("epiano", 4),
    ("organ", 16),
    ("guitar", 25),
    ("bass", 33),
    ("violin", 40),
    ("cello", 42),
    ("strings", 48),
    ("choir", 52),
    ("trumpet", 56),
    ("brass", 61),
    ("sax", 65),
    ("flute", 73),
    ("lead", 80),
    ("pad", 88),
];

/// Lowercase letters and digits only: "Electric Bass (finger)" → "electricbassfinger".
fn squash(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// One instrument: a GM program number (0 to 127), a GM name ("Electric Bass (finger)",
/// any case and spacing), a short name (`piano`, `bass`, `strings`, ...) or `drums` (-1).
pub fn instrument(text: &str) -> Result<i16, ComposeError> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i16>() {
        return if (0..=127).contains(&n) {
            Ok(n)
        } else {
            Err(ComposeError::control(
                Control::Instruments,
                format!("program {n} is not a General MIDI program (0 to 127)"),
            ))
        };
    }
    let key = squash(text);
    let alias = ALIASES.iter().find(|(name, _)| *name == key);
    let gm = (0..128u8).find(|&p| squash(program_name(p, false)) == key);
    match (alias, gm) {
        (Some(&(_, p)), _) => Ok(p),
        (None, Some(p)) => Ok(p as i16),
        (None, None) => {
            let short: Vec<&str> = ALIASES.iter().map(|a| a.0).collect();
            Err(ComposeError::control(
                Control::Instruments,
                format!(
                    "{text:?} is no instrument: give a GM program number (0 to 127), a GM name \
                     (\"Electric Bass (finger)\") or one of {}",
                    short.join(", ")
                ),
            ))
        }
    }
}

/// A comma-separated list of instruments (see [`instrument`]), without repeats.
pub fn instruments(text: &str) -> Result<Vec<i16>, ComposeError> {
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let p = instrument(part)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err(ComposeError::control(
            Control::Instruments,
            "no instrument given",
        ));
    }
    Ok(out)
}

/// A metre such as `3/4` or `6/8`: a numerator of 1 or more, a power-of-two denominator.
pub fn time_signature(text: &str) -> Result<(u8, u8), ComposeError> {
    let bad = || {
        ComposeError::control(
            Control::TimeSignature,
            format!("{text:?} is no time signature: write it as 4/4, 3/4, 6/8, ..."),
        )
    };
    let (n, d) = text.trim().split_once('/').ok_or_else(bad)?;
    let n: u8 = n.trim().parse().map_err(|_| bad())?;
    let d: u8 = d.trim().parse().map_err(|_| bad())?;
    if n == 0 || !d.is_power_of_two() {
        return Err(bad());
    }
    Ok((n, d))
}

/// A pitch range `LOW..HIGH` (MIDI numbers, both included), e.g. `48..84`.
pub fn pitch_range(text: &str) -> Result<(u8, u8), ComposeError> {
    let bad = |why: &str| {
        ComposeError::control(
            Control::PitchRange,
            format!("{text:?}: {why} (e.g. 48..84)"),
        )
    };
    let (lo, hi) = text
        .split_once("..")
        .ok_or_else(|| bad("write it as LOW..HIGH"))?;
    let lo: u8 = lo.trim().parse().map_err(|_| bad("LOW is no MIDI pitch"))?;
    let hi: u8 = hi
        .trim()
        .trim_start_matches('=')
        .parse()
        .map_err(|_| bad("HIGH is no MIDI pitch"))?;
    if lo > hi || hi > 127 {
        return Err(bad("pitches go from 0 to 127, LOW first"));
    }
    Ok((lo, hi))
}

/// Bars `FIRST..LAST` counted from 1, both included (`9..12` is four bars), or one bar
/// (`9`), as 0-based bars with the end excluded (`8..12`).
pub fn bars(text: &str) -> Result<std::ops::Range<usize>, ComposeError> {
    let bad = |why: &str| {
        ComposeError::control(Control::InfillBars, format!("{text:?}: {why} (e.g. 9..12)"))
    };
    let (first, last) = text.split_once("..").unwrap_or((text, text));
    let number = |s: &str| s.trim().trim_start_matches('=').parse::<usize>();
    let first = number(first).map_err(|_| bad("FIRST is no bar number"))?;
    let last = number(last).map_err(|_| bad("LAST is no bar number"))?;
    if first == 0 || last < first {
        return Err(bad("bars count from 1, FIRST first"));
    }
    Ok(first - 1..last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruments_by_number_name_and_alias() {
        assert_eq!(instruments("0,33,drums").unwrap(), vec![0, 33, -1]);
        assert_eq!(
            instruments("piano, bass ,strings").unwrap(),
            vec![0, 33, 48]
        );
        assert_eq!(
            instruments("Electric Bass (finger),DRUMS").unwrap(),
            vec![33, -1]
        );
        assert_eq!(instruments("violin,violin").unwrap(), vec![40]);
        let err = instruments("kazoo").unwrap_err().to_string();
        assert!(
            err.contains("instruments") && err.contains("kazoo"),
            "{err}"
        );
        assert!(instruments("128").is_err());
    }

    #[test]
    fn metres_and_ranges() {
        assert_eq!(time_signature("3/4").unwrap(), (3, 4));
        assert_eq!(time_signature(" 6 / 8 ").unwrap(), (6, 8));
        assert!(time_signature("3/5").is_err());
        assert!(time_signature("0/4").is_err());
        assert_eq!(pitch_range("48..84").unwrap(), (48, 84));
        assert_eq!(pitch_range("48..=84").unwrap(), (48, 84));
        assert!(pitch_range("84..48").is_err());
        assert!(pitch_range("60").is_err());
        assert_eq!(bars("9..12").unwrap(), 8..12);
        assert_eq!(bars("3").unwrap(), 2..3);
        assert!(bars("0..2").is_err() && bars("5..4").is_err() && bars("a").is_err());
    }
}
