//! An infill request returns exactly the asked bars and tracks and leaves every other note
//! untouched. An untrained model draws anything, so only the fill's constraints and the
//! splice stand between it and a broken piece.

mod common;

use common::random_model;
use midigpt_compose::{
    infill, usual_range, ComposeError, Control, Controls, Form, InfillRequest, Key, Length,
    ModelPackage, Piece, SamplingConfig, GM_DRUMS,
};
use midigpt_midi::{Note, Score};
use midigpt_tokenize::{builtin, from_json, with_infill_tokens, Tokenizer};

fn tokenizer(name: &str) -> Box<dyn Tokenizer> {
    with_infill_tokens(builtin(name).unwrap().as_ref()).unwrap()
}

/// A POP909 song whose tracks get programs of their own (flute, strings, piano).
fn song() -> Score {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/POP909_008.mid");
    let mut score = Score::from_file(path).unwrap();
    for (track, program) in score.tracks.iter_mut().zip([73, 48, 0]) {
        track.program = program;
    }
    score
}

fn run(tok: &dyn Tokenizer, request: &InfillRequest) -> Result<Vec<Piece>, ComposeError> {
    let model = random_model(tok, 128);
    let pkg = ModelPackage::new(model, from_json(&tok.to_json()).unwrap());
    infill(&pkg, request, &mut |_| true)
}

fn request(bars: std::ops::Range<usize>, programs: Option<Vec<i16>>) -> InfillRequest {
    InfillRequest {
        programs,
        pieces: 2,
        seed: 3,
        max_tokens: 160,
        sampling: SamplingConfig {
            temperature: 1.0,
            ..SamplingConfig::default()
        },
        ..InfillRequest::new(song(), bars)
    }
}

/// Notes of the tracks for which `keep` holds, outside `ticks`, sorted, per program.
fn outside(score: &Score, ticks: &std::ops::Range<u32>, filled: &[i16]) -> Vec<(i16, Note)> {
    let mut out: Vec<(i16, Note)> = score
        .tracks
        .iter()
        .flat_map(|t| t.notes.iter().map(|n| (t.program_or_drums(), *n)))
        .filter(|(p, n)| !filled.contains(p) || !ticks.contains(&n.time))
        .collect();
    out.sort();
    out
}

fn check(tok: &dyn Tokenizer, request: &InfillRequest, filled: &[i16]) {
    let original = &request.score;
    let starts: Vec<u32> = original.bars().take(request.bars.end + 1).collect();
    let ticks = starts[request.bars.start]..starts[request.bars.end];
    let pieces = run(tok, request).unwrap();
    assert_eq!(pieces.len(), request.pieces);
    let bar = tok.vocab().get("Bar_None").unwrap();
    let fill_end = tok.vocab().get("FillBar_End").unwrap();
    for piece in &pieces {
        let new = &piece.tokens[piece.new_from..];
        // Exactly the asked bars, closed by the fill's end.
        assert_eq!(
            new.iter().filter(|&&t| t == bar).count(),
            request.bars.len()
        );
        assert!(
            piece.stats.ended && !new.contains(&fill_end),
            "bars {:?} of {:?}: {}",
            request.bars,
            request.programs,
            piece.stats
        );
        // Only the asked programs.
        for &t in new {
            let name = tok.vocab().token(t).unwrap();
            if let Some(p) = name.strip_prefix("Program_") {
                assert!(filled.contains(&p.parse().unwrap()), "{name} in the fill");
            }
            assert!(!name.starts_with("Tempo_"), "{name} in the fill");
        }
        // Every other note untouched, every new note inside the hole.
        assert_eq!(
            outside(&piece.score, &ticks, filled),
            outside(original, &ticks, filled)
        );
        for track in &piece.score.tracks {
            if filled.contains(&track.program_or_drums()) {
                let inside = track
                    .notes
                    .iter()
                    .filter(|n| ticks.contains(&n.time))
                    .count();
                let total = track.notes.len();
                let before = original
                    .tracks
                    .iter()
                    .filter(|t| t.program_or_drums() == track.program_or_drums());
                let kept: usize = before
                    .map(|t| t.notes.iter().filter(|n| !ticks.contains(&n.time)).count())
                    .sum();
                assert_eq!(total - inside, kept);
                // And none rings past the selection's end.
                let new = original.tracks.iter().flat_map(|t| &t.notes);
                let new: Vec<&Note> = (track.notes.iter())
                    .filter(|n| ticks.contains(&n.time))
                    .filter(|n| !new.clone().any(|o| o == *n))
                    .collect();
                assert!(new.iter().all(|n| n.end() <= ticks.end), "{new:?}");
                // In the instrument's register (an untrained model draws any pitch).
                let (low, high) = match u8::try_from(track.program_or_drums()) {
                    Ok(p) => usual_range(p),
                    Err(_) => GM_DRUMS,
                };
                assert!(
                    new.iter().all(|n| (low..=high).contains(&n.pitch)),
                    "{new:?}"
                );
            }
        }
        assert_eq!(piece.score.ticks_per_quarter, original.ticks_per_quarter);
        assert_eq!(piece.score.tempos, original.tempos);
    }
    assert_ne!(pieces[0].tokens, pieces[1].tokens, "two seeds, two fills");
}

#[test]
fn remi_plus_fills_exactly_the_asked_bars_of_the_asked_tracks() {
    let tok = tokenizer("remi-plus");
    check(tok.as_ref(), &request(4..8, Some(vec![48])), &[48]);
    check(tok.as_ref(), &request(0..2, Some(vec![0, 73])), &[0, 73]);
    // Every track playing there, by default.
    check(tok.as_ref(), &request(10..11, None), &[0, 48, 73]);
    // Longer than a window: written a few bars at a time, every bar of every track there.
    // (A budget of 32 tokens a bar, as the shorter fills above have.)
    let mut long = request(1..12, None);
    long.max_tokens = 32 * 12;
    assert!(long.bars.len() > midigpt_compose::WINDOW_BARS);
    check(tok.as_ref(), &long, &[0, 48, 73]);
}

#[test]
fn a_new_track_over_all_bars_is_added_and_the_rest_stays() {
    let tok = tokenizer("remi-plus");
    let n = song().bar_count();
    let mut req = request(0..n, Some(vec![33]));
    req.pieces = 2;
    req.max_tokens = 16 * n;
    check(tok.as_ref(), &req, &[33]);
}

#[test]
fn remi_fills_one_track() {
    let tok = tokenizer("remi");
    let first = song().tracks[0].program_or_drums();
    check(tok.as_ref(), &request(2..5, Some(vec![first])), &[first]);
    let err = run(tok.as_ref(), &request(2..5, Some(vec![first, 1]))).unwrap_err();
    assert!(err.to_string().contains("one track at a time"), "{err}");
    let err = run(tok.as_ref(), &request(2..5, Some(vec![127]))).unwrap_err();
    assert!(err.to_string().contains("unknown track"), "{err}");
}

#[test]
fn clear_errors() {
    let tok = tokenizer("remi-plus");
    let n = song().bar_count();
    let err = run(tok.as_ref(), &request(n - 1..n + 2, None)).unwrap_err();
    assert!(err.to_string().contains(&format!("has {n} bars")), "{err}");
    let plain = builtin("remi-plus").unwrap();
    let err = run(plain.as_ref(), &request(0..2, None)).unwrap_err();
    assert!(
        err.to_string().contains("not trained with infilling")
            && err.to_string().contains("infill_rate > 0"),
        "{err}"
    );
}

#[test]
fn a_fill_takes_the_controls_that_make_sense_in_a_hole() {
    let tok = tokenizer("remi-plus");
    let mut req = request(4..8, Some(vec![48]));
    req.controls = Controls {
        key: Some(Key::parse("C").unwrap()),
        max_notes_per_bar: Some(3),
        max_polyphony: Some(2),
        pitch_range: Some((60, 72)),
        ..Controls::default()
    };
    // Still exactly the asked bars and tracks.
    check(tok.as_ref(), &req, &[48]);
    let starts: Vec<u32> = song().bars().take(9).collect();
    for piece in run(tok.as_ref(), &req).unwrap() {
        let track = (piece.score.tracks.iter())
            .find(|t| t.program_or_drums() == 48)
            .unwrap();
        let new: Vec<&Note> = (track.notes.iter())
            .filter(|n| (starts[4]..starts[8]).contains(&n.time))
            .collect();
        assert!(!new.is_empty());
        for bar in starts[4..].windows(2) {
            let in_bar = new.iter().filter(|n| (bar[0]..bar[1]).contains(&n.time));
            assert!(in_bar.count() <= 3, "{}", piece.stats);
        }
        for n in &new {
            assert!((60..=72).contains(&n.pitch), "{n:?}");
            let sounding = (new.iter())
                .filter(|m| m.time <= n.time && m.end() > n.time)
                .count();
            assert!(sounding <= 2, "{sounding} notes at {}", n.time);
        }
    }
    // The others make no sense in a hole, and are refused by name.
    let refused = [
        (
            Controls {
                tempo: Some(90.0),
                ..Controls::default()
            },
            Control::Tempo,
        ),
        (
            Controls {
                length: Some(Length::Bars(2)),
                ..Controls::default()
            },
            Control::Bars,
        ),
        (
            Controls {
                form: Some(Form::song(4)),
                ..Controls::default()
            },
            Control::Form,
        ),
        (
            Controls {
                instruments: Some(vec![0]),
                ..Controls::default()
            },
            Control::Instruments,
        ),
        (
            Controls {
                time_signature: Some((3, 4)),
                ..Controls::default()
            },
            Control::TimeSignature,
        ),
    ];
    for (controls, expected) in refused {
        req.controls = controls;
        match run(tok.as_ref(), &req) {
            Err(ComposeError::Control { control, why }) => {
                assert_eq!(control, expected, "{why}");
                assert!(why.contains("a fill keeps the piece's"), "{why}");
            }
            other => panic!("{expected} not refused: {other:?}"),
        }
    }
}
