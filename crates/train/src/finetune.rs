//! Fine-tuning: a run that starts from a saved model's weights instead of random ones, on
//! data prepared with that model's tokenizer, with settings that suit a few files.

use std::collections::BTreeMap;

use midigpt_data::Meta;
use midigpt_model::{Gpt, GptBackend, GptConfig};
use midigpt_store::{write_file, RunDir};
use midigpt_tokenize::Tokenizer;

use crate::{ConfigError, TrainConfig, TrainError};

/// The model a run starts from (`init_from`), loaded on the training device.
pub struct Init<B: GptBackend> {
    /// The network, weights and all.
    pub model: Gpt<B>,
    /// The tokenizer it was trained with: the data must be prepared with it.
    pub tokenizer: Box<dyn Tokenizer>,
    /// The instruments it heard in training (GM programs, -1 for drums, with their notes),
    /// when it says: the fine-tuned model has heard these and the data's.
    pub programs: Option<BTreeMap<i16, u64>>,
}

/// Fine-tuning settings for `model` on data of `tokens_train` and `tokens_val` tokens, before
/// a config file and `--set`: the model's own keys; windows as long as its context (a model
/// plays at its whole context, and positions it was not fine-tuned at keep the old music),
/// halved until the held-out tokens fill one; 2,048 tokens a step; a learning rate a third of
/// a from-scratch run's, so the model adapts without forgetting what it knew; about eight
/// passes over the data, at least 60 steps and at most 300 (under five minutes on two laptop
/// cores for the built-in model: 360 steps took 319 s on an AMD EPYC), evaluated twenty times on five batches, keeping the best
/// checkpoint by validation loss, and stopping after six evaluations without a new best (a
/// few held-out files score noisily: four stopped 40 folk tunes at step 240 of 300 with a
/// held-out loss of 0.61, where going on reached 0.52).
/// More data deserves more steps: `--set max_iters=...`.
pub fn fine_tune_config(
    model: &GptConfig,
    init_from: &str,
    tokens_train: u64,
    tokens_val: u64,
) -> TrainConfig {
    let mut config = TrainConfig {
        init_from: init_from.to_owned(),
        learning_rate: 3e-4,
        min_lr: 3e-5,
        eval_iters: 5,
        keep_last: 1,
        patience: 6,
        ..TrainConfig::default()
    };
    take_shape(&mut config, model);
    // Without validation files, the last tenth of the training tokens is held out.
    let held_out = match tokens_val {
        0 => tokens_train / 10,
        n => n,
    };
    let mut window = model.block_size;
    while window > 32 && window as u64 >= held_out {
        window /= 2;
    }
    config.window = window;
    config.batch_size = (2048 / window).max(1);
    const EPOCHS: u64 = 8;
    let steps = (EPOCHS * tokens_train)
        .div_ceil(config.tokens_per_step() as u64)
        .clamp(60, 300);
    config.max_iters = steps;
    config.lr_decay_iters = steps;
    config.warmup_iters = (steps / 20).max(5);
    config.eval_interval = (steps / 20).max(5);
    config.checkpoint_interval = config.eval_interval;
    config.log_interval = (steps / 100).max(1);
    config
}

/// Sets the model keys of `config` to `model`'s.
pub fn take_shape(config: &mut TrainConfig, model: &GptConfig) {
    config.arch = model.arch;
    config.block_size = model.block_size;
    config.n_layer = model.n_layer;
    config.n_head = model.n_head;
    config.n_kv_head = model.n_kv_head;
    config.n_embd = model.n_embd;
    config.dropout = model.dropout;
    config.bias = model.bias;
}

/// Checks that `config` describes `model` (a fine-tune trains the model it starts from) and
/// that `meta`'s data was prepared with the model's tokenizer.
pub(crate) fn check<B: GptBackend>(
    init: &Init<B>,
    config: &TrainConfig,
    meta: &Meta,
) -> Result<(), TrainError> {
    let model = init.model.config();
    // A hidden size given as the recipe's own rule (as a Hugging Face config gives it) is
    // the model a training config describes.
    let resolved = |c: &GptConfig| GptConfig {
        mlp_hidden: Some(c.mlp_hidden_size()),
        ..c.clone()
    };
    if resolved(&crate::model_config(config, model.vocab_size)) != resolved(model) {
        return Err(ConfigError::Invalid {
            key: "init_from",
            reason: format!(
                "{} has settings a training config cannot change or say ({:?}); leave the \
                 model keys (n_layer, n_embd, dropout, ...) unset for a fine-tune",
                config.init_from, model
            ),
        }
        .into());
    }
    meta.check_tokenizer(init.tokenizer.as_ref())
        .map_err(|e| TrainError::OtherVocabulary {
            model: config.init_from.clone(),
            why: e.to_string(),
        })
}

/// Writes the instruments the fine-tuned model heard: the starting model's and the data's.
pub(crate) fn merge_programs(
    run: &RunDir,
    base: &BTreeMap<i16, u64>,
    meta: &Meta,
) -> Result<(), TrainError> {
    let mut all = base.clone();
    for (&program, &notes) in &meta.counts.programs {
        *all.entry(program).or_default() += notes;
    }
    let mut text = serde_json::to_string_pretty(&all).expect("counts serialize");
    text.push('\n');
    Ok(write_file(&run.programs_path(), text.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_follow_the_model_and_the_data() {
        let model = GptConfig {
            block_size: 1024,
            ..GptConfig::small(521)
        };
        // Plenty held out: windows of the whole context, two a step.
        let c = fine_tune_config(&model, "builtin", 740_000, 5_000);
        assert_eq!((c.window, c.batch_size, c.block_size), (1024, 2, 1024));
        assert_eq!((c.n_layer, c.n_embd), (model.n_layer, model.n_embd));
        assert_eq!(c.max_iters, 300, "eight passes would be 2,891 steps");
        assert_eq!((c.eval_interval, c.warmup_iters), (15, 15));
        assert_eq!(c.patience, 6);
        c.validate().unwrap();
        // A few hundred tokens held out: shorter windows; little data: the fewest steps.
        let c = fine_tune_config(&model, "builtin", 3_000, 300);
        assert_eq!((c.window, c.batch_size, c.max_iters), (256, 8, 60));
        // No validation file: a tenth of the training tokens stands in.
        let c = fine_tune_config(&model, "builtin", 1_000, 0);
        assert_eq!(c.window, 64);
        // The model described is the model given.
        assert_eq!(crate::model_config(&c, 521), model);
    }
}
