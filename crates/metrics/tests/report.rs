//! Sets of files: bad files named and skipped, the table, the JSON and the picture.

use std::path::PathBuf;

use midigpt_metrics::{measure_paths, plot_distributions, MetricsConfig, Report, PLOT_PANEL_SIZE};
use midigpt_midi::{Note, Score, Track};

/// A piece of `n` quarter notes walking up from `base`.
fn walk(base: u8, n: u32) -> Score {
    let mut score = Score::new(480);
    let notes = (0..n)
        .map(|i| Note {
            time: i * 480,
            duration: 480,
            pitch: base + (i % 12) as u8,
            velocity: 80,
        })
        .collect();
    score.tracks.push(Track {
        notes,
        ..Track::default()
    });
    score
}

#[test]
fn two_sets_report_with_a_bad_file_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("generated");
    let reference = dir.path().join("reference");
    std::fs::create_dir_all(generated.join("sub")).unwrap();
    std::fs::create_dir_all(&reference).unwrap();
    for i in 0..4u8 {
        walk(50 + i, 16 + i as u32)
            .write_file(generated.join(format!("g{i}.mid")))
            .unwrap();
        walk(60 + i, 24)
            .write_file(reference.join(format!("r{i}.mid")))
            .unwrap();
    }
    walk(40, 8)
        .write_file(generated.join("sub/deep.mid"))
        .unwrap();
    std::fs::write(generated.join("broken.mid"), b"MThd not really").unwrap();
    let missing = dir.path().join("missing.mid");

    let config = MetricsConfig::default();
    let a = measure_paths("generated", &[generated.clone(), missing], &config).unwrap();
    assert_eq!(a.pieces.len(), 5, "four files and one in a subfolder");
    assert_eq!(a.errors.len(), 2);
    assert!(
        a.errors.iter().any(|e| e.error.contains("broken.mid")),
        "{:?}",
        a.errors
    );
    assert!(
        a.errors.iter().any(|e| e.error.contains("missing.mid")),
        "{:?}",
        a.errors
    );
    let b = measure_paths("reference", &[reference], &config).unwrap();
    assert_eq!((b.pieces.len(), b.errors.len()), (4, 0));

    let report = Report {
        config,
        sets: vec![a, b],
    };
    let table = report.table(true);
    assert!(
        table.contains("generated (5 pieces)") && table.contains("overlap"),
        "{table}"
    );
    assert!(table.contains("deep.mid"), "{table}");
    let json = report.to_json();
    let overlap = json["overlap"]["pitch_range"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&overlap));
    let summary = &json["sets"][1]["summary"]["metrics"]["notes_per_second"];
    assert_eq!(summary["mean"].as_f64(), Some(2.0));
    assert_eq!(summary["n"].as_u64(), Some(4));

    let png: PathBuf = dir.path().join("metrics.png");
    plot_distributions(&report.sets, &png).unwrap();
    let decoder = png::Decoder::new(std::fs::File::open(&png).unwrap());
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!(info.width, PLOT_PANEL_SIZE.0 * 4);
    assert!(!dir.path().join("metrics.tmp.png").exists());
}

#[test]
fn a_bad_option_is_an_error() {
    let config = MetricsConfig {
        seconds: Some(-1.0),
        ..MetricsConfig::default()
    };
    let err = measure_paths("x", &[], &config).unwrap_err();
    assert!(err.to_string().contains("seconds"), "{err}");
}
