use std::collections::BTreeMap;

use midigpt_midi::{Note, Score, Track};

use super::*;
use crate::builtin;

fn tokenizer(name: &str) -> Box<dyn Tokenizer> {
    with_infill_tokens(builtin(name).unwrap().as_ref()).unwrap()
}

fn song() -> Score {
    Score::from_file("tests/data/midi/Funkytown.mid").unwrap()
}

/// Every note of a sequence as (bar, position token, note tokens), in a multiset; the fill
/// of an example counts in the hole's bars.
fn notes(v: &InfillVocab, ids: &[TokenId], hole_bars: Option<usize>) -> BTreeMap<Vec<u32>, usize> {
    let mut out = BTreeMap::new();
    let mut add = |ids: &[TokenId], bar_offset: usize| {
        for (b, bar) in Bars::of(v, ids).bars.iter().enumerate() {
            let mut position = None;
            for atom in atoms(v, ids, bar.clone()) {
                match atom.what {
                    AtomKind::Position => position = Some(ids[atom.range.start]),
                    AtomKind::Note { .. } => {
                        let mut key = vec![(b + bar_offset) as u32, position.unwrap()];
                        key.extend_from_slice(&ids[atom.range]);
                        *out.entry(key).or_insert(0) += 1;
                    }
                    AtomKind::Other => {}
                }
            }
        }
    };
    match ids.iter().position(|&t| t == v.fill_start) {
        None => add(ids, 0),
        Some(start) => {
            add(&ids[..start], 0);
            let bars = ids[start..].iter().position(|&t| t == v.bar).unwrap() + start;
            let end = ids.iter().rposition(|&t| t == v.fill_end).unwrap();
            add(&ids[bars..end], hole_bars.unwrap());
        }
    }
    out
}

/// Holes over `n` bars: single bars, spans, the whole piece; for REMI+ one program, two,
/// and all of them.
fn holes(v: &InfillVocab, ids: &[TokenId], n: usize) -> Vec<Hole> {
    let programs: Vec<i16> = {
        let mut p: Vec<i16> = ids
            .iter()
            .filter_map(|&t| match v.kind(t) {
                Kind::Program(p) => Some(p),
                _ => None,
            })
            .collect();
        p.sort();
        p.dedup();
        p
    };
    let sets: Vec<Option<Vec<i16>>> = if v.programs {
        vec![
            Some(programs[..1].to_vec()),
            Some(programs[1..3].to_vec()),
            Some(programs.clone()),
            Some(vec![programs[0], 127]),
        ]
    } else {
        vec![None]
    };
    let spans = [0..1, 3..7, n / 2..n / 2 + 1, n - 2..n, 0..n];
    spans
        .iter()
        .flat_map(|bars| {
            sets.iter().map(|programs| Hole {
                bars: bars.clone(),
                programs: programs.clone(),
            })
        })
        .collect()
}

#[test]
fn every_note_is_kept_exactly_once() {
    for name in ["remi-plus", "remi"] {
        let tok = tokenizer(name);
        let v = InfillVocab::new(tok.as_ref()).unwrap();
        let ids = tok.encode(&song()).unwrap().remove(0);
        let n = Bars::of(&v, &ids).bars.len();
        assert!(n > 20, "{name}: {n} bars");
        let before = notes(&v, &ids, None);
        for hole in holes(&v, &ids, n) {
            let ex = make_example(&v, &ids, &hole).unwrap();
            assert_eq!(ex.tokens[ex.fill_start], v.fill_start);
            assert_eq!(*ex.tokens.last().unwrap(), v.fill_end);
            let after = notes(&v, &ex.tokens, Some(hole.bars.start));
            assert_eq!(before, after, "{name} {hole:?}");
            // The fill holds the hole's bars and only notes of the hole's programs.
            let fill = &ex.tokens[ex.fill_bars..ex.tokens.len() - 1];
            let bars = fill.iter().filter(|&&t| t == v.bar).count();
            assert_eq!(bars, hole.bars.len(), "{name} {hole:?}");
            for atom in atoms(&v, fill, 0..fill.len()) {
                assert!(
                    atom.what == AtomKind::Other
                        || atom.what == AtomKind::Position
                        || hole.takes(atom.what),
                    "{name} {hole:?}: {atom:?} in the fill"
                );
            }
            // The context keeps no note of the hole's programs inside the hole.
            let context = Bars::of(&v, &ex.tokens[..ex.fill_start]);
            for bar in &context.bars[hole.bars.clone()] {
                assert_eq!(
                    ex.tokens[bar.start + 1 + usize::from(has_time_sig(&v, &ex.tokens, bar.start))],
                    v.infill_bar
                );
                let held = atoms(&v, &ex.tokens, bar.clone());
                assert!(held.iter().all(|a| !hole.takes(a.what)), "{name} {hole:?}");
            }
            for (from, to) in &ex.moved {
                assert_eq!(ids[from.clone()], ex.tokens[to.clone()]);
            }
        }
    }
}

/// The notes of a score as (program, time, pitch, velocity, duration), sorted.
fn score_notes(score: &Score) -> Vec<(i16, Note)> {
    let mut out: Vec<(i16, Note)> = score
        .tracks
        .iter()
        .flat_map(|t| t.notes.iter().map(|n| (t.program_or_drums(), *n)))
        .collect();
    out.sort();
    out
}

#[test]
fn infill_round_trips_through_scores_on_remi_and_remi_plus() {
    for name in ["remi-plus", "remi"] {
        let tok = tokenizer(name);
        let v = InfillVocab::new(tok.as_ref()).unwrap();
        let ids = tok.encode(&song()).unwrap().remove(0);
        let whole = tok.decode(std::slice::from_ref(&ids)).unwrap();
        let n = Bars::of(&v, &ids).bars.len();
        for hole in holes(&v, &ids, n) {
            let ex = make_example(&v, &ids, &hole).unwrap();
            // Tokens → scores: the context and the fill (its time from the hole's first bar).
            let context = tok.decode(&[ex.tokens[..ex.fill_start].to_vec()]).unwrap();
            let fill_ids = ex.tokens[ex.fill_bars..ex.tokens.len() - 1].to_vec();
            let fill = tok.decode(&[fill_ids]).unwrap();
            let offset = context.bars().nth(hole.bars.start).unwrap();
            let mut merged = score_notes(&context);
            merged.extend(score_notes(&fill).into_iter().map(|(p, n)| {
                let time = n.time + offset;
                (p, Note { time, ..n })
            }));
            merged.sort();
            assert_eq!(merged, score_notes(&whole), "{name} {hole:?}");
            let mut score = context.clone();
            // In the order they were decoded: notes at one onset keep their token order.
            let fill_notes = fill
                .tracks
                .iter()
                .flat_map(|t| t.notes.iter().map(|n| (t.program_or_drums(), *n)));
            for (p, note) in fill_notes.collect::<Vec<_>>() {
                if !score.tracks.iter().any(|t| t.program_or_drums() == p) {
                    let track = fill.tracks.iter().find(|t| t.program_or_drums() == p);
                    let empty = Track {
                        notes: Vec::new(),
                        ..track.unwrap().clone()
                    };
                    score.tracks.push(empty);
                }
                let track = score.tracks.iter_mut().find(|t| t.program_or_drums() == p);
                let track = track.unwrap();
                track.notes.push(Note {
                    time: note.time + offset,
                    ..note
                });
            }
            score
                .tracks
                .iter_mut()
                .for_each(|t| t.notes.sort_by_key(|n| n.time));
            // → tokens: the merged score encodes as the whole piece does (tracks in one order:
            // decoding lists them as they first sound, which the hole changes).
            let by_program = |mut s: Score| {
                s.tracks.sort_by_key(|t| t.program_or_drums());
                tok.encode(&s).unwrap().remove(0)
            };
            let same = by_program(score) == by_program(whole.clone());
            assert!(same, "{name} {hole:?}: the merged score encodes otherwise");
        }
    }
}

#[test]
fn tokenizer_json_keeps_the_infill_tokens_last_among_specials() {
    let tok = tokenizer("remi-plus");
    let json = tok.to_json();
    let specials: Vec<&str> = json["config"]["special_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        specials,
        [
            "PAD_None",
            "BOS_None",
            "EOS_None",
            "MASK_None",
            INFILL_BAR,
            FILL_START,
            FILL_END
        ]
    );
    let back = crate::from_json(&json).unwrap();
    assert_eq!(back.vocab(), tok.vocab());
    // The base tokens keep their order, three ids later.
    let plain = builtin("remi-plus").unwrap();
    assert_eq!(tok.vocab().len(), plain.vocab().len() + 3);
    assert_eq!(tok.vocab().tokens()[7..], plain.vocab().tokens()[4..]);
    // Adding them twice changes nothing.
    let again = with_infill_tokens(tok.as_ref()).unwrap();
    assert_eq!(again.vocab(), tok.vocab());
}

#[test]
fn a_vocabulary_without_infill_tokens_is_a_clear_error() {
    let err = InfillVocab::new(builtin("remi-plus").unwrap().as_ref()).unwrap_err();
    assert!(
        err.to_string().contains("not trained with infilling"),
        "{err}"
    );
    let err = InfillVocab::new(builtin("midi-like").unwrap().as_ref()).unwrap_err();
    assert!(err.to_string().contains("REMI"), "{err}");
}

#[test]
fn a_hole_past_the_last_bar_is_refused() {
    let tok = tokenizer("remi-plus");
    let v = InfillVocab::new(tok.as_ref()).unwrap();
    let ids = tok.encode(&song()).unwrap().remove(0);
    let n = Bars::of(&v, &ids).bars.len();
    let hole = |bars| Hole {
        bars,
        programs: None,
    };
    assert!(make_example(&v, &ids, &hole(n - 1..n + 1)).is_none());
    assert!(make_example(&v, &ids, &hole(2..2)).is_none());
}

#[test]
fn the_infill_tokens_survive_bpe_as_single_tokens() {
    let tok = tokenizer("remi-plus");
    let v = InfillVocab::new(tok.as_ref()).unwrap();
    let ids = tok.encode(&song()).unwrap().remove(0);
    let ex = make_example(
        &v,
        &ids,
        &Hole {
            bars: 3..7,
            programs: None,
        },
    )
    .unwrap();
    let bpe = crate::Bpe::train(tok, [ids.clone(), ex.tokens.clone()].into_iter(), 1200).unwrap();
    let merged = bpe.encode_ids(&ex.tokens).unwrap();
    assert!(merged.len() < ex.tokens.len(), "BPE merged something");
    for special in [v.infill_bar, v.fill_start, v.fill_end] {
        let n = ex.tokens.iter().filter(|&&t| t == special).count();
        assert_eq!(merged.iter().filter(|&&t| t == special).count(), n);
    }
    assert_eq!(bpe.decode_ids(&merged).unwrap(), ex.tokens);
    // A BPE tokenizer saved with them loads back with the same vocabulary.
    assert_eq!(
        crate::from_json(&bpe.to_json()).unwrap().vocab(),
        bpe.vocab()
    );
    // Infill examples are laid out on base tokens: BPE models are refused, clearly.
    assert!(InfillVocab::new(&bpe)
        .unwrap_err()
        .to_string()
        .contains("BPE"));
}
