//! Packing f32 operands into the bf16 tiles of [`super`]: rounding with `vcvtne2ps2bf16`,
//! pairing along the inner dimension as `tdpbf16ps` reads it, zeros past the edges. Each
//! operand layout has its path: contiguous along k (pairs straight from a row), contiguous
//! across k (two rows interleaved, then a 16×16 transpose where the tile wants the other
//! order), or strided both ways (element by element).

use std::arch::x86_64::*;

use super::super::mat::Mat;

/// Tile of `a` (times `scale`): rows `first..first+16` (zeros past the last), each the 16
/// k-pairs from column `k0`.
///
/// # Safety
/// The CPU has AVX-512F/BW/BF16; `dst` is valid for `TILE` lanes; `k0 < a.cols()`.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
pub(super) unsafe fn tile_a(dst: *mut u32, a: Mat, scale: f32, first: usize, k0: usize) {
    // SAFETY: the caller's contract.
    unsafe { tile(dst, a, scale, first, k0, true) }
}

/// Tile of `b`: its 16 k-pairs from row `k0`, each the pair of columns `first..first+16`
/// (zeros past the last): the pairs of `bᵀ`, pair by pair.
///
/// # Safety
/// The CPU has AVX-512F/BW/BF16; `dst` is valid for `TILE` lanes; `k0 < b.rows()`.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
pub(super) unsafe fn tile_b(dst: *mut u32, b: Mat, first: usize, k0: usize) {
    // SAFETY: the caller's contract.
    unsafe { tile(dst, b.t(), 1.0, first, k0, false) }
}

/// Writes the k-pairs of [`pairs`] into a packed tile, lane `i` holding row `i`'s pairs when
/// `by_row`, else pair `i` of every row.
///
/// # Safety
/// The CPU has AVX-512F/BW/BF16; `dst` is valid for `TILE` lanes; `k0 < x.cols()`.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn tile(dst: *mut u32, x: Mat, scale: f32, first: usize, k0: usize, by_row: bool) {
    // A tile wholly past the last row (the second of a last strip of 16 rows or fewer) is
    // zeros, read from nowhere: a pointer to row `first` would lie past the view's slice.
    let lanes = if first < x.rows() {
        // SAFETY: the caller's contract, and row `first` exists.
        let (mut lanes, read_by_row) = unsafe { pairs(x, scale, first, k0) };
        if read_by_row != by_row {
            transpose(&mut lanes);
        }
        lanes
    } else {
        [_mm512_setzero_si512(); 16]
    };
    // SAFETY: the caller's contract.
    unsafe { store(dst, &lanes) }
}

/// The bf16 k-pairs of `scale · x` for rows `first..first+16` (zeros past the last) and
/// columns `k0..k0+32`, read in the order the layout makes cheap: row by row (`true`: lane
/// `i` holds row `i`'s 16 pairs) where rows are contiguous along k, else pair by pair
/// (`false`: lane `p` holds pair `p` of the 16 rows).
///
/// # Safety
/// The CPU has AVX-512F/BW/BF16; `first < x.rows()` and `k0 < x.cols()`, so that every
/// pointer formed below, to an element `(first + i < m, kk < k)`, lies inside the view's slice
/// (`Mat`'s invariant) or, for `k_pairs`, one past a row of it.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn pairs(x: Mat, scale: f32, first: usize, k0: usize) -> ([__m512i; 16], bool) {
    let (m, k) = (x.rows(), x.cols());
    debug_assert!(first < m && k0 < k);
    let rows = 16.min(m.saturating_sub(first));
    // SAFETY: every read is of a row < m and a column < k (the helpers mask the rest).
    unsafe {
        if x.cs() == 1 {
            // Rows contiguous along k: each row's 32 values are its 16 pairs.
            let lanes = std::array::from_fn(|i| {
                if i < rows {
                    k_pairs(x.ptr().add((first + i) * x.rs()), k0, k, scale)
                } else {
                    _mm512_setzero_si512()
                }
            });
            (lanes, true)
        } else if x.rs() == 1 {
            // Columns contiguous along rows: two columns interleaved give one pair of each row.
            let lanes = std::array::from_fn(|p| {
                let at = |kk: usize| x.ptr().add(kk * x.cs() + first);
                interleave(k0 + 2 * p, k, rows, scale, at)
            });
            (lanes, false)
        } else {
            let lanes = std::array::from_fn(|i| {
                gather(|p| {
                    let kk = k0 + 2 * p;
                    let hi = |r| if kk + 1 < k { x.at(r, kk + 1) } else { 0.0 };
                    (i < rows && kk < k)
                        .then(|| (scale * x.at(first + i, kk), scale * hi(first + i)))
                })
            });
            (lanes, true)
        }
    }
}

/// The 16 bf16 pairs of `scale · row[k0..k0+32]` (a row contiguous along `k`), zero from
/// `k` on.
///
/// # Safety
/// The CPU has AVX-512F/BF16; `row[..k]` is readable.
#[inline]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn k_pairs(row: *const f32, k0: usize, k: usize, scale: f32) -> __m512i {
    let mask = |from: usize| -> __mmask16 {
        let valid = k.saturating_sub(from).min(16);
        ((1u32 << valid) - 1) as __mmask16
    };
    // SAFETY: masked loads read only elements below `k`.
    unsafe {
        let scale = _mm512_set1_ps(scale);
        let lo = _mm512_mul_ps(scale, _mm512_maskz_loadu_ps(mask(k0), row.add(k0.min(k))));
        let hi = _mm512_mul_ps(
            scale,
            _mm512_maskz_loadu_ps(mask(k0 + 16), row.add((k0 + 16).min(k))),
        );
        // The second operand fills the low half: words k0.. in order, so lane p holds the
        // pair (k0+2p, k0+2p+1).
        std::mem::transmute::<__m512bh, __m512i>(_mm512_cvtne2ps_pbh(hi, lo))
    }
}

/// The pairs `scale · (x[kk][j], x[kk+1][j])` for `j < count`, where `at(kk)` points at 16
/// values contiguous along `j`; zero where `kk` or `kk+1` reaches `k`.
///
/// # Safety
/// The CPU has AVX-512F/BW/BF16; `at(kk)[..count]` is readable for `kk < k`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn interleave(
    kk: usize,
    k: usize,
    count: usize,
    scale: f32,
    at: impl Fn(usize) -> *const f32,
) -> __m512i {
    let mask = ((1u32 << count) - 1) as __mmask16;
    // SAFETY: masked loads of rows below `k` only.
    unsafe {
        let row = |r: usize| {
            if r < k {
                _mm512_mul_ps(_mm512_set1_ps(scale), _mm512_maskz_loadu_ps(mask, at(r)))
            } else {
                _mm512_setzero_ps()
            }
        };
        let both = _mm512_cvtne2ps_pbh(row(kk + 1), row(kk));
        let both = std::mem::transmute::<__m512bh, __m512i>(both);
        // Words 0..16 are row kk, 16..32 row kk+1: interleave them into pairs.
        let order = _mm512_set_epi16(
            31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20,
            4, 19, 3, 18, 2, 17, 1, 16, 0,
        );
        _mm512_permutexvar_epi16(order, both)
    }
}

/// One tile row from 16 pairs read one element at a time (views strided both ways): `pair(p)`
/// is lane `p`'s two values, `None` for a zero lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn gather(pair: impl Fn(usize) -> Option<(f32, f32)>) -> __m512i {
    let lanes: [u32; 16] =
        std::array::from_fn(|p| pair(p).map_or(0, |(lo, hi)| super::super::bf16::pair(lo, hi)));
    // SAFETY: a plain 64-byte load of the array.
    unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) }
}

/// Transposes 16×16 32-bit lanes: four rounds, each swapping bit `h` of the row index with
/// bit `h` of the column index (the off-diagonal `h×h` blocks of every `2h×2h` block).
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose(rows: &mut [__m512i; 16]) {
    for h in [8usize, 4, 2, 1] {
        let (upper, lower): ([i32; 16], [i32; 16]) = (
            std::array::from_fn(|c| {
                if c & h == 0 {
                    c as i32
                } else {
                    (16 + c - h) as i32
                }
            }),
            std::array::from_fn(|c| {
                if c & h == 0 {
                    (c + h) as i32
                } else {
                    (16 + c) as i32
                }
            }),
        );
        // SAFETY: plain 64-byte loads of the index arrays.
        let (upper, lower) = unsafe {
            (
                _mm512_loadu_si512(upper.as_ptr().cast()),
                _mm512_loadu_si512(lower.as_ptr().cast()),
            )
        };
        for i in (0..16).filter(|i| i & h == 0) {
            let (x, y) = (rows[i], rows[i + h]);
            rows[i] = _mm512_permutex2var_epi32(x, upper, y);
            rows[i + h] = _mm512_permutex2var_epi32(x, lower, y);
        }
    }
}

/// Writes 16 rows of 16 lanes into a packed tile.
///
/// # Safety
/// The CPU has AVX-512F; `tile` is valid for `TILE` lanes.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store(tile: *mut u32, lanes: &[__m512i; 16]) {
    for (i, lane) in lanes.iter().enumerate() {
        // SAFETY: row i's 16 lanes lie inside the tile.
        unsafe { _mm512_storeu_si512(tile.add(16 * i).cast(), *lane) };
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::strided;
    use super::super::TILE;
    use super::*;
    use crate::fused::cpu::bf16::pair;

    /// [`tile_a`] and [`tile_b`] against pairs rounded one at a time, on each layout's path
    /// (rows contiguous, columns contiguous, neither): zeros past the last row and column, a
    /// tile wholly past the last row (the second of a short last strip) included, and no lane
    /// left unwritten. Runs wherever AVX-512-BF16 does, AMX or not.
    #[test]
    fn tiles_hold_the_rounded_pairs_and_zeros_past_the_edges() {
        if !crate::cpu_feature_or_skip(crate::CpuFeature::Bf16) {
            return;
        }
        assert!(
            is_x86_feature_detected!("avx512bw"),
            "AVX-512-BF16 without BW"
        );
        // 19 rows: the tiles from row 16 hold 3, those from row 32 none; 45 columns: the
        // slice from column 32 holds 13.
        let (m, k) = (19, 45);
        for (rs, cs) in [(k, 1), (1, m), (2 * k, 2)] {
            let data = strided(m, k, rs, cs, 7);
            let x = Mat::new(&data, m, k, rs, cs);
            let value = |r, c| {
                if r < m && c < k {
                    // SAFETY: inside the view.
                    unsafe { x.at(r, c) }
                } else {
                    0.0
                }
            };
            for (first, k0) in [(0, 0), (16, 0), (16, 32), (32, 0), (32, 32)] {
                // Row `first + i`'s pair `p`, times `scale`.
                let pair_of = |scale: f32, i: usize, p: usize| {
                    let (r, c) = (first + i, k0 + 2 * p);
                    pair(scale * value(r, c), scale * value(r, c + 1))
                };
                let (mut a_tile, mut b_tile) = ([u32::MAX; TILE], [u32::MAX; TILE]);
                // SAFETY: the CPU has AVX-512F/BW/BF16 (checked above); each tile holds TILE
                // lanes; k0 < k.
                unsafe {
                    tile_a(a_tile.as_mut_ptr(), x, 0.5, first, k0);
                    tile_b(b_tile.as_mut_ptr(), x.t(), first, k0);
                }
                for (i, p) in (0..16).flat_map(|i| (0..16).map(move |p| (i, p))) {
                    let case = format!("strides ({rs}, {cs}), rows {first}.., k {k0}..: {i}, {p}");
                    assert_eq!(a_tile[16 * i + p], pair_of(0.5, i, p), "a tile, {case}");
                    assert_eq!(b_tile[16 * p + i], pair_of(1.0, i, p), "b tile, {case}");
                }
            }
        }
    }
}
