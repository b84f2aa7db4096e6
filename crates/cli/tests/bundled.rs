//! The model built into the binary: `generate` without `--model` makes music, the same for
//! the same seed.

use std::process::Command;

fn generate(out: &std::path::Path) -> Vec<u8> {
    let result = Command::new(env!("CARGO_BIN_EXE_midigpt"))
        .args(["generate", "--max-tokens", "96", "--seed", "11", "--out"])
        .arg(out)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "generate failed: {text}");
    std::fs::read(out.join("sample-11.mid")).expect("sample-11.mid written")
}

#[test]
fn the_bundled_model_generates_valid_midi_reproducibly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let first = generate(&tmp.path().join("a"));
    let score = midigpt_midi::Score::from_bytes(&first).expect("a valid MIDI file");
    assert!(score.note_count() > 0, "the sample has notes");
    assert_eq!(
        generate(&tmp.path().join("b")),
        first,
        "same seed, same file"
    );
}
