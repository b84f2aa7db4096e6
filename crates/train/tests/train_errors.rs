//! Training that cannot go on stops with a typed error that says why and what to do, and
//! leaves the run resumable: a diverging loss, a damaged shard, a checkpoint that no longer
//! fits its config.

mod common;

use common::{config, losses, prepared, run, serial, try_run};
use midigpt_data::DataError;
use midigpt_model::ModelError;
use midigpt_store::{latest_checkpoint, read_metrics, RunDir};
use midigpt_train::{RunFiles, TrainError};

#[test]
fn a_diverging_run_stops_and_resumes_from_its_last_good_checkpoint() {
    let _serial = serial();
    let (tmp, d) = prepared();
    let out = tmp.path().join("run");
    run(&d, &out, &config(&[]), false, Some(7)); // last checkpoint at 5

    // A learning rate of 1e30 throws the weights out of range at the first step.
    let wild = config(&["learning_rate=1e30", "grad_clip=0"]);
    let err = try_run(&d, &out, &wild, true, None).unwrap_err();
    let TrainError::Diverged {
        step,
        last_checkpoint,
        ..
    } = err
    else {
        panic!("expected Diverged, got {err}");
    };
    assert!((5..8).contains(&step), "diverged at step {step}");
    assert_eq!(last_checkpoint, Some(5));
    let message = err.to_string();
    for words in [
        "learning_rate",
        "grad_clip",
        "last good checkpoint, of step 5",
    ] {
        assert!(message.contains(words), "{words:?} not in {message}");
    }
    // Nothing past the divergence was saved, and metrics.jsonl holds only numbers.
    assert_eq!(latest_checkpoint(&out).unwrap().unwrap().step, 5);
    let records = read_metrics(&out.join("metrics.jsonl")).unwrap();
    assert!(records.iter().all(|r| r.loss.is_finite()), "{records:?}");
    assert!(!std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .contains("null"));

    // Resumed with a sane rate, it finishes from step 5.
    let info = run(&d, &out, &config(&[]), true, None);
    assert_eq!(info.steps, 20);
    assert!(losses(&out).iter().all(|l| l.2.is_finite()));
}

#[test]
fn a_damaged_shard_is_an_error_naming_the_file_and_offset() {
    let (tmp, d) = prepared();
    // Ids of 0xffff (u16 shards) every 64 ids from the 50th: no batch could miss them.
    let path = d.join("train.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    for i in (50..bytes.len() / 2).step_by(64) {
        bytes[2 * i..2 * i + 2].copy_from_slice(&[0xff, 0xff]);
    }
    std::fs::write(&path, bytes).unwrap();
    let err = try_run(&d, &tmp.path().join("run"), &config(&[]), false, None).unwrap_err();
    let message = err.to_string();
    let typed = matches!(err, TrainError::Data(DataError::IdOutOfRange { .. }));
    assert!(
        typed && message.contains("train.bin: id 65535 at byte offset 100"),
        "{message}"
    );
    assert!(
        !tmp.path().join("run").exists(),
        "no run folder is left behind"
    );
}

#[test]
fn a_checkpoint_that_does_not_fit_the_config_is_a_typed_error() {
    let _serial = serial();
    let (tmp, d) = prepared();
    let out = tmp.path().join("run");
    run(&d, &out, &config(&["max_iters=5"]), false, None);
    // config.json edited by hand after training: the resumed run reads it as its config.
    let path = out.join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"n_embd\": 32", "\"n_embd\": 48")).unwrap();
    let edited = RunDir::open(&out).unwrap().load_config().unwrap();
    let err = try_run(&d, &out, &edited, true, None).unwrap_err();
    assert!(
        matches!(
            &err,
            TrainError::CheckpointMismatch {
                source: ModelError::ShapeMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("does not fit the run's config.json"));
}
