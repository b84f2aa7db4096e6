//! Truncated and corrupted copies of every MIDI fixture: each reads and round-trips through
//! every tokenizer, or fails with an error that says what is wrong; nothing panics.

mod sweep;

use std::path::Path;

#[test]
fn truncated_and_corrupted_fixtures_fail_cleanly() {
    let files = sweep::midi_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/midi"))
        .expect("fixture folder");
    assert!(files.len() >= 10, "{files:?}");
    let owned = sweep::tokenizers();
    let tokenizers: Vec<(&str, &dyn midigpt_tokenize::Tokenizer)> =
        owned.iter().map(|(n, t)| (*n, t.as_ref())).collect();
    let mut tally = sweep::Tally::default();
    for file in &files {
        let bytes = std::fs::read(file).expect("fixture");
        let name = file.file_name().expect("name").to_string_lossy();
        tally.merge(sweep::sweep_file(&name, &bytes, &tokenizers));
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    assert_eq!(
        tally.variants,
        files.len() * (sweep::TRUNCATIONS + sweep::CORRUPTIONS)
    );
    // Both outcomes occur: the sweep reaches the tokenizers, and the reader refuses garbage.
    assert!(tally.read_ok > 0 && tally.read_err > 0, "{tally:?}");
    assert!(tally.encode_ok > 0, "{tally:?}");
}
