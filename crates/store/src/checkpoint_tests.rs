use super::*;

fn write_model(text: String) -> impl FnOnce(&Path) -> std::io::Result<()> {
    move |dir| {
        std::fs::write(dir.join("model.safetensors"), text)?;
        std::fs::create_dir(dir.join("state"))?;
        std::fs::write(dir.join("state/optimizer.bin"), [1u8, 2, 3])
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn rotation_keeps_last_k_and_best() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("checkpoints");
    let ckpts = Checkpoints::open(&dir, 2).unwrap();
    assert_eq!(ckpts.latest().unwrap(), None);
    // Loss falls to its minimum at step 200, then rises.
    let losses = [3.0, 2.0, 2.5, 2.7, 2.9];
    for (i, loss) in losses.iter().enumerate() {
        let step = 100 * (i as u64 + 1);
        let saved = ckpts
            .save(step, Some(*loss), write_model(format!("weights {step}")))
            .unwrap();
        assert_eq!(saved.path, dir.join(step_name(step)));
    }
    assert_eq!(
        names(&dir),
        [
            "best",
            "latest",
            "step-000200",
            "step-000400",
            "step-000500"
        ]
    );
    let latest = ckpts.latest().unwrap().unwrap();
    assert_eq!((latest.step, latest.val_loss), (500, Some(2.9)));
    let best = ckpts.best().unwrap().unwrap();
    assert_eq!((best.step, best.val_loss), (200, Some(2.0)));
    let model = std::fs::read_to_string(best.path.join("model.safetensors")).unwrap();
    assert_eq!(model, "weights 200");
    assert!(best.path.join("state/optimizer.bin").is_file());
    assert_eq!(latest_checkpoint(tmp.path()).unwrap().unwrap().step, 500);

    // A new best moves the pointer; the old best then ages out.
    ckpts.save(600, Some(1.5), write_model("w".into())).unwrap();
    ckpts.save(700, None, write_model("w".into())).unwrap();
    assert_eq!(
        names(&dir),
        ["best", "latest", "step-000600", "step-000700"]
    );
    assert_eq!(ckpts.best().unwrap().unwrap().step, 600);
}

#[test]
fn failed_writer_leaves_previous_checkpoint_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("checkpoints");
    let ckpts = Checkpoints::open(&dir, 3).unwrap();
    ckpts
        .save(10, Some(2.0), write_model("good".into()))
        .unwrap();
    let before = names(&dir);

    let err = ckpts
        .save(20, Some(1.0), |d: &Path| {
            std::fs::write(d.join("model.safetensors"), "half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
    assert!(
        matches!(err, StoreError::CheckpointWrite { step: 20, .. }),
        "{err}"
    );
    assert_eq!(
        names(&dir),
        before,
        "no temporary folder left, nothing new visible"
    );
    let latest = ckpts.latest().unwrap().unwrap();
    assert_eq!(latest.step, 10);
    assert_eq!(
        std::fs::read_to_string(latest.path.join("model.safetensors")).unwrap(),
        "good"
    );
    assert_eq!(ckpts.best().unwrap().unwrap().step, 10);
}

#[test]
fn crash_leftovers_are_cleaned_and_steps_can_be_resaved() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("checkpoints");
    let ckpts = Checkpoints::open(&dir, 3).unwrap();
    ckpts
        .save(5, Some(2.0), write_model("first".into()))
        .unwrap();
    // A process killed mid-save leaves its temporary folder, never a `step-` folder.
    std::fs::create_dir(dir.join(".tmp-step-000010")).unwrap();
    let ckpts = Checkpoints::open(&dir, 3).unwrap();
    assert_eq!(names(&dir), ["best", "latest", "step-000005"]);
    // A resumed run saves step 5 again: replaced whole.
    ckpts
        .save(5, Some(1.9), write_model("second".into()))
        .unwrap();
    assert_eq!(names(&dir), ["best", "latest", "step-000005"]);
    let latest = ckpts.latest().unwrap().unwrap();
    assert_eq!(latest.val_loss, Some(1.9));
    assert_eq!(
        std::fs::read_to_string(latest.path.join("model.safetensors")).unwrap(),
        "second"
    );
}

#[test]
fn no_checkpoints_and_bad_pointers() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(latest_checkpoint(tmp.path()).unwrap(), None);
    let dir = tmp.path().join("checkpoints");
    let ckpts = Checkpoints::open(&dir, 1).unwrap();
    ckpts
        .save(1, None, |_: &Path| Ok::<(), std::io::Error>(()))
        .unwrap();
    assert_eq!(ckpts.best().unwrap(), None);
    std::fs::write(dir.join("latest"), "../../etc\n").unwrap();
    assert!(matches!(ckpts.latest(), Err(StoreError::Json { .. })));
    assert_eq!(parse_step_name("step-0012"), Some(12));
    assert_eq!(parse_step_name("step-+12"), None);
    assert_eq!(parse_step_name("step-"), None);
    assert_eq!(step_name(1_234_567), "step-1234567");
}

/// Saves step 5 with `old`, then leaves the folder as a save of step 5 with `new` killed
/// between its two renames: the old checkpoint moved aside, the new one still temporary
/// (complete or not).
fn killed_mid_replacement(dir: &Path, new_complete: bool) {
    let ckpts = Checkpoints::open(dir, 3).unwrap();
    ckpts.save(5, Some(2.0), write_model("old".into())).unwrap();
    std::fs::rename(dir.join("step-000005"), dir.join(".old-step-000005")).unwrap();
    let tmp = dir.join(".tmp-step-000005");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join("model.safetensors"), "new").unwrap();
    if new_complete {
        let meta = r#"{"step": 5, "val_loss": 1.5, "saved_at": "2025-01-01T00:00:00Z"}"#;
        std::fs::write(tmp.join(CHECKPOINT_META_FILE), meta).unwrap();
    }
}

#[test]
fn a_replacement_cut_between_its_renames_is_finished_or_undone() {
    for (complete, model) in [(true, "new"), (false, "old")] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("checkpoints");
        killed_mid_replacement(&dir, complete);
        // Readers change nothing (a run may be saving right now)...
        assert!(latest_checkpoint(tmp.path()).is_err());
        assert!(dir.join(".tmp-step-000005").is_dir());
        // ...the trainer's handle repairs.
        let ckpts = Checkpoints::open(&dir, 3).unwrap();
        assert_eq!(names(&dir), ["best", "latest", "step-000005"]);
        let latest = ckpts.latest().unwrap().unwrap();
        assert_eq!(latest.step, 5);
        let text = std::fs::read_to_string(latest.path.join("model.safetensors")).unwrap();
        assert_eq!(text, model, "complete new checkpoint: {complete}");
    }
}

#[test]
fn latest_catches_up_and_deletions_leave_no_partial_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("checkpoints");
    let ckpts = Checkpoints::open(&dir, 2).unwrap();
    for step in [5, 10, 15] {
        ckpts
            .save(
                step,
                Some(3.0 - step as f64 / 10.0),
                write_model("w".into()),
            )
            .unwrap();
    }
    // Old checkpoints go through `.del-` before they are deleted.
    assert_eq!(
        names(&dir),
        ["best", "latest", "step-000010", "step-000015"]
    );
    // Killed after the rename of step 20 but before `latest` moved, and mid-delete of 3.
    ckpts.save(20, Some(0.5), write_model("w".into())).unwrap();
    std::fs::write(dir.join("latest"), "step-000015\n").unwrap();
    std::fs::create_dir(dir.join(".del-step-000003")).unwrap();
    assert_eq!(best_checkpoint(tmp.path()).unwrap().unwrap().step, 20);
    let ckpts = Checkpoints::open(&dir, 2).unwrap();
    assert_eq!(ckpts.latest().unwrap().unwrap().step, 20);
    assert_eq!(
        names(&dir),
        ["best", "latest", "step-000015", "step-000020"]
    );
}
