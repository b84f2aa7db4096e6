//! Prompts relabelled as the model's training scores were.
//!
//! `prepare` can give tracks programs by name (`--track-program MELODY=73`) and replace a
//! corpus's metre (`--time-signature 4/4`). A model trained on such data knows its parts by
//! those programs, so a prompt from the same corpus must be relabelled the same way before
//! the model reads it, and before a request names its tracks. The options travel with the
//! model as `prepare.json`; what is applied is [`midigpt_data::clean::fit_prompt`].

use std::path::Path;

use midigpt_data::{clean, MetaOptions};
use midigpt_midi::Score;
use midigpt_store::{SavedModel, StoreError};

use crate::ComposeError;

/// The prepare options of a model's training data, applied to its prompts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptFit {
    options: Option<MetaOptions>,
}

impl PromptFit {
    /// Parses the text of a `prepare.json`; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &Path) -> Result<PromptFit, ComposeError> {
        let options = serde_json::from_str(text).map_err(|e| StoreError::NotAModel {
            path: origin.into(),
            why: e.to_string(),
        })?;
        Ok(PromptFit {
            options: Some(options),
        })
    }

    /// How `saved`'s training scores were relabelled (none recorded: as they were).
    pub fn of(saved: &SavedModel) -> Result<PromptFit, ComposeError> {
        match saved.prepare()? {
            Some(text) => PromptFit::from_json(&text.text, &text.path),
            None => Ok(PromptFit::default()),
        }
    }

    /// The options, when the model has them.
    pub fn options(&self) -> Option<&MetaOptions> {
        self.options.as_ref()
    }

    /// Relabels `score` as the training scores were (a no-op without options).
    pub fn apply(&self, score: &mut Score) {
        if let Some(options) = &self.options {
            clean::fit_prompt(score, options);
        }
    }
}
