//! The built-in model under controls: what is asked for is what comes out.

use midigpt_compose::{
    compose, parse, Controls, Length, ModelPackage, Piece, Request, SamplingConfig,
};
use midigpt_model::Cpu;

fn builtin() -> ModelPackage<Cpu> {
    ModelPackage::builtin(&Default::default()).expect("the built-in model loads")
}

fn names(pkg: &ModelPackage<Cpu>, piece: &Piece) -> Vec<String> {
    let vocab = pkg.tokenizer.vocab();
    (piece.tokens.iter())
        .map(|&t| vocab.token(t).unwrap().to_string())
        .collect()
}

#[test]
fn instruments_tempo_metre_and_bars_are_obeyed() {
    let pkg = builtin();
    let request = Request {
        controls: Controls {
            instruments: Some(parse::instruments("0,33,drums").unwrap()),
            tempo: Some(100.0),
            time_signature: Some(parse::time_signature("3/4").unwrap()),
            length: Some(Length::Bars(16)),
            ..Controls::default()
        },
        max_tokens: 16_384,
        pieces: 2,
        seed: 3,
        ..Request::default()
    };
    let tempos: Vec<f64> = (pkg.tokenizer.vocab().tokens().iter())
        .filter_map(|t| t.strip_prefix("Tempo_")?.parse().ok())
        .collect();
    let nearest = tempos
        .iter()
        .copied()
        .min_by(|a, b| (a - 100.0).abs().total_cmp(&(b - 100.0).abs()))
        .unwrap();
    for piece in compose(&pkg, &request, &mut |_| true).expect("composes") {
        let tokens = names(&pkg, &piece);
        let of = |kind: &str| -> Vec<&str> {
            (tokens.iter())
                .filter_map(|t| t.strip_prefix(kind))
                .collect()
        };
        assert!(piece.stats.ended, "{}", piece.stats);
        assert_eq!(of("Bar_").len(), 16, "exactly 16 bars");
        assert!(
            of("TimeSig_").iter().all(|t| *t == "3/4"),
            "{:?}",
            of("TimeSig_")
        );
        assert_eq!(of("TimeSig_").len(), 16, "every bar says 3/4");
        let used: Vec<f64> = of("Tempo_").iter().map(|t| t.parse().unwrap()).collect();
        assert!(
            !used.is_empty() && used.iter().all(|t| *t == nearest),
            "{used:?}"
        );
        let programs: Vec<&str> = of("Program_");
        for p in ["0", "33", "-1"] {
            assert!(programs.contains(&p), "a new piece uses {p}: {programs:?}");
        }
        assert!(programs.iter().all(|p| ["0", "33", "-1"].contains(p)));
        // The decoded score agrees.
        let score = &piece.score;
        assert!(score.note_count() > 0);
        assert!(score
            .tracks
            .iter()
            .all(|t| t.is_drum || [0, 33].contains(&t.program)));
        assert!(score
            .time_signatures
            .iter()
            .all(|t| (t.numerator, t.denominator) == (3, 4)));
        let bar = score.ticks_per_quarter as u32 * 3;
        let last_onset = (score.tracks.iter().flat_map(|t| &t.notes))
            .map(|n| n.time)
            .max()
            .unwrap();
        assert!(
            last_onset < 16 * bar,
            "every note starts within the 16 bars"
        );
        let qpm: Vec<f64> = score.tempos.iter().map(|t| t.qpm()).collect();
        assert!(
            qpm.iter().all(|q| (q - nearest).abs() < 0.01),
            "{qpm:?} vs {nearest}"
        );
    }
}

#[test]
fn seconds_end_the_piece_within_a_bar_of_the_length() {
    let pkg = builtin();
    let request = Request {
        controls: Controls {
            length: Some(Length::Seconds(30.0)),
            ..Controls::default()
        },
        max_tokens: 16_384,
        pieces: 2,
        seed: 5,
        ..Request::default()
    };
    for piece in compose(&pkg, &request, &mut |_| true).expect("composes") {
        let score = &piece.score;
        let starts = score.bar_starts(score.end());
        let last = *starts.last().unwrap();
        let ts = score.time_signature_at(last);
        let map = score.tempo_map();
        let bar_seconds = map.seconds(last + score.bar_ticks(&ts)) - map.seconds(last);
        let seconds = piece.stats.seconds;
        assert!(piece.stats.ended, "{}", piece.stats);
        assert!(
            (seconds - 30.0).abs() <= bar_seconds,
            "{seconds:.2} s, a bar is {bar_seconds:.2} s"
        );
    }
}

#[test]
fn caps_hold_in_the_decoded_music() {
    let pkg = builtin();
    let request = Request {
        controls: Controls {
            max_notes_per_bar: Some(4),
            max_polyphony: Some(2),
            pitch_range: Some((48, 84)),
            ..Controls::default()
        },
        // The end token waits, as `midigpt generate` has it wait: the caps leave the model
        // little to say per bar, and it may otherwise end the piece early.
        sampling: SamplingConfig {
            min_tokens: 128,
            ..SamplingConfig::default()
        },
        pieces: 2,
        seed: 1,
        ..Request::default()
    };
    for piece in compose(&pkg, &request, &mut |_| true).expect("composes") {
        let score = &piece.score;
        let notes: Vec<_> = score.tracks.iter().flat_map(|t| &t.notes).collect();
        assert!(notes.len() > 20, "{}", piece.stats);
        assert!(notes.iter().all(|n| (48..=84).contains(&n.pitch)));
        let bars = score.bar_starts(score.end() + 1);
        for (i, start) in bars.iter().enumerate() {
            let end = bars.get(i + 1).copied().unwrap_or(u32::MAX);
            let onsets = notes
                .iter()
                .filter(|n| n.time >= *start && n.time < end)
                .count();
            assert!(onsets <= 4, "bar {i}: {onsets} notes");
        }
        for n in &notes {
            let sounding = notes
                .iter()
                .filter(|m| m.time <= n.time && m.end() > n.time)
                .count();
            assert!(sounding <= 2, "{sounding} notes sound at tick {}", n.time);
        }
    }
}

/// The 0-based bars in which the notes of `score` from `cut` on start.
fn onset_bars(score: &midigpt_midi::Score, cut: usize) -> Vec<usize> {
    let starts: Vec<u32> = score.bars().take(score.bar_count() + 1).collect();
    let mut bars: Vec<usize> = (score.tracks.iter().flat_map(|t| &t.notes))
        .map(|n| starts.iter().rposition(|&b| b <= n.time).unwrap())
        .filter(|&b| b >= cut)
        .collect();
    bars.sort();
    bars.dedup();
    bars
}

#[test]
fn a_continuation_is_as_many_bars_as_asked_after_any_cut_and_metre_change() {
    use midigpt_compose::{Ask, Prompt};
    use midigpt_midi::{Score, TimeSignature};
    let pkg = builtin();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/POP909_008.mid");
    let mut song = Score::from_file(path).unwrap();
    pkg.prompt_fit.apply(&mut song);
    // From bar 5 on, 2/4: the bars after the cut are half as long as before it.
    let at = song.bars().nth(4).unwrap();
    song.time_signatures.retain(|t| t.time < at);
    song.time_signatures.push(TimeSignature {
        time: at,
        numerator: 2,
        denominator: 4,
    });
    // A note played a hair before the bar lines the cuts fall on (the grid moves it into
    // the next bar, past the cut); and a cut after the song's opening bar of silence.
    let starts: Vec<u32> = song.bars().take(12).collect();
    for b in [6, 9] {
        let mut early = song.tracks[0].notes[0];
        early.time = starts[b] - 2;
        song.tracks[0].notes.push(early);
        song.tracks[0].notes.sort();
    }
    for (cut, bars) in [(6, 3), (9, 1), (1, 2)] {
        let ask = Ask {
            bars: Some(bars),
            seed: 5,
            ..Ask::default()
        };
        let prompt = Prompt {
            score: song.clone(),
            bars: Some(cut),
        };
        let request = ask.request(Some(prompt)).unwrap();
        let piece = compose(&pkg, &request, &mut |_| true).unwrap().remove(0);
        assert!(piece.stats.ended, "{}", piece.stats);
        let new = onset_bars(&piece.score, cut);
        assert_eq!(
            new.last().map(|&b| b + 1 - cut),
            Some(bars),
            "after bar {cut}, {bars} bars: notes start in bars {new:?} (0-based)"
        );
        assert_eq!(
            piece.score.bar_count(),
            cut + bars,
            "nothing rings past the end"
        );
        // With no instruments asked, the song's own go on, and no other. (The prompt's
        // score here is relabelled already, as compose relabels it.)
        let kept = request
            .prompt
            .as_ref()
            .unwrap()
            .instruments()
            .unwrap_or_default();
        let from = piece.score.bars().nth(cut).unwrap();
        for track in &piece.score.tracks {
            if track.notes.iter().any(|n| n.time >= from) {
                let program = track.program_or_drums();
                assert!(kept.contains(&program), "{kept:?}: {program}");
            }
        }
    }
}

/// A band: the vendored song's parts, a bass under them and a drum kit.
fn band() -> midigpt_midi::Score {
    use midigpt_midi::{Note, Score, Track};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/POP909_008.mid");
    let mut song = Score::from_file(path).unwrap();
    let tpq = song.ticks_per_quarter as u32;
    let bars = song.bar_count() as u32;
    let note = |time, pitch| Note {
        time,
        duration: tpq / 2,
        pitch,
        velocity: 90,
    };
    let beats = 0..bars * 4;
    song.tracks.push(Track {
        name: "bass".into(),
        program: 33,
        notes: beats
            .clone()
            .step_by(2)
            .map(|b| note(b * tpq, 36))
            .collect(),
        ..Track::default()
    });
    song.tracks.push(Track {
        name: "drums".into(),
        is_drum: true,
        notes: beats
            .map(|b| note(b * tpq, if b % 2 == 0 { 36 } else { 38 }))
            .collect(),
        ..Track::default()
    });
    song
}

#[test]
fn a_band_song_is_continued_for_the_bars_asked_or_says_why_not() {
    use midigpt_compose::{Ask, Prompt};
    let pkg = builtin();
    let song = band();
    let continue_with = |instruments: Vec<String>| {
        let ask = Ask {
            bars: Some(4),
            seed: 2,
            instruments,
            ..Ask::default()
        };
        let prompt = Prompt {
            score: song.clone(),
            bars: Some(8),
        };
        let request = ask.request(Some(prompt)).unwrap();
        compose(&pkg, &request, &mut |_| true).unwrap().remove(0)
    };
    // The piano, which the model knows: exactly four bars.
    let piece = continue_with(vec!["piano".into()]);
    assert_eq!(piece.stats.warning, None, "{}", piece.stats);
    assert_eq!(
        onset_bars(&piece.score, 8).last(),
        Some(&11),
        "{}",
        piece.stats
    );
    // The song's own instruments, bass and drums included, which this model never heard:
    // four bars, or a warning that says what happened; never a short piece said to be done.
    let piece = continue_with(Vec::new());
    let written = onset_bars(&piece.score, 8).last().map_or(0, |&b| b + 1 - 8);
    assert!(
        written == 4 || piece.stats.warning.is_some(),
        "{written} bars: {}",
        piece.stats
    );
}

#[test]
fn the_tempo_drifts_by_a_step_a_bar_at_most() {
    use midigpt_compose::{Ask, TempoChanges};
    use midigpt_tokenize::TokenKind;
    let pkg = builtin();
    let mut bins: Vec<f64> = (pkg.tokenizer.table().iter())
        .filter_map(|(_, k)| match k {
            TokenKind::Tempo(t) => Some(t),
            _ => None,
        })
        .collect();
    bins.sort_by(f64::total_cmp);
    let bin = |qpm: f64| {
        (0..bins.len())
            .min_by(|&a, &b| (bins[a] - qpm).abs().total_cmp(&(bins[b] - qpm).abs()))
            .unwrap()
    };
    for seed in 0..3 {
        let ask = Ask {
            bars: Some(16),
            seed,
            ..Ask::default()
        };
        let request = ask.request(None).unwrap();
        assert_eq!(request.controls.tempo_changes, TempoChanges::Gradual);
        let piece = compose(&pkg, &request, &mut |_| true).unwrap().remove(0);
        let score = &piece.score;
        let mut changes: Vec<(u32, usize)> = Vec::new();
        for t in &score.tempos {
            match changes.last_mut() {
                Some(last) if last.0 == t.time => last.1 = bin(t.qpm()),
                Some(last) if last.1 == bin(t.qpm()) => {}
                _ => changes.push((t.time, bin(t.qpm()))),
            }
        }
        let starts: Vec<u32> = score.bars().collect();
        let bar_of = |tick: u32| starts.iter().filter(|&&s| s <= tick).count();
        for w in changes.windows(2) {
            assert!(
                w[0].1.abs_diff(w[1].1) <= 1,
                "seed {seed}: a jump from {} to {} BPM",
                bins[w[0].1],
                bins[w[1].1]
            );
            assert_ne!(
                bar_of(w[0].0),
                bar_of(w[1].0),
                "seed {seed}: two changes in a bar"
            );
        }
    }
}
