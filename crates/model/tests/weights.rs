//! safetensors: save → load gives the same logits, under the documented names.

mod common;

use common::{ids, max_abs_diff, tiny};
use midigpt_model::{
    load_safetensors, load_safetensors_bytes, save_safetensors, save_safetensors_as, tensor_names,
    Arch, Cpu, ModelError, WeightDtype,
};
use safetensors::SafeTensors;

#[test]
fn save_then_load_gives_identical_logits() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    for arch in [Arch::Gpt2, Arch::Llama] {
        let config = tiny(arch);
        let model = config.init::<Cpu>(&device).unwrap();
        let path = dir.path().join(format!("{arch:?}.safetensors"));
        save_safetensors(&model, &path).unwrap();
        let loaded = load_safetensors::<Cpu>(&config, &path, &device).unwrap();
        let idx = ids(2, 16, 50, 9, &device);
        assert_eq!(
            max_abs_diff(model.forward(idx.clone()), loaded.forward(idx)),
            0.0,
            "{arch:?}"
        );
        assert_eq!(loaded.num_params(), model.num_params());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension() == Some("tmp".as_ref()))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file left behind");
    }
}

#[test]
fn half_precision_files_are_half_the_size_and_give_close_logits() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    for arch in [Arch::Gpt2, Arch::Llama] {
        let config = tiny(arch);
        let model = config.init::<Cpu>(&device).unwrap();
        let (full, half) = (dir.path().join("f32"), dir.path().join("f16"));
        save_safetensors(&model, &full).unwrap();
        save_safetensors_as(&model, &half, WeightDtype::F16).unwrap();
        let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len() as f64;
        let ratio = size(&half) / size(&full);
        assert!(
            (0.45..0.55).contains(&ratio),
            "{arch:?}: size ratio {ratio}"
        );
        let bytes = std::fs::read(&half).unwrap();
        let loaded = load_safetensors_bytes::<Cpu>(&config, &bytes, &half, &device).unwrap();
        let idx = ids(2, 16, 50, 9, &device);
        // F16 keeps ~3 significant digits of each weight; logits of this tiny model are O(1).
        let diff = max_abs_diff(model.forward(idx.clone()), loaded.forward(idx));
        assert!(diff > 0.0 && diff < 2e-2, "{arch:?}: max |Δlogit| {diff}");
    }
}

#[test]
fn a_clone_taken_before_first_use_has_the_same_weights() {
    // burn draws parameters lazily; `GptConfig::init` draws them at once so that a copy made
    // before the first forward (or a file saved from it) is the same model.
    let device = Default::default();
    for arch in [Arch::Gpt2, Arch::Llama] {
        let model = tiny(arch).init::<Cpu>(&device).unwrap();
        let copy = model.clone();
        let idx = ids(1, 8, 50, 3, &device);
        assert_eq!(
            max_abs_diff(copy.forward(idx.clone()), model.forward(idx)),
            0.0,
            "{arch:?}"
        );
    }
}

#[test]
fn files_use_hugging_face_names_and_layouts() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let shapes = |arch: Arch| {
        let model = tiny(arch).init::<Cpu>(&device).unwrap();
        let path = dir.path().join("model.safetensors");
        save_safetensors(&model, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let mut names: Vec<(String, Vec<usize>)> = file
            .tensors()
            .into_iter()
            .map(|(n, v)| (n, v.shape().to_vec()))
            .collect();
        names.sort();
        let mut expected = tensor_names(&tiny(arch)).unwrap();
        expected.sort();
        assert_eq!(
            names.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
            expected
        );
        names
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>()
    };
    // GPT-2: Conv1D layout (in, out), q/k/v fused, no lm_head (tied to wte).
    let gpt2 = shapes(Arch::Gpt2);
    assert_eq!(gpt2.len(), 2 + 2 * 12 + 2);
    assert_eq!(gpt2["transformer.wte.weight"], [50, 32]);
    assert_eq!(gpt2["transformer.wpe.weight"], [16, 32]);
    assert_eq!(gpt2["transformer.h.1.ln_1.bias"], [32]);
    assert_eq!(gpt2["transformer.h.0.attn.c_attn.weight"], [32, 96]);
    assert_eq!(gpt2["transformer.h.0.attn.c_attn.bias"], [96]);
    assert_eq!(gpt2["transformer.h.0.mlp.c_fc.weight"], [32, 128]);
    assert_eq!(gpt2["transformer.h.0.mlp.c_proj.weight"], [128, 32]);
    assert_eq!(gpt2["transformer.ln_f.weight"], [32]);
    // Llama: nn.Linear layout (out, in), separate projections, untied head, no biases.
    let llama = shapes(Arch::Llama);
    assert_eq!(llama.len(), 1 + 2 * 9 + 2);
    assert_eq!(llama["model.embed_tokens.weight"], [50, 32]);
    assert_eq!(llama["model.layers.0.input_layernorm.weight"], [32]);
    assert_eq!(llama["model.layers.0.self_attn.q_proj.weight"], [32, 32]);
    assert_eq!(llama["model.layers.0.self_attn.k_proj.weight"], [16, 32]);
    assert_eq!(llama["model.layers.1.self_attn.v_proj.weight"], [16, 32]);
    assert_eq!(llama["model.layers.1.self_attn.o_proj.weight"], [32, 32]);
    assert_eq!(
        llama["model.layers.1.post_attention_layernorm.weight"],
        [32]
    );
    assert_eq!(llama["model.layers.1.mlp.gate_proj.weight"], [128, 32]);
    assert_eq!(llama["model.layers.1.mlp.up_proj.weight"], [128, 32]);
    assert_eq!(llama["model.layers.1.mlp.down_proj.weight"], [32, 128]);
    assert_eq!(llama["model.norm.weight"], [32]);
    assert_eq!(llama["lm_head.weight"], [50, 32]);
}

#[test]
fn loading_reports_missing_tensors_and_wrong_shapes() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gpt2.safetensors");
    save_safetensors(&tiny(Arch::Gpt2).init::<Cpu>(&device).unwrap(), &path).unwrap();
    let err = load_safetensors::<Cpu>(&tiny(Arch::Llama), &path, &device).unwrap_err();
    assert!(
        matches!(&err, ModelError::MissingTensor { name, .. } if name == "model.embed_tokens.weight"),
        "{err}"
    );
    let wider = midigpt_model::GptConfig {
        vocab_size: 60,
        ..tiny(Arch::Gpt2)
    };
    let err = load_safetensors::<Cpu>(&wider, &path, &device).unwrap_err();
    assert!(
        matches!(&err, ModelError::ShapeMismatch { found, .. } if found == &[50, 32]),
        "{err}"
    );
    let err =
        load_safetensors::<Cpu>(&tiny(Arch::Gpt2), dir.path().join("absent"), &device).unwrap_err();
    assert!(matches!(err, ModelError::Io { .. }), "{err}");
}
