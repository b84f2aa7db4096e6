//! The precision of the matrix products in CPU training, chosen per thread: f32, or bf16
//! operands with f32 accumulation where the CPU multiplies bf16 natively (the mixed precision
//! of PyTorch's CPU autocast). Weights, gradients, optimizer state and every other operation
//! stay f32 either way, so a run may switch between the two, e.g. when it resumes on
//! another machine.
//!
//! A thread-local setting rather than a model field: the backend's operations are static
//! functions, and training runs one model per thread (tests in parallel threads do not see
//! each other's choice).

use std::cell::Cell;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// Precision of the matrix products of CPU training ([`set_cpu_precision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 operands and accumulation.
    #[default]
    F32,
    /// bf16 operands (rounded to nearest even), f32 accumulation and results.
    Bf16,
}

impl Precision {
    /// `"f32"` or `"bf16"`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

thread_local! {
    static PRECISION: Cell<Precision> = const { Cell::new(Precision::F32) };
}

/// Whether this CPU multiplies bf16 natively, so that [`Precision::Bf16`] is available: x86
/// with AVX-512-BF16 (checked at run time). AVX2-only x86 and ARM train in f32.
pub fn native_bf16() -> bool {
    super::cpu::native_bf16()
}

/// The kernel bf16 products run on here: `"amx"` (Intel AMX tiles, linear layers and
/// attention), `"avx512-bf16"` (`vdpbf16ps`, linear layers), or `None` without native bf16.
pub fn bf16_kernel() -> Option<&'static str> {
    super::cpu::bf16_kernel()
}

/// Whether bf16 products are expected to outrun f32 ones on this CPU, so that `auto` picks
/// them: on AMX (Intel Sapphire Rapids and later: 2.0x the f32 training rate, 17,486 against
/// 8,664 tokens/s in bench/RESULTS.md), and on an AMD CPU with AVX-512-BF16 (Zen 4 and
/// later), where `vdpbf16ps` does twice the multiply-adds of an f32 FMA at the same issue
/// rate. Intel CPUs without AMX issue it at half the FMA rate, so there the bf16 path only
/// adds rounding and packing work: measured on an AVX-512-BF16 Xeon, bf16 trained at 0.64x
/// the f32 rate (bench/RESULTS.md).
pub fn bf16_preferred() -> bool {
    bf16_kernel() == Some("amx") || (native_bf16() && cpu_vendor_is_amd())
}

#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)] // `__cpuid` is safe on recent Rust, unsafe on older ones.
fn cpu_vendor_is_amd() -> bool {
    // Leaf 0: the vendor string in EBX, EDX, ECX.
    let leaf = unsafe { std::arch::x86_64::__cpuid(0) };
    let mut vendor = [0u8; 12];
    vendor[..4].copy_from_slice(&leaf.ebx.to_le_bytes());
    vendor[4..8].copy_from_slice(&leaf.edx.to_le_bytes());
    vendor[8..].copy_from_slice(&leaf.ecx.to_le_bytes());
    &vendor == b"AuthenticAMD"
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_vendor_is_amd() -> bool {
    false
}

/// Sets the precision of CPU training's matrix products on this thread; the default is
/// [`Precision::F32`]. Fails for [`Precision::Bf16`] on a CPU without [`native_bf16`].
pub fn set_cpu_precision(precision: Precision) -> Result<(), ModelError> {
    if precision == Precision::Bf16 && !native_bf16() {
        return Err(ModelError::Bf16Unsupported);
    }
    PRECISION.with(|p| p.set(precision));
    Ok(())
}

/// This thread's precision of CPU training's matrix products.
pub fn cpu_precision() -> Precision {
    PRECISION.with(Cell::get)
}
