//! The truncation and corruption sweep over every MIDI file below a folder.
//!
//! `cargo run --release -p midigpt-tokenize --example corruption_sweep -- DIR`
//!
//! Each file is cut at 10 points and corrupted 10 ways (seeded by its contents); every variant
//! must read and round-trip through the built-in tokenizers and REMI+BPE, or fail with an
//! error message. Prints the counts; exits 1 if anything panicked or failed otherwise.

#[path = "../tests/sweep/mod.rs"]
mod sweep;

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: corruption_sweep DIR");
        return ExitCode::from(2);
    };
    let files = match sweep::midi_files(dir.as_ref()) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("{dir}: {e}");
            return ExitCode::from(2);
        }
    };
    let owned = sweep::tokenizers();
    let tokenizers: Vec<(&str, &dyn midigpt_tokenize::Tokenizer)> =
        owned.iter().map(|(n, t)| (*n, t.as_ref())).collect();
    let started = Instant::now();
    let mut tally = sweep::Tally::default();
    let mut unreadable = 0;
    for (i, file) in files.iter().enumerate() {
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                unreadable += 1;
                continue;
            }
        };
        tally.merge(sweep::sweep_file(
            &file.display().to_string(),
            &bytes,
            &tokenizers,
        ));
        if (i + 1) % 500 == 0 {
            eprintln!("{} files, {:.0} s", i + 1, started.elapsed().as_secs_f64());
        }
    }
    println!(
        "{} files ({unreadable} unreadable), {} variants in {:.0} s: read {} ok / {} err; \
         encode+decode with {} tokenizers {} ok / {} refused; {} failures",
        files.len(),
        tally.variants,
        started.elapsed().as_secs_f64(),
        tally.read_ok,
        tally.read_err,
        tokenizers.len(),
        tally.encode_ok,
        tally.encode_err,
        tally.failures.len()
    );
    for failure in &tally.failures {
        println!("FAILED {failure}");
    }
    if tally.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
