//! From a model and a request to pieces: prompt → constraints → generation → decoding.

use std::sync::atomic::Ordering;

use midigpt_generate::{
    generate, Constraint, Generated, GrammarConstraint, Marks, MinTokens, OnToken, SamplingConfig,
};
use midigpt_midi::Score;
use midigpt_model::{Gpt, GptBackend};
use midigpt_tokenize::{TokenId, TokenKind, Tokenizer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::constraints::{clocked, OpeningTempo, Rule};
use crate::key::Corrections;
use crate::splice::splice;
use crate::tempo::GradualTempo;
use crate::watch::{warning, Stopped, Watch};
use crate::{ComposeError, Controls, ModelPackage, Prompt, TempoChanges};

/// What to compose.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Music to continue (`None`: a new piece).
    pub prompt: Option<Prompt>,
    /// Temperature, top-k, top-p, and the minimum number of new tokens.
    pub sampling: SamplingConfig,
    /// Seed of the first piece; piece `i` uses `seed + i`, so any piece can be made again.
    pub seed: u64,
    /// How many pieces.
    pub pieces: usize,
    /// New tokens per piece at most (a length control ends a piece earlier), copies of a
    /// form's sections included.
    pub max_tokens: usize,
    /// Instruments, tempo, metre, length, caps, pitch range, form and key, on the generated
    /// part.
    pub controls: Controls,
}

impl Default for Request {
    /// The model alone: no prompt, no controls, its own distribution, 512 tokens. A base for
    /// a program that sets each part itself; a musician's request goes through [`crate::Ask`],
    /// whose defaults every front end shares.
    fn default() -> Self {
        Request {
            prompt: None,
            sampling: SamplingConfig::default(),
            seed: 0,
            pieces: 1,
            max_tokens: 512,
            controls: Controls::default(),
        }
    }
}

/// What a piece came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// The seed it was drawn with.
    pub seed: u64,
    /// Tokens generated (the prompt not included).
    pub new_tokens: usize,
    /// Generation speed after the first new token.
    pub tokens_per_second: f64,
    /// Notes in the piece.
    pub notes: usize,
    /// Tracks with notes.
    pub tracks: usize,
    /// Length in seconds, to the end of the last note.
    pub seconds: f64,
    /// Steps at which a constraint (grammar, minimum length, a control) forbade the model's
    /// most likely token (a form's copies are counted in `copied` instead).
    pub corrected: usize,
    /// Steps at which the key's penalty made another token the most likely.
    pub key_corrections: usize,
    /// Tokens a form played again from a section's first occurrence (dictated, not drawn).
    pub copied: usize,
    /// Whether the piece ended with the end token (rather than the token budget).
    pub ended: bool,
    /// Whether the progress hook stopped it.
    pub cancelled: bool,
    /// What went wrong, said to the musician: the model lost its way and was stopped (no
    /// note for [`crate::MAX_SILENT_TOKENS`] tokens, a bar denser than any it learnt from),
    /// the token budget ran out before the asked length, or no note was written.
    pub warning: Option<String>,
}

/// One composed piece.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// The music (the kept prompt, then the new part).
    pub score: Score,
    /// Its tokens: the kept prompt's, then the new ones (no BOS, no EOS).
    pub tokens: Vec<TokenId>,
    /// Where the new tokens start in `tokens`.
    pub new_from: usize,
    /// What it came to.
    pub stats: Stats,
}

/// Progress of a request, for a user interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Which piece (0-based).
    pub piece: usize,
    /// New tokens in it so far.
    pub tokens: usize,
    /// The token just made.
    pub token: TokenId,
}

/// Composes the pieces a request asks for, telling `progress` of every new token; it returns
/// `false` to stop (the pieces made so far are returned, the current one cut short). The
/// prompt is first relabelled as the model's training scores were ([`crate::PromptFit`]);
/// each piece's score is then the relabelled prompt's kept bars as they were (their timing,
/// velocities and track names), with the new music after them ([`splice`]).
pub fn compose<B: GptBackend>(
    pkg: &ModelPackage<B>,
    request: &Request,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Vec<Piece>, ComposeError> {
    let mut fitted = request.clone();
    if let Some(prompt) = &mut fitted.prompt {
        pkg.prompt_fit.apply(&mut prompt.score);
        let controls = &mut fitted.controls;
        let programs = pkg
            .tokenizer
            .table()
            .has(|k| matches!(k, TokenKind::Program(_)));
        if controls.keep_instruments && controls.instruments.is_none() && programs {
            controls.instruments = prompt.instruments();
        }
        // A song that changes tempo itself goes on as it does.
        if prompt.changes_tempo() {
            controls.tempo_changes = TempoChanges::Free;
        }
    }
    let mut pieces = compose_model(&pkg.model, pkg.tokenizer.as_ref(), &fitted, progress)?;
    // Onto the relabelled prompt, as a fill is spliced into its relabelled score: a track's
    // program is the one the model knows it by, the same in every piece of a session.
    if let Some(prompt) = &fitted.prompt {
        let kept = prompt.kept_bars();
        for piece in &mut pieces {
            piece.score = splice(&prompt.score, kept, &piece.score);
        }
    }
    Ok(pieces)
}

/// [`compose`] for a model and tokenizer held elsewhere (a model being trained): the prompt
/// as given, not relabelled, and each piece decoded from its tokens alone.
pub fn compose_model<B: GptBackend>(
    model: &Gpt<B>,
    tokenizer: &dyn Tokenizer,
    request: &Request,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Vec<Piece>, ComposeError> {
    request.sampling.validate()?;
    if request.pieces == 0 || request.max_tokens == 0 {
        return Err(ComposeError::Request(
            "ask for at least one piece of at least one token".into(),
        ));
    }
    let prompt = match &request.prompt {
        Some(p) => p.tokens(tokenizer)?,
        None => Vec::new(),
    };
    // Checked once: a control the tokenizer cannot express fails before any work.
    request.controls.constraints(tokenizer)?;
    each_piece(request.pieces, request.seed, progress, &mut |seed, hook| {
        one_piece(model, tokenizer, request, &prompt, seed, hook)
    })
}

/// Makes one piece from its seed, telling the hook of every token.
pub(crate) type MakePiece<'a> = dyn FnMut(u64, OnToken<'_>) -> Result<Piece, ComposeError> + 'a;

/// Makes `pieces` pieces with seeds `seed`, `seed + 1`, ..., telling `progress` of every
/// token; stops after the piece during which `progress` returned `false`.
pub(crate) fn each_piece(
    pieces: usize,
    seed: u64,
    progress: &mut dyn FnMut(Progress) -> bool,
    make: &mut MakePiece<'_>,
) -> Result<Vec<Piece>, ComposeError> {
    let mut out = Vec::new();
    for i in 0..pieces {
        let mut stop = false;
        let mut hook = |token: TokenId, tokens: usize| {
            stop = !progress(Progress {
                piece: i,
                tokens,
                token,
            });
            !stop
        };
        out.push(make(seed.wrapping_add(i as u64), &mut hook)?);
        if stop {
            break;
        }
    }
    Ok(out)
}

impl Request {
    /// The constraints each of its pieces is generated under: the grammar, then the minimum
    /// length (unless a length control or a form decides where a piece ends), then the
    /// controls.
    pub fn constraints(
        &self,
        tokenizer: &dyn Tokenizer,
    ) -> Result<Vec<Box<dyn Constraint>>, ComposeError> {
        Ok(counted_constraints(tokenizer, &self.sampling, &self.controls)?.0)
    }
}

/// What the constraints of a piece tell of it once it is made.
#[derive(Default)]
struct Observed {
    /// Steps at which the key changed the favourite.
    key_corrections: Corrections,
    /// Why the piece was stopped, if it was.
    stopped: Stopped,
}

/// The constraints of one piece: the grammar, then the minimum length (unless a length
/// control or a form decides where the piece ends), then the controls, then the watch on a
/// piece that loses its way; and what they observe.
fn counted_constraints(
    tokenizer: &dyn Tokenizer,
    sampling: &SamplingConfig,
    controls: &Controls,
) -> Result<(Vec<Box<dyn Constraint>>, Observed), ComposeError> {
    let mut out: Vec<Box<dyn Constraint>> = Vec::new();
    if let Some(grammar) = tokenizer.grammar() {
        out.push(Box::new(GrammarConstraint(grammar)));
    }
    if let Some(eos) = tokenizer.vocab().eos() {
        if sampling.min_tokens > 0 && controls.ends().is_none() {
            out.push(Box::new(MinTokens {
                eos,
                min: sampling.min_tokens,
            }));
        }
    }
    let table = tokenizer.table();
    // The opening, then the controls, all reading one clock.
    let mut on_clock: Vec<Box<dyn Rule>> = Vec::new();
    // A tempo control sets the opening tempo itself; BPE merges hide the opening's tokens.
    if controls.opening_tempo && controls.tempo.is_none() && !tokenizer.is_bpe() {
        let has = |f: fn(TokenKind) -> bool| table.has(f);
        if has(|k| matches!(k, TokenKind::Tempo(_))) && has(|k| matches!(k, TokenKind::Position(_)))
        {
            on_clock.push(Box::new(OpeningTempo { done: false }));
        }
    }
    let gradual = controls.tempo_changes == TempoChanges::Gradual && controls.tempo.is_none();
    if let Some(rule) = GradualTempo::new(&table).filter(|_| gradual && !tokenizer.is_bpe()) {
        on_clock.push(Box::new(rule));
    }
    on_clock.extend(controls.ranges(tokenizer, None));
    let observed = Observed::default();
    let temperature = sampling.temperature;
    on_clock.extend(controls.controls(tokenizer, temperature, &observed.key_corrections)?);
    // BPE merges hide where notes start.
    if !tokenizer.is_bpe() && table.has(|k| matches!(k, TokenKind::Pitch(_))) {
        let stopped = observed.stopped.clone();
        on_clock.push(Box::new(Watch { stopped }));
    }
    out.extend(clocked(table, on_clock));
    Ok((out, observed))
}

/// One piece in one generation: the prompt read once, then every token drawn (or, in a
/// form's repeated sections, dictated) under the request's constraints, within its budget.
fn one_piece<B: GptBackend>(
    model: &Gpt<B>,
    tokenizer: &dyn Tokenizer,
    request: &Request,
    prompt: &[TokenId],
    seed: u64,
    on_token: &mut dyn FnMut(TokenId, usize) -> bool,
) -> Result<Piece, ComposeError> {
    let vocab = tokenizer.vocab();
    let mut start: Vec<TokenId> = vocab.bos().into_iter().collect();
    start.extend_from_slice(prompt);
    if start.is_empty() {
        return Err(ComposeError::Request(
            "the tokenizer has no BOS token to start from".into(),
        ));
    }
    let (mut constraints, observed) =
        counted_constraints(tokenizer, &request.sampling, &request.controls)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let out = generate(
        model,
        &start,
        request.max_tokens,
        &mut constraints,
        Marks {
            eos: vocab.eos(),
            bar: tokenizer.table().bar(),
        },
        &request.sampling,
        &mut rng,
        on_token,
    )?;
    let mut tokens = prompt.to_vec();
    tokens.extend_from_slice(&out.ids);
    let mut score = tokenizer.decode(std::slice::from_ref(&tokens))?;
    if request.controls.ends().is_some() && out.ended {
        // The piece ends at its last bar line: notes still ringing there stop with it.
        let bar = tokenizer.table().bar();
        let bars = tokens.iter().filter(|&&t| Some(t) == bar).count();
        let end = score.bars().nth(bars);
        if let Some(end) = end {
            cut_at(&mut score, end);
        }
    }
    let key_corrections = observed.key_corrections.load(Ordering::Relaxed);
    let ends = request.controls.ends();
    let stats = Stats {
        warning: warning(&out, &tokenizer.table(), ends, &observed.stopped),
        ..Stats::new(&score, seed, &out, key_corrections)
    };
    Ok(Piece {
        score,
        tokens,
        new_from: prompt.len(),
        stats,
    })
}

/// Shortens the notes that ring past `end`.
fn cut_at(score: &mut Score, end: u32) {
    for note in score.tracks.iter_mut().flat_map(|t| t.notes.iter_mut()) {
        if note.end() > end && note.time < end {
            note.duration = end - note.time;
        }
    }
}

impl Stats {
    /// What `out`, drawn with `seed` (the key changing the favourite `key_corrections` times),
    /// came to in `score`.
    pub(crate) fn new(score: &Score, seed: u64, out: &Generated, key_corrections: usize) -> Stats {
        Stats {
            seed,
            new_tokens: out.ids.len(),
            tokens_per_second: out.ids.len().saturating_sub(1) as f64 / out.seconds.max(1e-9),
            notes: score.note_count(),
            tracks: score.tracks.iter().filter(|t| !t.notes.is_empty()).count(),
            seconds: score.seconds_at(score.end()),
            corrected: out.corrected,
            key_corrections,
            copied: out.dictated,
            ended: out.ended,
            cancelled: out.cancelled,
            warning: None,
        }
    }
}

impl std::fmt::Display for Stats {
    /// One line: "412 new tokens (950 tokens/s), 120 notes in 2 tracks, 31.5 s, 9 corrected
    /// by constraints, 3 by the key, 140 copied by the form, ended" (the key's and the
    /// form's counts only where they are not 0).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut counts = String::new();
        if self.key_corrections > 0 {
            counts += &format!(", {} by the key", self.key_corrections);
        }
        if self.copied > 0 {
            counts += &format!(", {} copied by the form", self.copied);
        }
        write!(
            f,
            "{} new tokens ({:.0} tokens/s), {} notes in {} track{}, {:.1} s, {} corrected by constraints{counts}{}",
            self.new_tokens,
            self.tokens_per_second,
            self.notes,
            self.tracks,
            if self.tracks == 1 { "" } else { "s" },
            self.seconds,
            self.corrected,
            match (self.cancelled, self.ended) {
                (true, _) => ", stopped",
                (false, true) => ", ended",
                _ => "",
            }
        )?;
        match &self.warning {
            Some(warning) => write!(f, "; warning: {warning}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_name_the_key_and_the_form_only_where_they_acted() {
        let mut stats = Stats {
            seed: 1,
            new_tokens: 412,
            tokens_per_second: 950.0,
            notes: 120,
            tracks: 2,
            seconds: 31.5,
            corrected: 9,
            key_corrections: 0,
            copied: 0,
            ended: true,
            cancelled: false,
            warning: None,
        };
        let plain = "412 new tokens (950 tokens/s), 120 notes in 2 tracks, 31.5 s, \
                     9 corrected by constraints, ended";
        assert_eq!(stats.to_string(), plain);
        (stats.key_corrections, stats.copied) = (3, 140);
        assert!(stats
            .to_string()
            .ends_with("9 corrected by constraints, 3 by the key, 140 copied by the form, ended"));
        stats.warning = Some("no note was written".into());
        assert!(stats
            .to_string()
            .ends_with("ended; warning: no note was written"));
    }
}
