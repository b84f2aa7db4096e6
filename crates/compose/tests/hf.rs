//! Hugging Face folders both ways: an export is a `transformers` folder that midigpt still
//! loads exactly, and folders as `transformers` writes them (no `model_config.json`, shards
//! with an index, F16) load with the same logits; settings midigpt cannot honour are refused
//! by name.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::{Int, Tensor};
use midigpt_compose::ModelPackage;
use midigpt_model::{Arch, Cpu, GptConfig, WeightDtype};
use safetensors::SafeTensors;
use serde_json::{json, Value};

fn tiny(arch: Arch, vocab: usize) -> GptConfig {
    let config = GptConfig {
        n_layer: 2,
        n_embd: 32,
        n_head: 4,
        n_kv_head: 4,
        block_size: 16,
        bias: false,
        ..GptConfig::small(vocab)
    };
    match arch {
        Arch::Gpt2 => config,
        Arch::Llama => GptConfig {
            arch: Arch::Llama,
            n_kv_head: 2,
            mlp_hidden: Some(48),
            rope_theta: 500.0,
            ..config
        },
    }
}

fn package(arch: Arch) -> ModelPackage<Cpu> {
    let tokenizer = midigpt_tokenize::builtin("remi").unwrap();
    let config = tiny(arch, tokenizer.vocab_size());
    ModelPackage::new(config.init::<Cpu>(&Default::default()).unwrap(), tokenizer)
}

fn logits(pkg: &ModelPackage<Cpu>) -> Vec<f32> {
    let idx = Tensor::<Cpu, 2, Int>::from_ints([[1, 7, 40, 3, 99, 12, 5, 60]], &Default::default());
    pkg.model.forward(idx).into_data().to_vec().unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn load(dir: &Path) -> Result<ModelPackage<Cpu>, midigpt_compose::ComposeError> {
    ModelPackage::<Cpu>::load(Some(dir), &Default::default())
}

#[test]
fn an_export_is_a_transformers_folder_that_midigpt_loads_exactly() {
    for arch in [Arch::Gpt2, Arch::Llama] {
        let pkg = package(arch);
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("model");
        pkg.export(&out, WeightDtype::F32).unwrap();
        for file in [
            "config.json",
            "generation_config.json",
            "tokenizer.json",
            "README.md",
        ] {
            assert!(out.join(file).is_file(), "{file}");
        }
        let config = read_json(&out.join("config.json"));
        let vocab = pkg.tokenizer.vocab();
        assert_eq!(config["bos_token_id"], json!(vocab.bos().unwrap()));
        assert_eq!(config["eos_token_id"], json!(vocab.eos().unwrap()));
        assert_eq!(config["pad_token_id"], json!(vocab.pad().unwrap()));
        assert_eq!(config["vocab_size"], json!(pkg.config.vocab_size));
        match arch {
            Arch::Gpt2 => {
                assert_eq!(config["architectures"], json!(["GPT2LMHeadModel"]));
                assert_eq!(config["activation_function"], "gelu");
                assert_eq!(config["n_positions"], 16);
                assert_eq!(config["tie_word_embeddings"], true);
            }
            Arch::Llama => {
                assert_eq!(config["architectures"], json!(["LlamaForCausalLM"]));
                assert_eq!(config["max_position_embeddings"], 16);
                assert_eq!(config["num_key_value_heads"], 2);
                assert_eq!(config["rope_theta"], 500.0);
                assert_eq!(config["tie_word_embeddings"], false);
            }
        }
        // GPT2LMHeadModel always has biases: a model without them gets zeros.
        let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        if arch == Arch::Gpt2 {
            let bias = file.tensor("transformer.h.1.mlp.c_fc.bias").unwrap();
            assert_eq!(bias.shape(), [128]);
            assert!(bias.data().iter().all(|&b| b == 0));
            assert_eq!(file.tensor("transformer.ln_f.bias").unwrap().shape(), [32]);
        }
        let back = load(&out).unwrap();
        assert_eq!(back.config, pkg.config, "{arch:?}: read as trained");
        // Same weights; a reloaded matrix may be laid out otherwise, so sums may round apart.
        let diff = max_diff(&logits(&back), &logits(&pkg));
        assert!(diff < 1e-6, "{arch:?}: {diff}");
    }
}

/// The export with midigpt's own model config removed: a folder as `transformers` writes it.
fn hf_folder(arch: Arch) -> (ModelPackage<Cpu>, tempfile::TempDir) {
    let pkg = package(arch);
    let tmp = tempfile::tempdir().unwrap();
    pkg.export(tmp.path(), WeightDtype::F32).unwrap();
    std::fs::remove_file(tmp.path().join("model_config.json")).unwrap();
    (pkg, tmp)
}

#[test]
fn a_transformers_folder_loads_with_the_same_logits() {
    for arch in [Arch::Gpt2, Arch::Llama] {
        let (pkg, dir) = hf_folder(arch);
        let back = load(dir.path()).unwrap();
        assert_eq!(back.config.arch, arch);
        assert_eq!(back.config.n_kv_head, pkg.config.n_kv_head);
        let diff = max_diff(&logits(&back), &logits(&pkg));
        assert!(diff < 1e-5, "{arch:?}: {diff}");
    }
}

#[test]
fn sharded_half_precision_and_mistral_folders_load() {
    let (pkg, dir) = hf_folder(Arch::Llama);
    let root = dir.path();
    let bytes = std::fs::read(root.join("model.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    // Two F16 shards, split by name, and the index transformers writes.
    let mut shards: [Vec<Tensor16>; 2] = Default::default();
    let mut weight_map = serde_json::Map::new();
    for (i, (name, view)) in file.tensors().into_iter().enumerate() {
        let f16: Vec<u8> = view
            .data()
            .chunks(4)
            .flat_map(|c| half_bits(f32::from_le_bytes(c.try_into().unwrap())))
            .collect();
        let shard = format!("model-0000{}-of-00002.safetensors", i % 2 + 1);
        weight_map.insert(name.clone(), shard.into());
        shards[i % 2].push((name, view.shape().to_vec(), f16));
    }
    for (i, tensors) in shards.iter().enumerate() {
        let views = tensors.iter().map(|(n, s, b)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F16, s.clone(), b);
            (n.clone(), view.unwrap())
        });
        let path = root.join(format!("model-0000{}-of-00002.safetensors", i + 1));
        safetensors::serialize_to_file(views, None, &path).unwrap();
    }
    std::fs::remove_file(root.join("model.safetensors")).unwrap();
    let index = json!({"metadata": {}, "weight_map": weight_map});
    std::fs::write(root.join("model.safetensors.index.json"), index.to_string()).unwrap();
    let mut config = read_json(&root.join("config.json"));
    config["model_type"] = "mistral".into();
    config["architectures"] = json!(["MistralForCausalLM"]);
    config["sliding_window"] = json!(16); // as long as the context: attention is full
    std::fs::write(root.join("config.json"), config.to_string()).unwrap();
    let back = load(root).unwrap();
    let diff = max_diff(&logits(&back), &logits(&pkg));
    assert!(diff > 0.0 && diff < 2e-2, "F16's precision: {diff}");
}

/// A tensor of a shard: name, shape, F16 bytes.
type Tensor16 = (String, Vec<usize>, Vec<u8>);

/// F32 to F16 bits, rounding to nearest (the values here are small and normal).
fn half_bits(x: f32) -> [u8; 2] {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    if exp <= 0 {
        return sign.to_le_bytes(); // underflow to zero: tiny weights only
    }
    let mant = bits & 0x7f_ffff;
    let rounded = ((exp as u32) << 10 | mant >> 13) + ((mant >> 12) & 1);
    (sign | rounded as u16).to_le_bytes()
}

#[test]
fn settings_midigpt_cannot_honour_are_refused_by_name() {
    let cases: [(Arch, &str, Value); 7] = [
        (Arch::Llama, "sliding_window", json!(8)),
        (
            Arch::Llama,
            "rope_scaling",
            json!({"type": "linear", "factor": 2.0}),
        ),
        (Arch::Llama, "attention_bias", json!(true)),
        (Arch::Llama, "mlp_bias", json!(true)),
        (Arch::Llama, "hidden_act", json!("gelu")),
        (Arch::Gpt2, "activation_function", json!("gelu_new")),
        (Arch::Gpt2, "model_type", json!("gpt_neox")),
    ];
    let mut folders: HashMap<&str, tempfile::TempDir> = HashMap::new();
    for (arch, key, value) in cases {
        let name = if arch == Arch::Gpt2 { "gpt2" } else { "llama" };
        let dir = folders.entry(name).or_insert_with(|| hf_folder(arch).1);
        let path = dir.path().join("config.json");
        let original = read_json(&path);
        let mut config = original.clone();
        config[key] = value;
        std::fs::write(&path, config.to_string()).unwrap();
        let err = load(dir.path()).err().expect(key).to_string();
        assert!(
            err.contains(key) && err.contains("config.json"),
            "{key}: {err}"
        );
        std::fs::write(&path, original.to_string()).unwrap();
        load(dir.path()).expect("loads again");
    }
    // transformers' GPT-2 default activation is the tanh GELU: absent means refused.
    let dir = &folders["gpt2"];
    let path = dir.path().join("config.json");
    let mut config = read_json(&path);
    config
        .as_object_mut()
        .unwrap()
        .remove("activation_function");
    std::fs::write(&path, config.to_string()).unwrap();
    let err = load(dir.path()).err().unwrap().to_string();
    assert!(err.contains("gelu_new"), "{err}");
}
