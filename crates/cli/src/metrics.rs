//! `midigpt metrics`: music metrics of MIDI files and folders, against a reference set.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use midigpt_metrics::{measure_paths, plot_distributions, MetricsConfig, Report, Set};

/// Arguments of `midigpt metrics`.
#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// MIDI files and folders (searched recursively): together, the pieces to measure.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Files and folders to compare with (e.g. the training data): their means, spreads and
    /// the overlap of each metric's distribution with the pieces'.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub reference: Vec<PathBuf>,
    /// Print the whole report as JSON (every piece's values too) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also print every piece's values.
    #[arg(long)]
    pub pieces: bool,
    /// Draw each metric's distributions, side by side, to this PNG.
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Measure only the first S seconds of every piece.
    #[arg(long, value_name = "S")]
    pub seconds: Option<f64>,
}

/// Runs `midigpt metrics`.
pub fn run(args: &MetricsArgs) -> Result<ExitCode> {
    let config = MetricsConfig {
        seconds: args.seconds,
        ..MetricsConfig::default()
    };
    let mut sets = vec![measure(&args.paths, "pieces", &config)?];
    if !args.reference.is_empty() {
        sets.push(measure(&args.reference, "reference", &config)?);
    }
    let report = Report { config, sets };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{}", report.table(args.pieces));
    }
    if let Some(png) = &args.plot {
        plot_distributions(&report.sets, png)?;
        eprintln!("{}: distributions drawn", png.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// One set, its unreadable files reported on stderr; an error when none could be measured.
fn measure(paths: &[PathBuf], fallback: &str, config: &MetricsConfig) -> Result<Set> {
    let set = measure_paths(&name(paths, fallback), paths, config)
        .with_context(|| format!("measuring the {fallback}"))?;
    for failure in &set.errors {
        eprintln!("skipped: {}", failure.error);
    }
    if set.pieces.is_empty() {
        bail!("no piece of the {fallback} could be measured");
    }
    Ok(set)
}

/// A set's name: its one path's, or `fallback` for several.
fn name(paths: &[PathBuf], fallback: &str) -> String {
    match paths {
        [one] => file_name(one),
        _ => fallback.to_owned(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}
