//! Measuring sets of pieces (folders and files), and the report of one or two sets: plain
//! table, JSON.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use midigpt_midi::Score;
use rayon::prelude::*;
use serde::Serialize;

use crate::{measure, overlap, Metric, MetricsConfig, MetricsError, PieceMetrics, Summary};

/// One measured piece.
#[derive(Debug, Clone, Serialize)]
pub struct Piece {
    /// The file.
    pub path: PathBuf,
    /// Its metrics.
    pub metrics: PieceMetrics,
}

/// A file that could not be measured, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The file (or path given).
    pub path: PathBuf,
    /// The error message, naming the file.
    pub error: String,
}

/// A set of pieces: every MIDI file of the folders and files given, measured.
#[derive(Debug, Clone, Serialize)]
pub struct Set {
    /// What the set is called in tables and pictures.
    pub name: String,
    /// The pieces measured, in the order given (a folder's files sorted by path).
    pub pieces: Vec<Piece>,
    /// The files that could not be read (the others are measured all the same).
    pub errors: Vec<Failure>,
}

/// Mean and spread of every metric of a set.
#[derive(Debug, Clone, Serialize)]
pub struct SetSummary {
    /// The set's name.
    pub name: String,
    /// Pieces measured.
    pub pieces: usize,
    /// Files that could not be read.
    pub errors: usize,
    /// Per metric key, in [`Metric::ALL`] order.
    pub metrics: serde_json::Map<String, serde_json::Value>,
}

impl Set {
    /// The values of `metric` over the set's pieces (NaN included).
    pub fn values(&self, metric: Metric) -> Vec<f64> {
        self.pieces.iter().map(|p| p.metrics.get(metric)).collect()
    }

    /// Mean and spread of `metric` over the set.
    pub fn summary(&self, metric: Metric) -> Summary {
        Summary::of(&self.values(metric))
    }

    fn summaries(&self) -> SetSummary {
        let metrics = Metric::ALL
            .iter()
            .map(|&m| (m.key().to_owned(), serde_json::json!(self.summary(m))))
            .collect();
        SetSummary {
            name: self.name.clone(),
            pieces: self.pieces.len(),
            errors: self.errors.len(),
            metrics,
        }
    }
}

/// Measures every MIDI file in `paths` (folders are searched recursively) as one set called
/// `name`. A file that cannot be read is listed in [`Set::errors`] and the others go on; a
/// bad configuration is the only error.
pub fn measure_paths(
    name: &str,
    paths: &[PathBuf],
    config: &MetricsConfig,
) -> Result<Set, MetricsError> {
    config.validate()?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match expand(path) {
            Ok(found) => files.extend(found),
            Err(e) => errors.push(failure(path, &e)),
        }
    }
    let results: Vec<Result<Piece, MetricsError>> = files
        .par_iter()
        .map(|path| {
            let score = Score::from_file(path).map_err(|source| MetricsError::Midi {
                path: path.clone(),
                source,
            })?;
            Ok(Piece {
                path: path.clone(),
                metrics: measure(&score, config),
            })
        })
        .collect();
    let mut pieces = Vec::new();
    for (path, result) in files.iter().zip(results) {
        match result {
            Ok(piece) => pieces.push(piece),
            Err(e) => errors.push(failure(path, &e)),
        }
    }
    Ok(Set {
        name: name.to_owned(),
        pieces,
        errors,
    })
}

fn failure(path: &Path, error: &MetricsError) -> Failure {
    Failure {
        path: path.to_owned(),
        error: error.to_string(),
    }
}

/// The MIDI files a path stands for: itself, or those below it when it is a folder.
fn expand(path: &Path) -> Result<Vec<PathBuf>, MetricsError> {
    let bad = |message: String| MetricsError::Path {
        path: path.to_owned(),
        message,
    };
    if path.is_dir() {
        let found = midigpt_data::find_midi_files(path).map_err(|e| bad(e.to_string()))?;
        if found.is_empty() {
            return Err(bad(
                "no MIDI files (.mid, .midi, .rmi) in this folder".into()
            ));
        }
        Ok(found.into_iter().map(|f| f.path).collect())
    } else if path.is_file() {
        Ok(vec![path.to_owned()])
    } else {
        Err(bad("no such file or folder".into()))
    }
}

/// One or two measured sets: the pieces, and with two the overlap of their distributions.
#[derive(Debug, Clone)]
pub struct Report {
    /// How the pieces were measured.
    pub config: MetricsConfig,
    /// The sets: the pieces asked about, then the reference when there is one.
    pub sets: Vec<Set>,
}

impl Report {
    /// Per metric, the overlapping area of the first two sets' distributions ([`overlap`]);
    /// `None` with a single set.
    pub fn overlaps(&self) -> Option<Vec<(Metric, f64)>> {
        let [a, b] = self.sets.get(..2)? else {
            return None;
        };
        let each = |m: Metric| (m, overlap(&a.values(m), &b.values(m)));
        Some(Metric::ALL.iter().map(|&m| each(m)).collect())
    }

    /// The report as JSON: `config`, `sets` (each with `summary`, `pieces` and `errors`) and,
    /// with two sets, `overlap` per metric. NaN is written as `null`.
    pub fn to_json(&self) -> serde_json::Value {
        let sets: Vec<_> = self
            .sets
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "summary": s.summaries(),
                    "pieces": s.pieces,
                    "errors": s.errors,
                })
            })
            .collect();
        let mut json = serde_json::json!({ "config": self.config, "sets": sets });
        if let Some(overlaps) = self.overlaps() {
            let map: serde_json::Map<_, _> = overlaps
                .into_iter()
                .map(|(m, o)| (m.key().to_owned(), serde_json::json!(o)))
                .collect();
            json["overlap"] = map.into();
        }
        json
    }

    /// The summary table: per metric, each set's mean ± standard deviation, and the overlap
    /// with two sets. With `per_piece`, a table of every piece's values first.
    pub fn table(&self, per_piece: bool) -> String {
        let mut out = String::new();
        if per_piece {
            for set in &self.sets {
                out.push_str(&pieces_table(set));
                out.push('\n');
            }
        }
        let mut header = vec!["metric".to_owned()];
        for set in &self.sets {
            header.push(format!("{} ({} pieces)", set.name, set.pieces.len()));
        }
        let overlaps = self.overlaps();
        if overlaps.is_some() {
            header.push("overlap".to_owned());
        }
        let mut rows = vec![header];
        for (i, metric) in Metric::ALL.iter().enumerate() {
            let mut row = vec![metric.key().to_owned()];
            for set in &self.sets {
                let s = set.summary(*metric);
                row.push(format!("{} ± {}", number(s.mean), number(s.std)));
            }
            if let Some(o) = &overlaps {
                row.push(number(o[i].1));
            }
            rows.push(row);
        }
        out.push_str(&align(&rows));
        out
    }
}

/// Every piece of a set, one row each.
fn pieces_table(set: &Set) -> String {
    let mut header = vec![format!("{} piece", set.name)];
    header.extend(Metric::ALL.iter().map(|m| m.key().to_owned()));
    let mut rows = vec![header];
    for piece in &set.pieces {
        let mut row = vec![piece.path.display().to_string()];
        row.extend(Metric::ALL.iter().map(|&m| number(piece.metrics.get(m))));
        rows.push(row);
    }
    align(&rows)
}

/// A value with four significant decimals' worth of precision, "-" for NaN.
fn number(v: f64) -> String {
    if !v.is_finite() {
        "-".to_owned()
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

/// Rows as columns padded to their widest cell, two spaces apart.
fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
    };
    let widths: Vec<usize> = (0..columns).map(|c| width(c).unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
