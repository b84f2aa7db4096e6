//! `midigpt render` and `midigpt pianoroll` through the binary.

mod common;

use std::path::Path;

use common::midigpt_output as midigpt;

fn fixture() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tokenize/tests/data/midi/Clementi.mid");
    path.to_str().expect("utf-8 path").to_owned()
}

#[test]
fn render_writes_a_wav_as_long_as_the_song() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("clementi.wav");
    let (ok, text) = midigpt(&[
        "render",
        &fixture(),
        "--out",
        out.to_str().expect("utf-8"),
        "--builtin",
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("built-in synthesizer"), "{text}");

    let reader = hound::WavReader::open(&out).expect("a WAV file");
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.bits_per_sample, spec.channels),
        (44_100, 16, 2)
    );
    let score = midigpt_midi::Score::from_file(fixture()).expect("fixture");
    let seconds = reader.len() as f64 / 2.0 / 44_100.0;
    assert!(
        (seconds - score.seconds_at(score.end()) - 1.0).abs() < 0.005,
        "{seconds}"
    );
}

#[test]
fn pianoroll_writes_a_png_of_the_size_asked_for() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("clementi.png");
    let path = out.to_str().expect("utf-8");
    let (ok, text) = midigpt(&[
        "pianoroll",
        &fixture(),
        "--out",
        path,
        "--width",
        "900",
        "--height",
        "500",
    ]);
    assert!(ok, "{text}");
    let decoder = png::Decoder::new(std::fs::File::open(&out).expect("png"));
    let reader = decoder.read_info().expect("png header");
    assert_eq!((reader.info().width, reader.info().height), (900, 500));
}

#[test]
fn bad_input_is_an_error_not_a_crash() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("x.wav");
    let missing = tmp.path().join("missing.mid");
    let (ok, text) = midigpt(&[
        "render",
        missing.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(!ok && text.contains("missing.mid"), "{text}");
    let (ok, text) = midigpt(&[
        "render",
        &fixture(),
        "--out",
        out.to_str().expect("utf-8"),
        "--soundfont",
        "/nonexistent.sf2",
    ]);
    assert!(!ok && text.contains("nonexistent.sf2"), "{text}");
    assert!(!out.exists());
}
