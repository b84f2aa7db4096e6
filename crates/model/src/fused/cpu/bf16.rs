//! Matrix products with bf16 operands and f32 accumulation on x86 CPUs with AVX-512-BF16
//! (`vdpbf16ps`): the precision of PyTorch's CPU autocast, at twice the multiply-adds per
//! instruction of f32 FMA. The f32 inputs are rounded to bf16 (to nearest, ties to even)
//! while being packed, so callers keep f32 tensors throughout.
//!
//! Layout: `vdpbf16ps` multiplies the two bf16 halves of each 32-bit lane pairwise and adds
//! both products into the lane's f32, so the inner dimension is taken two at a time. `b` is
//! packed in panels of [`NR`] columns, each k-pair a row of `NR` (b[k][j], b[k+1][j]) pairs;
//! `a` in strips of [`MR`] rows, each k-pair the `MR` (a[i][k], a[i][k+1]) pairs one
//! broadcast apiece. An `MR × NR` block of the result lives in 24 registers: enough
//! independent sums to hide the instruction's latency.

use std::arch::x86_64::*;

use rayon::prelude::*;

use super::mat::Mat;
use super::matmul::SendPtr;

/// Rows of the result a micro-kernel call computes.
const MR: usize = 12;
/// Columns of the result a micro-kernel call computes: two 16-lane registers.
const NR: usize = 32;

/// Whether this CPU runs [`matmul`].
pub(crate) fn supported() -> bool {
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16")
}

/// `f32 → bf16`, rounding to nearest even (NaN stays NaN).
#[inline(always)]
fn bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16) as u16
}

/// Two bf16 in one 32-bit lane: `lo` in the low half, as `vdpbf16ps` pairs them.
#[inline(always)]
pub(crate) fn pair(lo: f32, hi: f32) -> u32 {
    u32::from(bf16(lo)) | (u32::from(bf16(hi)) << 16)
}

/// `dst = a·b`, or `dst += a·b` when `accumulate`; `dst` row-major with row stride `ld`.
/// Row strips of the result are spread over rayon's threads.
///
/// # Panics
/// If the CPU lacks AVX-512-BF16 ([`supported`]) or the shapes disagree.
///
/// # Safety
/// `dst` is valid for writes (and reads when `accumulate`) of `a.rows` rows of `b.cols`
/// elements at row stride `ld`; nothing else touches them meanwhile.
pub(crate) unsafe fn matmul(dst: *mut f32, ld: usize, a: Mat, b: Mat, accumulate: bool) {
    assert!(supported(), "bf16 products need AVX-512-BF16");
    assert_eq!(a.cols(), b.rows(), "inner dimensions");
    let (m, n, k) = (a.rows(), b.cols(), a.cols());
    if m == 0 || n == 0 {
        return;
    }
    assert!(k > 0, "an empty inner dimension is the caller's case");
    let k2 = k.div_ceil(2);
    let panels = n.div_ceil(NR);
    // b, packed once: panel p holds columns p·NR.., k-pair by k-pair, zero beyond the edges.
    let mut packed_b = vec![0u32; panels * k2 * NR];
    packed_b
        .par_chunks_mut(k2 * NR)
        .enumerate()
        .for_each(|(p, panel)| {
            let cols = NR.min(n - p * NR);
            for (kp, row) in panel.chunks_exact_mut(NR).enumerate() {
                let (k0, k1) = (2 * kp, 2 * kp + 1);
                for (j, slot) in row[..cols].iter_mut().enumerate() {
                    let c = p * NR + j;
                    // SAFETY: k0 < k and c < n; k1 is read only when inside the matrix.
                    let lo = unsafe { b.at(k0, c) };
                    let hi = if k1 < k { unsafe { b.at(k1, c) } } else { 0.0 };
                    *slot = pair(lo, hi);
                }
            }
        });
    // Strips write disjoint rows of `dst`.
    let out = SendPtr(dst);
    (0..m.div_ceil(MR)).into_par_iter().for_each(|s| {
        let rows = MR.min(m - s * MR);
        let mut packed_a = vec![0u32; k2 * MR];
        for (kp, lanes) in packed_a.chunks_exact_mut(MR).enumerate() {
            let (k0, k1) = (2 * kp, 2 * kp + 1);
            for (i, slot) in lanes[..rows].iter_mut().enumerate() {
                let r = s * MR + i;
                // SAFETY: r < m and k0 < k; k1 is read only when inside the matrix.
                let lo = unsafe { a.at(r, k0) };
                let hi = if k1 < k { unsafe { a.at(r, k1) } } else { 0.0 };
                *slot = pair(lo, hi);
            }
        }
        for p in 0..panels {
            let cols = NR.min(n - p * NR);
            let panel = &packed_b[p * k2 * NR..(p + 1) * k2 * NR];
            // SAFETY: the block (s·MR.., p·NR..) of `rows × cols` lies inside `dst` (the
            // caller's contract), strips write disjoint rows, and the CPU has the instructions.
            unsafe {
                let c = out.get().add(s * MR * ld + p * NR);
                kernel(k2, &packed_a, panel, c, ld, rows, cols, accumulate);
            }
        }
    });
}

/// One `MR × NR` block: `c[..rows][..cols] (+)= Σ_kp a[kp] ⊗ b[kp]`.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512-BF16; `a` holds `k2·MR` and `b` `k2·NR` lanes; `c` is
/// valid for `rows` rows of `cols ≤ NR` columns at row stride `ld`.
#[target_feature(enable = "avx512f,avx512bf16")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel(
    k2: usize,
    a: &[u32],
    b: &[u32],
    c: *mut f32,
    ld: usize,
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    debug_assert!(a.len() >= k2 * MR && b.len() >= k2 * NR);
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let (a, b) = (a.as_ptr(), b.as_ptr());
    for kp in 0..k2 {
        // SAFETY: kp < k2, so both reads stay inside the packed slices.
        let (b0, b1) = unsafe {
            let row = b.add(kp * NR);
            (
                bh(_mm512_loadu_si512(row.cast())),
                bh(_mm512_loadu_si512(row.add(16).cast())),
            )
        };
        for (i, acc) in acc.iter_mut().enumerate() {
            // SAFETY: as above.
            let ai = bh(_mm512_set1_epi32(unsafe { *a.add(kp * MR + i) } as i32));
            acc[0] = _mm512_dpbf16_ps(acc[0], ai, b0);
            acc[1] = _mm512_dpbf16_ps(acc[1], ai, b1);
        }
    }
    // Column masks of the two registers; partial at the right edge of the matrix. A block of
    // 16 columns or fewer leaves the second register out: its address, 16 columns on, may lie
    // past `c`'s last row (forming such a pointer is undefined even if nothing is read).
    let full = (1u64 << cols) - 1;
    let masks = [(full & 0xffff) as __mmask16, (full >> 16) as __mmask16];
    for (i, acc) in acc.iter().enumerate().take(rows) {
        for h in 0..cols.div_ceil(16) {
            // SAFETY: row i < rows and the masked lanes are columns < cols (caller's contract).
            unsafe {
                let ptr = c.add(i * ld + 16 * h);
                let v = if accumulate {
                    _mm512_add_ps(acc[h], _mm512_maskz_loadu_ps(masks[h], ptr))
                } else {
                    acc[h]
                };
                _mm512_mask_storeu_ps(ptr, masks[h], v);
            }
        }
    }
}

/// Reinterprets 32 packed bf16 as the type `vdpbf16ps` takes.
#[inline(always)]
fn bh(v: __m512i) -> __m512bh {
    // SAFETY: both are 512 plain bits.
    unsafe { std::mem::transmute::<__m512i, __m512bh>(v) }
}
