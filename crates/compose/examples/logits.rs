//! Tools for comparing midigpt with other implementations (`scale/check_hf.py`:
//! `transformers`):
//!
//! - `logits MODEL_DIR 1,5,9,...` prints the model's logits for the ids as JSON, one row per
//!   position;
//! - `logits export gpt2|llama|builtin OUT_DIR` exports a tiny random model (REMI vocabulary)
//!   of the recipe, or the built-in model, as `midigpt export` does.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::tensor::{Int, Tensor, TensorData};
use midigpt_compose::ModelPackage;
use midigpt_model::{Arch, Cpu, GptConfig, WeightDtype};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, arch, out] if cmd == "export" => export(arch, &PathBuf::from(out)),
        [model, ids] => logits(&PathBuf::from(model), ids),
        _ => bail!("usage: logits MODEL_DIR ID,ID,... | logits export gpt2|llama|builtin OUT"),
    }
}

fn logits(model: &Path, ids: &str) -> Result<()> {
    let ids = ids
        .split(',')
        .map(|s| s.trim().parse::<i64>().with_context(|| format!("id {s:?}")))
        .collect::<Result<Vec<_>>>()?;
    let device = Default::default();
    let pkg = ModelPackage::<Cpu>::load(Some(model), &device)?;
    let n = ids.len();
    let idx = Tensor::<Cpu, 2, Int>::from_data(TensorData::new(ids, [1, n]), &device);
    let logits = pkg.model.forward(idx);
    let vocab = logits.dims()[2];
    let flat: Vec<f32> = logits.into_data().convert::<f32>().to_vec().expect("f32");
    let rows: Vec<&[f32]> = flat.chunks(vocab).collect();
    println!("{}", serde_json::to_string(&rows)?);
    Ok(())
}

fn export(arch: &str, out: &Path) -> Result<()> {
    let device = Default::default();
    let pkg = if arch == "builtin" {
        ModelPackage::<Cpu>::builtin(&device)?
    } else {
        let tokenizer = midigpt_tokenize::builtin("remi")?;
        let base = GptConfig {
            n_layer: 2,
            n_embd: 64,
            n_head: 4,
            n_kv_head: 4,
            block_size: 64,
            bias: false,
            ..GptConfig::small(tokenizer.vocab_size())
        };
        let config = match arch {
            "gpt2" => base,
            "llama" => GptConfig {
                arch: Arch::Llama,
                n_kv_head: 2,
                mlp_hidden: Some(96),
                rope_theta: 10_000.0,
                ..base
            },
            other => bail!("unknown recipe {other:?}"),
        };
        ModelPackage {
            origin: format!("tiny random {arch}"),
            ..ModelPackage::new(config.init::<Cpu>(&device)?, tokenizer)
        }
    };
    pkg.export(out, WeightDtype::F32)?;
    Ok(())
}
