//! `midigpt bench-tokenize DIR`: load + tokenize every MIDI file below DIR on one thread and
//! report notes per second (the figure `bench/tokenize.sh` compares with MidiTok's).

use std::path::{Path, PathBuf};
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

/// MIDI files below `dir`, sorted.
pub fn midi_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["mid", "midi", "rmi"].contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Runs the benchmark and prints one JSON line.
pub fn bench_tokenize(args: &BenchArgs) -> Result<()> {
    let tokenizer = args.tokenizer.load()?;
    let files = midi_files(&args.dir);
    let start = Instant::now();
    let (mut notes, mut tokens, mut failed) = (0usize, 0usize, 0usize);
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
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
    Ok(())
}
