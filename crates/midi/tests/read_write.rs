//! Reading real files, refusing corrupted ones, and write → read round trips.

use std::path::{Path, PathBuf};

use midigpt_midi::{MidiError, Note, Score, Tempo, TimeSignature, Track};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tokenize/tests/data/midi")
        .join(name)
}

#[test]
fn reads_a_multitrack_file_by_symusics_rules() {
    let score = Score::from_file(fixture("Funkytown.mid")).expect("loads");
    assert_eq!(score.ticks_per_quarter, 192);
    assert_eq!(score.tracks.len(), 9);
    let drums: Vec<&Track> = score.tracks.iter().filter(|t| t.is_drum).collect();
    assert_eq!(drums.len(), 1);
    assert_eq!(drums[0].notes.len(), 1807);
    assert_eq!(score.tracks[0].program, 87);
    assert_eq!(
        score.tempos,
        vec![Tempo {
            time: 0,
            mspq: 480_000
        }]
    );
}

#[test]
fn corrupted_files_give_errors_naming_the_problem() {
    for name in [
        "corrupted/ValueError_Control168.mid",
        "corrupted/PiDamaged.mid",
    ] {
        match Score::from_file(fixture(name)) {
            Err(MidiError::Malformed(message)) => {
                assert!(message.contains("track"), "{name}: {message}")
            }
            other => panic!("{name}: expected a malformed-file error, got {other:?}"),
        }
    }
    assert!(matches!(
        Score::from_bytes(b"not a midi file"),
        Err(MidiError::Malformed(_))
    ));
    assert!(matches!(
        Score::from_bytes(b""),
        Err(MidiError::Malformed(_))
    ));
    assert!(matches!(
        Score::from_bytes(b"RIFF\x04\x00\x00\x00RMID"),
        Err(MidiError::BadRiff)
    ));
}

#[test]
fn truncated_files_never_panic() {
    let bytes = std::fs::read(fixture("Funkytown.mid")).expect("fixture");
    for cut in (0..bytes.len()).step_by(97) {
        let _ = Score::from_bytes(&bytes[..cut]);
    }
}

#[test]
fn riff_wrapped_files_are_unwrapped() {
    let score = Score::from_file(fixture("Beethoven.rmi")).expect("loads");
    assert!(score.note_count() > 1000);
}

#[test]
fn zero_length_and_overlapping_notes_follow_symusic() {
    let score = Score::from_file(fixture("zero_overlap.mid")).expect("loads");
    let notes = &score.tracks[0].notes;
    assert!(
        notes.iter().any(|n| n.duration == 0),
        "zero-length notes are kept"
    );
}

#[test]
fn a_real_file_survives_a_write_read_round_trip() {
    let score = Score::from_file(fixture("POP909_008.mid")).expect("loads");
    let again = Score::from_bytes(&score.to_bytes().expect("writes")).expect("reads back");
    assert_eq!(again.ticks_per_quarter, score.ticks_per_quarter);
    assert_eq!(again.tempos, score.tempos);
    assert_eq!(again.time_signatures, score.time_signatures);
    let notes = |s: &Score| s.tracks.iter().map(|t| t.notes.clone()).collect::<Vec<_>>();
    assert_eq!(notes(&again), notes(&score));
}

#[test]
fn write_file_is_atomic_and_leaves_no_temporary() {
    let dir = std::env::temp_dir().join(format!("midigpt-midi-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("out.mid");
    Score::from_file(fixture("Clementi.mid"))
        .expect("loads")
        .write_file(&path)
        .expect("writes");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names, vec!["out.mid".to_string()]);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

fn arb_score() -> impl Strategy<Value = Score> {
    let note = (0u32..5000, 1u32..500, 0u8..128, 1u8..128).prop_map(
        |(time, duration, pitch, velocity)| Note {
            time,
            duration,
            pitch,
            velocity,
        },
    );
    let track = (0u8..128, any::<bool>(), prop::collection::vec(note, 1..40)).prop_map(
        |(program, is_drum, mut notes)| {
            notes.sort_by_key(|n| n.time);
            Track {
                name: "t".into(),
                program: if is_drum { 0 } else { program },
                is_drum,
                notes,
            }
        },
    );
    (
        1u16..2000,
        prop::collection::vec(track, 0..4),
        200_000u32..1_500_000,
    )
        .prop_map(|(tpq, tracks, mspq)| Score {
            ticks_per_quarter: tpq,
            tempos: vec![Tempo { time: 0, mspq }],
            time_signatures: vec![TimeSignature {
                time: 0,
                numerator: 3,
                denominator: 4,
            }],
            tracks,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Without same-pitch overlaps (which MIDI cannot tell apart), writing then reading gives
    /// back every note.
    #[test]
    fn write_then_read_keeps_every_note(score in arb_score()) {
        let mut score = score;
        for track in &mut score.tracks {
            // Drop notes overlapping an earlier note of the same pitch.
            let mut kept: Vec<Note> = Vec::new();
            for n in track.notes.drain(..) {
                if !kept.iter().any(|k| k.pitch == n.pitch && k.end() > n.time) {
                    kept.push(n);
                }
            }
            track.notes = kept;
        }
        let again = Score::from_bytes(&score.to_bytes().expect("writes")).expect("reads");
        let key = |s: &Score| {
            let mut v: Vec<(bool, u8, Note)> = s.tracks.iter().flat_map(|t| t.notes.iter().map(move |n| (t.is_drum, if t.is_drum { 0 } else { t.program }, *n))).collect();
            v.sort();
            v
        };
        prop_assert_eq!(key(&again), key(&score));
        prop_assert_eq!(again.tempos, score.tempos);
    }
}

#[test]
fn seconds_follow_tempo_changes_and_pitch_range_spans_all_tracks() {
    let mut score = Score::new(480);
    // 120 bpm (the default) for the first 2 quarters, then 60 bpm.
    score.tempos.push(Tempo {
        time: 960,
        mspq: 1_000_000,
    });
    assert_eq!(score.seconds_at(0), 0.0);
    assert!((score.seconds_at(960) - 1.0).abs() < 1e-12);
    assert!((score.seconds_at(1920) - 3.0).abs() < 1e-12);
    // Out-of-order tempos (as a decoder may leave them) are read in time order.
    score.tempos.insert(
        0,
        Tempo {
            time: 1920,
            mspq: 250_000,
        },
    );
    assert!((score.seconds_at(2880) - 3.5).abs() < 1e-12);
    assert_eq!(score.pitch_range(), None);
    let note = |pitch| Note {
        time: 0,
        duration: 10,
        pitch,
        velocity: 64,
    };
    for pitches in [[60, 72], [40, 65]] {
        score.tracks.push(Track {
            notes: pitches.iter().map(|&p| note(p)).collect(),
            ..Track::default()
        });
    }
    assert_eq!(score.pitch_range(), Some((40, 72)));
}

#[test]
fn files_larger_than_a_midi_file_can_be_are_refused_unread() {
    let dir = tempfile::tempdir().expect("tmp");
    let huge = dir.path().join("huge.mid");
    // Sparse: one byte past the limit costs no disk.
    let file = std::fs::File::create(&huge).expect("create");
    file.set_len(midigpt_midi::MAX_FILE_BYTES + 1)
        .expect("size");
    match Score::from_file(&huge) {
        Err(MidiError::TooLarge { bytes, max, .. }) => {
            assert_eq!((bytes, max), (64 << 20 | 1, 64 << 20));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let text = Score::from_file(&huge).unwrap_err().to_string();
    assert!(
        text.contains("huge.mid") && text.contains("64 MiB"),
        "{text}"
    );
    // A file at the limit is read (and then refused as MIDI, being zeros).
    file.set_len(midigpt_midi::MAX_FILE_BYTES).expect("size");
    assert!(matches!(
        Score::from_file(&huge),
        Err(MidiError::Malformed(_))
    ));
}
