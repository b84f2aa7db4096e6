//! A form with the built-in model: a section named again is its first occurrence, bar for
//! bar, and the piece is as long as the form.

use midigpt_compose::{compose, Controls, Form, ModelPackage, Request};
use midigpt_midi::Score;
use midigpt_model::Cpu;

/// (program, pitch, onset from the bar line of `from`, duration, velocity) of the notes
/// that start in bars `from..to`.
fn bars(score: &Score, from: usize, to: usize) -> Vec<(u8, u8, u32, u32, u8)> {
    let starts: Vec<u32> = score.bars().take(to + 1).collect();
    let mut out: Vec<_> = (score.tracks.iter())
        .flat_map(|t| t.notes.iter().map(move |n| (t.program, n)))
        .filter(|(_, n)| n.time >= starts[from] && n.time < starts[to])
        .map(|(p, n)| (p, n.pitch, n.time - starts[from], n.duration, n.velocity))
        .collect();
    out.sort_unstable();
    out
}

#[test]
fn a_section_named_again_comes_back_and_the_rest_is_new() {
    let pkg = ModelPackage::<Cpu>::builtin(&Default::default()).expect("the built-in model loads");
    let form: Form = "A2 B2 A2 C1".parse().unwrap();
    let request = Request {
        controls: Controls {
            form: Some(form.clone()),
            ..Controls::default()
        },
        max_tokens: 16_384,
        pieces: 2,
        seed: 5,
        ..Request::default()
    };
    let mut told = vec![Vec::new(); 2];
    let pieces = midigpt_compose::compose_with(&pkg, &request, &mut |p| {
        told[p.piece].push(p.token);
        true
    })
    .expect("composes");
    for (piece, told) in pieces.iter().zip(&told) {
        // The progress hook was told every token, copies included, in order.
        assert_eq!(told, &piece.tokens);
        let score = &piece.score;
        assert!(piece.stats.ended, "{}", piece.stats);
        let a = bars(score, 0, 2);
        assert!(!a.is_empty() && !bars(score, 2, 4).is_empty());
        assert_eq!(bars(score, 4, 6), a, "the second A is the first");
        assert_ne!(bars(score, 2, 4), a, "B is new music");
        assert!(!bars(score, 6, 7).is_empty(), "C holds music");
        assert!(bars(score, 7, 9).is_empty(), "the piece ends with the form");
        // Bars of the decoded stream match the score's.
        let vocab = pkg.tokenizer.vocab();
        let bar = vocab.get("Bar_None").unwrap();
        assert_eq!(
            piece.tokens.iter().filter(|&&t| t == bar).count(),
            form.bars()
        );
    }
    // The same request gives the same pieces.
    let again = compose(&pkg, &request).expect("composes");
    assert_eq!(again[0].score, pieces[0].score);
}

#[test]
fn a_form_sets_the_length_and_refuses_another() {
    let pkg = ModelPackage::<Cpu>::builtin(&Default::default()).expect("the built-in model loads");
    let request = Request {
        controls: Controls {
            form: Some("A2 B2".parse().unwrap()),
            length: Some(midigpt_compose::Length::Bars(8)),
            ..Controls::default()
        },
        ..Request::default()
    };
    let err = compose(&pkg, &request).unwrap_err().to_string();
    assert!(err.contains("A2 B2 is 4 bars"), "{err}");
}
