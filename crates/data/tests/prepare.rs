//! End-to-end tests of `prepare` with the triplet tokenizer on generated and vendored files.

use std::path::{Path, PathBuf};

use midigpt_data::{
    fnv1a, load_meta, prepare, read_shard, split_of, DataError, Meta, NoProgress, PrepareOptions,
    Split,
};
use midigpt_midi::{Note, Score, Track};
use midigpt_tokenize::{builtin, Tokenizer, Triplet};

fn track(program: u8, is_drum: bool, notes: &[(u32, u32, u8)]) -> Track {
    Track {
        name: String::new(),
        program,
        is_drum,
        notes: notes
            .iter()
            .map(|&(time, duration, pitch)| Note {
                time,
                duration,
                pitch,
                velocity: 80,
            })
            .collect(),
    }
}

/// A small piano score whose notes depend on `seed`, on the 12-steps-per-quarter grid.
fn song(seed: u32) -> Score {
    let mut score = Score::new(480);
    let notes: Vec<_> = (0..8)
        .map(|i| (i * 240, 240, (48 + (seed * 7 + i * 5) % 40) as u8))
        .collect();
    score.tracks.push(track(0, false, &notes));
    score
}

fn write(score: &Score, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    score.write_file(path).unwrap();
}

/// Good files, bad files and a non-MIDI file in a fresh folder.
fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..12 {
        write(&song(i), &root.join(format!("songs/song{i:02}.mid")));
    }
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tokenize/tests/data/midi/Clementi.mid"),
        root.join("Clementi.MIDI"),
    )
    .unwrap();
    std::fs::write(root.join("garbage.mid"), b"this is not a MIDI file").unwrap();
    // Cut inside the header: the parser tolerates truncated tracks, not a truncated header.
    let bytes = song(99).to_bytes().unwrap();
    std::fs::write(root.join("songs/truncated.mid"), &bytes[..10]).unwrap();
    write(&Score::new(480), &root.join("empty.mid"));
    std::fs::write(root.join("notes.txt"), b"ignored").unwrap();
    dir
}

fn options(input: &Path, output: &Path) -> PrepareOptions {
    let mut options = PrepareOptions::new(input, output);
    options.val_fraction = 0.3;
    options
}

fn run(options: &PrepareOptions) -> Result<Meta, DataError> {
    prepare(builtin("triplet").unwrap(), options, &NoProgress)
}

fn shard(out: &Path, split: Split) -> Vec<u32> {
    let name = match split {
        Split::Train => "train.bin",
        Split::Val => "val.bin",
    };
    read_shard(&out.join(name), midigpt_data::Dtype::U16).unwrap()
}

fn tmp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

#[test]
fn bad_files_are_listed_and_shards_match_meta() {
    let input = corpus();
    let out = tempfile::tempdir().unwrap();
    let meta = run(&options(input.path(), out.path())).unwrap();

    // nanoGPT's meta.pkl beside the shards: the pickle of {'vocab_size': V}.
    let pkl = std::fs::read(out.path().join("meta.pkl")).unwrap();
    assert_eq!(pkl, midigpt_data::meta_pkl(meta.vocab_size));
    assert!(tmp_files(out.path()).is_empty());

    assert_eq!(meta.counts.files_found, 16);
    assert_eq!(meta.counts.files_ok, 13);
    let skipped: Vec<_> = meta.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, ["empty.mid", "garbage.mid", "songs/truncated.mid"]);
    assert!(meta.skipped[0].reason.contains("no notes"));
    assert!(
        meta.skipped[1].reason.contains("malformed MIDI"),
        "{:?}",
        meta.skipped[1]
    );
    assert!(
        meta.skipped[2].reason.contains("malformed MIDI"),
        "{:?}",
        meta.skipped[2]
    );
    assert_eq!(meta.dtype, midigpt_data::Dtype::U16);

    let tokenizer = builtin("triplet").unwrap();
    let (bos, eos) = (meta.bos_id, meta.eos_id);
    assert_eq!(tokenizer.vocab().token(bos).unwrap(), "BOS_None");
    assert_eq!(tokenizer.vocab().token(eos).unwrap(), "EOS_None");
    for split in [Split::Train, Split::Val] {
        let ids = shard(out.path(), split);
        let entries: Vec<_> = meta.files.iter().filter(|f| f.split == split).collect();
        let mut expected_offset = 0;
        for entry in &entries {
            assert_eq!(entry.offset, expected_offset);
            expected_offset += entry.length;
            let doc = &ids[entry.offset as usize..(entry.offset + entry.length) as usize];
            let score = Score::from_file(input.path().join(&entry.path)).unwrap();
            let mut encoded = vec![bos];
            encoded.extend(&tokenizer.encode(&score).unwrap()[0]);
            encoded.push(eos);
            assert_eq!(doc, encoded.as_slice(), "{}", entry.path);
        }
        assert_eq!(ids.len() as u64, expected_offset);
        let tokens = match split {
            Split::Train => meta.counts.tokens_train,
            Split::Val => meta.counts.tokens_val,
        };
        assert_eq!(tokens, expected_offset);
        assert!(
            !entries.is_empty(),
            "no {split:?} files: pick another val_fraction"
        );
    }
    // Later stages load the tokenizer from the output folder.
    let saved = midigpt_tokenize::load_tokenizer(out.path().join("tokenizer.json")).unwrap();
    assert_eq!(saved.to_json(), tokenizer.to_json());
    let on_disk: Meta =
        serde_json::from_slice(&std::fs::read(out.path().join("meta.json")).unwrap()).unwrap();
    assert_eq!(on_disk, meta);
}

#[test]
fn split_is_deterministic_and_independent_of_threads() {
    let input = corpus();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut one = options(input.path(), a.path());
    one.threads = Some(1);
    let mut two = options(input.path(), b.path());
    two.threads = Some(2);
    let meta = run(&one).unwrap();
    run(&two).unwrap();
    for name in ["train.bin", "val.bin", "meta.json", "tokenizer.json"] {
        let (x, y) = (a.path().join(name), b.path().join(name));
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{name}"
        );
    }
    for entry in &meta.files {
        let bytes = std::fs::read(input.path().join(&entry.path)).unwrap();
        assert_eq!(entry.split, split_of(fnv1a(&bytes), 0.3));
    }
}

#[test]
fn transposition_only_on_train() {
    let input = corpus();
    let out = tempfile::tempdir().unwrap();
    let mut opts = options(input.path(), out.path());
    opts.transpose = -2..=1;
    let meta = run(&opts).unwrap();
    let train = shard(out.path(), Split::Train);
    let tokenizer = Triplet::new(Default::default()).unwrap();
    let pitches = |entry: &midigpt_data::FileEntry| -> Vec<u8> {
        let ids = train[entry.offset as usize..(entry.offset + entry.length) as usize].to_vec();
        let score = tokenizer.decode(&[ids]).unwrap();
        score.tracks[0].notes.iter().map(|n| n.pitch).collect()
    };
    for entry in &meta.files {
        let same_file = meta.files.iter().filter(|f| f.path == entry.path);
        let shifts: Vec<i8> = same_file.map(|f| f.transpose).collect();
        match entry.split {
            Split::Val => assert_eq!(shifts, [0]),
            Split::Train => assert_eq!(shifts, [0, -2, -1, 1]),
        }
        if entry.split == Split::Train && entry.transpose != 0 {
            let original = meta
                .files
                .iter()
                .find(|f| f.path == entry.path && f.transpose == 0)
                .unwrap();
            let expected: Vec<u8> = pitches(original)
                .iter()
                .map(|p| (*p as i16 + entry.transpose as i16) as u8)
                .collect();
            assert_eq!(
                pitches(entry),
                expected,
                "{} {}",
                entry.path,
                entry.transpose
            );
        }
    }
    let train_files = meta
        .files
        .iter()
        .filter(|f| f.split == Split::Train)
        .count();
    assert_eq!(meta.counts.documents_train, train_files);
    assert_eq!(meta.options.transpose, (-2, 1));
}

#[test]
fn drop_drums_removes_drum_notes() {
    let input = tempfile::tempdir().unwrap();
    let mut score = song(1);
    score
        .tracks
        .push(track(0, true, &[(0, 120, 36), (480, 120, 38)]));
    write(&score, &input.path().join("band.mid"));
    // A tokenizer that keeps drums, so dropping them shows in the ids.
    let json = serde_json::json!({"tokenization": "Triplet", "config": {"include_drums": true}});
    let prepare_with = |drop: bool| {
        let out = tempfile::tempdir().unwrap();
        let mut opts = PrepareOptions::new(input.path(), out.path());
        opts.val_fraction = 0.0;
        opts.drop_drums = drop;
        let tokenizer = midigpt_tokenize::from_json(&json).unwrap();
        prepare(tokenizer, &opts, &NoProgress).unwrap()
    };
    let (kept, dropped) = (prepare_with(false), prepare_with(true));
    assert_eq!(kept.counts.notes, 10);
    assert_eq!(dropped.counts.notes, 8);
    // What a model trained on it will have heard of each instrument.
    assert_eq!(kept.counts.programs, [(-1, 2), (0, 8)].into());
    assert_eq!(dropped.counts.programs, [(0, 8)].into());
    assert_eq!(kept.counts.tokens_train, 2 + 30);
    assert_eq!(dropped.counts.tokens_train, 2 + 24);
    assert!(dropped.options.drop_drums);
}

#[test]
fn output_is_atomic_and_replaced_by_a_rerun() {
    let input = corpus();
    let out = tempfile::tempdir().unwrap();
    let first = run(&options(input.path(), out.path())).unwrap();
    assert!(tmp_files(out.path()).is_empty());

    let mut opts = options(input.path(), out.path());
    opts.transpose = -1..=1;
    let second = run(&opts).unwrap();
    assert!(tmp_files(out.path()).is_empty());
    assert!(second.counts.tokens_train > first.counts.tokens_train);
    let train_len = std::fs::metadata(out.path().join("train.bin"))
        .unwrap()
        .len();
    assert_eq!(train_len, 2 * second.counts.tokens_train);

    // A failed run (nothing encodable) leaves the previous output untouched and no temporaries.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("bad.mid"), b"MThd").unwrap();
    let err = run(&options(bad.path(), out.path())).unwrap_err();
    assert!(
        matches!(err, DataError::AllSkipped { count: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("bad.mid"), "{err}");
    assert!(tmp_files(out.path()).is_empty());
    let meta: Meta =
        serde_json::from_slice(&std::fs::read(out.path().join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta, second);
    let train_len = std::fs::metadata(out.path().join("train.bin"))
        .unwrap()
        .len();
    assert_eq!(train_len, 2 * second.counts.tokens_train);
}

#[test]
fn folders_without_midi_are_an_error() {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("readme.txt"), b"no music here").unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = run(&options(input.path(), out.path())).unwrap_err();
    assert!(matches!(err, DataError::NoMidiFiles(_)), "{err}");
    let missing = input.path().join("missing");
    let err = run(&options(&missing, out.path())).unwrap_err();
    assert!(matches!(err, DataError::NotAFolder(_)), "{err}");
}

#[test]
fn bad_options_are_rejected() {
    let input = corpus();
    let out = tempfile::tempdir().unwrap();
    let mut opts = options(input.path(), out.path());
    opts.val_fraction = 1.5;
    assert!(matches!(run(&opts), Err(DataError::Option(_))));
    let mut opts = options(input.path(), out.path());
    opts.transpose = 1..=3;
    assert!(matches!(run(&opts), Err(DataError::Option(_))));
}

#[test]
fn bpe_shrinks_the_shards_and_its_tokenizer_decodes_them() {
    let input = corpus();
    let (plain, merged) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let base = prepare(
        builtin("remi").unwrap(),
        &options(input.path(), plain.path()),
        &NoProgress,
    )
    .unwrap();
    let mut opts = options(input.path(), merged.path());
    let target = base.vocab_size + 40;
    opts.bpe_vocab_size = Some(target);
    let meta = prepare(builtin("remi").unwrap(), &opts, &NoProgress).unwrap();
    assert_eq!(meta.vocab_size, target);
    assert!(
        meta.counts.tokens_train < base.counts.tokens_train,
        "BPE must shorten the shards"
    );
    // The saved tokenizer is the BPE one: it decodes a document to the same score as the
    // base tokenizer decodes the same file's document in the plain shards.
    let decode = |dir: &Path, meta: &Meta, path: &str| {
        let tokenizer = midigpt_tokenize::load_tokenizer(dir.join("tokenizer.json")).unwrap();
        let ids = shard(dir, Split::Train);
        let entry = meta.files.iter().find(|f| f.path == path).unwrap();
        let doc = &ids[entry.offset as usize + 1..(entry.offset + entry.length) as usize - 1];
        (
            tokenizer.vocab_size(),
            tokenizer.decode(&[doc.to_vec()]).unwrap(),
        )
    };
    let path = &meta
        .files
        .iter()
        .find(|f| f.split == Split::Train && f.sequences == 1)
        .unwrap()
        .path;
    let (size, with_bpe) = decode(merged.path(), &meta, path);
    let (_, without) = decode(plain.path(), &base, path);
    assert_eq!(size, target);
    assert!(with_bpe.note_count() > 0);
    assert_eq!(with_bpe, without);
}

#[test]
fn a_run_killed_before_or_during_its_commit_leaves_a_whole_dataset() {
    let input = corpus();
    let (old, new) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (o, n) = (old.path(), new.path());
    let first = run(&options(input.path(), o)).unwrap();
    let mut opts = options(input.path(), n);
    opts.transpose = -1..=1;
    let second = run(&opts).unwrap();
    let bytes = |dir: &Path, name: &str| std::fs::read(dir.join(name)).unwrap();

    // Killed while encoding: half-written temporaries, which readers ignore.
    std::fs::write(o.join("train.bin.tmp"), [1, 2, 3]).unwrap();
    assert_eq!(load_meta(o).unwrap(), first);

    // Killed mid-commit of `second`'s dataset into `o`: meta.json.pending written, the old
    // meta.json removed, train.bin renamed, val.bin and tokenizer.json not yet.
    std::fs::copy(n.join("meta.json"), o.join("meta.json.pending")).unwrap();
    std::fs::remove_file(o.join("meta.json")).unwrap();
    std::fs::remove_file(o.join("train.bin.tmp")).unwrap();
    std::fs::copy(n.join("train.bin"), o.join("train.bin")).unwrap();
    std::fs::copy(n.join("val.bin"), o.join("val.bin.tmp")).unwrap();
    std::fs::copy(n.join("tokenizer.json"), o.join("tokenizer.json.tmp")).unwrap();
    assert_eq!(
        load_meta(o).unwrap(),
        second,
        "the reader finishes the commit"
    );
    for name in ["train.bin", "val.bin", "tokenizer.json"] {
        assert_eq!(bytes(o, name), bytes(n, name), "{name}");
    }
    assert!(tmp_files(o).is_empty() && !o.join("meta.json.pending").exists());
}

/// A full disk while the shards are written: the error names the file and the OS's reason,
/// the previous dataset stays whole, and no temporary file is left behind. `/dev/full` (every
/// write fails with "no space left on device") stands in for the disk, through a symbolic
/// link where the new training shard goes.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_leaves_the_previous_dataset() {
    let input = corpus();
    let out = tempfile::tempdir().unwrap();
    run(&options(input.path(), out.path())).unwrap();
    let before: Vec<Vec<u8>> = ["meta.json", "train.bin", "val.bin", "tokenizer.json"]
        .iter()
        .map(|f| std::fs::read(out.path().join(f)).unwrap())
        .collect();
    std::os::unix::fs::symlink("/dev/full", out.path().join("train.bin.tmp")).unwrap();
    let err = run(&options(input.path(), out.path())).unwrap_err();
    // The message and the OS error underneath it, as the binary prints them.
    let source = std::error::Error::source(&err).map(ToString::to_string);
    let text = format!("{err}: {}", source.unwrap_or_default());
    assert!(
        text.contains("train.bin.tmp") && text.contains("No space left on device"),
        "{text}"
    );
    let after: Vec<Vec<u8>> = ["meta.json", "train.bin", "val.bin", "tokenizer.json"]
        .iter()
        .map(|f| std::fs::read(out.path().join(f)).unwrap())
        .collect();
    assert!(before == after, "the previous dataset changed");
    assert!(
        tmp_files(out.path()).is_empty(),
        "{:?}",
        tmp_files(out.path())
    );
}

#[test]
fn meta_pkl_is_the_bytes_python_unpickles() {
    // `pickle.loads` of these bytes (checked with CPython 3.11) is {'vocab_size': 300}.
    let python: [u8; 25] = [
        128, 2, 125, 88, 10, 0, 0, 0, 118, 111, 99, 97, 98, 95, 115, 105, 122, 101, 74, 44, 1, 0,
        0, 115, 46,
    ];
    assert_eq!(midigpt_data::meta_pkl(300), python);
}
