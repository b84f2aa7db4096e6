//! `midigpt`: turn a folder of MIDI files into a trained GPT that writes music.

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
}

fn run() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Tokenize(args) => tokenize::tokenize(&args)?,
        Command::Detokenize(args) => tokenize::detokenize(&args)?,
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
