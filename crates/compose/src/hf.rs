//! Hugging Face folders both ways: [`ModelPackage::export`] writes one that `transformers`
//! loads with `AutoModelForCausalLM.from_pretrained` (and midigpt still reads exactly), and
//! [`ModelPackage::load`] reads one made by `transformers` (GPT-2, Llama or Mistral, one
//! safetensors file or shards with `model.safetensors.index.json`).

use std::path::Path;

use midigpt_model::{
    hf_config, hf_generation_config, save_safetensors_hf, Arch, GptBackend, GptConfig, SpecialIds,
    WeightDtype,
};
use midigpt_store::{
    write_file, MetricRecord, Split, StoreError, CARD_FILE, CONFIG_FILE, GENERATION_CONFIG_FILE,
    METRICS_FILE, MODEL_FILE, PREPARE_FILE, PROGRAMS_FILE, TOKENIZER_FILE, TRAINING_CONFIG_FILE,
    TRAIN_INFO_FILE,
};
use midigpt_tokenize::Tokenizer;

use crate::{ComposeError, ModelPackage};

/// The tokenizer's special ids, as a Hugging Face config names them.
pub(crate) fn special_ids(tokenizer: &dyn Tokenizer) -> SpecialIds {
    let vocab = tokenizer.vocab();
    SpecialIds {
        bos: vocab.bos(),
        eos: vocab.eos(),
        pad: vocab.pad(),
    }
}

/// Pretty JSON with a final newline.
fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON serializes");
    text.push('\n');
    text
}

impl<B: GptBackend> ModelPackage<B> {
    /// Writes the package as a Hugging Face model folder that `transformers` loads with
    /// `AutoModelForCausalLM` and [`ModelPackage::load`] reads exactly: the weights (as
    /// `dtype`, zero biases added where a GPT-2 has none) with midigpt's model config beside
    /// them, Hugging Face's `config.json` and `generation_config.json`, the MidiTok tokenizer,
    /// the prepare options, the training config when the package came from a folder that has
    /// one, and a model card.
    pub fn export(&self, out: &Path, dtype: WeightDtype) -> Result<(), ComposeError> {
        std::fs::create_dir_all(out).map_err(StoreError::io(out))?;
        save_safetensors_hf(&self.model, out.join(MODEL_FILE), dtype)?;
        // Copied as saved: it is what the model was trained with.
        let tokenizer = match &self.saved {
            Some(saved) => saved.tokenizer()?.text.into_owned(),
            None => pretty(&self.tokenizer.to_json()),
        };
        write_file(&out.join(TOKENIZER_FILE), tokenizer.as_bytes())?;
        if let Some(options) = self.prompt_fit.options() {
            write_file(
                &out.join(PREPARE_FILE),
                options.to_prepare_json().as_bytes(),
            )?;
        }
        if let Some(programs) = &self.programs {
            write_file(
                &out.join(PROGRAMS_FILE),
                pretty(&serde_json::json!(programs)).as_bytes(),
            )?;
        }
        let ids = special_ids(self.tokenizer.as_ref());
        let hf = pretty(&hf_config(&self.config, ids));
        write_file(&out.join(CONFIG_FILE), hf.as_bytes())?;
        let generation = pretty(&hf_generation_config(&self.config, ids));
        write_file(&out.join(GENERATION_CONFIG_FILE), generation.as_bytes())?;
        let training = match &self.saved {
            Some(saved) => saved.training_config()?,
            None => None,
        };
        if let Some(file) = &training {
            write_file(&out.join(TRAINING_CONFIG_FILE), file.text.as_bytes())?;
        }
        let info = match &self.saved {
            Some(saved) => saved.train_info()?,
            None => None,
        };
        if let Some(file) = &info {
            write_file(&out.join(TRAIN_INFO_FILE), file.text.as_bytes())?;
        }
        let training = training.and_then(|t| serde_json::from_str(&t.text).ok());
        let info = info.and_then(|t| serde_json::from_str(&t.text).ok());
        let card = model_card(self, training.as_ref(), info.as_ref());
        write_file(&out.join(CARD_FILE), card.as_bytes())?;
        Ok(())
    }
}

/// The losses of the run a package came from (its `metrics.jsonl`), for the model card: the
/// best validation loss and the last training loss. Empty when the folder has no metrics.
fn metrics_summary(records: Option<Vec<MetricRecord>>) -> String {
    let Some(records) = records else {
        return String::new();
    };
    let finite = |split| {
        records
            .iter()
            .filter(move |r| r.split == split && r.loss.is_finite())
    };
    let best_val = finite(Split::Val).min_by(|a, b| a.loss.total_cmp(&b.loss));
    let last_train = finite(Split::Train).next_back();
    let mut lines = String::new();
    if let Some(v) = best_val {
        lines += &format!(
            "- best validation loss: {:.4} nats per token (perplexity {:.2}) at step {}\n",
            v.loss,
            v.loss.exp(),
            v.step
        );
    }
    if let Some(t) = last_train {
        lines += &format!("- last training loss: {:.4} at step {}\n", t.loss, t.step);
    }
    if lines.is_empty() {
        return lines;
    }
    format!("\nMetrics (`{METRICS_FILE}` of the run):\n\n{lines}")
}

/// For a fine-tune (a run whose `init_from` named a model): what it started from, what it
/// learnt from, and its validation loss before and after. Empty for a run from scratch.
fn fine_tuned(info: Option<&serde_json::Value>) -> String {
    let Some(info) = info else {
        return String::new();
    };
    let from = info["config"]["init_from"].as_str().unwrap_or("scratch");
    if from == "scratch" {
        return String::new();
    }
    let loss = |key: &str| info[key].as_f64().map_or("?".into(), |v| format!("{v:.4}"));
    format!(
        "Fine-tuned from `{from}` on {files} files ({tokens} training tokens, transposed \
         copies included): validation loss {before} before, {after} after (nats per token, on \
         the files held out).\n\n",
        files = info["files"].as_u64().map_or("?".into(), |f| f.to_string()),
        tokens = info["tokens_train"].as_u64().unwrap_or(0),
        before = loss("val_loss_at_start"),
        after = loss("best_val_loss"),
    )
}

/// The model card: what the model is, how it was trained, and how to use it from Python.
fn model_card<B: GptBackend>(
    pkg: &ModelPackage<B>,
    training: Option<&serde_json::Value>,
    info: Option<&serde_json::Value>,
) -> String {
    let c: &GptConfig = &pkg.config;
    let class = match c.arch {
        Arch::Gpt2 => "GPT2LMHeadModel",
        Arch::Llama => "LlamaForCausalLM",
    };
    let tokenization = pkg
        .tokenizer
        .to_json()
        .get("tokenization")
        .and_then(|t| t.as_str())
        .unwrap_or("REMI")
        .to_string();
    let training = match training {
        Some(t) => format!(
            "Trained with `midigpt train` with this configuration \
             (`{TRAINING_CONFIG_FILE}`):\n\n```json\n{}\n```\n",
            serde_json::to_string_pretty(t).unwrap_or_default()
        ),
        None => "The training configuration was not recorded with this model.\n".into(),
    };
    let training = fine_tuned(info)
        + &training
        + &metrics_summary(pkg.saved.as_ref().and_then(|s| s.metrics()));
    format!(
        "---\nlibrary_name: transformers\ntags:\n- midi\n- music-generation\n- miditok\n---\n\n\
# {origin}\n\n\
A symbolic-music language model made with midigpt: a `{class}` of {params} parameters \
({layers} layers, {heads} heads, width {width}, context {ctx} tokens) over a MidiTok \
{tokenization} vocabulary of {vocab} tokens.\n\n\
## Training\n\n{training}\n\
## Use in Python\n\n\
```python\nimport json, torch, miditok\nfrom transformers import AutoModelForCausalLM\n\n\
model = AutoModelForCausalLM.from_pretrained(\"DIR\")\n\
kind = json.load(open(\"DIR/tokenizer.json\"))[\"tokenization\"]\n\
tok = getattr(miditok, kind)(params=\"DIR/tokenizer.json\")\n\
out = model.generate(torch.tensor([[tok[\"BOS_None\"]]]), do_sample=True, top_p=0.95, \
max_new_tokens=500)\n\
ids = out[0].tolist()\n\
tok.decode(ids if tok.one_token_stream else [ids]).dump_midi(\"out.mid\")\n```\n\n\
`transformers` has no grammar mask; MidiTok's decoder skips ids that do not form events. \
With GPT-2, keep prompt and new tokens within {ctx}.\n\n\
## Use with midigpt\n\n\
```\nmidigpt generate --model DIR --out out.mid\n```\n\n\
midigpt reads `model_config.json` and loads the model exactly as it was trained.\n",
        origin = pkg.origin,
        params = pkg.model.num_params(),
        layers = c.n_layer,
        heads = c.n_head,
        width = c.n_embd,
        ctx = c.block_size,
        vocab = c.vocab_size,
    )
}
