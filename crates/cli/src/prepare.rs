//! `midigpt prepare DIR --out DATA`: MIDI folder → token shards.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use midigpt_data::{Meta, PrepareOptions};

use crate::finetune;
use crate::tokenize::TokenizerChoice;

/// How many skipped files the summary lists (all of them are in meta.json).
const SKIPPED_SHOWN: usize = 20;

#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Folder searched recursively for .mid, .midi and .rmi files (any case).
    dir: PathBuf,
    /// Output folder: train.bin, val.bin, meta.json, tokenizer.json.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    tokenizer: TokenizerChoice,
    /// Prepare the files as this model's training files were (its tokenizer, track
    /// relabelling and transpositions), for `midigpt train --init MODEL`: `builtin` or a
    /// model folder. Options given here still apply on top.
    #[arg(long, value_name = "MODEL", conflicts_with_all = ["tokenizer_config", "infill_tokens", "bpe"])]
    like: Option<String>,
    /// Share of files for validation, chosen by a hash of each file's content, so a file keeps
    /// its split across runs and renames (with two files or more, each split gets at least one).
    /// Byte-identical copies of a file are left out.
    #[arg(long, default_value_t = 0.05)]
    val_fraction: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Remove drum tracks.
    #[arg(long)]
    drop_drums: bool,
    /// Merge all non-drum tracks into one (program of the first), notes sorted by time, pitch.
    #[arg(long)]
    merge_tracks: bool,
    /// Give every file this time signature (e.g. 4/4) before encoding, replacing its own: for
    /// corpora that write a placeholder metre, as most POP909 files do (1/4).
    #[arg(long, value_name = "N/D", value_parser = parse_time_signature)]
    time_signature: Option<(u8, u8)>,
    /// Give non-drum tracks with this name (any case) this GM program, e.g. MELODY=73; may be
    /// repeated. REMI+ tells tracks apart by program, so parts that share one merge without it.
    #[arg(long, value_name = "NAME=PROGRAM", value_parser = parse_track_program)]
    track_program: Vec<(String, u8)>,
    /// Add each training file once per semitone shift in LOW..HIGH, e.g. -3..3, at most 12
    /// either way (validation files are never transposed, nor are drums).
    #[arg(long, value_name = "LOW..HIGH", allow_hyphen_values = true, value_parser = parse_range)]
    transpose: Option<RangeInclusive<i8>>,
    /// Train BPE on the training split to this vocabulary size and encode with it.
    #[arg(long, value_name = "VOCAB_SIZE")]
    bpe: Option<usize>,
}

/// Parses `LOW..HIGH` (both inclusive), e.g. `-3..3`.
fn parse_range(text: &str) -> Result<RangeInclusive<i8>, String> {
    let (low, high) = text
        .split_once("..")
        .ok_or_else(|| format!("expected LOW..HIGH, e.g. -3..3, got {text:?}"))?;
    let parse = |s: &str| {
        s.trim_start_matches('=')
            .parse::<i8>()
            .map_err(|e| format!("{s:?}: {e}"))
    };
    let (low, high) = (parse(low)?, parse(high)?);
    if low > 0 || high < 0 {
        return Err(format!("{low}..{high} must include 0"));
    }
    Ok(low..=high)
}

/// Parses `N/D`, e.g. `4/4`, as `generate --time-signature` does (the data crate checks the
/// range further).
fn parse_time_signature(text: &str) -> Result<(u8, u8), String> {
    midigpt_compose::parse::time_signature(text).map_err(|e| e.to_string())
}

/// Parses `NAME=PROGRAM`, e.g. `MELODY=73`.
fn parse_track_program(text: &str) -> Result<(String, u8), String> {
    let (name, program) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("expected NAME=PROGRAM, e.g. MELODY=73, got {text:?}"))?;
    let program = program
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|p| *p <= 127)
        .ok_or_else(|| format!("{program:?} is not a GM program number (0 to 127)"))?;
    Ok((name.to_string(), program))
}

pub fn run(args: PrepareArgs) -> anyhow::Result<ExitCode> {
    let (tokenizer, mut options) = match &args.like {
        Some(model) => finetune::like(model, &args.dir, &args.out)?,
        None => (
            args.tokenizer.load()?,
            PrepareOptions::new(&args.dir, &args.out),
        ),
    };
    options.val_fraction = args.val_fraction;
    options.threads = args.threads;
    options.drop_drums |= args.drop_drums;
    options.merge_tracks |= args.merge_tracks;
    options.time_signature = args.time_signature.or(options.time_signature);
    options
        .track_programs
        .extend(args.track_program.iter().cloned());
    if let Some(range) = &args.transpose {
        options.transpose = range.clone();
    }
    options.bpe_vocab_size = args.bpe;
    finetune::prepare(tokenizer, &options)?;
    Ok(ExitCode::SUCCESS)
}

/// What `prepare` found and wrote, printed.
pub fn print_summary(meta: &Meta, out: &Path, seconds: f64) {
    let c = &meta.counts;
    println!(
        "files: {} found, {} ok, {} skipped, {} duplicates left out",
        c.files_found, c.files_ok, c.files_skipped, c.files_duplicate
    );
    for skipped in meta.skipped.iter().take(SKIPPED_SHOWN) {
        println!("  skipped {}: {}", skipped.path, skipped.reason);
    }
    if meta.skipped.len() > SKIPPED_SHOWN {
        println!(
            "  ... and {} more (all listed in meta.json)",
            meta.skipped.len() - SKIPPED_SHOWN
        );
    }
    println!(
        "tokens: {} train ({} documents), {} val ({} documents); vocab {} ({:?})",
        c.tokens_train,
        c.documents_train,
        c.tokens_val,
        c.documents_val,
        meta.vocab_size,
        meta.dtype
    );
    println!(
        "notes: {} ({:.0} notes/s); wall time {:.2} s",
        c.notes,
        c.notes as f64 / seconds.max(1e-9),
        seconds
    );
    println!("wrote {}", out.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("-3..3"), Ok(-3..=3));
        assert_eq!(parse_range("0..0"), Ok(0..=0));
        assert_eq!(parse_range("-12..0"), Ok(-12..=0));
        assert!(parse_range("1..3").is_err());
        assert!(parse_range("3").is_err());
        assert!(parse_range("-200..3").is_err());
    }

    #[test]
    fn time_signatures_and_track_programs() {
        assert_eq!(parse_time_signature("4/4"), Ok((4, 4)));
        assert_eq!(parse_time_signature(" 6 / 8 "), Ok((6, 8)));
        assert!(parse_time_signature("4").is_err());
        assert!(parse_time_signature("4/x").is_err());
        assert_eq!(parse_track_program("MELODY=73"), Ok(("MELODY".into(), 73)));
        assert_eq!(parse_track_program("a=b=0"), Ok(("a=b".into(), 0)));
        assert!(parse_track_program("MELODY").is_err());
        assert!(parse_track_program("MELODY=128").is_err());
    }
}
