//! Hugging Face folders both ways: [`ModelPackage::export`] writes one that `transformers`
//! loads with `AutoModelForCausalLM.from_pretrained` (and midigpt still reads exactly), and
//! [`ModelPackage::load`] reads one made by `transformers` (GPT-2, Llama or Mistral, one
//! safetensors file or shards with `model.safetensors.index.json`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use midigpt_model::{
    from_hf_config, hf_config, hf_generation_config, load_safetensors_files, Arch, GptBackend,
    GptConfig, SpecialIds, MODEL_CONFIG_FILE,
};
use midigpt_tokenize::{load_tokenizer, Tokenizer};
use midigpt_train::{
    read_metrics, write_atomic, TrainConfig, CONFIG_FILE, METRICS_FILE, MODEL_FILE, TOKENIZER_FILE,
};

use crate::package::check_vocab;
use crate::{ComposeError, ModelPackage, PromptFit};

/// `transformers`' list of the shards of a checkpoint split over several files.
pub const INDEX_FILE: &str = "model.safetensors.index.json";
/// `transformers`' sampling defaults beside the config.
pub const GENERATION_CONFIG_FILE: &str = "generation_config.json";
/// How the model was trained (midigpt's training config), in an exported folder, where
/// `config.json` is Hugging Face's.
pub const TRAINING_CONFIG_FILE: &str = "training_config.json";
/// The model card.
pub const CARD_FILE: &str = "README.md";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ComposeError + '_ {
    move |source| ComposeError::Io {
        path: path.into(),
        source,
    }
}

fn not_a_model(path: &Path, why: String) -> ComposeError {
    ComposeError::NotAModel {
        path: path.into(),
        why,
    }
}

/// The tokenizer's special ids, as a Hugging Face config names them.
pub(crate) fn special_ids(tokenizer: &dyn Tokenizer) -> SpecialIds {
    let vocab = tokenizer.vocab();
    SpecialIds {
        bos: vocab.bos(),
        eos: vocab.eos(),
        pad: vocab.pad(),
    }
}

/// Whether `root` is a Hugging Face model folder midigpt did not write: a `config.json` with a
/// `model_type`, and no midigpt model config beside the weights.
pub(crate) fn is_hf_folder(root: &Path) -> bool {
    if root.join(MODEL_CONFIG_FILE).is_file() {
        return false;
    }
    std::fs::read_to_string(root.join(CONFIG_FILE))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|v| v.get("model_type").is_some())
}

/// The weight files of a Hugging Face folder: the shards its index names, else
/// `model.safetensors`.
fn weight_files(root: &Path) -> Result<Vec<PathBuf>, ComposeError> {
    let index = root.join(INDEX_FILE);
    if !index.is_file() {
        let single = root.join(MODEL_FILE);
        if !single.is_file() {
            let why = format!("has neither {MODEL_FILE} nor {INDEX_FILE}");
            return Err(not_a_model(root, why));
        }
        return Ok(vec![single]);
    }
    let text = std::fs::read_to_string(&index).map_err(io(&index))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| not_a_model(&index, e.to_string()))?;
    let Some(map) = value.get("weight_map").and_then(|m| m.as_object()) else {
        return Err(not_a_model(&index, "has no weight_map object".into()));
    };
    let names: BTreeSet<&str> = map.values().filter_map(|v| v.as_str()).collect();
    if names.is_empty() {
        return Err(not_a_model(&index, "names no shard".into()));
    }
    names
        .into_iter()
        .map(|name| {
            // Shards lie beside the index; a name reaching elsewhere is refused.
            let bad = Path::new(name).components().count() != 1;
            if bad {
                Err(not_a_model(
                    &index,
                    format!("shard {name:?} is not a file name"),
                ))
            } else {
                Ok(root.join(name))
            }
        })
        .collect()
}

impl<B: GptBackend> ModelPackage<B> {
    /// Loads a Hugging Face folder (see the module docs); its tokenizer is MidiTok's
    /// `tokenizer.json`.
    pub(crate) fn load_hf(root: &Path, device: &B::Device) -> Result<Self, ComposeError> {
        let config_path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path).map_err(io(&config_path))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| not_a_model(&config_path, e.to_string()))?;
        let hf = from_hf_config(&value, &config_path)?;
        let tokenizer_path = root.join(TOKENIZER_FILE);
        if !tokenizer_path.is_file() {
            let why = format!("has no {TOKENIZER_FILE} (the MidiTok tokenizer the model uses)");
            return Err(not_a_model(root, why));
        }
        let tokenizer = load_tokenizer(&tokenizer_path)?;
        check_vocab(&hf.config, tokenizer.as_ref(), root)?;
        let files = weight_files(root)?;
        let model = load_safetensors_files::<B>(&hf.config, &files, hf.tied, device)?;
        Ok(ModelPackage {
            model,
            tokenizer,
            config: hf.config,
            origin: root.display().to_string(),
            root: Some(root.into()),
            prompt_fit: PromptFit::load(root)?,
        })
    }

    /// The training config of the folder the package came from, if it has one.
    pub(crate) fn training_config(&self) -> Option<(TrainConfig, Vec<u8>)> {
        let root = self.root.as_ref()?;
        [TRAINING_CONFIG_FILE, CONFIG_FILE].iter().find_map(|name| {
            let path = root.join(name);
            let config = TrainConfig::load(&path).ok()?;
            Some((config, std::fs::read(&path).ok()?))
        })
    }

    /// Writes the Hugging Face side of an export: `config.json`, `generation_config.json`,
    /// the training config and the model card.
    pub(crate) fn write_hf_files(&self, out: &Path) -> Result<(), ComposeError> {
        let ids = special_ids(self.tokenizer.as_ref());
        let json = |v: serde_json::Value| {
            let mut text = serde_json::to_string_pretty(&v).expect("JSON serializes");
            text.push('\n');
            text
        };
        write_atomic(
            &out.join(CONFIG_FILE),
            json(hf_config(&self.config, ids)).as_bytes(),
        )?;
        write_atomic(
            &out.join(GENERATION_CONFIG_FILE),
            json(hf_generation_config(&self.config, ids)).as_bytes(),
        )?;
        let training = self.training_config();
        if let Some((_, bytes)) = &training {
            write_atomic(&out.join(TRAINING_CONFIG_FILE), bytes)?;
        }
        let card = model_card(self, training.as_ref().map(|(c, _)| c));
        write_atomic(&out.join(CARD_FILE), card.as_bytes())?;
        Ok(())
    }
}

/// The losses of the run a package came from (its `metrics.jsonl`), for the model card: the
/// best validation loss and the last training loss. Empty when the folder has no metrics.
fn metrics_summary(root: Option<&Path>) -> String {
    let Some(records) = root.and_then(|r| read_metrics(&r.join(METRICS_FILE)).ok()) else {
        return String::new();
    };
    let finite = |split| {
        records
            .iter()
            .filter(move |r| r.split == split && r.loss.is_finite())
    };
    let best_val = finite(midigpt_data::Split::Val).min_by(|a, b| a.loss.total_cmp(&b.loss));
    let last_train = finite(midigpt_data::Split::Train).next_back();
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

/// The model card: what the model is, how it was trained, and how to use it from Python.
fn model_card<B: GptBackend>(pkg: &ModelPackage<B>, training: Option<&TrainConfig>) -> String {
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
    let training = training + &metrics_summary(pkg.root.as_deref());
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
