//! One meaning for a request, whichever front end it comes from.
//!
//! The command line's flags, the studio's form and any later front end fill an [`Ask`]: the
//! words a musician gave, each of them optional. [`Ask::request`] and [`Ask::infill`] turn it
//! into the compose layer's [`Request`] or [`InfillRequest`] with the defaults below, so the
//! same words and seed give the same music wherever they were typed.
//!
//! | left out | new piece | continuation | fill |
//! |---|---|---|---|
//! | length | [`DEFAULT_BARS`] bars (a token budget alone: that budget) | the same | the hole's bars |
//! | form | a verse–chorus song from 16 bars ([`Form::song`]) | none: it goes on as its prompt does | none |
//! | key | `auto` | `auto` | `auto`, read from the notes on both sides of the hole |
//! | temperature, top-k, top-p | 1, off, off | the same | the same |
//! | fewest new tokens | [`MIN_TOKENS`] when no length is given | the same | the hole decides |
//! | token budget | [`MAX_TOKENS`] | the same | the same |

use std::ops::Range;

use midigpt_generate::SamplingConfig;
use midigpt_midi::Score;
use serde::{Deserialize, Serialize};

use crate::infill::check_fill_controls;
use crate::SECTION_BARS;
use crate::{
    parse, ComposeError, Controls, Form, InfillRequest, Key, Length, Prompt, Request, TempoChanges,
};

/// Bars of new music when no length is asked for: musicians count in bars.
pub const DEFAULT_BARS: usize = 32;
/// New tokens per piece at most. With a length the piece ends at its bar line first: this
/// only guards against a model that never starts a new bar.
pub const MAX_TOKENS: usize = 16_384;
/// Without a length, the end token is held back until this many new tokens (a bar or two of
/// music at least).
pub const MIN_TOKENS: usize = 128;

/// The key when none is asked for: the scale of the music so far.
pub const DEFAULT_KEY: &str = "auto";

/// The defaults, for a front end to show beside its fields (the studio's placeholders).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Defaults {
    /// Bars of new music ([`DEFAULT_BARS`]).
    pub bars: usize,
    /// A new piece of at least this many bars is a verse–chorus song.
    pub song_from_bars: usize,
    /// The key ([`DEFAULT_KEY`]).
    pub key: &'static str,
    /// Sampling temperature.
    pub temperature: f32,
    /// Fewest new tokens without a length ([`MIN_TOKENS`]).
    pub min_tokens: usize,
    /// Token budget ([`MAX_TOKENS`]).
    pub max_tokens: usize,
}

/// What [`Ask`] gives the parts left out.
pub const DEFAULTS: Defaults = Defaults {
    bars: DEFAULT_BARS,
    song_from_bars: 2 * SECTION_BARS,
    key: DEFAULT_KEY,
    temperature: 1.0,
    min_tokens: MIN_TOKENS,
    max_tokens: MAX_TOKENS,
};

/// A request in a musician's words, every part optional (see the module docs for what a
/// part left out means). Front ends spell the fields their own way (`--time-signature`,
/// `time_signature`); the meaning is this struct's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ask {
    /// Only these instruments: GM program numbers, GM names, short names (`piano`) or
    /// `drums`, each entry one or a comma-separated list; a new piece uses each.
    pub instruments: Vec<String>,
    /// Quarter notes per minute, held.
    pub tempo: Option<f64>,
    /// How the tempo may move after the opening one: `gradual` (the default: a drift of a
    /// tempo step a bar at most) or `free`.
    pub tempo_changes: Option<String>,
    /// Every bar in this metre (`3/4`).
    pub time_signature: Option<String>,
    /// Bars of new music.
    pub bars: Option<usize>,
    /// Seconds of new music, to the next bar line.
    pub seconds: Option<f64>,
    /// Sections (`ABAB`, `A8 B8 A8 B4`); `none`: the model alone.
    pub form: Option<String>,
    /// A key to prefer (`C`, `Bb minor`, `Am`, `auto`); `none`: the model alone.
    pub key: Option<String>,
    /// At most this many notes start in a bar.
    pub max_notes_per_bar: Option<usize>,
    /// At most this many notes sound at once.
    pub max_polyphony: Option<usize>,
    /// Pitched notes within `LOW..HIGH` (MIDI numbers).
    pub pitch_range: Option<String>,
    /// Sampling temperature (0: always the most likely token).
    pub temperature: Option<f32>,
    /// Sample among the K most likely tokens only.
    pub top_k: Option<usize>,
    /// Sample among the most likely tokens whose probabilities add up to P.
    pub top_p: Option<f32>,
    /// The end token is held back until this many new tokens (without a length).
    pub min_tokens: Option<usize>,
    /// New tokens per piece at most; given alone, it is the length.
    pub max_tokens: Option<usize>,
    /// Seed of the first piece; piece `i` uses `seed + i`.
    pub seed: u64,
    /// How many pieces (1).
    pub pieces: Option<usize>,
}

impl Ask {
    /// The request for a new piece (`prompt` `None`) or a continuation of `prompt`.
    pub fn request(&self, prompt: Option<Prompt>) -> Result<Request, ComposeError> {
        let new_piece = prompt.is_none();
        Ok(Request {
            prompt,
            sampling: self.sampling()?,
            seed: self.seed,
            pieces: self.pieces(),
            max_tokens: self.max_tokens(),
            controls: self.controls(new_piece)?,
        })
    }

    /// The request to write bars `bars` (0-based, end excluded) of `programs` (`None`: the
    /// tracks playing there) of `score` again.
    pub fn infill(
        &self,
        score: Score,
        bars: Range<usize>,
        programs: Option<Vec<i16>>,
    ) -> Result<InfillRequest, ComposeError> {
        let controls = self.said()?;
        check_fill_controls(&controls)?;
        Ok(InfillRequest {
            programs,
            sampling: self.sampling()?,
            seed: self.seed,
            pieces: self.pieces(),
            max_tokens: self.max_tokens(),
            controls,
            ..InfillRequest::new(score, bars)
        })
    }

    fn pieces(&self) -> usize {
        self.pieces.unwrap_or(1)
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens.unwrap_or(MAX_TOKENS)
    }

    /// Temperature, top-k, top-p and the fewest new tokens, checked.
    pub fn sampling(&self) -> Result<SamplingConfig, ComposeError> {
        let sampling = SamplingConfig {
            temperature: self.temperature.unwrap_or(DEFAULTS.temperature),
            top_k: self.top_k,
            top_p: self.top_p,
            min_tokens: self.min_tokens.unwrap_or(MIN_TOKENS),
        };
        sampling.validate()?;
        Ok(sampling)
    }

    /// The controls, parsed and checked, with the defaults of a new piece or a continuation.
    pub fn controls(&self, new_piece: bool) -> Result<Controls, ComposeError> {
        let mut controls = self.said()?;
        if controls.length.is_none() && self.max_tokens.is_none() {
            controls.length = Some(Length::Bars(DEFAULT_BARS));
        }
        // A continuation goes on as its prompt does; `form: none` is the model alone.
        if let (true, None, Some(Length::Bars(n))) = (new_piece, &self.form, controls.length) {
            controls.form = (n >= DEFAULTS.song_from_bars).then(|| Form::song(n));
        }
        if let Some(form) = &controls.form {
            controls.length = Some(Length::Bars(form.bars()));
        }
        controls.validate()?;
        Ok(controls)
    }

    /// The controls the words give, parsed, the key's default the only one filled in.
    fn said(&self) -> Result<Controls, ComposeError> {
        let length = match (self.bars, self.seconds) {
            (Some(_), Some(_)) => {
                return Err(ComposeError::Request(
                    "give the length in bars or in seconds, not both".into(),
                ))
            }
            (Some(n), None) => Some(Length::Bars(n)),
            (None, Some(s)) => Some(Length::Seconds(s)),
            (None, None) => None,
        };
        let form = (self.form.as_deref())
            .map(|text| Form::from_setting(text, self.bars))
            .transpose()?
            .flatten();
        // Each entry may itself be a list (`piano,bass`), as the command line gives them.
        let instruments = (!self.instruments.is_empty())
            .then(|| parse::instruments(&self.instruments.join(",")))
            .transpose()?;
        Ok(Controls {
            instruments,
            tempo: self.tempo,
            time_signature: (self.time_signature.as_deref())
                .filter(|t| !t.trim().is_empty())
                .map(parse::time_signature)
                .transpose()?,
            length,
            max_notes_per_bar: self.max_notes_per_bar,
            max_polyphony: self.max_polyphony,
            pitch_range: (self.pitch_range.as_deref())
                .map(parse::pitch_range)
                .transpose()?,
            form,
            key: Key::from_setting(self.key.as_deref().unwrap_or(DEFAULT_KEY))?,
            tempo_changes: (self.tempo_changes.as_deref())
                .filter(|t| !t.trim().is_empty())
                .map(TempoChanges::parse)
                .transpose()
                .map_err(|e| ComposeError::Request(format!("tempo changes: {e}")))?
                .unwrap_or_default(),
            ..Controls::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Control;

    #[test]
    fn what_is_left_out_takes_the_defaults() {
        let ask = Ask::default();
        let new = ask.request(None).unwrap();
        assert_eq!(new.controls.length, Some(Length::Bars(DEFAULT_BARS)));
        assert_eq!(new.controls.form, Some(Form::song(DEFAULT_BARS)));
        assert_eq!(new.controls.key, Some(Key::Auto));
        assert_eq!((new.max_tokens, new.pieces), (MAX_TOKENS, 1));
        assert_eq!(new.sampling.min_tokens, MIN_TOKENS);
        let prompt = Prompt {
            score: Score::new(480),
            bars: Some(4),
        };
        let more = ask.request(Some(prompt)).unwrap();
        assert_eq!(more.controls.form, None);
        assert_eq!(more.controls.length, Some(Length::Bars(DEFAULT_BARS)));
        // A token budget alone is the length; a short piece has no form.
        let budget = Ask {
            max_tokens: Some(300),
            ..Ask::default()
        };
        let request = budget.request(None).unwrap();
        assert_eq!((request.controls.length, request.max_tokens), (None, 300));
        let short = Ask {
            bars: Some(8),
            ..Ask::default()
        };
        assert_eq!(short.request(None).unwrap().controls.form, None);
    }

    #[test]
    fn a_fill_takes_the_controls_that_make_sense_in_a_hole() {
        let ask = Ask {
            max_notes_per_bar: Some(6),
            max_polyphony: Some(3),
            pitch_range: Some("48..72".into()),
            ..Ask::default()
        };
        let fill = ask.infill(Score::new(480), 2..4, None).unwrap();
        let c = &fill.controls;
        assert_eq!(
            (c.key, c.max_notes_per_bar, c.max_polyphony, c.pitch_range),
            (Some(Key::Auto), Some(6), Some(3), Some((48, 72)))
        );
        // No length or form of its own: the hole's bars are the length.
        assert_eq!((c.length, &c.form), (None, &None));
        for (ask, control) in [
            (
                Ask {
                    tempo: Some(90.0),
                    ..Ask::default()
                },
                Control::Tempo,
            ),
            (
                Ask {
                    bars: Some(4),
                    ..Ask::default()
                },
                Control::Bars,
            ),
            (
                Ask {
                    form: Some("AB".into()),
                    ..Ask::default()
                },
                Control::Form,
            ),
        ] {
            match ask.infill(Score::new(480), 2..4, None) {
                Err(ComposeError::Control { control: c, .. }) => assert_eq!(c, control),
                other => panic!("{control} not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn words_are_parsed_and_checked() {
        let ask: Ask = serde_json::from_str(
            r#"{"instruments": ["piano", "drums", "0"], "bars": 16, "form": "A B A B",
                "key": "none", "time_signature": "3/4", "seed": 7}"#,
        )
        .unwrap();
        let request = ask.request(None).unwrap();
        let c = &request.controls;
        assert_eq!(c.instruments, Some(vec![0, -1]));
        assert_eq!(
            c.form.as_ref().map(|f| f.to_string()),
            Some("A4 B4 A4 B4".into())
        );
        assert_eq!(
            (c.key, c.time_signature, request.seed),
            (None, Some((3, 4)), 7)
        );
        let both = Ask {
            bars: Some(4),
            seconds: Some(10.0),
            ..Ask::default()
        };
        assert!(both.request(None).is_err());
        assert!(serde_json::from_str::<Ask>(r#"{"tempi": 3}"#).is_err());
        let hot = Ask {
            temperature: Some(-1.0),
            ..Ask::default()
        };
        assert!(hot.request(None).is_err());
    }
}
