//! Weights in safetensors files, under Hugging Face's tensor names.
//!
//! | model                  | GPT-2 (`transformers` `GPT2LMHeadModel`) | Llama (`LlamaForCausalLM`)                      |
//! |------------------------|------------------------------------------|-------------------------------------------------|
//! | token embedding        | `transformer.wte.weight` (also the head) | `model.embed_tokens.weight`                     |
//! | position embedding     | `transformer.wpe.weight`                 | (RoPE, no weights)                              |
//! | block `i` norm 1       | `transformer.h.{i}.ln_1.{weight,bias}`   | `model.layers.{i}.input_layernorm.weight`       |
//! | block `i` q, k, v      | `transformer.h.{i}.attn.c_attn.{weight,bias}` | `model.layers.{i}.self_attn.{q,k,v}_proj.weight` |
//! | block `i` attn out     | `transformer.h.{i}.attn.c_proj.{weight,bias}` | `model.layers.{i}.self_attn.o_proj.weight`  |
//! | block `i` norm 2       | `transformer.h.{i}.ln_2.{weight,bias}`   | `model.layers.{i}.post_attention_layernorm.weight` |
//! | block `i` MLP up       | `transformer.h.{i}.mlp.c_fc.{weight,bias}` | `model.layers.{i}.mlp.{gate,up}_proj.weight`  |
//! | block `i` MLP down     | `transformer.h.{i}.mlp.c_proj.{weight,bias}` | `model.layers.{i}.mlp.down_proj.weight`     |
//! | final norm             | `transformer.ln_f.{weight,bias}`         | `model.norm.weight`                             |
//! | LM head                | (tied to `wte`, not stored)              | `lm_head.weight`                                |
//!
//! Matrix layouts follow the Hugging Face checkpoints, so their files load as they are:
//! GPT-2's `Conv1D` weights are `(in, out)`, which is burn's `Linear` layout, and are stored
//! unchanged; Llama's `nn.Linear` weights are `(out, in)` and are transposed on the way in and
//! out. The model fuses q/k/v (and SwiGLU's gate/up) into one matrix; the file keeps them
//! apart. Tensors are written as little-endian F32 (checkpoints) or F16 (exported models, half
//! the size); F32, F16 and BF16 files load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::GptBackend;
use burn::module::Param;
use burn::tensor::{DType, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};

use midigpt_store::{write_atomic, write_atomic_with, MODEL_CONFIG_FILE};

use crate::config::{Arch, GptConfig};
use crate::model::{Gpt, Norm};
use crate::ModelError;

/// A model parameter, of either rank.
enum Slot<'a, B: GptBackend> {
    Vector(&'a mut Param<Tensor<B, 1>>),
    Matrix(&'a mut Param<Tensor<B, 2>>),
}

/// One parameter and the file tensors it is made of.
struct Entry<'a, B: GptBackend> {
    slot: Slot<'a, B>,
    /// File names of the parameter's blocks of output columns, with their widths, 0 for all
    /// (several blocks when the model fuses matrices the file keeps apart).
    parts: Vec<(String, usize)>,
    /// The file stores the matrix as `(out, in)` (`nn.Linear`), burn as `(in, out)`.
    transposed: bool,
}

fn vector<B: GptBackend>(name: String, param: &mut Param<Tensor<B, 1>>) -> Entry<'_, B> {
    Entry {
        slot: Slot::Vector(param),
        parts: vec![(name, 0)],
        transposed: false,
    }
}

/// A matrix stored whole (`width` 0: all columns).
fn matrix<B: GptBackend>(
    name: String,
    param: &mut Param<Tensor<B, 2>>,
    transposed: bool,
) -> Entry<'_, B> {
    Entry {
        slot: Slot::Matrix(param),
        parts: vec![(name, 0)],
        transposed,
    }
}

fn push_norm<'a, B: GptBackend>(out: &mut Vec<Entry<'a, B>>, name: &str, norm: &'a mut Norm<B>) {
    match norm {
        Norm::Layer(ln) => {
            let ln = &mut ln.norm;
            out.push(vector(format!("{name}.weight"), &mut ln.gamma));
            out.extend(ln.beta.as_mut().map(|b| vector(format!("{name}.bias"), b)));
        }
        Norm::Rms(rms) => out.push(vector(format!("{name}.weight"), &mut rms.gamma)),
    }
}

/// Names and widths of an entry's file tensors, for a parameter `d_out` columns wide.
fn widths(parts: &[(String, usize)], d_out: usize) -> impl Iterator<Item = (&str, usize)> {
    let width = move |w: usize| if w == 0 { d_out } else { w };
    parts
        .iter()
        .map(move |(name, w)| (name.as_str(), width(*w)))
}

/// Every parameter of `model` with its place in the file, in a fixed order.
fn entries<B: GptBackend>(model: &mut Gpt<B>) -> Vec<Entry<'_, B>> {
    let cfg = model.config().clone();
    if cfg.arch == Arch::Llama {
        return llama_entries(model, &cfg);
    }
    let mut out = vec![matrix(
        "transformer.wte.weight".into(),
        &mut model.wte.weight,
        false,
    )];
    if let Some(wpe) = model.wpe.as_mut() {
        out.push(matrix(
            "transformer.wpe.weight".into(),
            &mut wpe.weight,
            false,
        ));
    }
    for (i, block) in model.h.iter_mut().enumerate() {
        let p = format!("transformer.h.{i}");
        push_norm(&mut out, &format!("{p}.ln_1"), &mut block.ln_1);
        let (attn, mlp) = (&mut block.attn, &mut block.mlp);
        let linears = [
            ("attn.c_attn", &mut attn.c_attn),
            ("attn.c_proj", &mut attn.c_proj),
        ];
        let linears = linears
            .into_iter()
            .chain([("mlp.c_fc", &mut mlp.c_fc), ("mlp.c_proj", &mut mlp.c_proj)]);
        for (name, linear) in linears {
            out.push(matrix(
                format!("{p}.{name}.weight"),
                &mut linear.weight,
                false,
            ));
            out.extend(
                linear
                    .bias
                    .as_mut()
                    .map(|b| vector(format!("{p}.{name}.bias"), b)),
            );
        }
        push_norm(&mut out, &format!("{p}.ln_2"), &mut block.ln_2);
    }
    push_norm(&mut out, "transformer.ln_f", &mut model.ln_f);
    out
}

fn llama_entries<'a, B: GptBackend>(model: &'a mut Gpt<B>, cfg: &GptConfig) -> Vec<Entry<'a, B>> {
    let (q, kv, hidden) = (
        cfg.n_head * cfg.head_size(),
        cfg.n_kv_head * cfg.head_size(),
        cfg.mlp_hidden_size(),
    );
    let mut out = vec![matrix(
        "model.embed_tokens.weight".into(),
        &mut model.wte.weight,
        false,
    )];
    for (i, block) in model.h.iter_mut().enumerate() {
        let p = format!("model.layers.{i}");
        push_norm(&mut out, &format!("{p}.input_layernorm"), &mut block.ln_1);
        let parts = [("q", q), ("k", kv), ("v", kv)]
            .map(|(n, w)| (format!("{p}.self_attn.{n}_proj.weight"), w));
        let slot = Slot::Matrix(&mut block.attn.c_attn.weight);
        out.push(Entry {
            slot,
            parts: parts.to_vec(),
            transposed: true,
        });
        out.push(matrix(
            format!("{p}.self_attn.o_proj.weight"),
            &mut block.attn.c_proj.weight,
            true,
        ));
        push_norm(
            &mut out,
            &format!("{p}.post_attention_layernorm"),
            &mut block.ln_2,
        );
        let parts = ["gate", "up"].map(|n| (format!("{p}.mlp.{n}_proj.weight"), hidden));
        let slot = Slot::Matrix(&mut block.mlp.c_fc.weight);
        out.push(Entry {
            slot,
            parts: parts.to_vec(),
            transposed: true,
        });
        out.push(matrix(
            format!("{p}.mlp.down_proj.weight"),
            &mut block.mlp.c_proj.weight,
            true,
        ));
    }
    push_norm(&mut out, "model.norm", &mut model.ln_f);
    if let Some(head) = model.lm_head.as_mut() {
        out.push(matrix("lm_head.weight".into(), &mut head.weight, true));
    }
    out
}

/// The tensor names [`save_safetensors`] writes for a model with this config, in order.
pub fn tensor_names(config: &GptConfig) -> Result<Vec<String>, ModelError> {
    config.validate()?;
    // Names depend only on the config; a model on the CPU backend is the simplest way to walk
    // them, and its weights are never materialised (burn initialises lazily).
    let mut model: Gpt<crate::Cpu> = Gpt::new(config.clone(), &Default::default());
    Ok(entries(&mut model)
        .into_iter()
        .flat_map(|e| e.parts.into_iter().map(|(name, _)| name))
        .collect())
}

/// The number format of the tensors in a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightDtype {
    /// Exact: what training checkpoints hold.
    F32,
    /// Half the size, for shipping a trained model; F16 rather than BF16 because trained
    /// weights are small numbers, where F16's 3 extra mantissa bits count and its narrow
    /// range does not.
    F16,
}

/// Writes the model's weights to `path` as F32 safetensors with Hugging Face names (see the
/// module docs), atomically: a temporary file in the same folder is renamed over `path`. The
/// model's config goes beside it as [`MODEL_CONFIG_FILE`].
pub fn save_safetensors<B: GptBackend>(
    model: &Gpt<B>,
    path: impl AsRef<Path>,
) -> Result<(), ModelError> {
    save_safetensors_as(model, path, WeightDtype::F32)
}

/// [`save_safetensors`] with the tensors stored as `dtype`.
pub fn save_safetensors_as<B: GptBackend>(
    model: &Gpt<B>,
    path: impl AsRef<Path>,
    dtype: WeightDtype,
) -> Result<(), ModelError> {
    let tensors = file_tensors(model, dtype);
    write_file(model, path.as_ref(), dtype, tensors)
}

/// The model's tensors as the file stores them, in `dtype`.
pub(crate) fn file_tensors<B: GptBackend>(model: &Gpt<B>, dtype: WeightDtype) -> Vec<FileTensor> {
    let data_dtype = match dtype {
        WeightDtype::F32 => DType::F32,
        WeightDtype::F16 => DType::F16,
    };
    // Cheap: tensors are shared, not copied. (Safe because models from `GptConfig::init` and
    // `load_safetensors` hold no lazily initialised parameters, which a clone would redraw.)
    let mut model = model.clone();
    let mut tensors = Vec::new();
    for entry in entries(&mut model) {
        match &entry.slot {
            Slot::Vector(p) => tensors.push(file_tensor(&entry.parts[0].0, p.val(), data_dtype)),
            Slot::Matrix(p) => {
                let matrix = p.val(); // (in, out)
                let mut col = 0;
                for (name, width) in widths(&entry.parts, matrix.dims()[1]) {
                    let part = matrix.clone().narrow(1, col, width); // (in, width)
                    let part = if entry.transposed {
                        part.transpose()
                    } else {
                        part
                    };
                    tensors.push(file_tensor(name, part, data_dtype));
                    col += width;
                }
            }
        }
    }
    tensors
}

/// Writes `tensors` to `path` atomically, and the model's config beside them.
pub(crate) fn write_file<B: GptBackend>(
    model: &Gpt<B>,
    path: &Path,
    dtype: WeightDtype,
    tensors: Vec<FileTensor>,
) -> Result<(), ModelError> {
    let file_dtype = match dtype {
        WeightDtype::F32 => Dtype::F32,
        WeightDtype::F16 => Dtype::F16,
    };
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(file_dtype, shape.clone(), bytes);
            view.map(|view| (name.clone(), view))
                .map_err(|source| safetensors_error(path, source))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let io = |source| ModelError::Io {
        path: path.into(),
        source,
    };
    write_atomic_with(path, |tmp| {
        safetensors::serialize_to_file(views, Some(metadata), tmp).map_err(std::io::Error::other)
    })
    .map_err(io)?;
    // The weights mean nothing without the shapes and recipe they were trained with.
    let config = path.with_file_name(MODEL_CONFIG_FILE);
    write_atomic(&config, model.config().to_json().as_bytes()).map_err(|source| ModelError::Io {
        path: config,
        source,
    })
}

/// Builds a model with `config` and the weights in the safetensors file `path` (names as in
/// the module docs; F32, F16 or BF16), on `device`. Extra tensors in the file are ignored.
pub fn load_safetensors<B: GptBackend>(
    config: &GptConfig,
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<Gpt<B>, ModelError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.into(),
        source,
    })?;
    load_safetensors_bytes(config, &bytes, path, device)
}

/// [`load_safetensors`] from the bytes of a file (a model built into a program); `origin` names
/// it in errors.
pub fn load_safetensors_bytes<B: GptBackend>(
    config: &GptConfig,
    bytes: &[u8],
    origin: &Path,
    device: &B::Device,
) -> Result<Gpt<B>, ModelError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| safetensors_error(origin, e))?;
    load_from(config, &[(origin, file)], false, device)
}

/// [`load_safetensors`] from a checkpoint split over several files (Hugging Face's shards),
/// each tensor read from whichever file holds it. `tied_head`: a Llama's LM head is its token
/// embedding (`tie_word_embeddings`), so the files have no `lm_head.weight`.
pub fn load_safetensors_files<B: GptBackend>(
    config: &GptConfig,
    paths: &[PathBuf],
    tied_head: bool,
    device: &B::Device,
) -> Result<Gpt<B>, ModelError> {
    let bytes = paths
        .iter()
        .map(|path| {
            std::fs::read(path).map_err(|source| ModelError::Io {
                path: path.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let files = paths
        .iter()
        .zip(&bytes)
        .map(|(path, bytes)| {
            let file = SafeTensors::deserialize(bytes).map_err(|e| safetensors_error(path, e))?;
            Ok((path.as_path(), file))
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    load_from(config, &files, tied_head, device)
}

fn load_from<B: GptBackend>(
    config: &GptConfig,
    files: &[(&Path, SafeTensors<'_>)],
    tied_head: bool,
    device: &B::Device,
) -> Result<Gpt<B>, ModelError> {
    config.validate()?;
    let mut model = Gpt::new(config.clone(), device);
    for entry in entries(&mut model) {
        match entry.slot {
            Slot::Vector(p) => {
                let data = read(
                    files,
                    tied_head,
                    &entry.parts[0].0,
                    &p.lazy_shape().dims::<1>(),
                )?;
                *p = Param::from_tensor(Tensor::from_data(data, device));
            }
            Slot::Matrix(p) => {
                let [d_in, d_out] = p.lazy_shape().dims::<2>();
                let mut parts = Vec::new();
                for (name, width) in widths(&entry.parts, d_out) {
                    let shape = if entry.transposed {
                        [width, d_in]
                    } else {
                        [d_in, width]
                    };
                    let data = read(files, tied_head, name, &shape)?;
                    let part = Tensor::<B, 2>::from_data(data, device);
                    parts.push(if entry.transposed {
                        part.transpose()
                    } else {
                        part
                    });
                }
                *p = Param::from_tensor(Tensor::cat(parts, 1)); // (in, out)
            }
        }
    }
    Ok(model)
}

/// The tensor `name` of `file` as F32 data, checked to have `shape`.
fn read(
    files: &[(&Path, SafeTensors<'_>)],
    tied_head: bool,
    name: &str,
    shape: &[usize],
) -> Result<TensorData, ModelError> {
    // A tied head is the embedding; both are stored (out, in) = (V, C).
    let stored = match name {
        "lm_head.weight" if tied_head => "model.embed_tokens.weight",
        _ => name,
    };
    let found = files
        .iter()
        .find_map(|(path, file)| file.tensor(stored).ok().map(|view| (*path, view)));
    let Some((path, view)) = found else {
        return Err(ModelError::MissingTensor {
            path: files
                .first()
                .map(|(p, _)| p.to_path_buf())
                .unwrap_or_default(),
            name: stored.into(),
        });
    };
    if view.shape() != shape {
        return Err(ModelError::ShapeMismatch {
            path: path.into(),
            name: name.into(),
            found: view.shape().to_vec(),
            expected: shape.to_vec(),
        });
    }
    let dtype = match view.dtype() {
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        other => {
            return Err(ModelError::UnsupportedDtype {
                path: path.into(),
                name: name.into(),
                dtype: format!("{other:?}"),
            })
        }
    };
    // safetensors is little-endian, as are the targets this crate builds for.
    Ok(
        TensorData::from_bytes_vec(view.data().to_vec(), shape.to_vec(), dtype)
            .convert_dtype(DType::F32),
    )
}

/// A tensor as the file stores it: name, shape and little-endian bytes.
pub(crate) type FileTensor = (String, Vec<usize>, Vec<u8>);

fn file_tensor<B: GptBackend, const D: usize>(
    name: &str,
    t: Tensor<B, D>,
    dtype: DType,
) -> FileTensor {
    let shape = t.dims().to_vec();
    let bytes = t.into_data().convert_dtype(dtype).into_bytes().to_vec();
    (name.to_string(), shape, bytes)
}

fn safetensors_error(path: &Path, source: safetensors::SafeTensorError) -> ModelError {
    ModelError::Safetensors {
        path: path.into(),
        source,
    }
}
