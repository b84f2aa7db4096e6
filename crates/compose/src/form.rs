//! Song form: a piece written section by section, where a section named again comes back.
//!
//! A model that sees a thousand tokens sees about a dozen bars, and a pop song's choruses
//! come back sixteen to thirty-two bars apart, so left-to-right sampling never repeats a
//! bar. A [`Form`] (`ABCB`, `A8 B8 A8 B4`) lays the piece out: a new letter is written by the
//! model, continuing everything before it; a letter seen before is the music of its first
//! occurrence, played again, and the model goes on from there.
//!
//! The form is one more control of the piece's one generation ([`Repeats`]): its length is
//! the form's bars, the request's token budget is the whole piece's, and the model's cache
//! reads each copied token as if it had drawn it, so nothing is encoded twice. Every new
//! section draws from the piece's one random stream (its seed's), which each copied token
//! advances too: a section no longer has a seed of its own, as it had when each section was
//! a generation of its own, so the same seed gives a form other new sections than it did
//! then (what is heard is the same in kind: repeats exact, bar counts exact).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use midigpt_generate::force;
use midigpt_tokenize::TokenId;

use crate::clock::Clock;
use crate::constraints::Rule;
use crate::{ComposeError, Control};

/// Bars of a section whose length the form does not give.
pub const SECTION_BARS: usize = 8;

/// One section: a letter and a length in bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// Sections with the same letter hold the same music.
    pub label: char,
    /// Its length in bars.
    pub bars: usize,
}

/// Sections in playing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// At least one, each at least one bar long.
    pub sections: Vec<Section>,
}

impl Form {
    /// A verse–chorus song of `bars` bars: sections of [`SECTION_BARS`] (the last one takes
    /// what is left), new music in the even sections and a chorus that comes back in the odd
    /// ones: `A B C B D B ...`. Pieces under two sections long get one new section.
    pub fn song(bars: usize) -> Form {
        let count = bars.div_ceil(SECTION_BARS).max(1);
        let sections = (0..count)
            .map(|i| Section {
                label: match i {
                    _ if i % 2 == 1 => 'B',
                    0 => 'A',
                    _ => (b'A' + (i / 2 + 1).min(25) as u8) as char,
                },
                bars: if i + 1 == count {
                    bars - SECTION_BARS * i
                } else {
                    SECTION_BARS
                },
            })
            .collect();
        Form { sections }
    }

    /// The form's letters with lengths given to the sections that have none: an equal share
    /// of `bars` (the last one takes the rest), or [`SECTION_BARS`] without `bars`.
    pub fn parse(text: &str, bars: Option<usize>) -> Result<Form, ComposeError> {
        let bad = |why: String| ComposeError::control(Control::Form, why);
        let mut parsed: Vec<(char, Option<usize>)> = Vec::new();
        let mut chars = text.chars().filter(|c| !c.is_whitespace()).peekable();
        while let Some(c) = chars.next() {
            if !c.is_ascii_alphabetic() {
                return Err(bad(format!(
                    "{text:?}: sections are letters, each with an optional length in bars \
                     (ABAB, A8 B8 A8 B4); {c:?} is neither"
                )));
            }
            let mut digits = String::new();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            let length = match digits.parse::<usize>() {
                Ok(0) => return Err(bad(format!("{text:?}: section {c} has no bars"))),
                Ok(n) => Some(n),
                Err(_) if digits.is_empty() => None,
                Err(_) => return Err(bad(format!("{text:?}: {digits} bars is too long"))),
            };
            parsed.push((c.to_ascii_uppercase(), length));
        }
        if parsed.is_empty() {
            return Err(bad("the form has no sections (give letters: ABAB)".into()));
        }
        let given: usize = parsed.iter().filter_map(|s| s.1).sum();
        let open = parsed.iter().filter(|s| s.1.is_none()).count();
        let share = match bars {
            Some(total) if open > 0 => {
                let left = total
                    .checked_sub(given)
                    .filter(|&l| l >= open)
                    .ok_or_else(|| {
                        bad(format!(
                        "{text:?} does not fit in {total} bars ({open} sections of at least a bar \
                         after {given} given)"
                    ))
                    })?;
                (left / open, left % open)
            }
            _ => (SECTION_BARS, 0),
        };
        let last_open = parsed.iter().rposition(|s| s.1.is_none());
        let sections = (parsed.iter().enumerate())
            .map(|(i, &(label, length))| Section {
                label,
                bars: length.unwrap_or(share.0 + if Some(i) == last_open { share.1 } else { 0 }),
            })
            .collect();
        Ok(Form { sections })
    }

    /// A front end's setting: empty or `none` for no form, else [`Form::parse`].
    pub fn from_setting(text: &str, bars: Option<usize>) -> Result<Option<Form>, ComposeError> {
        match text.trim() {
            "" | "none" => Ok(None),
            text => Form::parse(text, bars).map(Some),
        }
    }

    /// Its length in bars.
    pub fn bars(&self) -> usize {
        self.sections.iter().map(|s| s.bars).sum()
    }
}

impl FromStr for Form {
    type Err = ComposeError;

    /// [`Form::parse`] without a total: sections without a length are [`SECTION_BARS`] long.
    fn from_str(text: &str) -> Result<Form, ComposeError> {
        Form::parse(text, None)
    }
}

impl fmt::Display for Form {
    /// `A8 B8 A8 B4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = (self.sections.iter())
            .map(|s| format!("{}{}", s.label, s.bars))
            .collect();
        f.write_str(&parts.join(" "))
    }
}

/// The form as a control over the one generation of a piece, reading the shared clock: in a
/// bar of a section whose letter came before, each token is dictated — the token at the same
/// place in the matching bar of the first occurrence (REMI's positions count from the bar
/// line, so a bar's tokens mean the same music anywhere) — up to the bar line that ends it
/// where the original's ended (the piece's end after its last bar). The other controls let
/// those tokens be written once; a copy overrides them, as the music is told, not chosen.
/// Elsewhere the model writes, under every control.
pub(crate) struct Repeats {
    /// For each bar of the new part (0-based), the earlier one it plays again.
    again: Vec<Option<usize>>,
    bar: TokenId,
    eos: TokenId,
    /// Whether the last step was dictated.
    dictated: bool,
}

impl Repeats {
    /// `form` over the new part, with the tokenizer's bar and end tokens.
    pub(crate) fn new(form: &Form, bar: TokenId, eos: TokenId) -> Repeats {
        let mut first: HashMap<char, (usize, usize)> = HashMap::new();
        let mut again = Vec::with_capacity(form.bars());
        for section in &form.sections {
            let start = again.len();
            match first.get(&section.label) {
                // A section longer than its first occurrence goes on with new bars.
                Some(&(from, bars)) => {
                    again.extend((0..section.bars).map(|j| (j < bars).then_some(from + j)))
                }
                None => {
                    first.insert(section.label, (start, section.bars));
                    again.resize(start + section.bars, None);
                }
            }
        }
        Repeats {
            again,
            bar,
            eos,
            dictated: false,
        }
    }

    /// The token the form dictates next, if the clock stands in a repeated bar.
    fn next(&self, clock: &Clock) -> Option<TokenId> {
        let before = clock.prompt_end?.0;
        // The new part's bar being written; none before its first bar line.
        let bar = clock.bars.checked_sub(before + 1)?;
        let from = (*self.again.get(bar)?)?;
        let starts = &clock.bar_starts;
        // The original bar, from its bar line to the next one (written: it came before).
        let (original, end) = (starts[before + from], starts[before + from + 1]);
        let at = original + (clock.read - starts[before + bar]);
        Some(match clock.ids.get(at) {
            Some(&id) if at < end => id,
            _ if bar + 1 == self.again.len() => self.eos,
            _ => self.bar,
        })
    }
}

impl Rule for Repeats {
    fn apply(&mut self, clock: &Clock, logits: &mut [f32]) {
        let next = self.next(clock);
        self.dictated = next.is_some();
        if let Some(id) = next {
            force(logits, id);
        }
    }

    fn dictates(&self) -> bool {
        self.dictated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(form: &Form) -> String {
        form.sections.iter().map(|s| s.label).collect()
    }

    #[test]
    fn forms_parse_with_and_without_lengths() {
        let form: Form = "A8 B8 a8 B4".parse().unwrap();
        assert_eq!(form.to_string(), "A8 B8 A8 B4");
        assert_eq!(form.bars(), 28);
        // Open sections share what the given ones leave; the last takes the rest.
        let form = Form::parse("A B A4 C", Some(15)).unwrap();
        assert_eq!(form.to_string(), "A3 B3 A4 C5");
        assert_eq!(form.bars(), 15);
        assert_eq!("ABAB".parse::<Form>().unwrap().bars(), 4 * SECTION_BARS);
        for bad in ["", "A0", "A-B", "A99999999999999999999999"] {
            assert!(bad.parse::<Form>().is_err(), "{bad:?}");
        }
        assert_eq!(Form::from_setting(" none ", Some(8)).unwrap(), None);
        assert_eq!(Form::from_setting("", None).unwrap(), None);
        let set = Form::from_setting("AB", Some(8))
            .unwrap()
            .map(|f| f.to_string());
        assert_eq!(set.as_deref(), Some("A4 B4"));
        let err = Form::parse("A8 B C", Some(9)).unwrap_err().to_string();
        assert!(err.contains("does not fit in 9 bars"), "{err}");
    }

    #[test]
    fn each_repeated_bar_knows_its_original() {
        let form: Form = "A2 B2 A3 C1 b1".parse().unwrap();
        let again = Repeats::new(&form, 0, 1).again;
        let n = None;
        assert_eq!(again, [n, n, n, n, Some(0), Some(1), n, n, Some(2)]);
    }

    #[test]
    fn a_song_brings_its_chorus_back() {
        let song = Form::song(64);
        assert_eq!(labels(&song), "ABCBDBEB");
        assert!(song.sections.iter().all(|s| s.bars == SECTION_BARS));
        let song = Form::song(20);
        assert_eq!(song.to_string(), "A8 B8 C4");
        assert_eq!(Form::song(5).to_string(), "A5");
        for bars in 1..100 {
            assert_eq!(Form::song(bars).bars(), bars);
        }
    }
}
