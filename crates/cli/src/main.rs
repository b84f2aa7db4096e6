//! `midigpt`: turn a folder of MIDI files into a trained GPT that writes music.

mod bench;
mod tokenize;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Turn a folder of MIDI files into a trained GPT that writes music.
#[derive(Debug, Parser)]
#[command(name = "midigpt", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the tokens of one MIDI file as JSON: {"tokens": [[...]], "ids": [[...]]}.
    Tokenize(tokenize::TokenizeArgs),
    /// Turn token JSON (as `tokenize` prints it) back into a MIDI file.
    Detokenize(tokenize::DetokenizeArgs),
    /// Time loading + tokenizing every MIDI file below a folder on one thread (notes/s).
    #[command(hide = true)]
    BenchTokenize(bench::BenchArgs),
}

fn run() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Tokenize(args) => tokenize::tokenize(&args)?,
        Command::Detokenize(args) => tokenize::detokenize(&args)?,
        Command::BenchTokenize(args) => bench::bench_tokenize(&args)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
