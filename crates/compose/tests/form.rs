//! A form with the built-in model: a section named again is its first occurrence, bar for
//! bar and token for token, the piece is as long as the form, and the request's budget is the
//! whole piece's.

use midigpt_compose::{compose, Controls, Form, ModelPackage, Prompt, Request};
use midigpt_midi::Score;
use midigpt_model::Cpu;
use midigpt_tokenize::TokenId;

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

/// The tokens of the new part's bars `from..to`, each from its bar line to the next.
fn bar_tokens(
    tokens: &[TokenId],
    new_from: usize,
    bar: TokenId,
    from: usize,
    to: usize,
) -> &[TokenId] {
    let starts: Vec<usize> = (new_from..tokens.len())
        .filter(|&i| tokens[i] == bar)
        .chain([tokens.len()])
        .collect();
    &tokens[starts[from]..starts[to]]
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
    let pieces = midigpt_compose::compose(&pkg, &request, &mut |p| {
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
        // Token for token, each copied bar closed where its original was; the copies are
        // counted as such, not as corrections.
        let first = bar_tokens(&piece.tokens, 0, bar, 0, 2);
        assert_eq!(bar_tokens(&piece.tokens, 0, bar, 4, 6), first);
        assert_eq!(piece.stats.copied, first.len(), "{}", piece.stats);
        assert!(piece.stats.to_string().contains(" copied by the form"));
    }
    // The same request gives the same pieces.
    let again = compose(&pkg, &request, &mut |_| true).expect("composes");
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
    let err = compose(&pkg, &request, &mut |_| true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("A2 B2 is 4 bars"), "{err}");
}

#[test]
fn a_continuation_follows_its_form_within_one_budget() {
    let pkg = ModelPackage::<Cpu>::builtin(&Default::default()).expect("the built-in model loads");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/POP909_008.mid");
    let score = Score::from_file(path).unwrap();
    // A longer repeat goes on with new music; a form may end with a repeat.
    let form: Form = "A1 B1 A2 B1".parse().unwrap();
    let request = Request {
        prompt: Some(Prompt {
            score,
            bars: Some(2),
        }),
        controls: Controls {
            form: Some(form.clone()),
            ..Controls::default()
        },
        max_tokens: 16_384,
        seed: 9,
        ..Request::default()
    };
    let piece = compose(&pkg, &request, &mut |_| true)
        .expect("composes")
        .remove(0);
    assert!(piece.stats.ended, "{}", piece.stats);
    let bar = pkg.tokenizer.vocab().get("Bar_None").unwrap();
    let new_bars = |from, to| bar_tokens(&piece.tokens, piece.new_from, bar, from, to);
    assert_eq!(new_bars(0, 5).iter().filter(|&&t| t == bar).count(), 5);
    assert_eq!(new_bars(2, 3), new_bars(0, 1), "A again");
    assert_eq!(new_bars(4, 5), new_bars(1, 2), "B again, to the end");
    let longer = new_bars(3, 4);
    assert!(
        longer != new_bars(0, 1) && longer != new_bars(1, 2),
        "A's second bar is new music"
    );
    assert_eq!(piece.stats.copied, new_bars(0, 2).len(), "{}", piece.stats);
    // The budget is the whole piece's: copies and new sections together.
    let short = Request {
        max_tokens: 40,
        ..request
    };
    let cut = compose(&pkg, &short, &mut |_| true)
        .expect("composes")
        .remove(0);
    assert_eq!(cut.stats.new_tokens, 40);
    assert!(!cut.stats.ended);
    assert_eq!(
        cut.tokens[..cut.new_from + 40],
        piece.tokens[..piece.new_from + 40]
    );
}
