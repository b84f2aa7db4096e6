//! `midigpt`: turn a folder of MIDI files into a trained GPT that writes music.
//!
//! Each subcommand lives in its own module; this file only parses and dispatches.

mod bench;
mod device;
mod eval;
mod finetune;
mod generate;
mod metrics;
mod model_source;
mod prepare;
mod progress;
mod render;
mod studio;
mod tokenize;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Training frees and reallocates tensors of several MB every step; glibc's malloc hands them
// back to the OS and faults them in again each time (~10% of a CPU training step), mimalloc
// reuses them once told never to purge (see `main`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e`: milliseconds before freed memory goes
/// back to the OS, -1 for never.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Turn a folder of MIDI files into a trained GPT that writes music.
#[derive(Debug, Parser)]
#[command(name = "midigpt", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Turn every MIDI file below DIR into token shards (train.bin, val.bin) and meta.json.
    Prepare(prepare::PrepareArgs),
    /// Train a GPT on prepared shards (nanoGPT's settings; --config TOML, --set key=value).
    Train(train::TrainArgs),
    /// Write new MIDI files with a trained model, from scratch or continuing a prompt.
    Generate(Box<generate::GenerateArgs>),
    /// Validation loss, perplexity and bits per note of a trained run on prepared data.
    Eval(eval::EvalArgs),
    /// Write a run's model as a folder of its own (weights, config, tokenizer) to share.
    Export(model_source::ExportArgs),
    /// Play a MIDI file into a WAV (a SoundFont if one is installed, else a built-in synth).
    Render(render::RenderArgs),
    /// Draw a MIDI file as a piano-roll PNG.
    Pianoroll(render::PianorollArgs),
    /// Music metrics (MusPy's) of MIDI files and folders, and their overlap with a reference.
    Metrics(metrics::MetricsArgs),
    /// Serve the studio: a web page to continue MIDI with a model, listen and download.
    Studio(studio::StudioArgs),
    /// Print the tokens of one MIDI file as JSON: {"tokens": [[...]], "ids": [[...]]}.
    Tokenize(tokenize::TokenizeArgs),
    /// Turn token JSON (as `tokenize` prints it) back into a MIDI file.
    Detokenize(tokenize::DetokenizeArgs),
    /// Time loading + tokenizing every MIDI file below a folder on one thread (notes/s).
    #[command(hide = true)]
    BenchTokenize(bench::BenchArgs),
}

fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Prepare(args) => prepare::run(args),
        Command::Train(args) => train::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Export(args) => model_source::export(&args),
        Command::Render(args) => render::render(&args),
        Command::Pianoroll(args) => render::pianoroll(&args),
        Command::Metrics(args) => metrics::run(&args),
        Command::Studio(args) => studio::run(&args),
        Command::Tokenize(args) => tokenize::tokenize(&args),
        Command::Detokenize(args) => tokenize::detokenize(&args),
        Command::BenchTokenize(args) => bench::bench_tokenize(&args),
    }
}

fn main() -> ExitCode {
    // SAFETY: sets a plain integer option; mimalloc reads it on its next purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", message(&err));
            if let Some(hint) = hint(&err) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, joined by ": " like `{:#}`, leaving out a cause whose text
/// already ends the message: errors that print their source as well as returning it (the
/// standard library's own, many libraries') would otherwise repeat it ("nope.mid: No such
/// file or directory (os error 2): No such file or directory (os error 2)").
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if text.ends_with(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

/// What to do about an error whose cause is the machine's, not midigpt's.
fn hint(err: &anyhow::Error) -> Option<&'static str> {
    use std::io::ErrorKind;
    let kind = err
        .chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    // Some libraries (burn's recorder, the PNG encoder) pass the OS error on as text only.
    let text = message(err);
    let full = matches!(
        kind,
        Some(ErrorKind::StorageFull | ErrorKind::QuotaExceeded)
    ) || text.contains("No space left on device")
        || text.contains("StorageFull");
    if full {
        return Some(
            "the disk is full: free some space or write elsewhere; files written before \
             (datasets, checkpoints, samples) are whole and unchanged, and `train --resume` \
             continues from the last checkpoint",
        );
    }
    (kind == Some(ErrorKind::PermissionDenied))
        .then_some("no permission to read or write there: choose another path")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let midi = midigpt_midi::MidiError::Io {
            path: "nope.mid".into(),
            source: io,
        };
        let err = anyhow::Error::new(midi).context("reading nope.mid");
        let text = message(&err);
        assert_eq!(text.matches("not found").count(), 1, "{text}");
        assert!(text.starts_with("reading nope.mid: nope.mid: "), "{text}");
    }

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(tokenize::count(1, "track"), "1 track");
        assert_eq!(tokenize::count(0, "note"), "0 notes");
        assert_eq!(tokenize::count(2, "note"), "2 notes");
    }
}
