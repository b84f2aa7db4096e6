//! The fused AdamW against burn's: the same weights after several steps, and a record saved by
//! burn's optimizer continues in the fused one (the checkpoints of earlier runs).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use midigpt_model::{loss, CpuTrain, Gpt};

use super::*;
use crate::TrainConfig;

type B = CpuTrain;

fn tiny_model() -> Gpt<B> {
    let mut config = TrainConfig::default();
    let sizes = ["n_layer=1", "n_head=2", "n_embd=16", "block_size=8"];
    config.apply_overrides(&sizes).unwrap();
    let device = Default::default();
    B::seed(&device, 3);
    crate::model_config(&config, 40).init::<B>(&device).unwrap()
}

fn grads(model: &Gpt<B>, seed: i64) -> GradientsParams {
    let ids: Vec<i64> = (0..18).map(|i| (i * 7 + seed) % 40).collect();
    let batch = Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [2, 9]), &Default::default());
    let (x, y) = (batch.clone().narrow(1, 0, 8), batch.narrow(1, 1, 8));
    GradientsParams::from_grads(loss(model.forward(x), y).backward(), model)
}

/// Every weight of the model, in the order the module visits them.
fn weights(model: &Gpt<B>) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let values = param.val().into_data().to_vec::<f32>().unwrap();
            self.0.extend(values);
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// How many weights differ in their bits.
fn differing(a: &Gpt<B>, b: &Gpt<B>) -> usize {
    let (a, b) = (weights(a), weights(b));
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .filter(|(x, y)| x.to_bits() != y.to_bits())
        .count()
}

fn burns() -> impl Optimizer<Gpt<B>, B, Record = AdamWRecord<Gpt<B>, B>> {
    AdamWConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.99)
        .with_epsilon(1e-8)
        .with_weight_decay(0.0)
        .init()
}

#[test]
fn steps_and_records_match_burns_adamw() {
    let (mut ours, mut theirs) = (tiny_model(), tiny_model());
    let mut fused = FusedAdamW::<Gpt<B>, B>::new(0.9, 0.99, 1e-8);
    let mut reference = burns();
    let start = weights(&ours);
    for seed in 0..3 {
        ours = fused.step(1e-2, ours.clone(), grads(&ours, seed));
        theirs = reference.step(1e-2, theirs.clone(), grads(&theirs, seed));
        assert_eq!(differing(&ours, &theirs), 0, "step {seed}");
    }
    assert_ne!(weights(&ours), start, "the steps changed nothing");

    // burn's record, saved as a checkpoint saves it, continues in the fused optimizer.
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let bytes = recorder.record(reference.to_record(), ()).unwrap();
    let record = recorder.load(bytes, &Default::default()).unwrap();
    let mut resumed = FusedAdamW::<Gpt<B>, B>::new(0.9, 0.99, 1e-8).load_record(record);
    // The record is keyed by parameter id: it continues burn's model (as a checkpoint's
    // model record keeps its ids).
    let next = resumed.step(1e-2, theirs.clone(), grads(&theirs, 7));
    theirs = reference.step(1e-2, theirs.clone(), grads(&theirs, 7));
    assert_eq!(differing(&next, &theirs), 0, "after loading burn's record");
}
