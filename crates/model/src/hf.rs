//! Hugging Face `config.json`: [`GptConfig`] as `transformers`' `GPT2LMHeadModel` or
//! `LlamaForCausalLM` config, and back from a GPT-2, Llama or Mistral config.
//!
//! Reading refuses, by name, every setting midigpt's model would not compute exactly as
//! `transformers` does (a sliding window shorter than the context, RoPE scaling, biases in a
//! Llama, the tanh GELU, ...): a model that loads gives the same logits.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::config::{Arch, GptConfig};
use crate::weights::{file_tensors, tensor_names, write_file, WeightDtype};
use crate::{Gpt, GptBackend, ModelError};

/// The special token ids a Hugging Face config names (MidiTok's `BOS_None`, `EOS_None`,
/// `PAD_None`), when the tokenizer has them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpecialIds {
    /// Begin of sequence.
    pub bos: Option<u32>,
    /// End of sequence.
    pub eos: Option<u32>,
    /// Padding.
    pub pad: Option<u32>,
}

/// The `config.json` `transformers` loads `config`'s model from with `AutoModelForCausalLM`
/// and no custom code. GPT-2's head is always tied and Llama's never, as midigpt trains them.
pub fn hf_config(config: &GptConfig, ids: SpecialIds) -> Value {
    let mut out = match config.arch {
        Arch::Gpt2 => json!({
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "vocab_size": config.vocab_size,
            "n_positions": config.block_size,
            "n_ctx": config.block_size,
            "n_embd": config.n_embd,
            "n_layer": config.n_layer,
            "n_head": config.n_head,
            "n_inner": config.mlp_hidden_size(),
            // midigpt's GELU is the exact (erf) one; transformers' default `gelu_new` is not.
            "activation_function": "gelu",
            "layer_norm_epsilon": config.norm_eps,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attn_pdrop": 0.0,
            "scale_attn_weights": true,
            "scale_attn_by_inverse_layer_idx": false,
            "reorder_and_upcast_attn": false,
            "tie_word_embeddings": true,
        }),
        Arch::Llama => json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": config.vocab_size,
            "hidden_size": config.n_embd,
            "intermediate_size": config.mlp_hidden_size(),
            "num_hidden_layers": config.n_layer,
            "num_attention_heads": config.n_head,
            "num_key_value_heads": config.n_kv_head,
            "head_dim": config.head_size(),
            "hidden_act": "silu",
            "max_position_embeddings": config.block_size,
            "rms_norm_eps": config.norm_eps,
            "rope_theta": config.rope_theta,
            "rope_scaling": null,
            "attention_bias": false,
            "attention_dropout": 0.0,
            "mlp_bias": false,
            "tie_word_embeddings": false,
        }),
    };
    let map = out.as_object_mut().expect("a JSON object");
    for (key, id) in [
        ("bos_token_id", ids.bos),
        ("eos_token_id", ids.eos),
        ("pad_token_id", ids.pad),
    ] {
        map.insert(key.into(), id.map_or(Value::Null, Value::from));
    }
    map.insert("torch_dtype".into(), "float32".into());
    out
}

/// The `generation_config.json` beside [`hf_config`]: the special ids and sampling defaults.
pub fn hf_generation_config(config: &GptConfig, ids: SpecialIds) -> Value {
    json!({
        "bos_token_id": ids.bos,
        "eos_token_id": ids.eos,
        "pad_token_id": ids.pad,
        "do_sample": true,
        "temperature": 1.0,
        "top_p": 0.95,
        // GPT-2's learned positions end at the context length.
        "max_length": config.block_size,
    })
}

/// What a Hugging Face config says beyond [`GptConfig`]: whether Llama's LM head is tied to
/// the token embedding (its file then has no `lm_head.weight`).
#[derive(Debug, Clone, PartialEq)]
pub struct HfModel {
    /// The model's config.
    pub config: GptConfig,
    /// The LM head is the token embedding.
    pub tied: bool,
}

/// Reads a Hugging Face `config.json` of a GPT-2, Llama or Mistral causal LM; `origin` names
/// the file in errors.
pub fn from_hf_config(value: &Value, origin: &Path) -> Result<HfModel, ModelError> {
    let cfg = Cfg {
        map: value.as_object(),
        origin,
    };
    let Some(map) = cfg.map else {
        return Err(cfg.refuse("the file", "is not a JSON object"));
    };
    let model_type = map.get("model_type").and_then(Value::as_str).unwrap_or("");
    let model = match model_type {
        "gpt2" => gpt2(&cfg)?,
        "llama" | "mistral" => llama(&cfg, model_type == "mistral")?,
        other => {
            return Err(cfg.refuse(
                "model_type",
                &format!("is {other:?}; midigpt reads gpt2, llama and mistral"),
            ))
        }
    };
    model
        .config
        .validate()
        .map_err(|e| cfg.refuse("sizes", &e.to_string()))?;
    Ok(model)
}

/// A config object being read, with its file for errors.
struct Cfg<'a> {
    map: Option<&'a Map<String, Value>>,
    origin: &'a Path,
}

impl Cfg<'_> {
    fn refuse(&self, setting: &str, why: &str) -> ModelError {
        ModelError::HfConfig {
            path: self.origin.into(),
            setting: setting.into(),
            why: why.into(),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A required size.
    fn size(&self, key: &str) -> Result<usize, ModelError> {
        self.opt_size(key)?
            .ok_or_else(|| self.refuse(key, "is missing"))
    }

    fn opt_size(&self, key: &str) -> Result<Option<usize>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| self.refuse(key, &format!("is {v}, not a whole number"))),
        }
    }

    fn float(&self, key: &str, default: f64) -> Result<f64, ModelError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| self.refuse(key, &format!("is {v}, not a number"))),
        }
    }

    /// Refuses `key` unless it is absent or equals `expected`.
    fn require(&self, key: &str, expected: Value, why: &str) -> Result<(), ModelError> {
        match self.get(key) {
            Some(v) if *v != expected => Err(self.refuse(key, &format!("is {v}: {why}"))),
            _ => Ok(()),
        }
    }

    fn flag(&self, key: &str, default: bool) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(default)
    }
}

fn gpt2(cfg: &Cfg) -> Result<HfModel, ModelError> {
    // transformers' default is the tanh approximation, which midigpt does not compute.
    let act = cfg.get("activation_function").and_then(Value::as_str);
    if act != Some("gelu") {
        return Err(cfg.refuse(
            "activation_function",
            &format!(
                "is {:?}: midigpt computes the exact GELU, \"gelu\" only",
                act.unwrap_or("gelu_new (the default)")
            ),
        ));
    }
    cfg.require(
        "scale_attn_weights",
        json!(true),
        "midigpt always scales attention",
    )?;
    cfg.require(
        "scale_attn_by_inverse_layer_idx",
        json!(false),
        "not supported",
    )?;
    if !cfg.flag("tie_word_embeddings", true) {
        return Err(cfg.refuse(
            "tie_word_embeddings",
            "is false: midigpt's GPT-2 head is tied",
        ));
    }
    let n_embd = cfg.size("n_embd")?;
    let n_head = cfg.size("n_head")?;
    let config = GptConfig {
        arch: Arch::Gpt2,
        vocab_size: cfg.size("vocab_size")?,
        block_size: cfg.size("n_positions")?,
        n_layer: cfg.size("n_layer")?,
        n_head,
        n_kv_head: n_head,
        n_embd,
        dropout: 0.0,
        bias: true,
        mlp_hidden: Some(cfg.opt_size("n_inner")?.unwrap_or(4 * n_embd)),
        rope_theta: 10_000.0,
        norm_eps: cfg.float("layer_norm_epsilon", 1e-5)?,
    };
    Ok(HfModel { config, tied: true })
}

fn llama(cfg: &Cfg, mistral: bool) -> Result<HfModel, ModelError> {
    let act = cfg
        .get("hidden_act")
        .and_then(Value::as_str)
        .unwrap_or("silu");
    if act != "silu" {
        return Err(cfg.refuse(
            "hidden_act",
            &format!("is {act:?}: midigpt computes silu only"),
        ));
    }
    cfg.require("rope_scaling", Value::Null, "RoPE scaling is not supported")?;
    cfg.require(
        "attention_bias",
        json!(false),
        "midigpt's Llama has no biases",
    )?;
    cfg.require("mlp_bias", json!(false), "midigpt's Llama has no biases")?;
    cfg.require("pretraining_tp", json!(1), "only 1 is computed exactly")?;
    let mut rope_theta = cfg.float("rope_theta", 10_000.0)?;
    // Newer transformers write the RoPE settings as one object.
    if let Some(params) = cfg.get("rope_parameters") {
        let sub = Cfg {
            map: params.as_object(),
            origin: cfg.origin,
        };
        let kind = sub
            .get("rope_type")
            .and_then(Value::as_str)
            .unwrap_or("default");
        if kind != "default" {
            return Err(cfg.refuse(
                "rope_parameters.rope_type",
                &format!("is {kind:?}: RoPE scaling is not supported"),
            ));
        }
        rope_theta = sub.float("rope_theta", rope_theta)?;
    }
    let n_embd = cfg.size("hidden_size")?;
    let n_head = cfg.size("num_attention_heads")?;
    let block_size = cfg.size("max_position_embeddings")?;
    if let Some(head_dim) = cfg.opt_size("head_dim")? {
        if n_head * head_dim != n_embd {
            return Err(cfg.refuse(
                "head_dim",
                &format!("is {head_dim}: midigpt needs hidden_size / num_attention_heads"),
            ));
        }
    }
    // A window at least as long as the context never hides a position, so attention is full.
    let window = cfg.opt_size("sliding_window")?;
    if let Some(window) = window.filter(|&w| w < block_size) {
        let ctx = if mistral {
            "max_position_embeddings"
        } else {
            "the context"
        };
        return Err(cfg.refuse(
            "sliding_window",
            &format!("is {window}, shorter than {ctx} {block_size}: midigpt attends over the whole context (set max_position_embeddings to {window} to read it)"),
        ));
    }
    let config = GptConfig {
        arch: Arch::Llama,
        vocab_size: cfg.size("vocab_size")?,
        block_size,
        n_layer: cfg.size("num_hidden_layers")?,
        n_head,
        n_kv_head: cfg.opt_size("num_key_value_heads")?.unwrap_or(n_head),
        n_embd,
        dropout: 0.0,
        bias: false,
        mlp_hidden: Some(cfg.size("intermediate_size")?),
        rope_theta,
        norm_eps: cfg.float("rms_norm_eps", 1e-6)?,
    };
    Ok(HfModel {
        config,
        tied: cfg.flag("tie_word_embeddings", false),
    })
}

/// [`save_safetensors_as`] for `transformers`: a GPT-2 without biases gets zero biases (its
/// `GPT2LMHeadModel` always has them, and a zero bias adds nothing, so the logits are the
/// same); midigpt still reads the file as the model it is.
pub fn save_safetensors_hf<B: GptBackend>(
    model: &Gpt<B>,
    path: impl AsRef<Path>,
    dtype: WeightDtype,
) -> Result<(), ModelError> {
    let mut tensors = file_tensors(model, dtype);
    let config = model.config();
    if config.arch == Arch::Gpt2 && !config.bias {
        let width = match dtype {
            WeightDtype::F32 => 4,
            WeightDtype::F16 => 2,
        };
        let with_bias = GptConfig {
            bias: true,
            ..config.clone()
        };
        for name in tensor_names(&with_bias)? {
            let Some(weight) = name.strip_suffix(".bias").map(|p| format!("{p}.weight")) else {
                continue;
            };
            if tensors.iter().any(|(n, _, _)| *n == name) {
                continue;
            }
            // A bias is as long as its weight's output dimension (its last).
            let len = tensors
                .iter()
                .find(|(n, _, _)| *n == weight)
                .and_then(|(_, shape, _)| shape.last().copied())
                .unwrap_or(0);
            tensors.push((name, vec![len], vec![0; len * width]));
        }
    }
    write_file(model, path.as_ref(), dtype, tensors)
}
