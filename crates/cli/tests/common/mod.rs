//! Running the binary from the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

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

/// `midigpt studio --builtin` on a free port: the process, its address (`127.0.0.1:PORT`)
/// and the rest of its output.
pub fn start_studio() -> (Child, String, BufReader<ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_midigpt"))
        .args(["studio", "--port", "0", "--builtin"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let address = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "no address printed");
        if let Some(rest) = line.strip_prefix("midigpt studio: http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    (child, address, out)
}
