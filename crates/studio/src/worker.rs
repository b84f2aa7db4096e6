//! What the model worker does with a job: each candidate in turn, through the compose
//! layer (`compose` for a continuation, `infill` for bars × tracks, as the command
//! line's `generate`), with a preview of its notes every so often.

use std::time::{Duration, Instant};

use midigpt_compose::{bar_start, compose, infill, supports, Control, ModelPackage, Progress};
use midigpt_midi::program_name;
use midigpt_model::GptBackend;
use midigpt_tokenize::infill::InfillVocab;
use midigpt_tokenize::{TokenId, Tokenizer};
use serde_json::json;

use crate::jobs::{Job, KnownInstrument, ModelInfo, Status};
use crate::request::Work;
use crate::store::{Continues, Store};
use crate::view::{describe_tokenizer, track_views, ScoreView, TrackView};

/// How often the page sees the notes so far: often enough to watch them arrive, rarely
/// enough that decoding the tokens so far costs nothing next to writing them.
const PREVIEW_EVERY: Duration = Duration::from_millis(250);

/// The page's description of `pkg`.
pub fn model_info<B: GptBackend>(pkg: &ModelPackage<B>) -> ModelInfo {
    let table = pkg.tokenizer.table();
    let tokenizer = pkg.tokenizer.as_ref();
    let name = match pkg.root() {
        Some(root) => root.file_name().map_or_else(
            || root.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        None => pkg.origin.clone(),
    };
    ModelInfo {
        name,
        tokenizer: describe_tokenizer(&pkg.tokenizer.to_json()),
        vocab_size: pkg.tokenizer.vocab_size(),
        parameters: pkg.model.num_params(),
        layers: pkg.config.n_layer,
        width: pkg.config.n_embd,
        context: pkg.config.block_size,
        controls: (Control::ALL.into_iter())
            .filter(|&c| supports(tokenizer, c))
            .map(Control::name)
            .collect(),
        metres: (table.time_sigs().iter())
            .map(|(n, d)| format!("{n}/{d}"))
            .collect(),
        cannot_fill: InfillVocab::new(pkg.tokenizer.as_ref())
            .err()
            .map(|e| e.to_string()),
        defaults: midigpt_compose::DEFAULTS,
        instruments: pkg.programs.as_ref().map(|programs| {
            (programs.iter().filter(|&(_, &notes)| notes > 0))
                .map(|(&program, _)| KnownInstrument {
                    program,
                    name: program_name(program.max(0) as u8, program < 0).to_string(),
                })
                .collect()
        }),
        session: {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            format!("{}-{}", std::process::id(), now.map_or(0, |d| d.as_nanos()))
        },
        prompt_fit: pkg.prompt_fit.clone(),
    }
}

/// The notes of `tokens` from bar `from_bar` on, moved to start at quarter `at` (where
/// they go on the page); none if the tokens do not decode.
fn preview(
    tokenizer: &dyn Tokenizer,
    tokens: &[TokenId],
    from_bar: usize,
    at: f64,
) -> Option<Vec<TrackView>> {
    // A partial piece decodes like any other (ids that do not fit are skipped).
    let score = tokenizer.decode(&[tokens.to_vec()]).ok()?;
    let from = bar_start(&score, from_bar);
    let shift = at - from as f64 / score.ticks_per_quarter.max(1) as f64;
    let mut tracks = track_views(&score, from);
    for note in tracks.iter_mut().flat_map(|t| t.notes.iter_mut()) {
        note.0 += shift;
    }
    Some(tracks)
}

/// Writes the candidates of `job` with `pkg`, keeping each in `store`.
pub fn run<B: GptBackend>(pkg: &ModelPackage<B>, job: &Job, store: &Store) {
    let tokenizer = pkg.tokenizer.as_ref();
    // What the preview decodes the new tokens after, and the bar the new ones start at in
    // it: a continuation's prompt; nothing for a fill, whose tokens are bars of their own.
    let (prompt, from_bar) = match &job.work {
        Work::Continue(request) => match request.prompt.as_ref().map(|p| p.tokens(tokenizer)) {
            Some(Ok(tokens)) => (tokens, job.cut_bar),
            Some(Err(e)) => return job.set(Status::Failed, Some(e.to_string())),
            None => (Vec::new(), job.cut_bar),
        },
        Work::Infill(_) => (Vec::new(), 0),
    };
    let cut = job.cut_bar;
    // Where the new part starts on the page, in quarter notes.
    let cut_quarters = job.original.as_ref().map_or(0.0, |(score, _)| {
        bar_start(score, cut) as f64 / score.ticks_per_quarter.max(1) as f64
    });
    let mut warnings = 0;
    for i in 0..job.candidates {
        if job.cancelled() {
            break;
        }
        let mut tokens: Vec<TokenId> = prompt.clone();
        let started = Instant::now();
        let mut last = started;
        let mut progress = |p: Progress| {
            tokens.push(p.token);
            if last.elapsed() >= PREVIEW_EVERY {
                last = Instant::now();
                if let Some(tracks) = preview(tokenizer, &tokens, from_bar, cut_quarters) {
                    let speed = p.tokens as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    job.preview(json!({
                        "candidate": i,
                        "tokens": p.tokens,
                        "tokens_per_second": speed,
                        "tracks": tracks,
                    }));
                }
            }
            !job.cancelled()
        };
        let seed = |s: u64| s.wrapping_add(i as u64);
        let made = match &job.work {
            Work::Continue(request) => {
                let request = midigpt_compose::Request {
                    seed: seed(request.seed),
                    ..request.clone()
                };
                compose(pkg, &request, &mut progress)
            }
            Work::Infill(request) => {
                let request = midigpt_compose::InfillRequest {
                    seed: seed(request.seed),
                    ..request.clone()
                };
                infill(pkg, &request, &mut progress)
            }
        };
        let piece = match made {
            Ok(mut pieces) => pieces.remove(0),
            Err(e) => return job.set(Status::Failed, Some(e.to_string())),
        };
        if piece.stats.cancelled {
            break;
        }
        // Both come back whole: the score they work on with the new music in it.
        let score = piece.score;
        let name = job
            .original
            .as_ref()
            .map_or("new piece", |(_, name)| name.as_str());
        let name = format!("{} - candidate {}", name.trim_end_matches(".mid"), i + 1);
        let continues = match (&job.work, &job.original) {
            (Work::Continue(_), Some((original, _))) => Some(Continues {
                original: original.clone(),
                cut,
                bars: score.bar_count().saturating_sub(cut),
            }),
            _ => None,
        };
        let id = store.insert_continuation(score.clone(), name.clone(), continues);
        let stats = &piece.stats;
        job.event(
            "candidate",
            json!({
                "index": i,
                "score": ScoreView::new(id, &name, &score),
                "seed": stats.seed,
                "new_tokens": stats.new_tokens,
                "tokens_per_second": stats.tokens_per_second,
                "ended": stats.ended,
                "warning": stats.warning,
            }),
        );
        warnings += usize::from(stats.warning.is_some());
    }
    let status = if job.cancelled() {
        Status::Cancelled
    } else if warnings > 0 {
        // Said as what it is: music came back, and some of it is not what was asked.
        Status::Warned
    } else {
        Status::Done
    };
    job.set(status, None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_midi::{Note, Score, Track};

    #[test]
    fn a_preview_puts_the_new_notes_where_they_go() {
        let tokenizer = midigpt_tokenize::builtin("remi-plus").unwrap();
        let mut score = Score::new(480);
        score.tracks.push(Track {
            program: 33,
            notes: [(0, 40), (1920 + 480, 43)]
                .map(|(time, pitch)| Note {
                    time,
                    duration: 480,
                    pitch,
                    velocity: 80,
                })
                .to_vec(),
            ..Track::default()
        });
        let tokens = tokenizer.encode(&score).unwrap().remove(0);
        // A fill's bars decode alone: its first bar goes where the hole starts (bar 6).
        let tracks = preview(tokenizer.as_ref(), &tokens, 0, 20.0).unwrap();
        let notes: Vec<(f64, u8)> = tracks[0].notes.iter().map(|n| (n.0, n.2)).collect();
        assert_eq!(notes, [(20.0, 40), (25.0, 43)]);
        assert_eq!(tracks[0].program, 33);
        // A continuation shows what comes from its cut on (bar 2), at the cut.
        let tracks = preview(tokenizer.as_ref(), &tokens, 1, 4.0).unwrap();
        let notes: Vec<(f64, u8)> = tracks[0].notes.iter().map(|n| (n.0, n.2)).collect();
        assert_eq!(notes, [(5.0, 43)]);
    }
}
