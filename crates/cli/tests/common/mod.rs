//! Running the binary from the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::process::Command;

/// Runs `midigpt args`; returns whether it succeeded and its stdout and stderr together.
/// A panic is never an acceptable way to fail.
pub fn midigpt_output(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_midigpt"))
        .args(args)
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked at"), "{args:?} panicked:\n{text}");
    (out.status.success(), text)
}

/// Runs `midigpt args`, which must succeed; returns its output.
pub fn midigpt(args: &[&str]) -> String {
    let (ok, text) = midigpt_output(args);
    assert!(ok, "midigpt {args:?} failed:\n{text}");
    text
}
