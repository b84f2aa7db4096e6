//! WAV rendering: the file's format and length, silence where the score is silent, no
//! clipping, drums, the tempo map, and (when one is installed) a SoundFont.

use std::path::{Path, PathBuf};

use midigpt_midi::{Note, Score, Tempo, Track};
use midigpt_render::{find_soundfont, render_samples, render_wav, RenderOptions, Synth};

const RATE: usize = 44_100;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tokenize/tests/data/midi")
        .join(name)
}

fn builtin() -> RenderOptions {
    RenderOptions {
        synth: Synth::Builtin,
        ..Default::default()
    }
}

fn track(program: u8, is_drum: bool, notes: &[(u32, u32, u8)]) -> Track {
    let notes = notes
        .iter()
        .map(|&(time, duration, pitch)| Note {
            time,
            duration,
            pitch,
            velocity: 100,
        })
        .collect();
    Track {
        program,
        is_drum,
        notes,
        ..Default::default()
    }
}

/// Root mean square of both channels over frames `from..to`.
fn rms(samples: &[f32], from: usize, to: usize) -> f32 {
    let part = &samples[2 * from..2 * to];
    (part.iter().map(|v| v * v).sum::<f32>() / part.len() as f32).sqrt()
}

/// Reads a WAV file: its spec and samples.
fn read_wav(path: &Path) -> (hound::WavSpec, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).expect("a WAV file");
    let samples = reader
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    (reader.spec(), samples)
}

#[test]
fn a_song_renders_to_44k_16_bit_stereo_of_its_length_without_clipping() {
    let score = Score::from_file(fixture("POP909_008.mid")).expect("fixture");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("song.wav");
    render_wav(&score, &builtin(), &path).expect("renders");

    let (spec, samples) = read_wav(&path);
    assert_eq!(
        (spec.sample_rate, spec.bits_per_sample, spec.channels),
        (44_100, 16, 2)
    );
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    let seconds = samples.len() as f64 / 2.0 / RATE as f64;
    let expected = score.seconds_at(score.end()) + 1.0;
    assert!(
        (seconds - expected).abs() < 0.005,
        "{seconds} s of audio for {expected} s of score"
    );
    // Peak-normalised to -1 dBFS: the loudest sample is there, none at full scale.
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    let target = (0.891 * 32767.0) as u16;
    assert!(peak.abs_diff(target) < 50, "peak {peak}");
    // Nothing left beside the file.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
}

#[test]
fn silence_between_notes_is_silent() {
    // At 120 quarters per minute: notes in the first second, then nothing until 8 s.
    let mut score = Score::new(480);
    score.tracks = vec![
        track(0, false, &[(0, 480, 60), (7680, 480, 64)]),
        track(48, false, &[(0, 960, 48), (7680, 480, 52)]),
        track(89, false, &[(0, 960, 72)]),
        track(33, false, &[(0, 480, 36), (7680, 480, 40)]),
        track(
            0,
            true,
            &[(0, 120, 36), (480, 120, 38), (240, 60, 42), (7680, 120, 36)],
        ),
    ];
    let samples = render_samples(&score, &builtin()).expect("renders");
    assert!(rms(&samples, 0, RATE / 2) > 0.01, "the first notes sound");
    assert!(
        rms(&samples, 8 * RATE, 8 * RATE + RATE / 4) > 0.01,
        "the last notes sound"
    );
    // Every release (the pad's 0.8 s is the longest) and drum ring is over by 4 s.
    assert!(
        rms(&samples, 4 * RATE, 8 * RATE - 10) < 1e-6,
        "the gap is silent"
    );
    assert!(samples.iter().all(|v| v.abs() < 1.0));
}

#[test]
fn drums_alone_make_sound() {
    let mut score = Score::new(480);
    let kit: Vec<_> = (35..=81)
        .map(|key| ((key - 35) * 240, 120, key as u8))
        .collect();
    score.tracks = vec![track(0, true, &kit)];
    let samples = render_samples(&score, &builtin()).expect("renders");
    for (i, &(time, _, key)) in kit.iter().enumerate() {
        let from = time as usize * RATE / 960;
        assert!(
            rms(&samples, from, from + RATE / 20) > 1e-3,
            "drum {key} (hit {i})"
        );
    }
}

#[test]
fn notes_start_where_the_tempo_map_puts_them() {
    // Two beats at 120 (1 s), then 60 quarters per minute: tick 1920 is at 3 s, not 2 s.
    let mut score = Score::new(480);
    score.tempos = vec![
        Tempo {
            time: 0,
            mspq: 500_000,
        },
        Tempo {
            time: 960,
            mspq: 1_000_000,
        },
    ];
    score.tracks = vec![track(16, false, &[(1920, 480, 69)])];
    let samples = render_samples(&score, &builtin()).expect("renders");
    let first = samples.iter().position(|v| *v != 0.0).expect("sound") / 2;
    assert!(first.abs_diff(3 * RATE) <= 1, "onset at frame {first}");
    let frames = samples.len() / 2;
    assert_eq!(frames, 5 * RATE, "3 s, one beat of 1 s, and the 1 s tail");
}

#[test]
fn an_empty_score_is_one_second_of_silence() {
    let samples = render_samples(&Score::new(480), &builtin()).expect("renders");
    assert_eq!(samples.len(), 2 * RATE);
    assert!(samples.iter().all(|v| *v == 0.0));
}

#[test]
fn bad_options_and_missing_soundfonts_are_errors() {
    let score = Score::new(480);
    let slow = RenderOptions {
        sample_rate: 8_000,
        ..builtin()
    };
    assert!(render_samples(&score, &slow).is_err());
    let missing = RenderOptions {
        synth: Synth::SoundFont("/nonexistent/font.sf2".into()),
        ..Default::default()
    };
    let err = render_samples(&score, &missing).expect_err("no such file");
    assert!(err.to_string().contains("/nonexistent/font.sf2"), "{err}");
}

#[test]
fn the_memory_bound_shrinks_with_the_sample_rate() {
    // Ten minutes at 120 qpm (the default tempo): within the 30 minutes allowed at 44.1 kHz,
    // past the 6.9 minutes allowed at 192 kHz, refused before any sample is allocated.
    let mut score = Score::new(480);
    let ten_minutes = 10 * 60 * 2 * 480;
    score
        .tracks
        .push(track(0, false, &[(ten_minutes - 480, 480, 60)]));
    let fast = RenderOptions {
        sample_rate: 192_000,
        ..builtin()
    };
    let err = render_samples(&score, &fast).expect_err("too long at 192 kHz");
    let text = err.to_string();
    assert!(
        text.contains("601 s") && text.contains("192000 Hz") && text.contains("lower sample rate"),
        "{text}"
    );
}

#[test]
fn a_soundfont_renders_when_one_is_installed() {
    let Some(font) = find_soundfont() else {
        eprintln!(
            "skipped: no SoundFont found (install fluid-soundfont-gm or set MIDIGPT_SOUNDFONT)"
        );
        return;
    };
    let score = Score::from_file(fixture("POP909_008.mid")).expect("fixture");
    let options = RenderOptions {
        synth: Synth::SoundFont(font),
        ..Default::default()
    };
    let samples = render_samples(&score, &options).expect("renders");
    let frames = samples.len() / 2;
    let expected = (score.seconds_at(score.end()) + 1.0) * RATE as f64;
    assert!((frames as f64 - expected).abs() < 0.005 * RATE as f64);
    assert!(rms(&samples, 0, frames) > 0.01);
    assert!(samples.iter().all(|v| v.abs() < 0.9));
}
