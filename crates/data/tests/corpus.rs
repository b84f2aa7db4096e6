//! `prepare` on corpora as they come: copies of one file under other names, folders too small
//! for the default validation fraction, a validation file that cannot be encoded, and
//! out-of-range options.

use std::path::Path;

use midigpt_data::{fnv1a, prepare, split_of, DataError, Meta, NoProgress, PrepareOptions, Split};
use midigpt_midi::{Note, Score, Track};
use midigpt_tokenize::builtin;

/// A small piano score whose notes depend on `seed`.
fn song(seed: u32) -> Score {
    let mut score = Score::new(480);
    let notes = (0..8)
        .map(|i| Note {
            time: i * 240,
            duration: 240,
            pitch: (48 + (seed * 7 + i * 5) % 40) as u8,
            velocity: 80,
        })
        .collect();
    score.tracks.push(Track {
        notes,
        ..Default::default()
    });
    score
}

fn write(bytes: &[u8], path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn run(input: &Path, output: &Path, val_fraction: f64) -> Result<Meta, DataError> {
    let mut options = PrepareOptions::new(input, output);
    options.val_fraction = val_fraction;
    prepare(builtin("triplet").unwrap(), &options, &NoProgress)
}

/// Where `prepare` puts a file's content at `val_fraction`, and how close it is to the
/// other side (the top 53 bits of its hash, as `split_of` reads them).
fn unit(bytes: &[u8]) -> f64 {
    (fnv1a(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn copies_under_other_names_are_left_out_and_reported() {
    let input = tempfile::tempdir().unwrap();
    let songs: Vec<Vec<u8>> = (0..8).map(|i| song(i).to_bytes().unwrap()).collect();
    for (i, bytes) in songs.iter().enumerate() {
        write(bytes, &input.path().join(format!("b/song{i}.mid")));
    }
    // Three copies of song 0 (one sorting before the original), one of song 5.
    write(&songs[0], &input.path().join("a/first.mid"));
    write(&songs[0], &input.path().join("c/again.MID"));
    write(&songs[0], &input.path().join("c/deep/copy.midi"));
    write(&songs[5], &input.path().join("z/five.mid"));
    let out = tempfile::tempdir().unwrap();
    let meta = run(input.path(), out.path(), 0.3).unwrap();

    assert_eq!(meta.counts.files_found, 12);
    assert_eq!(meta.counts.files_duplicate, 4);
    assert_eq!(meta.counts.files_ok, 8);
    let duplicates: Vec<(&str, &str)> = meta
        .duplicates
        .iter()
        .map(|d| (d.path.as_str(), d.same_as.as_str()))
        .collect();
    assert_eq!(
        duplicates,
        [
            ("b/song0.mid", "a/first.mid"),
            ("c/again.MID", "a/first.mid"),
            ("c/deep/copy.midi", "a/first.mid"),
            ("z/five.mid", "b/song5.mid"),
        ]
    );
    // One document per distinct song, in the split its content hashes to.
    assert_eq!(meta.files.len(), 8);
    for entry in &meta.files {
        let bytes = std::fs::read(input.path().join(&entry.path)).unwrap();
        assert_eq!(entry.split, split_of(fnv1a(&bytes), 0.3), "{}", entry.path);
    }
    let on_disk: Meta =
        serde_json::from_slice(&std::fs::read(out.path().join("meta.json")).unwrap()).unwrap();
    assert_eq!(on_disk, meta);
}

#[test]
fn a_file_keeps_its_split_when_renamed() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for i in 0..10 {
        let bytes = song(i).to_bytes().unwrap();
        write(&bytes, &a.path().join(format!("song{i}.mid")));
        write(&bytes, &b.path().join(format!("renamed/{}.mid", 100 - i)));
    }
    let (out_a, out_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let splits = |meta: &Meta, root: &Path| -> Vec<(Vec<u8>, Split)> {
        let mut splits: Vec<_> = meta
            .files
            .iter()
            .map(|f| (std::fs::read(root.join(&f.path)).unwrap(), f.split))
            .collect();
        splits.sort_by(|a, b| a.0.cmp(&b.0));
        splits
    };
    let meta_a = run(a.path(), out_a.path(), 0.3).unwrap();
    let meta_b = run(b.path(), out_b.path(), 0.3).unwrap();
    assert_eq!(splits(&meta_a, a.path()), splits(&meta_b, b.path()));
}

#[test]
fn a_small_folder_still_gets_a_validation_file() {
    // At the default 5%, these three songs all hash to training.
    let input = tempfile::tempdir().unwrap();
    for i in 0..3 {
        let bytes = song(i).to_bytes().unwrap();
        assert!(
            unit(&bytes) >= 0.05,
            "song {i} would be in validation anyway"
        );
        write(&bytes, &input.path().join(format!("song{i}.mid")));
    }
    let out = tempfile::tempdir().unwrap();
    let meta = run(input.path(), out.path(), 0.05).unwrap();
    assert_eq!(meta.counts.documents_val, 1);
    assert_eq!(meta.counts.documents_train, 2);
    assert!(meta.counts.tokens_val > 0);
    // The one moved is the one whose hash is closest to validation.
    let moved = meta.files.iter().find(|f| f.split == Split::Val).unwrap();
    let unit_of = |path: &str| unit(&std::fs::read(input.path().join(path)).unwrap());
    for other in meta.files.iter().filter(|f| f.split == Split::Train) {
        assert!(unit_of(&moved.path) < unit_of(&other.path));
    }

    // With every file in validation, one goes back to training.
    let out = tempfile::tempdir().unwrap();
    let meta = run(input.path(), out.path(), 1.0).unwrap();
    assert_eq!(meta.counts.documents_train, 1);
    assert_eq!(meta.counts.documents_val, 2);
}

#[test]
fn a_validation_split_that_cannot_be_encoded_is_an_error() {
    let input = tempfile::tempdir().unwrap();
    let good = song(1).to_bytes().unwrap();
    // A header with no track: readable bytes, but no notes. Padding changes its hash until it
    // sorts below the good file, so it is the one validation gets.
    let mut bad = b"MThd\x00\x00\x00\x06\x00\x01\x00\x00\x01\xe0".to_vec();
    while unit(&bad) >= unit(&good) {
        bad.push(0);
    }
    write(&good, &input.path().join("good.mid"));
    write(&bad, &input.path().join("bad.mid"));
    let out = tempfile::tempdir().unwrap();
    let fraction = (unit(&bad) + unit(&good)) / 2.0;
    let err = run(input.path(), out.path(), fraction).unwrap_err();
    assert!(matches!(err, DataError::EmptySplit { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("validation split is empty") && text.contains("bad.mid"),
        "{text}"
    );
    assert!(!out.path().join("meta.json").exists());
}

#[test]
fn transpositions_beyond_an_octave_are_refused() {
    let input = tempfile::tempdir().unwrap();
    write(&song(1).to_bytes().unwrap(), &input.path().join("song.mid"));
    let out = tempfile::tempdir().unwrap();
    let mut options = PrepareOptions::new(input.path(), out.path());
    for range in [-128..=127, -13..=0, 0..=13] {
        options.transpose = range;
        let err = prepare(builtin("triplet").unwrap(), &options, &NoProgress).unwrap_err();
        assert!(matches!(err, DataError::Option(_)), "{err}");
        assert!(err.to_string().contains("12 semitones"), "{err}");
    }
    options.transpose = -12..=12;
    let meta = prepare(builtin("triplet").unwrap(), &options, &NoProgress).unwrap();
    assert_eq!(meta.counts.documents_train, 25);
}
