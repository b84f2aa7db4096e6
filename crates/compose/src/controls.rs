//! What a musician asks for, and the constraints that make the model obey it.

use midigpt_generate::Constraint;
use midigpt_tokenize::{InfillVocab, TokenKind, TokenTable, Tokenizer};

use crate::constraints::{
    clocked, EndAt, HoldMetre, HoldTempo, Instruments, Length, NotesPerBar, PitchRange, Polyphony,
    Rule,
};
use crate::form::Repeats;
use crate::key::{Corrections, InKey};
use crate::ranges::InstrumentRanges;
use crate::{ComposeError, Control, Form, Key, TempoChanges};

/// Controls over the generated part of a piece. Each is off when `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Controls {
    /// The only instruments (GM programs 0..=127, -1 for drums); a new piece uses them all.
    pub instruments: Option<Vec<i16>>,
    /// Quarter notes per minute: the nearest tempo token, held for the piece.
    pub tempo: Option<f64>,
    /// Every bar in this metre (numerator, denominator).
    pub time_signature: Option<(u8, u8)>,
    /// Length: the piece ends at the bar line after this many bars, or after this many seconds.
    pub length: Option<Length>,
    /// At most this many notes start in a bar.
    pub max_notes_per_bar: Option<usize>,
    /// At most this many notes sound at once.
    pub max_polyphony: Option<usize>,
    /// Pitched notes within this range (MIDI numbers, inclusive).
    pub pitch_range: Option<(u8, u8)>,
    /// The piece in sections, a section named again coming back ([`Form`]); it sets the
    /// length in bars, and the token budget is the whole piece's.
    pub form: Option<Form>,
    /// Prefer this key: pitches outside its scale are made e² ≈ 7 times less likely at any
    /// temperature, not forbidden ([`Key`]).
    pub key: Option<Key>,
    /// A new piece opens as every song MidiTok tokenizes does: at the first bar's first
    /// position, with a tempo there that the model draws (true by default; `tempo` sets one
    /// instead). Steps aside for a tokenizer without tempo or position tokens, or with BPE.
    pub opening_tempo: bool,
    /// Each instrument's notes within its usual register, drums on the General MIDI kit
    /// ([`crate::usual_range`]; true by default). A `pitch_range` asked for replaces it.
    pub instrument_ranges: bool,
    /// A continuation with no `instruments` asked goes on with the instruments of the bars it
    /// keeps (true by default; [`crate::compose`] reads them after relabelling the prompt).
    pub keep_instruments: bool,
    /// How the tempo may move after the opening one ([`TempoChanges::Gradual`] by default;
    /// [`crate::compose`] frees it for a prompt whose kept bars change tempo themselves, and
    /// a `tempo` asked for holds one tempo anyway).
    pub tempo_changes: TempoChanges,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            instruments: None,
            tempo: None,
            time_signature: None,
            length: None,
            max_notes_per_bar: None,
            max_polyphony: None,
            pitch_range: None,
            form: None,
            key: None,
            opening_tempo: true,
            instrument_ranges: true,
            keep_instruments: true,
            tempo_changes: TempoChanges::Gradual,
        }
    }
}

impl Controls {
    /// Whether any control is set.
    pub fn any(&self) -> bool {
        *self != Controls::default()
    }

    /// Checks the values on their own (a tokenizer may still lack the tokens for them).
    pub fn validate(&self) -> Result<(), ComposeError> {
        let positive = |control, ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(ComposeError::control(control, format!("must be {what}")))
            }
        };
        if let Some(t) = self.tempo {
            positive(
                Control::Tempo,
                t.is_finite() && t > 0.0,
                "a number of beats per minute above 0",
            )?;
        }
        match self.length {
            Some(Length::Bars(n)) => positive(Control::Bars, n > 0, "at least 1")?,
            Some(Length::Seconds(s)) => positive(
                Control::Seconds,
                s.is_finite() && s > 0.0,
                "a number above 0",
            )?,
            None => {}
        }
        if let Some(n) = self.max_notes_per_bar {
            positive(Control::MaxNotesPerBar, n > 0, "at least 1")?;
        }
        if let Some(n) = self.max_polyphony {
            positive(Control::MaxPolyphony, n > 0, "at least 1")?;
        }
        if let (Some(form), Some(length)) = (&self.form, self.length) {
            if length != Length::Bars(form.bars()) {
                return Err(ComposeError::control(
                    Control::Form,
                    format!("{form} is {} bars: leave the length to it", form.bars()),
                ));
            }
        }
        if let Some(programs) = &self.instruments {
            let ok = !programs.is_empty() && programs.iter().all(|p| (-1..=127).contains(p));
            positive(
                Control::Instruments,
                ok,
                "GM programs 0 to 127, or -1 (drums)",
            )?;
        }
        Ok(())
    }

    /// Whether `tokenizer` can express every control that is set, with these values (a
    /// metre it has, a program it has, ...): the one check every front end makes, before any
    /// work is queued. The error names the first control it cannot express.
    pub fn check(&self, tokenizer: &dyn Tokenizer) -> Result<(), ComposeError> {
        self.controls(tokenizer, 1.0, &Corrections::default())
            .map(drop)
    }

    /// The constraints that enforce these controls with `tokenizer` (one, over one clock;
    /// none without controls), or a clear error for a control the tokenizer has no tokens for.
    /// The key's penalty is set for temperature 1: [`crate::Request::constraints`] sets it
    /// for a request's sampling.
    pub fn constraints(
        &self,
        tokenizer: &dyn Tokenizer,
    ) -> Result<Vec<Box<dyn Constraint>>, ComposeError> {
        let controls = self.controls(tokenizer, 1.0, &Corrections::default())?;
        Ok(clocked(tokenizer.table(), controls).into_iter().collect())
    }

    /// The register rule where it applies: asked for (by default), no pitch range asked
    /// instead, and a tokenizer whose pitches can be read (not BPE) with programs, or the
    /// `program` every note is of.
    pub(crate) fn ranges(
        &self,
        tokenizer: &dyn Tokenizer,
        program: Option<i16>,
    ) -> Option<Box<dyn Rule>> {
        let programs = tokenizer
            .table()
            .has(|k| matches!(k, TokenKind::Program(_)));
        let readable = !tokenizer.is_bpe() && (programs || program.is_some());
        (self.instrument_ranges && self.pitch_range.is_none() && readable)
            .then(|| Box::new(InstrumentRanges { program }) as Box<dyn Rule>)
    }

    /// The controls that enforce these settings with `tokenizer`, to read one clock, for
    /// sampling at `temperature`; the key counts the steps it changed in `key_corrections`.
    /// The form comes after the controls that mask (its copies override them) and the key
    /// last (it only lowers, and so sees what the others left).
    pub(crate) fn controls(
        &self,
        tokenizer: &dyn Tokenizer,
        temperature: f32,
        key_corrections: &Corrections,
    ) -> Result<Vec<Box<dyn Rule>>, ComposeError> {
        let mut out: Vec<Box<dyn Rule>> = Vec::new();
        if !self.any() {
            return Ok(out);
        }
        self.validate()?;
        if tokenizer.is_bpe() {
            // `key: auto`, a front end's default, steps aside for a tokenizer that hides
            // pitches; a control asked for does not.
            let asked = Controls {
                key: self.key.filter(|k| *k != Key::Auto),
                ..self.clone()
            };
            if !asked.any() {
                return Ok(out);
            }
            let first = asked
                .names()
                .first()
                .copied()
                .unwrap_or(Control::Instruments);
            return Err(ComposeError::control(
                first,
                "this model's tokenizer uses BPE, whose merged tokens hide the notes, bars and \
                 programs controls act on: controls need a model trained without BPE",
            ));
        }
        let table = tokenizer.table();
        let need = |control: Control| match missing(&table, control) {
            None => Ok(()),
            Some(what) => Err(ComposeError::control(
                control,
                format!("this model's tokenizer has no {what} tokens to control"),
            )),
        };
        if let Some(programs) = &self.instruments {
            need(Control::Instruments)?;
            for &p in programs {
                if !table.has(|k| k == TokenKind::Program(p)) {
                    let what = if p < 0 {
                        "drums".into()
                    } else {
                        format!("program {p}")
                    };
                    return Err(ComposeError::control(
                        Control::Instruments,
                        format!("this model's tokenizer has no token for {what}"),
                    ));
                }
            }
            let programs = programs.clone();
            out.push(Box::new(Instruments { programs }));
        }
        if let Some(bpm) = self.tempo {
            need(Control::Tempo)?;
            let tempos = table.iter().filter_map(|(_, k)| match k {
                TokenKind::Tempo(t) => Some(t),
                _ => None,
            });
            let (low, high) = tempos.fold((f64::MAX, f64::MIN), |(l, h), t| (l.min(t), h.max(t)));
            // Half a step of slack at each end: 251 is 250, 1000 is not.
            let slack = (high - low) / 64.0;
            if bpm < low - slack || bpm > high + slack {
                return Err(ComposeError::control(
                    Control::Tempo,
                    format!(
                        "{bpm} is outside the tempos this model writes ({low:.0} to {high:.0} BPM)"
                    ),
                ));
            }
            let nearest = table
                .iter()
                .filter_map(|(id, k)| match k {
                    TokenKind::Tempo(t) => Some((id, (t - bpm).abs())),
                    _ => None,
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(id, _)| id)
                .expect("checked above");
            out.push(Box::new(HoldTempo { tempo: nearest }));
        }
        if let Some((n, d)) = self.time_signature {
            need(Control::TimeSignature)?;
            let Some(metre) = table.time_sig(n, d) else {
                let known: Vec<String> = (table.time_sigs().iter())
                    .map(|(n, d)| format!("{n}/{d}"))
                    .collect();
                return Err(ComposeError::control(
                    Control::TimeSignature,
                    format!(
                        "{n}/{d} is not among this tokenizer's metres ({})",
                        known.join(", ")
                    ),
                ));
            };
            let positions = n as u32 * table.ticks_per_beat();
            out.push(Box::new(HoldMetre { metre, positions }));
        }
        if let Some(length) = self.ends() {
            let control = match (self.length, length) {
                (None, _) => Control::Form,
                (_, Length::Bars(_)) => Control::Bars,
                (_, Length::Seconds(_)) => Control::Seconds,
            };
            need(control)?;
            let bar = table.bar().expect("checked above");
            let eos = tokenizer.vocab().eos().ok_or_else(|| {
                ComposeError::control(control, "this model's tokenizer has no end token")
            })?;
            out.push(Box::new(EndAt { length, bar, eos }));
        }
        if let Some(max) = self.max_notes_per_bar {
            need(Control::MaxNotesPerBar)?;
            out.push(Box::new(NotesPerBar { max }));
        }
        if let Some(max) = self.max_polyphony {
            need(Control::MaxPolyphony)?;
            out.push(Box::new(Polyphony { max }));
        }
        if let Some((low, high)) = self.pitch_range {
            need(Control::PitchRange)?;
            let inside = move |k| matches!(k, TokenKind::Pitch(p) if p >= low && p <= high);
            if !table.has(inside) {
                return Err(ComposeError::control(
                    Control::PitchRange,
                    format!("this model's tokenizer has no pitch within {low}..{high}"),
                ));
            }
            out.push(Box::new(PitchRange { low, high }));
        }
        if let Some(form) = &self.form {
            need(Control::Form)?;
            let bar = table.bar().expect("checked above");
            let eos = tokenizer.vocab().eos().ok_or_else(|| {
                ComposeError::control(Control::Form, "this model's tokenizer has no end token")
            })?;
            out.push(Box::new(Repeats::new(form, bar, eos)));
        }
        if let Some(key) = self.key {
            need(Control::Key)?;
            let corrections = key_corrections.clone();
            out.push(Box::new(InKey::new(key, temperature, corrections)));
        }
        Ok(out)
    }

    /// Where the new part ends: the length, or the form's bars when only a form is given.
    pub(crate) fn ends(&self) -> Option<Length> {
        (self.length).or_else(|| self.form.as_ref().map(|f| Length::Bars(f.bars())))
    }

    /// The controls that are set.
    pub(crate) fn names(&self) -> Vec<Control> {
        let set = [
            (self.instruments.is_some(), Control::Instruments),
            (self.tempo.is_some(), Control::Tempo),
            (self.time_signature.is_some(), Control::TimeSignature),
            (matches!(self.length, Some(Length::Bars(_))), Control::Bars),
            (
                matches!(self.length, Some(Length::Seconds(_))),
                Control::Seconds,
            ),
            (self.max_notes_per_bar.is_some(), Control::MaxNotesPerBar),
            (self.max_polyphony.is_some(), Control::MaxPolyphony),
            (self.pitch_range.is_some(), Control::PitchRange),
            (self.form.is_some(), Control::Form),
            (self.key.is_some(), Control::Key),
        ];
        set.into_iter().filter(|s| s.0).map(|s| s.1).collect()
    }
}

/// Tokens a control needs: their name in messages, and which kinds they are.
type Need = (&'static str, fn(TokenKind) -> bool);

/// What tokens a control needs.
fn needs(control: Control) -> &'static [Need] {
    const BARS: Need = ("Bar and Position", |k| k == TokenKind::Bar);
    match control {
        Control::Instruments => &[("Program", |k| matches!(k, TokenKind::Program(_)))],
        Control::Tempo => &[("Tempo", |k| matches!(k, TokenKind::Tempo(_)))],
        Control::TimeSignature => &[("TimeSig", |k| matches!(k, TokenKind::TimeSig(..))), BARS],
        Control::Bars | Control::Seconds | Control::MaxNotesPerBar | Control::Form => &[BARS],
        Control::MaxPolyphony => &[BARS, ("Duration", |k| matches!(k, TokenKind::Duration(_)))],
        Control::Key | Control::PitchRange => &[("Pitch", |k| matches!(k, TokenKind::Pitch(_)))],
        // A fill needs the infill tokens, which `midigpt_tokenize::InfillVocab` checks.
        Control::InfillBars => &[],
    }
}

/// The tokens `control` needs that `table` lacks, if any.
fn missing(table: &TokenTable, control: Control) -> Option<&'static str> {
    needs(control)
        .iter()
        .find(|(_, kind)| !table.has(kind))
        .map(|(what, _)| *what)
}

/// Whether `tokenizer` has the tokens `control` acts on (BPE merges hide them all), for a
/// front end to offer only what a model can do.
pub fn supports(tokenizer: &dyn Tokenizer, control: Control) -> bool {
    match control {
        Control::InfillBars => InfillVocab::new(tokenizer).is_ok(),
        _ => !tokenizer.is_bpe() && missing(&tokenizer.table(), control).is_none(),
    }
}
