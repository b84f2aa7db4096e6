//! Autodiff end to end: a tiny model overfits one batch, and the tied weight gets gradients.

mod common;

use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use common::{ids, scalar, tiny};
use midigpt_model::{loss, Arch, CpuTrain};

#[test]
fn adamw_overfits_one_batch() {
    let device = Default::default();
    for arch in [Arch::Gpt2, Arch::Llama] {
        CpuTrain::seed(&device, 7);
        let mut model = tiny(arch).init::<CpuTrain>(&device).unwrap();
        let mut optim = AdamWConfig::new().with_weight_decay(0.0).init();
        let batch = ids::<CpuTrain>(4, 17, 50, 11, &device);
        let (x, y) = (batch.clone().narrow(1, 0, 16), batch.narrow(1, 1, 16));
        let mut losses = Vec::new();
        for _ in 0..40 {
            let loss = loss(model.forward(x.clone()), y.clone());
            losses.push(scalar(loss.clone()));
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(3e-3, model, grads);
        }
        let (first, last) = (losses[0], losses[losses.len() - 1]);
        eprintln!(
            "{arch:?}: loss {first:.3} -> {last:.3} in {} AdamW steps",
            losses.len()
        );
        // Random init starts near ln(50) = 3.9; memorising 64 tokens should more than halve it.
        assert!(
            (first - 50f32.ln()).abs() < 0.5,
            "{arch:?}: start loss {first}"
        );
        assert!(
            last < 0.5 * first,
            "{arch:?}: loss {first} -> {last}: {losses:?}"
        );
    }
}

#[test]
fn tied_head_is_one_parameter_that_gets_the_heads_gradient() {
    let device = Default::default();
    let model = tiny(Arch::Gpt2).init::<CpuTrain>(&device).unwrap();
    assert!(model.is_tied());
    assert!(!tiny(Arch::Llama)
        .init::<CpuTrain>(&device)
        .unwrap()
        .is_tied());

    // One parameter: wte (50 × 32) is counted once, and there is no separate head matrix.
    let (v, c, t, h) = (50, 32, 16, 128);
    let per_layer = 2 * c + (c * 3 * c + 3 * c) + (c * c + c) + 2 * c + (c * h + h) + (h * c + c);
    assert_eq!(model.num_params(), v * c + t * c + 2 * per_layer + 2 * c);

    // Gradients flow into it through the head: inputs use only ids below 10, so embedding
    // rows 40..50 can get a gradient only from the head predicting targets 40..50.
    let x = ids::<CpuTrain>(1, 8, 10, 1, &device);
    let y = ids::<CpuTrain>(1, 8, 10, 2, &device).add_scalar(40);
    let grads = loss(model.forward(x), y).backward();
    let grad = model
        .token_embedding()
        .val()
        .grad(&grads)
        .expect("wte has a gradient");
    let head_only_rows = grad.clone().narrow(0, 40, 10).abs().max().into_scalar();
    let unused_rows = grad.narrow(0, 10, 30).abs().max().into_scalar();
    assert!(head_only_rows > 0.0, "the head's gradient reaches wte");
    assert!(
        unused_rows > 0.0,
        "softmax pushes down every logit, so all head rows move"
    );
}
