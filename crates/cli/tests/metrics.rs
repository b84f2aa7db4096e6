//! `midigpt metrics` through the binary.

mod common;

use std::path::{Path, PathBuf};

use common::midigpt_output as midigpt;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tokenize/tests/data/midi")
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn metrics_of_a_folder_against_a_reference_as_table_json_and_picture() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bad = tmp.path().join("not-midi.mid");
    std::fs::write(&bad, b"hello").expect("write");
    let pop = fixtures().join("POP909_008.mid");
    let clementi = fixtures().join("Clementi.mid");
    let png = tmp.path().join("metrics.png");

    let (ok, text) = midigpt(&[
        "metrics",
        arg(&clementi),
        arg(&bad),
        "--reference",
        arg(&pop),
        "--plot",
        arg(&png),
        "--seconds",
        "30",
    ]);
    assert!(ok, "{text}");
    assert!(
        text.contains("not-midi.mid"),
        "the bad file is named: {text}"
    );
    assert!(
        text.contains("scale_consistency") && text.contains("overlap"),
        "{text}"
    );
    assert!(png.exists(), "{text}");

    let (ok, json) = midigpt(&["metrics", arg(&pop), "--json"]);
    assert!(ok, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON on stdout");
    let piece = &report["sets"][0]["pieces"][0]["metrics"];
    let scale = piece["scale_consistency"].as_f64().expect("a value");
    assert!((0.5..=1.0).contains(&scale), "{scale}");
    assert!(report.get("overlap").is_none(), "one set has no overlap");
}

#[test]
fn nothing_readable_is_an_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (ok, text) = midigpt(&["metrics", arg(&tmp.path().join("nope"))]);
    assert!(!ok);
    assert!(
        text.contains("nope") && text.contains("no such file"),
        "{text}"
    );
}
