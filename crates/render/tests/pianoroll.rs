//! Piano-roll pictures: they decode as PNG, at the size asked for or a sensible one.

use std::path::{Path, PathBuf};

use midigpt_midi::{Note, Score, Track};
use midigpt_render::{pianoroll_png, PianorollOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tokenize/tests/data/midi")
        .join(name)
}

/// Width, height and RGB pixels of a PNG file.
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).expect("png file"));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png data");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Pixels that are clearly coloured (not white, grey or black): notes and swatches.
fn coloured(rgb: &[u8]) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| {
            let (max, min) = (p.iter().max().unwrap_or(&0), p.iter().min().unwrap_or(&0));
            max - min > 60
        })
        .count()
}

#[test]
fn a_song_draws_at_the_size_asked_for() {
    let score = Score::from_file(fixture("POP909_008.mid")).expect("fixture");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("song.png");
    let options = PianorollOptions {
        width: Some(1200),
        height: 600,
        title: "POP909_008.mid".into(),
        ..Default::default()
    };
    assert_eq!(
        pianoroll_png(&score, &options, &path).expect("draws"),
        (1200, 600)
    );
    let (width, height, rgb) = decode(&path);
    assert_eq!((width, height), (1200, 600));
    assert!(coloured(&rgb) > 5_000, "notes are drawn");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
}

#[test]
fn default_size_widens_for_long_songs_within_a_cap() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("roll.png");
    let song = |bars: u32| {
        let mut score = Score::new(480);
        let notes = (0..bars * 4)
            .map(|i| Note {
                time: i * 480,
                duration: 240,
                pitch: 60 + (i % 12) as u8,
                velocity: 30 + (i % 90) as u8,
            })
            .collect();
        let drums = (0..bars * 4)
            .map(|i| Note {
                time: i * 480,
                duration: 60,
                pitch: [36, 42, 38, 42][i as usize % 4],
                velocity: 100,
            })
            .collect();
        score.tracks = vec![
            Track {
                name: "Lead".into(),
                program: 81,
                notes,
                ..Default::default()
            },
            Track {
                is_drum: true,
                notes: drums,
                ..Default::default()
            },
        ];
        score
    };
    let options = PianorollOptions::default();
    assert_eq!(
        pianoroll_png(&song(16), &options, &path).expect("draws"),
        (1600, 800)
    );
    let (width, _) = pianoroll_png(&song(200), &options, &path).expect("draws");
    assert!(width > 2000 && width <= 4800, "{width}");
    let (width, _) = pianoroll_png(&song(2000), &options, &path).expect("draws");
    assert_eq!(width, 4800);
    assert_eq!(decode(&path).0, 4800);
}

#[test]
fn empty_scores_draw_and_absurd_sizes_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("empty.png");
    let score = Score::new(480);
    let options = PianorollOptions::default();
    assert_eq!(
        pianoroll_png(&score, &options, &path).expect("draws"),
        (1600, 800)
    );
    let tiny = PianorollOptions {
        width: Some(10),
        ..Default::default()
    };
    assert!(pianoroll_png(&score, &tiny, &path).is_err());
}
