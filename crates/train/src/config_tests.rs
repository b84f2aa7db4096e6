//! Tests of `TrainConfig`: parsing, overrides, validation, resume changes and warnings.

use super::*;

fn parse(text: &str) -> Result<TrainConfig, ConfigError> {
    TrainConfig::from_toml_str(text, Path::new("test.toml"))
}

#[test]
fn defaults_are_valid_and_round_trip() {
    let config = TrainConfig::default();
    config.validate().unwrap();
    assert_eq!(parse(&config.to_toml_string()).unwrap(), config);
    let json: TrainConfig = serde_json::from_str(&config.to_json_string()).unwrap();
    assert_eq!(json, config);
    assert_eq!(parse("").unwrap(), config);
}

#[test]
fn file_keys_override_defaults_and_unknown_keys_fail() {
    let config = parse("n_layer = 6\narch = \"llama\"\nlearning_rate = 3e-4\n").unwrap();
    assert_eq!((config.n_layer, config.arch), (6, Arch::Llama));
    assert_eq!(config.learning_rate, 3e-4);
    let err = parse("n_layers = 6\n").unwrap_err().to_string();
    assert!(
        err.contains("n_layers") && err.contains("test.toml"),
        "{err}"
    );
    let err = parse("n_layer = \"six\"\n").unwrap_err().to_string();
    assert!(err.contains("n_layer"), "{err}");
}

#[test]
fn overrides_parse_by_type() {
    let mut config = TrainConfig::default();
    config
        .apply_overrides(&[
            "batch_size=32",
            "learning_rate=6e-4",
            "min_lr = 1",
            "bias=true",
            "device=cuda:1",
            "arch=\"llama\"",
            "max_iters=10_000",
        ])
        .unwrap();
    assert_eq!(config.batch_size, 32);
    assert_eq!(config.learning_rate, 6e-4);
    assert_eq!(config.min_lr, 1.0);
    assert!(config.bias);
    assert_eq!(config.device, "cuda:1");
    assert_eq!(config.arch, Arch::Llama);
    assert_eq!(config.max_iters, 10_000);
}

#[test]
fn override_errors_name_the_key() {
    let mut config = TrainConfig::default();
    let err = |c: &mut TrainConfig, s: &str| c.apply_overrides(&[s]).unwrap_err();
    assert!(
        matches!(err(&mut config, "n_layr=3"), ConfigError::UnknownKey { key, .. } if key == "n_layr")
    );
    assert!(matches!(
        err(&mut config, "n_layer"),
        ConfigError::OverrideSyntax(_)
    ));
    assert!(matches!(
        err(&mut config, "n_layer=2.5"),
        ConfigError::TypeMismatch { key, expected: "an integer", .. } if key == "n_layer"
    ));
    assert!(matches!(
        err(&mut config, "bias=yes"),
        ConfigError::TypeMismatch { .. }
    ));
    assert!(matches!(
        err(&mut config, "learning_rate=fast"),
        ConfigError::TypeMismatch { .. }
    ));
    let bad = err(&mut config, "batch_size=-1");
    assert!(
        matches!(&bad, ConfigError::BadValue { key, .. } if key == "batch_size"),
        "{bad}"
    );
    let bad = err(&mut config, "arch=mamba");
    assert!(bad.to_string().contains("arch"), "{bad}");
    // A failed override leaves the config as it was.
    assert_eq!(config, TrainConfig::default());
}

#[test]
fn validation_catches_contradictions() {
    let check = |overrides: &[&str], key: &str| {
        let mut config = TrainConfig::default();
        config.apply_overrides(overrides).unwrap();
        match config.validate() {
            Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{overrides:?}"),
            other => panic!("{overrides:?}: expected Invalid {key}, got {other:?}"),
        }
    };
    check(&["batch_size=0"], "batch_size");
    let huge: TrainConfig = serde_json::from_str(r#"{"seed": 18446744073709551615}"#).unwrap();
    assert!(matches!(
        huge.validate(),
        Err(ConfigError::Invalid { key: "seed", .. })
    ));
    assert!(matches!(
        huge.clone().set("n_layer", "2"),
        Err(ConfigError::BadValue { .. })
    ));
    check(&["min_lr=0.1"], "min_lr");
    check(&["warmup_iters=6000"], "warmup_iters");
    check(&["n_embd=250"], "n_embd");
    check(&["beta2=1.0"], "beta2");
    check(&["infill_rate=1.5"], "infill_rate");
    check(&["song_start_rate=-0.1"], "song_start_rate");
    check(&["n_kv_head=2"], "n_kv_head");
    check(&["arch=llama", "n_kv_head=3"], "n_kv_head");
    check(&["arch=llama", "n_head=8", "n_embd=200"], "n_embd");
    let mut gqa = TrainConfig::default();
    gqa.apply_overrides(&["arch=llama", "n_kv_head=2"]).unwrap();
    gqa.validate().unwrap();
    assert_eq!(gqa.kv_heads(), 2);
}

#[test]
fn a_decay_past_max_iters_is_warned_about() {
    let mut quick_start = TrainConfig::default();
    quick_start.set("max_iters", "300").unwrap();
    let warnings = quick_start.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("lr_decay_iters (5000) is past max_iters (300)")
            && warnings[0].contains("lr_decay_iters=300"),
        "{}",
        warnings[0]
    );
    quick_start.set("lr_decay_iters", "300").unwrap();
    assert!(quick_start.warnings().is_empty());
    assert!(TrainConfig::default().warnings().is_empty());
}

#[test]
fn a_config_file_sets_only_its_own_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("more.toml");
    std::fs::write(&path, "max_iters = 800\nlr_decay_iters = 800\n").unwrap();
    let mut config = TrainConfig::default();
    config.set("n_layer", "6").unwrap();
    config.overlay_file(&path).unwrap();
    assert_eq!(
        (config.n_layer, config.max_iters, config.lr_decay_iters),
        (6, 800, 800)
    );
    std::fs::write(&path, "max_itres = 800\n").unwrap();
    let err = config.overlay_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("max_itres") && err.contains("more.toml"),
        "{err}"
    );
}

#[test]
fn resume_allows_schedule_changes_and_names_the_others() {
    let saved = TrainConfig::default();
    let mut longer = saved.clone();
    longer
        .apply_overrides(&[
            "max_iters=9000",
            "lr_decay_iters=9000",
            "learning_rate=3e-4",
            "song_start_rate=0.25",
        ])
        .unwrap();
    assert_eq!(saved.resumed_with(&longer).unwrap(), longer);
    let mut other = longer.clone();
    other.apply_overrides(&["n_embd=128", "seed=1"]).unwrap();
    match saved.resumed_with(&other) {
        Err(ConfigError::FixedOnResume { changes }) => {
            assert_eq!(changes, "n_embd (256 → 128), seed (1337 → 1)")
        }
        other => panic!("expected FixedOnResume, got {other:?}"),
    }
}
