//! `midigpt bench-tokenize DIR`: load + tokenize every MIDI file below DIR on one thread and
//! report notes per second (the figure `bench/tokenize.sh` compares with MidiTok's).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use midigpt_midi::Score;
use serde_json::json;

use crate::tokenize::TokenizerChoice;

/// Arguments of `midigpt bench-tokenize`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub tokenizer: TokenizerChoice,
    /// Folder searched recursively for .mid, .midi and .rmi files.
    pub dir: PathBuf,
}

/// Runs the benchmark and prints one JSON line.
pub fn bench_tokenize(args: &BenchArgs) -> Result<ExitCode> {
    let tokenizer = args.tokenizer.load()?;
    let files = midigpt_data::find_midi_files(&args.dir)?;
    let start = Instant::now();
    let (mut notes, mut tokens, mut failed) = (0usize, 0usize, 0usize);
    for file in &files {
        let Ok(bytes) = std::fs::read(&file.path) else {
            failed += 1;
            continue;
        };
        match Score::from_bytes(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                let ids = tokenizer.encode(&s).map_err(|e| e.to_string())?;
                Ok((s.note_count(), ids.iter().map(Vec::len).sum::<usize>()))
            }) {
            Ok((n, t)) => {
                notes += n;
                tokens += t;
            }
            Err(_) => failed += 1,
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"files": files.len(), "failed": failed, "notes": notes, "tokens": tokens,
               "seconds": seconds, "notes_per_s": notes as f64 / seconds})
    );
    Ok(ExitCode::SUCCESS)
}
