//! Forward and backward kernels of the fused operations on flex tensors (f32 storage): one
//! pass over memory where burn's decomposition makes several, work split over rayon's threads.
//! The matrix products pick their instructions at run time ([`matmul`]).

/// A function over slices compiled three times on x86-64 (AVX-512, AVX2+FMA, baseline) and
/// run in the widest this CPU has ([`simd_level`]): the loops of the element-wise kernels
/// then compile to vector instructions of that width (the crate itself targets baseline
/// x86-64). Plain f32 arithmetic is never reordered or contracted, so every version gives
/// the same bits. Elsewhere (ARM has NEON as baseline) one version.
macro_rules! simd_fn {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                match super::simd_level() {
                    // SAFETY: the CPU has these features (checked by `simd_level`).
                    2 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    1 => return unsafe { avx2($($arg),*) },
                    _ => {}
                }
            }
            body($($arg),*)
        }
    };
}

mod adamw;
#[cfg(target_arch = "x86_64")]
mod amx;
mod attention;
#[cfg(target_arch = "x86_64")]
mod bf16;
mod linear;
mod mat;
mod matmul;
mod rowwise;

use std::mem::MaybeUninit;

use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, TensorData};

pub(super) use adamw::adamw;
pub(super) use attention::{
    attention, attention_backward, self_attention, self_attention_backward,
};
pub(super) use linear::{linear, linear_backward, Wanted};
pub(super) use rowwise::{
    cross_entropy, cross_entropy_backward, gelu, gelu_backward, layernorm, layernorm_backward,
    LossStats, NormStats,
};

/// Whether these tensors can go through this module's kernels.
pub(super) fn supported(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// Whether this CPU has the bf16 dot products the bf16 kernels run on (x86: AVX-512-BF16),
/// and they are not switched off ([`avx512_allowed`]). Elsewhere (AVX2-only x86, ARM) the
/// products stay f32.
pub(crate) fn native_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    return bf16::supported() && avx512_allowed();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The kernel of bf16 products ([`crate::bf16_kernel`]).
pub(crate) fn bf16_kernel() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    if native_bf16() {
        return Some(if amx::supported() {
            "amx"
        } else {
            "avx512-bf16"
        });
    }
    None
}

/// false when the environment variable `MIDIGPT_CPU` is `avx2`: midigpt's own kernels then
/// leave AVX-512 unused, as on a CPU without it (to measure that kind of CPU on this one).
/// The `gemm` crate's products, inside burn and the fused layers, choose their instructions
/// by themselves and keep using AVX-512 where the CPU has it.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn avx512_allowed() -> bool {
    cpu_cap().is_none_or(|cap| cap != "avx2")
}

/// false when `MIDIGPT_CPU` is `avx2` or `avx512`: bf16 products then run on AVX-512-BF16
/// where the CPU also has AMX (to measure a CPU without AMX on one with it).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) fn amx_allowed() -> bool {
    cpu_cap().is_none_or(|cap| cap != "avx2" && cap != "avx512")
}

/// The vector instructions [`simd_fn`] functions run on: 2 for AVX-512 (F, BW, DQ, VL; not
/// when [`avx512_allowed`] says no), 1 for AVX2 with FMA, 0 for the baseline.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn simd_level() -> u8 {
    static LEVEL: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if avx512_allowed()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512vl")
            {
                return 2;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return 1;
            }
        }
        0
    })
}

/// The value of `MIDIGPT_CPU`, read once.
fn cpu_cap() -> Option<&'static str> {
    static CAP: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    CAP.get_or_init(|| std::env::var("MIDIGPT_CPU").ok())
        .as_deref()
}

/// A vector of `len` elements that `fill` writes, never zero-filled first.
///
/// # Safety
/// `fill` writes every element of the slice it is given.
unsafe fn written<T>(len: usize, fill: impl FnOnce(&mut [MaybeUninit<T>])) -> Vec<T> {
    let mut out = Vec::with_capacity(len);
    fill(&mut out.spare_capacity_mut()[..len]);
    // SAFETY: all `len` elements are initialised (the caller's contract).
    unsafe { out.set_len(len) };
    out
}

/// A contiguous f32 tensor of `shape` holding `values`.
pub(super) fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The elements of a contiguous f32 tensor (callers make it so with `to_contiguous`).
pub(super) fn contiguous(t: &FlexTensor) -> &[f32] {
    t.as_slice().expect("contiguous f32 tensor")
}

/// A tensor whose strides the kernels can read: non-negative (broadcast strides of 0 are fine).
fn readable(t: &FlexTensor) -> FlexTensor {
    if t.layout().strides().iter().all(|&s| s >= 0) {
        t.clone()
    } else {
        t.to_contiguous()
    }
}
