//! `midigpt`: turn a folder of MIDI files into a trained GPT that writes music.
//!
//! Each subcommand lives in its own module; this file only parses and dispatches.

mod prepare;
mod progress;

use std::process::ExitCode;

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
    /// Turn every MIDI file below DIR into token shards (train.bin, val.bin) and meta.json.
    Prepare(prepare::PrepareArgs),
}

fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Prepare(args) => prepare::run(args),
    }
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
