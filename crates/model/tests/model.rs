//! Forward pass: shapes, causality, the KV cache against the full forward, config checks.

mod common;

use burn::tensor::Tensor;
use common::{ids, max_abs_diff, tiny};
use midigpt_model::{Arch, Cpu, GptConfig, KvCache, ModelError};

const ARCHS: [Arch; 2] = [Arch::Gpt2, Arch::Llama];

/// Cached decoding must match the full forward to f32 rounding.
const CACHE_TOLERANCE: f32 = 1e-4;

#[test]
fn logits_have_shape_batch_time_vocab() {
    let device = Default::default();
    for arch in ARCHS {
        let model = tiny(arch).init::<Cpu>(&device).unwrap();
        let logits = model.forward(ids(3, 7, 50, 1, &device));
        assert_eq!(logits.dims(), [3, 7, 50], "{arch:?}");
        let full = model.forward(ids(2, 16, 50, 2, &device));
        assert_eq!(full.dims(), [2, 16, 50], "{arch:?}: a whole block");
    }
}

#[test]
fn changing_a_future_token_leaves_earlier_logits_alone() {
    let device = Default::default();
    for arch in ARCHS {
        let model = tiny(arch).init::<Cpu>(&device).unwrap();
        let idx = ids(1, 12, 50, 3, &device);
        let changed = idx
            .clone()
            .slice_assign([0..1, 8..9], Tensor::from_ints([[49]], &device));
        let (a, b) = (model.forward(idx), model.forward(changed));
        let before = max_abs_diff(a.clone().narrow(1, 0, 8), b.clone().narrow(1, 0, 8));
        assert_eq!(
            before, 0.0,
            "{arch:?}: positions 0..8 must not see position 8"
        );
        let after = max_abs_diff(a.narrow(1, 8, 4), b.narrow(1, 8, 4));
        assert!(after > 0.0, "{arch:?}: positions 8.. must see the change");
    }
}

/// Prefill `prompt` tokens, then feed the rest one at a time; compare with one full forward.
fn cached_matches_full(arch: Arch, prompt: usize) {
    let device = Default::default();
    let model = tiny(arch).init::<Cpu>(&device).unwrap();
    let idx = ids(2, 16, 50, 4, &device);
    let full = model.forward(idx.clone());
    let mut cache = KvCache::new(model.config().n_layer);
    let mut pieces = vec![model
        .forward_cached(idx.clone().narrow(1, 0, prompt), &mut cache)
        .unwrap()];
    for t in prompt..16 {
        pieces.push(
            model
                .forward_cached(idx.clone().narrow(1, t, 1), &mut cache)
                .unwrap(),
        );
    }
    assert_eq!(cache.len(), 16);
    let diff = max_abs_diff(full, Tensor::cat(pieces, 1));
    eprintln!("{arch:?}, prompt {prompt}: cached vs full max abs diff {diff:e}");
    assert!(
        diff < CACHE_TOLERANCE,
        "{arch:?}, prompt {prompt}: max abs diff {diff}"
    );
}

#[test]
fn kv_cache_decoding_equals_full_forward_gpt2() {
    cached_matches_full(Arch::Gpt2, 5);
    cached_matches_full(Arch::Gpt2, 1);
}

#[test]
fn kv_cache_decoding_equals_full_forward_llama() {
    cached_matches_full(Arch::Llama, 5);
    cached_matches_full(Arch::Llama, 1);
}

#[test]
fn kv_cache_refuses_to_run_past_the_block() {
    let device = Default::default();
    for arch in ARCHS {
        let model = tiny(arch).init::<Cpu>(&device).unwrap();
        let mut cache = KvCache::new(2);
        model
            .forward_cached(ids(1, 15, 50, 5, &device), &mut cache)
            .unwrap();
        let err = model
            .forward_cached(ids(1, 2, 50, 6, &device), &mut cache)
            .unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::ContextOverflow {
                    cached: 15,
                    new: 2,
                    block_size: 16
                }
            ),
            "{err}"
        );
        assert_eq!(cache.len(), 15, "a refused call leaves the cache alone");
        model
            .forward_cached(ids(1, 1, 50, 7, &device), &mut cache)
            .unwrap();
        cache.clear();
        assert!(cache.is_empty());
        let err = model
            .forward_cached(ids(1, 1, 50, 7, &device), &mut KvCache::new(3))
            .unwrap_err();
        assert!(
            matches!(err, ModelError::CacheMismatch { cache: 3, model: 2 }),
            "{err}"
        );
    }
}

#[test]
fn invalid_configs_are_typed_errors() {
    let device = Default::default();
    let cases = [
        GptConfig {
            n_embd: 30,
            ..tiny(Arch::Gpt2)
        }, // 30 % 4 heads
        GptConfig {
            n_kv_head: 3,
            ..tiny(Arch::Llama)
        }, // 4 % 3 kv heads
        GptConfig {
            n_kv_head: 2,
            ..tiny(Arch::Gpt2)
        }, // GQA is Llama only
        GptConfig {
            n_layer: 0,
            ..tiny(Arch::Gpt2)
        },
        GptConfig {
            dropout: 1.0,
            ..tiny(Arch::Gpt2)
        },
    ];
    for config in cases {
        let err = config.init::<Cpu>(&device).unwrap_err();
        assert!(matches!(err, ModelError::Config(_)), "{config:?}: {err}");
    }
}

#[test]
fn presets_validate_and_config_round_trips_through_json() {
    for config in [
        GptConfig::default(),
        GptConfig::gpt2_124m(518),
        GptConfig::small(518),
        GptConfig::mistral_like(518, 8, 512),
    ] {
        config.validate().unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<GptConfig>(&json).unwrap(), config);
    }
    let unknown = r#"{"n_layer": 2, "n_layers": 3}"#;
    assert!(
        serde_json::from_str::<GptConfig>(unknown).is_err(),
        "unknown keys are an error"
    );
    // Read as saved: a missing key is an error, never a preset's value.
    let partial = serde_json::from_str::<GptConfig>(r#"{"arch": "llama", "n_layer": 2}"#);
    assert!(partial.unwrap_err().to_string().contains("missing field"));
}

#[test]
fn parameter_count_and_flops_follow_the_formulas() {
    let device = Default::default();
    // GPT-2 124M with GPT-2's vocabulary has 124,439,808 parameters (wte tied to the head).
    let model = GptConfig::gpt2_124m(50_257).init::<Cpu>(&device).unwrap();
    assert_eq!(model.num_params(), 124_439_808);
    let n = 124_439_808 - 1024 * 768; // without the position embedding
    assert_eq!(
        model.flops_per_token(),
        6.0 * n as f64 + 12.0 * (12 * 12 * 64 * 1024) as f64
    );
    let cfg = tiny(Arch::Llama);
    assert_eq!(cfg.mlp_hidden_size(), 128); // 8/3 · 32 = 85.3, rounded up to 64s
    let model = cfg.init::<Cpu>(&device).unwrap();
    let (c, v, hid, kv) = (32, 50, 128, 2 * 8);
    let per_layer = 2 * c + c * (c + 2 * kv) + c * c + 3 * c * hid;
    assert_eq!(model.num_params(), v * c + 2 * per_layer + c + c * v);
}
