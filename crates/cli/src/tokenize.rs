//! `midigpt tokenize` and `midigpt detokenize`: one MIDI file ⇄ token JSON.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use midigpt_midi::Score;
use midigpt_tokenize::{builtin, load_tokenizer, with_infill_tokens, TokenId, Tokenizer};
use serde_json::{json, Value};

/// Which tokenizer to use: a saved config file, or a built-in one by name.
#[derive(Debug, clap::Args)]
pub struct TokenizerChoice {
    /// Tokenizer config: a MidiTok `tokenizer.json` or one saved by midigpt.
    #[arg(long, value_name = "FILE", conflicts_with = "tokenizer")]
    pub tokenizer_config: Option<PathBuf>,
    /// Built-in tokenizer with default settings: remi, remi-plus, midi-like or triplet.
    #[arg(long, value_name = "NAME", default_value = "remi-plus", value_parser = clap::builder::PossibleValuesParser::new(midigpt_tokenize::BUILTIN_NAMES))]
    pub tokenizer: String,
    /// Add the bar-infilling tokens (Infill_Bar, FillBar_Start, FillBar_End) to the special
    /// tokens, for a model trained with infill_rate > 0 (REMI and REMI+ only).
    #[arg(long)]
    pub infill_tokens: bool,
}

impl TokenizerChoice {
    /// Builds the chosen tokenizer.
    pub fn load(&self) -> Result<Box<dyn Tokenizer>> {
        let tokenizer = match &self.tokenizer_config {
            Some(path) => load_tokenizer(path)
                .with_context(|| format!("loading tokenizer config {}", path.display()))?,
            None => builtin(&self.tokenizer).context("choosing a built-in tokenizer")?,
        };
        if !self.infill_tokens {
            return Ok(tokenizer);
        }
        with_infill_tokens(tokenizer.as_ref()).context("--infill-tokens")
    }
}

/// Arguments of `midigpt tokenize`.
#[derive(Debug, clap::Args)]
pub struct TokenizeArgs {
    #[command(flatten)]
    pub tokenizer: TokenizerChoice,
    /// The MIDI file (.mid, .midi or RIFF .rmi).
    pub file: PathBuf,
}

/// Arguments of `midigpt detokenize`.
#[derive(Debug, clap::Args)]
pub struct DetokenizeArgs {
    #[command(flatten)]
    pub tokenizer: TokenizerChoice,
    /// JSON as `midigpt tokenize` prints it (`ids`, or `tokens` strings); `-` reads stdin.
    pub tokens: PathBuf,
    /// Where to write the MIDI file.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Prints `{"tokens": [[...]], "ids": [[...]]}` for one file: a list of sequences even when
/// there is one.
pub fn tokenize(args: &TokenizeArgs) -> Result<ExitCode> {
    let tokenizer = args.tokenizer.load()?;
    let score =
        Score::from_file(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let ids = tokenizer
        .encode(&score)
        .with_context(|| format!("tokenizing {}", args.file.display()))?;
    let tokens = ids
        .iter()
        .map(|seq| {
            seq.iter()
                .map(|&id| tokenizer.vocab().token(id).map(str::to_string))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    println!("{}", json!({ "tokens": tokens, "ids": ids }));
    Ok(ExitCode::SUCCESS)
}

/// Decodes token JSON back into a MIDI file.
pub fn detokenize(args: &DetokenizeArgs) -> Result<ExitCode> {
    let tokenizer = args.tokenizer.load()?;
    let text = if args.tokens.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading stdin")?;
        s
    } else {
        std::fs::read_to_string(&args.tokens)
            .with_context(|| format!("reading {}", args.tokens.display()))?
    };
    let json: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.tokens.display()))?;
    let ids = sequences(&json, tokenizer.as_ref())
        .with_context(|| format!("reading tokens from {}", args.tokens.display()))?;
    let score = tokenizer.decode(&ids)?;
    score
        .write_file(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({}, {})",
        args.out.display(),
        count(score.tracks.len(), "track"),
        count(score.note_count(), "note")
    );
    Ok(ExitCode::SUCCESS)
}

/// "1 note", "2 notes".
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Reads `ids` (or, failing that, `tokens`) as a list of sequences; a flat list is one sequence.
fn sequences(json: &Value, tokenizer: &dyn Tokenizer) -> Result<Vec<Vec<TokenId>>> {
    let (key, value) = match (json.get("ids"), json.get("tokens")) {
        (Some(v), _) => ("ids", v),
        (None, Some(v)) => ("tokens", v),
        (None, None) => bail!("expected an object with \"ids\" or \"tokens\""),
    };
    let Some(list) = value.as_array() else {
        bail!("\"{key}\" is not a list")
    };
    let nested = list.iter().all(Value::is_array) && !list.is_empty();
    let seqs: Vec<&Value> = if nested {
        list.iter().collect()
    } else {
        vec![value]
    };
    seqs.into_iter()
        .map(|seq| {
            let items = seq.as_array().context("a sequence is not a list")?;
            items
                .iter()
                .map(|item| match item {
                    Value::Number(n) => n
                        .as_u64()
                        .and_then(|n| TokenId::try_from(n).ok())
                        .with_context(|| format!("bad id {n}")),
                    Value::String(s) => Ok(tokenizer.vocab().id(s)?),
                    other => bail!("bad token {other}"),
                })
                .collect()
        })
        .collect()
}
