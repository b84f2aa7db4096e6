//! Metrics of hand-made pieces whose values are worked out by hand (in the comments).

use midigpt_metrics::{cut_seconds, measure, Metric, MetricsConfig};
use midigpt_midi::{Note, Score, Track};

/// Ticks per quarter note of every test piece: a quarter is 12 steps of the metrics grid.
const Q: u32 = 480;

fn note(time: u32, duration: u32, pitch: u8) -> Note {
    Note {
        time,
        duration,
        pitch,
        velocity: 80,
    }
}

fn score(tracks: Vec<(bool, Vec<Note>)>) -> Score {
    let mut score = Score::new(Q as u16);
    for (is_drum, notes) in tracks {
        score.tracks.push(Track {
            is_drum,
            notes,
            ..Track::default()
        });
    }
    score
}

fn piano(notes: Vec<Note>) -> Score {
    score(vec![(false, notes)])
}

fn get(score: &Score, metric: Metric) -> f64 {
    measure(score, &MetricsConfig::default()).get(metric)
}

fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "{actual} != {expected} (expected)"
    );
}

/// C D E F G A B C, a quarter each, at 120 quarters per minute (the MIDI default).
fn c_major_scale() -> Score {
    let pitches = [60, 62, 64, 65, 67, 69, 71, 72];
    let notes = (0..8)
        .map(|i| note(i * Q, Q, pitches[i as usize]))
        .collect();
    piano(notes)
}

#[test]
fn c_major_scale_values() {
    let s = c_major_scale();
    close(get(&s, Metric::ScaleConsistency), 1.0);
    // C twice, six classes once: -(1/4 log2 1/4 + 6 · 1/8 log2 1/8) = 0.5 + 2.25.
    close(get(&s, Metric::PitchClassEntropy), 2.75);
    close(get(&s, Metric::PitchEntropy), 3.0);
    close(get(&s, Metric::PitchRange), 12.0);
    close(get(&s, Metric::NPitchClassesUsed), 7.0);
    close(get(&s, Metric::NPitchesUsed), 8.0);
    close(get(&s, Metric::Polyphony), 1.0);
    close(get(&s, Metric::PolyphonyRate), 0.0);
    // 96 steps: 9 beats (MusPy counts length // 12 + 1), each note covers its onset's beat
    // and its end's: all 9 covered.
    close(get(&s, Metric::EmptyBeatRate), 0.0);
    // 3 bars of 48 steps (96 // 48 + 1), onsets 0, 12, 24, 36 in bars 0 and 1, none in bar
    // 2: Hamming distances 0 and 4 over 2 · 48 positions.
    close(get(&s, Metric::GrooveConsistency), 1.0 - 4.0 / 96.0);
    // 8 notes in 4 s and 2 bars; every note a quarter; no bar comes back.
    close(get(&s, Metric::NotesPerSecond), 2.0);
    close(get(&s, Metric::NotesPerBar), 4.0);
    close(get(&s, Metric::MeanDuration), 1.0);
    close(get(&s, Metric::Structure), 0.0);
}

#[test]
fn chromatic_run_has_maximal_pitch_class_entropy() {
    let notes = (0..12)
        .map(|i| note(i * Q / 2, Q / 2, 60 + i as u8))
        .collect();
    let s = piano(notes);
    close(get(&s, Metric::PitchClassEntropy), 12f64.log2());
    // Any major or minor scale holds 7 of the 12.
    close(get(&s, Metric::ScaleConsistency), 7.0 / 12.0);
    close(get(&s, Metric::NPitchClassesUsed), 12.0);
    close(get(&s, Metric::MeanDuration), 0.5);
}

#[test]
fn polyphony_counts_pitches_not_notes() {
    let notes = vec![
        // A C major triad for a quarter, with its C doubled (a piano roll counts it once).
        note(0, Q, 60),
        note(0, Q, 64),
        note(0, Q, 67),
        note(0, Q / 2, 60),
        // A single note, then a fifth.
        note(Q, Q, 72),
        note(2 * Q, Q, 60),
        note(2 * Q, Q, 67),
    ];
    let s = piano(notes);
    // (3 · 12 + 1 · 12 + 2 · 12) pitch-steps over 36 sounding steps.
    close(get(&s, Metric::Polyphony), 2.0);
    // More than 2 pitches during the first 12 of 36 steps.
    close(get(&s, Metric::PolyphonyRate), 1.0 / 3.0);
}

#[test]
fn empty_beats_follow_muspy() {
    // A quarter at beat 0, an eighth at beat 5: 66 steps, so 6 beats; the first note covers
    // beats 0 and 1 (it ends on beat 1's first step), the second beat 5: 3 of 6 empty.
    let s = piano(vec![note(0, Q, 60), note(5 * Q, Q / 2, 62)]);
    close(get(&s, Metric::EmptyBeatRate), 0.5);
}

#[test]
fn drums_count_for_rhythm_not_for_pitch() {
    let mut s = c_major_scale();
    let drums = (0..16)
        .map(|i| note(i * Q / 2, Q / 4, 37 + (i % 3) as u8))
        .collect();
    s.tracks.push(Track {
        is_drum: true,
        notes: drums,
        ..Track::default()
    });
    close(get(&s, Metric::ScaleConsistency), 1.0);
    close(get(&s, Metric::PitchRange), 12.0);
    close(get(&s, Metric::Polyphony), 1.0);
    // Onsets every 6 steps in bars 0 and 1 now: bar 1 still differs from the empty bar 2 by
    // its 8 onsets.
    close(get(&s, Metric::GrooveConsistency), 1.0 - 8.0 / 96.0);
    close(get(&s, Metric::NotesPerSecond), 24.0 / 4.0);
}

#[test]
fn a_steady_groove_is_fully_consistent() {
    // Eighth notes on every beat of 4 bars: the last ends at step 186, so 4 bars of 48.
    let notes = (0..16).map(|i| note(i * Q, Q / 2, 60)).collect();
    close(get(&piano(notes), Metric::GrooveConsistency), 1.0);
}

/// A bar of ten sixteenths rising from `base`, with the note at `changed` (if any) a
/// semitone higher.
fn bar(index: u32, base: u8, changed: Option<u32>) -> Vec<Note> {
    (0..10)
        .map(|i| {
            let pitch = base + i as u8 + u8::from(changed == Some(i));
            note(index * 4 * Q + i * Q / 4, Q / 4, pitch)
        })
        .collect()
}

#[test]
fn structure_counts_bars_that_come_back() {
    // Bars: A B A A' C (silence) B D, where A' changes one note of A's ten: Jaccard 9/11.
    let mut notes = Vec::new();
    notes.extend(bar(0, 60, None));
    notes.extend(bar(1, 50, None));
    notes.extend(bar(2, 60, None));
    notes.extend(bar(3, 60, Some(4)));
    notes.extend(bar(4, 40, None));
    notes.extend(bar(6, 50, None));
    notes.extend(bar(7, 70, None));
    // A drum hit on every bar line repeats, but drums are left out.
    let drums = (0..8).map(|i| note(i * 4 * Q, Q / 4, 36)).collect();
    let s = score(vec![(false, notes), (true, drums)]);
    // 7 bars with notes; the second A, A' and the second B come back.
    close(get(&s, Metric::Structure), 3.0 / 7.0);
    let exact = MetricsConfig {
        structure_similarity: 1.0,
        ..MetricsConfig::default()
    };
    close(measure(&s, &exact).get(Metric::Structure), 2.0 / 7.0);
    let loose = MetricsConfig {
        structure_similarity: 0.5,
        ..MetricsConfig::default()
    };
    close(measure(&s, &loose).get(Metric::Structure), 3.0 / 7.0);
}

#[test]
fn no_notes_means_no_values() {
    let s = piano(Vec::new());
    let m = measure(&s, &MetricsConfig::default());
    for metric in Metric::ALL {
        let v = m.get(metric);
        let zero_counts = matches!(metric, Metric::NPitchClassesUsed | Metric::NPitchesUsed);
        assert!(v.is_nan() || (zero_counts && v == 0.0), "{metric:?} = {v}");
    }
    let json = serde_json::to_value(&m).unwrap();
    assert!(json["pitch_class_entropy"].is_null());
}

#[test]
fn cutting_to_seconds_keeps_the_start_and_clips_the_last_notes() {
    // 40 quarters (20 s at 120 per minute), each ringing for a half note.
    let s = piano((0..40).map(|i| note(i * Q, 2 * Q, 60)).collect());
    let cut = cut_seconds(&s, 10.0);
    let notes = &cut.tracks[0].notes;
    assert_eq!(notes.len(), 20);
    assert_eq!(notes.last().unwrap().end(), 20 * Q);
    assert_eq!(notes[0], s.tracks[0].notes[0]);
    let config = MetricsConfig {
        seconds: Some(10.0),
        ..MetricsConfig::default()
    };
    close(measure(&s, &config).get(Metric::NotesPerSecond), 2.0);
    assert_eq!(cut_seconds(&s, 100.0), s);
}

#[test]
fn bars_are_four_quarters_unless_asked_to_follow_time_signatures() {
    let mut s = c_major_scale();
    s.time_signatures.push(midigpt_midi::TimeSignature {
        time: 0,
        numerator: 2,
        denominator: 4,
    });
    close(get(&s, Metric::NotesPerBar), 4.0);
    let by_signature = MetricsConfig {
        bar_quarters: None,
        ..MetricsConfig::default()
    };
    let m = measure(&s, &by_signature);
    // Four bars of 2/4; onsets 0 and 12 in each of 4 bars of 24 steps, then an empty fifth
    // (96 // 24 + 1): one Hamming distance of 2 over 4 · 24 positions.
    close(m.get(Metric::NotesPerBar), 2.0);
    close(m.get(Metric::GrooveConsistency), 1.0 - 2.0 / 96.0);
}

#[test]
fn tempo_changes_jumps_and_one_tempo() {
    use midigpt_midi::Tempo;
    let at = |quarter: u32, qpm: u32| Tempo {
        time: quarter * Q,
        mspq: 60_000_000 / qpm,
    };
    // 16 quarters of notes. Tempos: 120 (twice at tick 0, the last wins: 100), 100 again at
    // quarter 4 (no change), 80 at 8 (a jump of 20), 120 at 12 (40), and 60 after the end
    // (not played). Seconds: 8 quarters at 100 (4.8 s), 4 at 80 (3 s), 4 at 120 (2 s).
    let mut piece = piano((0..16).map(|i| note(i * Q, Q, 60)).collect());
    piece.tempos = vec![
        at(0, 120),
        at(0, 100),
        at(4, 100),
        at(8, 80),
        at(12, 120),
        at(20, 60),
    ];
    close(
        get(&piece, Metric::TempoChangesPerMinute),
        2.0 / (9.8 / 60.0),
    );
    close(get(&piece, Metric::LargestTempoJump), 40.0);
    close(get(&piece, Metric::OneTempo), 0.0);
    // No tempo event: MIDI's 120 throughout.
    piece.tempos.clear();
    close(get(&piece, Metric::TempoChangesPerMinute), 0.0);
    close(get(&piece, Metric::LargestTempoJump), 0.0);
    close(get(&piece, Metric::OneTempo), 1.0);
    // No note: no meaning.
    assert!(get(&piano(Vec::new()), Metric::OneTempo).is_nan());
}
