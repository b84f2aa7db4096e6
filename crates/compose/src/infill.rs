//! Bar infilling: new notes for some bars of some tracks of a score, with the music on both
//! sides in view, spliced back so that every other note stays as it was.
//!
//! The score is encoded, the hole laid out as in training
//! ([`midigpt_tokenize::infill::make_example`]) over as many bars around it as the model's
//! context holds, and the fill generated after `FillBar_Start` and its programs under a
//! [`FillConstraint`]: exactly the hole's bars, only its programs. The fill's notes then
//! replace the hole's notes of those programs in the original score. Regenerating or
//! adding a whole track is the same request over all bars.
//!
//! The controls that make sense in a hole apply to the fill as to a new piece: a key (read,
//! for `auto`, from the notes on both sides of the hole), at most so many notes per bar or
//! sounding at once (the fill's own notes: the piece's other tracks are not counted) and a
//! pitch range. The others are refused by name: a fill keeps the piece's instruments, tempo,
//! metre and bars.
//!
//! ```no_run
//! use midigpt_compose::{infill, InfillRequest, ModelPackage};
//! use midigpt_model::Cpu;
//! let pkg = ModelPackage::<Cpu>::load(Some("run".as_ref()), &Default::default())?;
//! let score = midigpt_midi::Score::from_file("song.mid").unwrap();
//! // Bars 9 to 12 (counted from 1) of the bass.
//! let request = InfillRequest { programs: Some(vec![33]), ..InfillRequest::new(score, 8..12) };
//! let pieces = infill(&pkg, &request, &mut |_| true)?;
//! # Ok::<(), midigpt_compose::ComposeError>(())
//! ```

use std::ops::Range;

use std::sync::atomic::Ordering;

use midigpt_generate::{generate, Constraint, Marks, SamplingConfig};
use midigpt_midi::{Note, Score, Track};
use midigpt_model::{Gpt, GptBackend};
use midigpt_tokenize::infill::{make_example, Bars, Hole, InfillVocab};
use midigpt_tokenize::{miditok::program_name, TokenId, TokenKind, Tokenizer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::compose::each_piece;
use crate::constraints::clocked;
use crate::fill::FillConstraint;
use crate::key::Corrections;
use crate::long_fill::fill_long;
use crate::watch::no_note;
use crate::{ComposeError, Control, Controls, ModelPackage, Piece, Progress, Stats};

/// What to fill.
#[derive(Debug, Clone, PartialEq)]
pub struct InfillRequest {
    /// The music with the hole.
    pub score: Score,
    /// Bars to fill, 0-based, end excluded (bars by the score's time signatures).
    pub bars: Range<usize>,
    /// Programs to fill (-1 = drums), present in the score or not (a new track); `None`:
    /// those with notes in the hole (REMI+), or the first track (REMI: one track a time).
    pub programs: Option<Vec<i16>>,
    /// Temperature, top-k and top-p (`min_tokens` is not used: the fill's bars decide).
    pub sampling: SamplingConfig,
    /// Seed of the first fill; fill `i` uses `seed + i`.
    pub seed: u64,
    /// How many fills (each its own piece).
    pub pieces: usize,
    /// New tokens per fill at most: each bar gets an equal share, then is closed.
    pub max_tokens: usize,
    /// Key, notes per bar, polyphony and pitch range, on the fill (no other control makes
    /// sense in a hole: they are refused).
    pub controls: Controls,
}

impl InfillRequest {
    /// A request for `bars` of `score`, with default sampling, one piece.
    pub fn new(score: Score, bars: Range<usize>) -> InfillRequest {
        InfillRequest {
            score,
            bars,
            programs: None,
            sampling: SamplingConfig::default(),
            seed: 0,
            pieces: 1,
            max_tokens: 4096,
            controls: Controls::default(),
        }
    }
}

/// The controls a fill takes: refuses by name those that make no sense in a hole.
pub(crate) fn check_fill_controls(controls: &Controls) -> Result<(), ComposeError> {
    let fits = [
        Control::Key,
        Control::MaxNotesPerBar,
        Control::MaxPolyphony,
        Control::PitchRange,
    ];
    if let Some(&control) = controls.names().iter().find(|c| !fits.contains(c)) {
        return Err(ComposeError::control(
            control,
            "a fill keeps the piece's instruments, tempo, metre and bars; it takes a key, \
             caps on notes per bar and polyphony, and a pitch range",
        ));
    }
    controls.validate()
}

/// Fills the hole a request describes, telling `progress` of every new token; it returns
/// `false` to stop. The score is first relabelled as the model's training scores were
/// ([`crate::PromptFit`]), so its tracks answer to the programs the model knows them by.
pub fn infill<B: GptBackend>(
    pkg: &ModelPackage<B>,
    request: &InfillRequest,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Vec<Piece>, ComposeError> {
    let mut request = request.clone();
    pkg.prompt_fit.apply(&mut request.score);
    let tokenizer = pkg.tokenizer.as_ref();
    fill_long(&pkg.model, tokenizer, &request, progress)
}

/// [`infill`] on a relabelled score, in one go.
pub(crate) fn fill_hole<B: GptBackend>(
    model: &Gpt<B>,
    tokenizer: &dyn Tokenizer,
    request: &InfillRequest,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Vec<Piece>, ComposeError> {
    request.sampling.validate()?;
    if request.pieces == 0 || request.max_tokens == 0 {
        return Err(ComposeError::Request(
            "ask for at least one fill of at least one token".into(),
        ));
    }
    check_fill_controls(&request.controls)?;
    let plan = Plan::new(tokenizer, request, model.config().block_size)?;
    each_piece(request.pieces, request.seed, progress, &mut |seed, hook| {
        let grammar = tokenizer.grammar().ok_or_else(|| {
            ComposeError::Request("the tokenizer has no grammar to keep a fill in shape".into())
        })?;
        // A share per bar that leaves room to finish the note a bar's budget ends in.
        let per_bar = request.max_tokens / (request.bars.len() + 1);
        let fill = FillConstraint::new(
            &plan.v,
            grammar,
            plan.bar_meters.clone(),
            plan.hole.programs.clone(),
            per_bar,
        );
        // The fill's shape first, then the controls over one clock, as for a new piece.
        let key_corrections = Corrections::default();
        let temperature = request.sampling.temperature;
        // A REMI fill writes one track, whose instrument its tokens do not say.
        let program = plan
            .track
            .map(|t| request.score.tracks[t].program_or_drums());
        let ranges = request.controls.ranges(tokenizer, program);
        let mut rules: Vec<_> = ranges.into_iter().collect();
        rules.extend((request.controls).controls(tokenizer, temperature, &key_corrections)?);
        let mut constraints: Vec<Box<dyn Constraint>> = vec![Box::new(fill)];
        constraints.extend(clocked(tokenizer.table(), rules));
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let out = generate(
            model,
            &plan.prompt,
            request.max_tokens,
            &mut constraints,
            Marks {
                eos: Some(plan.v.fill_end),
                bar: tokenizer.table().bar(),
            },
            &request.sampling,
            &mut rng,
            hook,
        )?;
        let filled = tokenizer.decode(std::slice::from_ref(&out.ids))?;
        let score = plan.splice(&request.score, &filled);
        let mut tokens = plan.prompt.clone();
        tokens.extend_from_slice(&out.ids);
        Ok(Piece {
            stats: Stats {
                // A fill with no note (an instrument the model never heard) says so.
                warning: no_note(&out.ids, out.cancelled, &tokenizer.table()),
                ..Stats::new(&score, seed, &out, key_corrections.load(Ordering::Relaxed))
            },
            score,
            tokens,
            new_from: plan.prompt.len(),
        })
    })
}

/// Each hole bar's `TimeSig` id (if the tokenizer has them) and beats.
type Meters = Vec<(Option<TokenId>, u32)>;

/// Everything about a request that does not depend on the seed.
struct Plan {
    v: InfillVocab,
    hole: Hole,
    /// BOS (at the piece's start), the context with the hole, `FillBar_Start`, programs.
    prompt: Vec<TokenId>,
    /// Each hole bar's `TimeSig` id (if the tokenizer has them) and beats.
    bar_meters: Meters,
    /// The hole in the score's ticks.
    ticks: Range<u32>,
    /// The track a REMI fill goes to (REMI+ fills go by program).
    track: Option<usize>,
}

impl Plan {
    fn new(
        tok: &dyn Tokenizer,
        request: &InfillRequest,
        block: usize,
    ) -> Result<Plan, ComposeError> {
        let v = InfillVocab::new(tok)?;
        let score = &request.score;
        let n_bars = score.bar_count();
        let bars = request.bars.clone();
        if bars.is_empty() || bars.end > n_bars {
            return Err(ComposeError::Request(format!(
                "bars {}..{} are outside the piece, which has {n_bars} bars (counted from 1)",
                bars.start + 1,
                bars.end
            )));
        }
        let starts: Vec<u32> = score.bars().take(n_bars + 1).collect();
        let ticks = starts[bars.start]..starts[bars.end];
        let (programs, track) = targets(&v, score, request.programs.as_deref(), &ticks)?;
        for &p in programs.iter().flatten() {
            if v.program_id(p).is_none() {
                return Err(ComposeError::Request(format!(
                    "unknown track: the model has no token for program {p}"
                )));
            }
        }
        // REMI streams one track: encode that one alone.
        let source = match track {
            Some(t) => Score {
                tracks: vec![score.tracks[t].clone()],
                ..score.clone()
            },
            None => score.clone(),
        };
        let mut ids = tok.encode(&source)?.into_iter().next().unwrap_or_default();
        pad_bars(&v, &source, &mut ids, &starts[..n_bars]);
        let hole = Hole { bars, programs };
        let (prompt, bar_meters) = window(tok, &v, &ids, &hole, block)?;
        Ok(Plan {
            v,
            hole,
            prompt,
            bar_meters,
            ticks,
            track,
        })
    }

    /// `score` with the hole's notes of the filled programs replaced by `filled`'s (whose
    /// time starts at the hole).
    fn splice(&self, score: &Score, filled: &Score) -> Score {
        let mut out = score.clone();
        let ticks = self.ticks.clone();
        let inside = |n: &Note| ticks.contains(&n.time);
        let scale = |t: u32| {
            let (to, from) = (
                score.ticks_per_quarter as u64,
                filled.ticks_per_quarter.max(1) as u64,
            );
            (t as u64 * to / from) as u32
        };
        for (i, track) in out.tracks.iter_mut().enumerate() {
            if self.takes(i, track) {
                track.notes.retain(|n| !inside(n));
            }
        }
        for source in &filled.tracks {
            let program = source.program_or_drums();
            let i = match self.track {
                Some(t) => t,
                None => match out
                    .tracks
                    .iter()
                    .position(|t| t.program_or_drums() == program)
                {
                    Some(i) => i,
                    None => {
                        out.tracks.push(new_track(program));
                        out.tracks.len() - 1
                    }
                },
            };
            // A fill ends with its last bar: nothing it writes rings past the selection.
            let notes = source.notes.iter().map(|n| {
                let time = ticks.start + scale(n.time);
                let room = ticks.end.saturating_sub(time);
                Note {
                    time,
                    duration: scale(n.duration).min(room).max(1),
                    ..*n
                }
            });
            let target = &mut out.tracks[i].notes;
            let fitted = fit_around(target, notes.filter(|n| inside(n)));
            target.extend(fitted.into_iter().filter(|n| inside(n)));
            target.sort_by_key(|n| (n.time, n.pitch));
        }
        out
    }

    fn takes(&self, index: usize, track: &Track) -> bool {
        match (&self.hole.programs, self.track) {
            (_, Some(t)) => t == index,
            (Some(set), None) => set.contains(&track.program_or_drums()),
            (None, None) => true,
        }
    }
}

/// New notes fitted around a track's notes of the same pitch: a track cannot sound one pitch
/// twice at once (a MIDI file pairs the note-ons and note-offs of overlapping notes its own
/// way, so both would come back changed). A new note starts once a note already there has
/// ended and stops where the next one starts; one left with no length is dropped.
fn fit_around(there: &[Note], new: impl Iterator<Item = Note>) -> Vec<Note> {
    let mut fitted: Vec<Note> = Vec::new();
    for mut n in new {
        // In onset order, so that a start pushed past one note meets the next.
        let mut others: Vec<&Note> = (there.iter().chain(&fitted))
            .filter(|k| k.pitch == n.pitch)
            .collect();
        others.sort_by_key(|k| k.time);
        let mut end = n.end();
        for k in others {
            if k.time <= n.time && k.end() > n.time {
                n.time = k.end();
            } else if k.time > n.time && k.time < end {
                end = k.time;
            }
        }
        if n.time < end {
            fitted.push(Note {
                duration: end - n.time,
                ..n
            });
        }
    }
    fitted
}

fn new_track(program: i16) -> Track {
    Track {
        name: program_name(program),
        program: program.max(0) as u8,
        is_drum: program < 0,
        notes: Vec::new(),
    }
}

/// The programs to fill (REMI+) or the one track (REMI) a request names.
pub(crate) fn targets(
    v: &InfillVocab,
    score: &Score,
    asked: Option<&[i16]>,
    ticks: &Range<u32>,
) -> Result<(Option<Vec<i16>>, Option<usize>), ComposeError> {
    if !v.programs {
        let index = match asked {
            None => score.tracks.iter().position(|t| !t.notes.is_empty()),
            Some([p]) => score.tracks.iter().position(|t| t.program_or_drums() == *p),
            Some(_) => {
                return Err(ComposeError::Request(
                    "this model (REMI, one track per sequence) fills one track at a time".into(),
                ))
            }
        };
        let index = index.ok_or_else(|| {
            ComposeError::Request(format!("unknown track: the score has no track {asked:?}"))
        })?;
        return Ok((None, Some(index)));
    }
    let mut programs = match asked {
        Some(p) => p.to_vec(),
        None => score
            .tracks
            .iter()
            .filter(|t| t.notes.iter().any(|n| ticks.contains(&n.time)))
            .map(|t| t.program_or_drums())
            .collect(),
    };
    programs.sort_unstable();
    programs.dedup();
    if programs.is_empty() {
        return Err(ComposeError::Request(
            "the bars to fill have no notes: name the tracks to write".into(),
        ));
    }
    Ok((Some(programs), None))
}

/// Appends empty bars (`Bar_None`, `TimeSig`) until `ids` has one per bar start: a score
/// whose last bars are silent (or a track that stops early) still has them to fill.
fn pad_bars(v: &InfillVocab, score: &Score, ids: &mut Vec<TokenId>, starts: &[u32]) {
    let have = Bars::of(v, ids).bars.len();
    for &start in starts.iter().skip(have) {
        ids.push(v.bar);
        let ts = score.time_signature_at(start);
        if let Some(id) = v.table().time_sig(ts.numerator, ts.denominator) {
            ids.push(id);
        }
    }
}

/// The prompt over the most bars around the hole that leave room for the fill in the
/// model's context, and the hole bars' metres.
fn window(
    tok: &dyn Tokenizer,
    v: &InfillVocab,
    ids: &[TokenId],
    hole: &Hole,
    block: usize,
) -> Result<(Vec<TokenId>, Meters), ComposeError> {
    let bars = Bars::of(v, ids).bars;
    let whole = make_example(v, ids, hole).ok_or_else(|| {
        ComposeError::Request("a program of the fill has no token in this model".into())
    })?;
    // Room for a fill about as long as the original one (at least an eighth of the context).
    let budget = ((whole.tokens.len() - whole.fill_bars) * 3 / 2).clamp(block / 8, block / 2);
    let bos = tok.vocab().bos();
    let prompt_of = |span: &Range<usize>| -> Option<Vec<TokenId>> {
        let from = if span.start == 0 {
            0
        } else {
            bars[span.start].start
        };
        let sub = &ids[from..bars[span.end - 1].end];
        let local = Hole {
            bars: hole.bars.start - span.start..hole.bars.end - span.start,
            programs: hole.programs.clone(),
        };
        let ex = make_example(v, sub, &local)?;
        let mut prompt: Vec<TokenId> = bos.filter(|_| span.start == 0).into_iter().collect();
        prompt.extend_from_slice(&ex.tokens[..ex.fill_bars]);
        Some(prompt)
    };
    let mut span = hole.bars.clone();
    let mut prompt = prompt_of(&span)
        .ok_or_else(|| ComposeError::Request("the bars to fill are outside the piece".into()))?;
    // Grow a bar to the left, then to the right, while the prompt and the fill fit.
    let mut grew = true;
    while grew {
        grew = false;
        for left in [true, false] {
            let wider = match left {
                true if span.start > 0 => span.start - 1..span.end,
                false if span.end < bars.len() => span.start..span.end + 1,
                _ => continue,
            };
            if let Some(p) = prompt_of(&wider).filter(|p| p.len() + budget <= block) {
                (span, prompt, grew) = (wider, p, true);
            }
        }
    }
    let meters = bars[hole.bars.clone()]
        .iter()
        .map(|bar| {
            let after_bar = ids.get(bar.start + 1).copied();
            match after_bar.map(|t| (t, v.table().kind(t))) {
                Some((t, TokenKind::TimeSig(beats, _))) => (Some(t), beats as u32),
                _ => (None, 4),
            }
        })
        .collect();
    Ok((prompt, meters))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(time: u32, duration: u32, pitch: u8) -> Note {
        Note {
            time,
            duration,
            pitch,
            velocity: 90,
        }
    }

    #[test]
    fn new_notes_never_sound_a_pitch_a_kept_note_holds() {
        let kept = [note(0, 100, 60), note(200, 50, 60)];
        let new = [
            note(50, 100, 60),  // starts while the first sounds: from its end on
            note(10, 20, 60),   // inside it: nothing left
            note(150, 100, 62), // another pitch: as it was
            note(180, 100, 60), // runs into the second: stops at its start
        ];
        let fitted = fit_around(&kept, new.into_iter());
        assert_eq!(
            fitted,
            [note(100, 50, 60), note(150, 100, 62), note(180, 20, 60)]
        );
    }
}
