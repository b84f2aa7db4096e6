//! Each control in isolation masks exactly what it should, and they compose.

use midigpt_compose::{Control, Controls, Length, Request};
use midigpt_tokenize::{builtin, TokenId, Tokenizer};

/// The tokens left allowed after `tokens` (names; the generated part starts after the first
/// `new_from`) by the constraints of `controls` (and the grammar when `grammar`).
fn allowed(
    tokenizer: &dyn Tokenizer,
    controls: &Controls,
    grammar: bool,
    tokens: &[&str],
    new_from: usize,
) -> (Vec<String>, Vec<f32>) {
    let vocab = tokenizer.vocab();
    let ids: Vec<TokenId> = tokens.iter().map(|t| vocab.id(t).unwrap()).collect();
    let mut list = if grammar {
        let request = Request {
            controls: controls.clone(),
            ..Request::default()
        };
        request.constraints(tokenizer).unwrap()
    } else {
        controls.constraints(tokenizer).unwrap()
    };
    let mut logits = vec![0.0f32; vocab.len()];
    // Feed them token by token, as generation does, so stateful ones keep up.
    for n in new_from.max(1)..=ids.len() {
        logits = vec![0.0f32; vocab.len()];
        for c in list.iter_mut() {
            c.apply(&ids[..n], new_from, &mut logits);
        }
    }
    let names = (0..vocab.len())
        .filter(|&i| logits[i].is_finite())
        .map(|i| vocab.token(i as TokenId).unwrap().to_string())
        .collect();
    (names, logits)
}

fn remi_plus() -> Box<dyn Tokenizer> {
    builtin("remi-plus").unwrap()
}

fn of_kind<'a>(names: &'a [String], kind: &str) -> Vec<&'a str> {
    names
        .iter()
        .filter(|n| n.split('_').next() == Some(kind))
        .map(String::as_str)
        .collect()
}

const START: [&str; 4] = ["BOS_None", "Bar_None", "TimeSig_4/4", "Position_0"];

#[test]
fn instruments_allow_only_the_chosen_programs_each_once_first() {
    let t = remi_plus();
    let controls = Controls {
        instruments: Some(vec![0, 33, -1]),
        ..Controls::default()
    };
    let (names, _) = allowed(t.as_ref(), &controls, false, &START, 1);
    let mut programs = of_kind(&names, "Program");
    programs.sort();
    assert_eq!(programs, ["Program_-1", "Program_0", "Program_33"]);
    // Everything else is untouched.
    let all_programs = of_kind(t.vocab().tokens(), "Program").len();
    assert_eq!(names.len(), t.vocab().len() - all_programs + 3);
    // Piano has played: the others come first.
    let after_piano = [
        &START[..],
        &["Program_0", "Pitch_60", "Velocity_63", "Duration_1.0.8"],
    ]
    .concat();
    let (names, _) = allowed(t.as_ref(), &controls, false, &after_piano, 1);
    let mut programs = of_kind(&names, "Program");
    programs.sort();
    assert_eq!(programs, ["Program_-1", "Program_33"]);
    // ... and right after the note: nothing but them.
    assert_eq!(names, ["Program_33", "Program_-1"]);
    // A prompt's programs do not count: the same tokens as prompt leave all three.
    let (names, _) = allowed(
        t.as_ref(),
        &controls,
        false,
        &after_piano,
        after_piano.len(),
    );
    assert_eq!(of_kind(&names, "Program").len(), 3);
}

#[test]
fn tempo_is_forced_at_the_first_position_then_held() {
    let t = remi_plus();
    let controls = Controls {
        tempo: Some(100.0),
        ..Controls::default()
    };
    let (names, _) = allowed(t.as_ref(), &controls, false, &START, 1);
    assert_eq!(names.len(), 1, "{names:?}");
    let tempo: f64 = names[0].strip_prefix("Tempo_").unwrap().parse().unwrap();
    let all: Vec<f64> = t
        .vocab()
        .tokens()
        .iter()
        .filter_map(|n| n.strip_prefix("Tempo_")?.parse().ok())
        .collect();
    assert!(all
        .iter()
        .all(|x| (x - 100.0).abs() >= (tempo - 100.0).abs()));
    let held = [&START[..], &[names[0].as_str(), "Program_0"]].concat();
    let (after, _) = allowed(t.as_ref(), &controls, false, &held, 1);
    assert!(
        of_kind(&after, "Tempo").is_empty(),
        "held: no other tempo token"
    );
    assert_eq!(after.len(), t.vocab().len() - all.len());
    // Before the first position, only the other tempos are forbidden.
    let (early, _) = allowed(t.as_ref(), &controls, false, &START[..3], 1);
    assert_eq!(of_kind(&early, "Tempo"), [names[0].as_str()]);
}

#[test]
fn a_new_piece_opens_at_position_0_with_a_tempo_the_model_draws() {
    let t = remi_plus();
    let none = Controls::default();
    let positions = |names: &[String]| of_kind(names, "Position").len();
    // Before the first position: only Position_0 of the positions.
    let (opening, _) = allowed(t.as_ref(), &none, true, &START[..3], 1);
    assert_eq!(of_kind(&opening, "Position"), ["Position_0"]);
    // At it: every tempo and nothing else.
    let (at, _) = allowed(t.as_ref(), &none, true, &START, 1);
    let tempos = t.vocab().tokens().iter();
    let tempos = tempos.filter(|n| n.starts_with("Tempo_")).count();
    assert!(tempos > 1);
    assert_eq!(of_kind(&at, "Tempo").len(), tempos);
    assert_eq!(at.len(), tempos, "{at:?}");
    // After the tempo, and in a prompt that opened the piece itself, nothing more.
    let tempo = of_kind(&at, "Tempo")[0].to_string();
    let after = [&START[..], &[tempo.as_str()]].concat();
    let (free, _) = allowed(t.as_ref(), &none, true, &after, 1);
    assert!(positions(&free) > 1 && !of_kind(&free, "Program").is_empty());
    // A prompt that set its first position itself keeps it as it is.
    let (prompted, _) = allowed(t.as_ref(), &none, true, &START, 4);
    assert!(!of_kind(&prompted, "Program").is_empty(), "{prompted:?}");
}

#[test]
fn metre_holds_its_time_signature_and_positions_inside_the_bar() {
    let t = remi_plus();
    let controls = Controls {
        time_signature: Some((3, 4)),
        ..Controls::default()
    };
    let (names, _) = allowed(t.as_ref(), &controls, true, &["BOS_None", "Bar_None"], 1);
    assert_eq!(
        names,
        ["EOS_None", "TimeSig_3/4"],
        "the grammar lets a piece end anywhere"
    );
    // Without the grammar, whose opening asks for Position_0.
    let (names, _) = allowed(
        t.as_ref(),
        &controls,
        false,
        &["BOS_None", "Bar_None", "TimeSig_3/4"],
        1,
    );
    let positions = of_kind(&names, "Position");
    // Eight positions a beat, three beats.
    assert_eq!(positions.len(), 24, "{positions:?}");
    assert!(positions.contains(&"Position_23") && !positions.contains(&"Position_24"));
}

#[test]
fn bars_forbid_the_end_before_and_turn_the_next_bar_into_the_end() {
    let t = remi_plus();
    let controls = Controls {
        length: Some(Length::Bars(2)),
        ..Controls::default()
    };
    let one = [
        &START[..],
        &["Program_0", "Pitch_60", "Velocity_63", "Duration_1.0.8"],
    ]
    .concat();
    let (names, _) = allowed(t.as_ref(), &controls, false, &one, 1);
    assert!(names.contains(&"Bar_None".into()) && !names.contains(&"EOS_None".into()));
    let two = [
        &one[..],
        &[
            "Bar_None",
            "TimeSig_4/4",
            "Position_0",
            "Program_0",
            "Pitch_62",
            "Velocity_63",
            "Duration_1.0.8",
        ],
    ]
    .concat();
    let (names, logits) = allowed(t.as_ref(), &controls, false, &two, 1);
    assert!(!names.contains(&"Bar_None".into()) && names.contains(&"EOS_None".into()));
    let eos = t.vocab().eos().unwrap() as usize;
    assert_eq!(
        logits[eos], 0.0,
        "the end token carries the bar's probability, no more"
    );
    // And no position past the 4/4 bar line (32 positions at 8 a beat).
    let beyond = (t.vocab().tokens().iter())
        .filter(|n| {
            n.strip_prefix("Position_")
                .is_some_and(|p| p.parse::<u32>().unwrap() >= 32)
        })
        .count();
    assert!(beyond > 0);
    assert_eq!(names.len(), t.vocab().len() - 1 - beyond);
}

#[test]
fn seconds_end_at_the_bar_line_that_reaches_them() {
    let t = remi_plus();
    let controls = Controls {
        length: Some(Length::Seconds(3.0)),
        ..Controls::default()
    };
    // No tempo token: 120 quarters a minute, a 4/4 bar is 2 s.
    let bar = [
        "Bar_None",
        "TimeSig_4/4",
        "Position_0",
        "Program_0",
        "Pitch_60",
        "Velocity_63",
        "Duration_1.0.8",
    ];
    let one = [&["BOS_None"][..], &bar[..]].concat();
    let (names, _) = allowed(t.as_ref(), &controls, false, &one, 1);
    assert!(!names.contains(&"EOS_None".into()), "2 s is not 3 s");
    let two = [&one[..], &bar[..]].concat();
    let (names, _) = allowed(t.as_ref(), &controls, false, &two, 1);
    assert!(names.contains(&"EOS_None".into()) && !names.contains(&"Bar_None".into()));
}

#[test]
fn notes_per_bar_leave_only_a_new_bar_once_full() {
    let t = remi_plus();
    let controls = Controls {
        max_notes_per_bar: Some(2),
        ..Controls::default()
    };
    let note = ["Program_0", "Pitch_60", "Velocity_63", "Duration_1.0.8"];
    let one = [&START[..], &note[..]].concat();
    let (names, _) = allowed(t.as_ref(), &controls, true, &one, 1);
    assert!(names.contains(&"Pitch_60".into()) || names.contains(&"Program_0".into()));
    let two = [&one[..], &note[..]].concat();
    let (names, _) = allowed(t.as_ref(), &controls, true, &two, 1);
    assert_eq!(names, ["EOS_None", "Bar_None"]);
}

#[test]
fn polyphony_keeps_notes_and_positions_where_too_many_sound() {
    let t = remi_plus();
    let controls = Controls {
        max_polyphony: Some(1),
        ..Controls::default()
    };
    // A note two beats long (16 positions) at position 0.
    let long = [
        &START[..],
        &["Program_0", "Pitch_60", "Velocity_63", "Duration_2.0.8"],
    ]
    .concat();
    let (names, _) = allowed(t.as_ref(), &controls, true, &long, 1);
    let positions = of_kind(&names, "Position");
    assert!(of_kind(&names, "Program").is_empty(), "{names:?}");
    assert_eq!(positions.first(), Some(&"Position_16"));
    assert!(names.contains(&"Bar_None".into()));
}

#[test]
fn pitch_range_forbids_pitches_outside_only() {
    let t = remi_plus();
    let controls = Controls {
        pitch_range: Some((48, 72)),
        ..Controls::default()
    };
    let (names, _) = allowed(t.as_ref(), &controls, false, &START, 1);
    let pitches = of_kind(&names, "Pitch");
    assert_eq!(pitches.len(), 25);
    assert!(pitches.contains(&"Pitch_48") && pitches.contains(&"Pitch_72"));
    assert!(
        !of_kind(&names, "PitchDrum").is_empty(),
        "drum hits are no pitches"
    );
    // After the drums' program all drum hits stay; after a pitched one, a drum token would be
    // read as a pitch, so those outside the range go too.
    let after = |program: &str| {
        let tokens = [&START[..], &[program]].concat();
        let (names, _) = allowed(t.as_ref(), &controls, false, &tokens, 1);
        of_kind(&names, "PitchDrum").len()
    };
    let all = of_kind(t.vocab().tokens(), "PitchDrum").len();
    assert_eq!(after("Program_-1"), all);
    assert!(after("Program_0") < all);
    assert!(after("Program_0") > 0, "those within the range stay");
}

#[test]
fn controls_compose_with_the_grammar() {
    let t = remi_plus();
    let controls = Controls {
        instruments: Some(vec![33]),
        tempo: Some(100.0),
        time_signature: Some((3, 4)),
        length: Some(Length::Bars(1)),
        pitch_range: Some((30, 50)),
        ..Controls::default()
    };
    let (names, _) = allowed(t.as_ref(), &controls, true, &["BOS_None", "Bar_None"], 1);
    assert_eq!(names, ["TimeSig_3/4"]);
    let at = ["BOS_None", "Bar_None", "TimeSig_3/4", "Position_0"];
    let (names, _) = allowed(t.as_ref(), &controls, true, &at, 1);
    assert_eq!(names.len(), 1);
    let with_tempo = [&at[..], &[names[0].as_str()]].concat();
    let (names, _) = allowed(t.as_ref(), &controls, true, &with_tempo, 1);
    // Bass has not played yet: after the tempo, its note comes first.
    assert_eq!(names, ["Program_33"]);
    let (names, _) = allowed(
        t.as_ref(),
        &controls,
        true,
        &[&with_tempo[..], &["Program_33"]].concat(),
        1,
    );
    let note = [
        &with_tempo[..],
        &["Program_33", "Pitch_40", "Velocity_63", "Duration_1.0.8"],
    ]
    .concat();
    let (after, _) = allowed(t.as_ref(), &controls, true, &note, 1);
    assert!(
        after.contains(&"EOS_None".into()) && !after.contains(&"Bar_None".into()),
        "the end, where the next bar would start"
    );
    assert_eq!(
        of_kind(&names, "Pitch").len(),
        21,
        "Pitch_30..=50: {names:?}"
    );
}

#[test]
fn controls_a_tokenizer_cannot_express_are_clear_errors() {
    let remi = builtin("remi").unwrap();
    let plus = remi_plus();
    let midi_like = builtin("midi-like").unwrap();
    let cases: [(&dyn Tokenizer, Controls, &str); 4] = [
        (
            remi.as_ref(),
            Controls {
                instruments: Some(vec![0]),
                ..Controls::default()
            },
            "--instruments: this model's tokenizer has no Program tokens",
        ),
        (
            remi.as_ref(),
            Controls {
                tempo: Some(90.0),
                ..Controls::default()
            },
            "--tempo: this model's tokenizer has no Tempo tokens",
        ),
        (
            midi_like.as_ref(),
            Controls {
                length: Some(Length::Bars(4)),
                ..Controls::default()
            },
            "--bars: this model's tokenizer has no Bar and Position tokens",
        ),
        (
            plus.as_ref(),
            Controls {
                time_signature: Some((7, 4)),
                ..Controls::default()
            },
            "--time-signature: 7/4 is not among",
        ),
    ];
    for (tokenizer, controls, message) in cases {
        let err = controls.constraints(tokenizer).err().expect("refused");
        // Each front end names the control its own way: the command line by its option.
        let err = err.spelt(Control::flag);
        assert!(err.starts_with(message), "{err}");
    }
}
