//! The CPU backend's fused AdamW update against burn's tensor operations: the same bits,
//! over several steps, with clipping and decay factors, and without touching tensors that
//! share a buffer with its inputs.

mod common;

use burn::tensor::Tensor;
use common::grads::random;
use midigpt_model::{burn_adamw, AdamWStep, Cpu, GptBackend, Moments};

fn values<const D: usize>(t: &Tensor<Cpu, D>) -> Vec<f32> {
    t.to_data().to_vec::<f32>().expect("f32 data")
}

fn step(time: usize, grad_scale: f64, decay: f64) -> AdamWStep {
    AdamWStep {
        lr: 3e-3,
        beta1: 0.9,
        beta2: 0.99,
        epsilon: 1e-8,
        time,
        grad_scale,
        decay,
    }
}

/// Three updates of a parameter of `shape` by both implementations; every result compared
/// bit for bit.
fn same_bits<const D: usize>(shape: [usize; D]) {
    let mut fused: (Tensor<Cpu, D>, Option<Moments<Cpu, D>>) = (random(shape, 1).inner(), None);
    let mut reference = fused.clone();
    let factors = [(1.0, 1.0), (0.37, 1.0 - 3e-4), (1.0, 0.999)];
    for (i, (scale, decay)) in factors.into_iter().enumerate() {
        let grad = random(shape, 10 + i as u64).inner();
        let s = step(i + 1, scale, decay);
        // The previous parameter stays readable: the update must not write into it.
        let kept = fused.0.clone();
        let kept_values = values(&kept);
        let (p, m) = Cpu::adamw_update(fused.0, grad.clone(), fused.1, &s);
        assert_eq!(values(&kept), kept_values, "a shared input was overwritten");
        let (q, n) = burn_adamw(reference.0, grad, reference.1, &s);
        assert_eq!(values(&p), values(&q), "parameter, step {}", i + 1);
        assert_eq!(values(&m.0), values(&n.0), "first moment, step {}", i + 1);
        assert_eq!(values(&m.1), values(&n.1), "second moment, step {}", i + 1);
        assert_ne!(values(&p), kept_values, "the parameter did not move");
        (fused, reference) = ((p, Some(m)), (q, Some(n)));
    }
}

#[test]
fn fused_adamw_matches_burn_bit_for_bit() {
    same_bits([7]);
    // More elements than one thread's chunk, and not a multiple of it.
    same_bits([3, 12_345]);
}

#[test]
fn fused_adamw_reads_strided_inputs() {
    let p: Tensor<Cpu, 2> = random([40, 30], 1).inner();
    let g: Tensor<Cpu, 2> = random([30, 40], 2).inner().transpose();
    let s = step(1, 1.0, 0.99);
    let (fused, _) = Cpu::adamw_update(p.clone().transpose().transpose(), g.clone(), None, &s);
    let (reference, _) = burn_adamw(p, g, None, &s);
    assert_eq!(values(&fused), values(&reference));
}
