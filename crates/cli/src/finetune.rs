//! What `prepare --like` and `train --init` share: naming a model, and preparing MIDI files
//! as that model's training files were.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use midigpt_compose::{read_tokenizer, PromptFit};
use midigpt_data::{Meta, PrepareOptions, META_FILE};
use midigpt_store::SavedModel;
use midigpt_tokenize::Tokenizer;

use crate::progress::Bar;

/// The folder a model argument names; `None` for `builtin`, the built-in model.
pub fn model_path(model: &str) -> Option<&Path> {
    (model != "builtin").then_some(Path::new(model))
}

/// `input` → `output` prepared as `model`'s training files were: its tokenizer, and its
/// prepare options where it has them ([`PrepareOptions::like`]), read without its weights.
pub fn like(
    model: &str,
    input: &Path,
    output: &Path,
) -> Result<(Box<dyn Tokenizer>, PrepareOptions)> {
    let saved = SavedModel::locate(model_path(model))?;
    let tokenizer = read_tokenizer(&saved)?;
    let options = match PromptFit::of(&saved)?.options() {
        Some(options) => PrepareOptions::like(input, output, options),
        None => PrepareOptions::new(input, output),
    };
    Ok((tokenizer, options))
}

/// Prepares `options.input` into `options.output` with `tokenizer`, with a progress bar and
/// the summary `prepare` prints.
pub fn prepare(tokenizer: Box<dyn Tokenizer>, options: &PrepareOptions) -> Result<Meta> {
    let start = Instant::now();
    let bar = Bar::new();
    let result = midigpt_data::prepare(tokenizer, options, &bar);
    bar.finish();
    let meta = result.with_context(|| {
        format!(
            "preparing {} into {}",
            options.input.display(),
            options.output.display()
        )
    })?;
    crate::prepare::print_summary(&meta, &options.output, start.elapsed().as_secs_f64());
    Ok(meta)
}

/// Where a fine-tune given a folder of MIDI files keeps them prepared: `OUT/data`.
pub fn run_data(out: &Path) -> PathBuf {
    out.join("data")
}

/// The prepared data a fine-tune of `model` reads: `data` itself when it is prepared data,
/// else (a folder of MIDI files) `OUT/data`, prepared like the model's training files the
/// first time.
pub fn data_for(data: &Path, out: &Path, model: &str) -> Result<PathBuf> {
    if data.join(META_FILE).is_file() {
        return Ok(data.to_owned());
    }
    let prepared = run_data(out);
    if prepared.join(META_FILE).is_file() {
        return Ok(prepared);
    }
    let (tokenizer, options) = like(model, data, &prepared)?;
    println!(
        "preparing the MIDI files of {} as {model}'s training files were, into {}",
        data.display(),
        prepared.display()
    );
    prepare(tokenizer, &options)?;
    Ok(prepared)
}
