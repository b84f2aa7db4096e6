//! `--prompt-bars` keeps the right bars of a prompt whose metre changes.

mod common;

use common::random_model;
use midigpt_compose::{compose_model, Prompt, Request, SamplingConfig};
use midigpt_midi::{Note, Score, TimeSignature, Track};
use midigpt_tokenize::builtin;

/// The onsets (in quarter notes) of the prompt part of a piece continuing the first `bars`
/// bars of `score`.
fn kept_onsets(score: Score, bars: usize) -> Vec<f64> {
    let tokenizer = builtin("remi-plus").unwrap();
    let model = random_model(tokenizer.as_ref(), 512);
    let request = Request {
        prompt: Some(Prompt {
            score,
            bars: Some(bars),
        }),
        max_tokens: 1,
        ..Request::default()
    };
    let piece = compose_model(&model, tokenizer.as_ref(), &request, &mut |_| true)
        .unwrap()
        .remove(0);
    let prompt = tokenizer
        .decode(&[piece.tokens[..piece.new_from].to_vec()])
        .unwrap();
    let tpq = prompt.ticks_per_quarter as f64;
    let mut onsets: Vec<f64> = (prompt.tracks.iter().flat_map(|t| &t.notes))
        .map(|n| n.time as f64 / tpq)
        .collect();
    onsets.sort_by(f64::total_cmp);
    onsets
}

#[test]
fn prompt_bars_follow_a_metre_change() {
    // Two bars of 4/4, then 3/4 (480 ticks a quarter), a note at each bar line.
    let mut score = Score::new(480);
    score.time_signatures = [(0, 4), (3840, 3)]
        .map(|(time, numerator)| TimeSignature {
            time,
            numerator,
            denominator: 4,
        })
        .to_vec();
    let notes = [0, 1920, 3840, 5280, 6720].map(|time| Note {
        time,
        duration: 240,
        pitch: 60,
        velocity: 90,
    });
    score.tracks.push(Track {
        notes: notes.to_vec(),
        ..Track::default()
    });
    // Four bars end at 6720, not at 4 × 1920 as the first metre alone would say.
    assert_eq!(kept_onsets(score.clone(), 4), [0.0, 4.0, 8.0, 11.0]);
    assert_eq!(kept_onsets(score, 3), [0.0, 4.0, 8.0]);
}

#[test]
fn prompt_bars_follow_a_change_inside_a_bar() {
    // 3/4, then 6/8 from tick 384 (96 a quarter): the second bar is cut short there.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ts_change.mid");
    let score = Score::from_file(path).unwrap();
    assert_eq!(score.bar_starts(700), [0, 288, 384, 672]);
    // Onsets at 0, 1/3, 2/3 and 3.1 quarters (on the tokenizer's grid); the notes at 4 and 5
    // quarters are in the 6/8 bars.
    let kept = kept_onsets(score, 2);
    assert_eq!(kept.len(), 4, "{kept:?}");
    assert!(kept[3] < 4.0, "{kept:?}");
}

#[test]
fn the_progress_hook_sees_every_token_and_can_stop() {
    let tokenizer = builtin("remi-plus").unwrap();
    let model = random_model(tokenizer.as_ref(), 128);
    // The end token waits for 50 tokens: an untrained model may draw it at once, and the
    // second piece must live to its tenth token.
    let request = Request {
        pieces: 3,
        max_tokens: 50,
        sampling: SamplingConfig {
            min_tokens: 50,
            ..SamplingConfig::default()
        },
        ..Request::default()
    };
    let mut seen = Vec::new();
    let pieces = compose_model(&model, tokenizer.as_ref(), &request, &mut |p| {
        seen.push((p.piece, p.tokens));
        !(p.piece == 1 && p.tokens == 10)
    })
    .unwrap();
    assert_eq!(pieces.len(), 2, "stopped in the second piece");
    assert!(pieces[1].stats.cancelled && pieces[1].stats.new_tokens == 10);
    assert_eq!(
        pieces[0].tokens[pieces[0].new_from..].len(),
        pieces[0].stats.new_tokens
    );
    let first: Vec<usize> = seen.iter().filter(|s| s.0 == 0).map(|s| s.1).collect();
    assert_eq!(first, (1..=pieces[0].stats.new_tokens).collect::<Vec<_>>());
}

/// An untrained model draws any program; a continuation with none asked keeps the song's.
#[test]
fn a_continuation_keeps_the_song_s_instruments_unless_told_otherwise() {
    use midigpt_compose::{compose, Controls, ModelPackage};
    let tokenizer = builtin("remi-plus").unwrap();
    let pkg = ModelPackage::new(random_model(tokenizer.as_ref(), 512), tokenizer);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/POP909_008.mid");
    let mut song = Score::from_file(path).unwrap();
    for (track, program) in song.tracks.iter_mut().zip([73, 48, 0]) {
        track.program = program;
    }
    let new_programs = |keep: bool| {
        let request = Request {
            prompt: Some(Prompt {
                score: song.clone(),
                bars: Some(4),
            }),
            controls: Controls {
                keep_instruments: keep,
                ..Controls::default()
            },
            sampling: SamplingConfig {
                temperature: 1.0,
                ..SamplingConfig::default()
            },
            pieces: 4,
            max_tokens: 200,
            ..Request::default()
        };
        let from = song.bars().nth(4).unwrap();
        let mut programs: Vec<i16> = compose(&pkg, &request, &mut |_| true)
            .unwrap()
            .iter()
            .flat_map(|p| p.score.tracks.clone())
            .filter(|t| t.notes.iter().any(|n| n.time >= from))
            .map(|t| t.program_or_drums())
            .collect();
        programs.sort();
        programs.dedup();
        programs
    };
    let kept = new_programs(true);
    assert!(kept.iter().all(|p| [73, 48, 0].contains(p)), "{kept:?}");
    let free = new_programs(false);
    assert!(free.iter().any(|p| ![73, 48, 0].contains(p)), "{free:?}");
}
