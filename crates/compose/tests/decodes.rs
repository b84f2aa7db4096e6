//! Every piece of every tokenizer decodes: REMI, REMI+, MIDI-like, triplet and a BPE model
//! follow their grammar (BPE through its base tokens), and every note they spell is heard.

mod common;

use common::random_model;
use midigpt_compose::{compose_model, Controls, Key, Request, SamplingConfig};
use midigpt_midi::Score;
use midigpt_tokenize::{builtin, Bpe, TokenId, Tokenizer};

fn prompt_score() -> Score {
    Score::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/POP909_008.mid"
    ))
    .unwrap()
}

/// Base tokens of a sequence (BPE tokens expanded).
fn base_ids(tokenizer: &dyn Tokenizer, bpe: Option<&Bpe>, ids: &[TokenId]) -> Vec<TokenId> {
    match bpe {
        Some(bpe) => ids
            .iter()
            .flat_map(|&i| bpe.base_ids(i).unwrap().to_vec())
            .collect(),
        None => {
            let _ = tokenizer;
            ids.to_vec()
        }
    }
}

fn check(name: &str, tokenizer: &dyn Tokenizer, bpe: Option<&Bpe>) {
    let model = random_model(tokenizer, 64);
    let request = Request {
        // An untrained model would end a piece anywhere.
        sampling: SamplingConfig {
            min_tokens: 250,
            ..SamplingConfig::default()
        },
        max_tokens: 300,
        pieces: 3,
        ..Request::default()
    };
    let pieces = compose_model(&model, tokenizer, &request, &mut |_| true).expect(name);
    let base = bpe.map_or(tokenizer, |b| b.base());
    let grammar = base.grammar().expect("a grammar");
    for piece in pieces {
        let ids = base_ids(tokenizer, bpe, &piece.tokens);
        let mut prev = base.vocab().bos();
        for &id in &ids {
            assert!(
                grammar.allows(prev, id),
                "{name}: {:?} after {:?}",
                base.vocab().token(id),
                prev.map(|p| base.vocab().token(p))
            );
            prev = Some(id);
        }
        let notes = ids
            .iter()
            .filter(|&&i| {
                let t = base.vocab().token(i).unwrap();
                t.starts_with("Pitch") || t.starts_with("NoteOn") || t.starts_with("DrumOn")
            })
            .count();
        let heard = piece.score.note_count();
        assert!(notes > 0, "{name}: no notes in {} tokens", ids.len());
        // A piece cut by the token budget may end inside its last note; MIDI-like notes need
        // their note-off, which a random model need not draw.
        if name == "midi-like" {
            assert!(heard > 0, "{name}");
        } else {
            assert!(
                heard + 1 >= notes && heard <= notes,
                "{name}: {notes} notes spelt, {heard} heard"
            );
        }
    }
}

#[test]
fn every_builtin_tokenizer_decodes() {
    for name in ["remi", "remi-plus", "midi-like", "triplet"] {
        let tokenizer = builtin(name).unwrap();
        check(name, tokenizer.as_ref(), None);
    }
}

#[test]
fn a_bpe_model_decodes() {
    let base = builtin("remi-plus").unwrap();
    let ids = base.encode(&prompt_score()).unwrap();
    let size = base.vocab_size() + 60;
    let bpe = Bpe::train(base, ids.into_iter(), size).unwrap();
    assert!(
        bpe.vocab_size() > bpe.base().vocab_size(),
        "merges were learnt"
    );
    check("bpe", &bpe, Some(&bpe));
    // `key: auto`, the front ends' default, steps aside for BPE; a key asked for is refused.
    let model = random_model(&bpe, 64);
    let mut request = Request {
        max_tokens: 8,
        controls: Controls {
            key: Some(Key::Auto),
            ..Controls::default()
        },
        ..Request::default()
    };
    compose_model(&model, &bpe, &request, &mut |_| true).expect("key auto steps aside");
    request.controls.key = Some(Key::parse("C").unwrap());
    let err = compose_model(&model, &bpe, &request, &mut |_| true).unwrap_err();
    assert!(err.to_string().starts_with("key: "), "{err}");
}
