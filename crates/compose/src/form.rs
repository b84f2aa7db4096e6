//! Song form: a piece written section by section, where a section named again comes back.
//!
//! A model that sees a thousand tokens sees about a dozen bars, and a pop song's choruses
//! come back sixteen to thirty-two bars apart, so left-to-right sampling never repeats a
//! bar. A [`Form`] (`ABCB`, `A8 B8 A8 B4`) lays the piece out: a new letter is written by the
//! model, continuing everything before it; a letter seen before is the music of its first
//! occurrence, played again, and the model goes on from there.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use midigpt_model::{Gpt, GptBackend};
use midigpt_tokenize::{TokenId, Tokenizer};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::compose::{cut_at, one_piece, Drawn, Piece, Stats};
use crate::{ComposeError, Control, Length, Request};

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

/// One piece laid out by `form` after `prompt` (its tokens; empty for a new piece): new
/// sections are generated with the request's sampling and controls, the length of each set
/// by the form; a section named again repeats the tokens of its first occurrence (REMI's
/// positions count from the bar line, so a bar's tokens mean the same music anywhere).
pub(crate) fn formed_piece<B: GptBackend>(
    model: &Gpt<B>,
    tokenizer: &dyn Tokenizer,
    request: &Request,
    form: &Form,
    prompt: &[TokenId],
    seed: u64,
    on_token: &mut dyn FnMut(TokenId, usize) -> bool,
) -> Result<Piece, ComposeError> {
    let bar = tokenizer.table().bar().ok_or_else(|| {
        ComposeError::control(
            Control::Form,
            "this model's tokenizer has no Bar tokens to count",
        )
    })?;
    let bars_in = |tokens: &[TokenId]| tokens.iter().filter(|&&t| t == bar).count();
    // Where bar `k` (0-based) starts in `tokens`; the end for a bar not there yet.
    let bar_at = |tokens: &[TokenId], k: usize| {
        (tokens.iter().enumerate())
            .filter(|(_, &t)| t == bar)
            .nth(k)
            .map_or(tokens.len(), |(i, _)| i)
    };
    // Each new section draws from its own seed, so that the form's copies do not shift the
    // sampling of what follows them.
    let mut seeds = ChaCha8Rng::seed_from_u64(seed);
    let mut tokens = prompt.to_vec();
    let mut first: HashMap<char, (usize, usize)> = HashMap::new();
    let mut total = Drawn::default();
    for section in &form.sections {
        let start = bars_in(&tokens);
        let section_seed = seeds.next_u64();
        if let Some(&(from, bars)) = first.get(&section.label) {
            let copied = bars.min(section.bars);
            let again = tokens[bar_at(&tokens, from)..bar_at(&tokens, from + copied)].to_vec();
            for token in again {
                tokens.push(token);
                // Told like generated tokens, so that a front end decoding them as they
                // come shows every section in its place.
                if !on_token(token, tokens.len() - prompt.len()) {
                    total.cancelled = true;
                    break;
                }
            }
            if total.cancelled {
                break;
            }
            if copied == section.bars {
                continue;
            }
        }
        let mut section_request = request.clone();
        section_request.controls.form = None;
        let left = (start + section.bars)
            .saturating_sub(bars_in(&tokens))
            .max(1);
        section_request.controls.length = Some(Length::Bars(left));
        let told = tokens.len() - prompt.len();
        let mut hook = |token, n| on_token(token, told + n);
        let piece = one_piece(
            model,
            tokenizer,
            &section_request,
            &tokens,
            section_seed,
            &mut hook,
        )?;
        total.add(&piece.stats);
        first.entry(section.label).or_insert((start, section.bars));
        tokens = piece.tokens;
        if total.cancelled {
            break;
        }
    }
    let mut score = tokenizer.decode(std::slice::from_ref(&tokens))?;
    // The piece ends at the form's last bar line: notes still ringing there stop with it.
    let end = score.bars().nth(bars_in(&tokens));
    if let Some(end) = end {
        cut_at(&mut score, end);
    }
    let stats = Stats::new(&score, seed, total);
    Ok(Piece {
        score,
        tokens,
        new_from: prompt.len(),
        stats,
    })
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
