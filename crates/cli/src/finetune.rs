//! What `prepare --like` and `train --init` share: naming a model, and preparing MIDI files
//! as that model's training files were.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use midigpt_data::{Meta, MetaOptions, PrepareOptions, META_FILE};
use midigpt_store::SavedModel;
use midigpt_tokenize::Tokenizer;

use crate::progress::Bar;

/// The folder a model argument names; `None` for `builtin`, the built-in model.
pub fn model_path(model: &str) -> Option<&Path> {
    (model != "builtin").then_some(Path::new(model))
}

/// A model's tokenizer and the prepare options of its training data (when it has them), read
/// without loading its weights.
pub fn tokenizer_and_options(model: &str) -> Result<(Box<dyn Tokenizer>, Option<MetaOptions>)> {
    let saved = SavedModel::locate(model_path(model))?;
    let text = saved.tokenizer()?;
    let json: serde_json::Value = serde_json::from_str(&text.text)
        .with_context(|| format!("reading {}", text.path.display()))?;
    let tokenizer = midigpt_tokenize::from_json(&json)
        .with_context(|| format!("reading {}", text.path.display()))?;
    let options = match saved.prepare()? {
        Some(text) => Some(
            serde_json::from_str(&text.text)
                .with_context(|| format!("reading {}", text.path.display()))?,
        ),
        None => None,
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

/// The prepared data a fine-tune of `model` reads: `data` itself when it is prepared data,
/// else (a folder of MIDI files) `OUT/data`, prepared like the model's training files the
/// first time.
pub fn data_for(data: &Path, out: &Path, model: &str) -> Result<PathBuf> {
    if data.join(META_FILE).is_file() {
        return Ok(data.to_owned());
    }
    let prepared = out.join("data");
    if prepared.join(META_FILE).is_file() {
        return Ok(prepared);
    }
    let (tokenizer, options) = tokenizer_and_options(model)?;
    let options = match &options {
        Some(like) => PrepareOptions::like(data, &prepared, like),
        None => PrepareOptions::new(data, &prepared),
    };
    println!(
        "preparing the MIDI files of {} as {model}'s training files were, into {}",
        data.display(),
        prepared.display()
    );
    prepare(tokenizer, &options)?;
    Ok(prepared)
}
