//! Matrix products with bf16 operands and f32 accumulation on Intel AMX (Sapphire Rapids and
//! later): `tdpbf16ps` multiplies a 16×32 bf16 tile by a 32×16 one into a 16×16 f32 tile,
//! 8,192 multiply-adds per instruction, several times what AVX-512 reaches per cycle. This is
//! what PyTorch's bf16 autocast runs on through oneDNN on these CPUs.
//!
//! Layout: the result is computed in blocks of 32×32 (four accumulator tiles, two tiles of
//! `a` and two of `b` per 32-wide slice of the inner dimension). `a` is packed strip by strip
//! (32 rows, every slice of `k`: two tiles of 16 rows × 16 k-pairs), `b` panel by panel (32
//! columns: two tiles of 16 k-pairs × 16 columns, each lane the pair `(b[2p][j], b[2p+1][j])`
//! that `tdpbf16ps` expects). Packing rounds f32 to bf16 with `vcvtne2ps2bf16` and pads the
//! edges with zeros, so callers keep f32 tensors of any shape and stride. The tile
//! instructions are written in `asm!`: the compiler never allocates tile registers, so their
//! contents persist between statements.

use std::arch::asm;
use std::arch::x86_64::*;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::mat::Mat;
use super::matmul::SendPtr;

mod pack;
use pack::{tile_a, tile_b};

/// Rows (and columns) of the result one block computes: 2×2 tiles of 16×16.
const BLOCK: usize = 32;
/// bf16 elements of the inner dimension one tile row holds (64 bytes).
const SLICE: usize = 32;
/// 32-bit lanes in one packed tile: 16 rows of 16.
const TILE: usize = 256;

/// Whether this CPU runs [`matmul`]: AMX-TILE and AMX-BF16 (CPUID leaf 7), the AVX-512
/// conversions the packing uses, and the kernel's permission to use the tile state (Linux
/// grants it on request, once per process); not when `MIDIGPT_CPU` rules AMX out
/// ([`amx_allowed`](super::amx_allowed)).
pub(crate) fn supported() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        let avx512 = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512bf16");
        let amx = || {
            // SAFETY: CPUID leaf 7 exists on every x86-64 CPU that reports AVX-512 (checked
            // first).
            #[allow(unused_unsafe)]
            let leaf7 = unsafe { __cpuid_count(7, 0) };
            // AMX-BF16 and AMX-TILE.
            leaf7.edx & (1 << 22) != 0 && leaf7.edx & (1 << 24) != 0
        };
        avx512 && amx() && super::amx_allowed() && request_tile_permission()
    })
}

/// Asks Linux for the AMX tile data state (`arch_prctl(ARCH_REQ_XCOMP_PERM,
/// XFEATURE_XTILEDATA)`); without it the first tile instruction faults. The grant is per
/// process, so the request is made once. A refusal (a kernel built without AMX support, a
/// sandbox that filters the call) is printed, once: the CPU reports AMX, yet the products run
/// on the slower AVX-512-BF16 kernel, and whoever reads the speed should know why.
#[cfg(target_os = "linux")]
fn request_tile_permission() -> bool {
    static GRANTED: OnceLock<bool> = OnceLock::new();
    *GRANTED.get_or_init(|| {
        const SYS_ARCH_PRCTL: i64 = 158;
        const ARCH_REQ_XCOMP_PERM: i64 = 0x1023;
        const XFEATURE_XTILEDATA: i64 = 18;
        let ret: i64;
        // SAFETY: a plain system call; it changes only which register state this process may
        // use.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") SYS_ARCH_PRCTL => ret,
                in("rdi") ARCH_REQ_XCOMP_PERM,
                in("rsi") XFEATURE_XTILEDATA,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        if ret != 0 {
            // The call returns -errno.
            let error = std::io::Error::from_raw_os_error((-ret) as i32);
            eprintln!(
                "warning: Linux refused this process the AMX tile state (arch_prctl \
                 ARCH_REQ_XCOMP_PERM: {error}); bf16 products run on AVX-512-BF16 instead"
            );
        }
        ret == 0
    })
}

/// Other systems: AMX left unused (the AVX-512-BF16 kernel runs instead).
#[cfg(not(target_os = "linux"))]
fn request_tile_permission() -> bool {
    false
}

/// Bytes of packed `b` one pass over the inner dimension covers: the pass's panels stay in a
/// core's L2 cache while every strip of `a` streams past them.
const PASS_BYTES: usize = 1 << 20;

/// `dst = a·b`, or `dst += a·b` when `accumulate`; `dst` row-major with row stride `ld`,
/// `k = a.cols > 0`. Packing and row strips of the result are spread over rayon's threads.
///
/// # Panics
/// If the CPU lacks AMX ([`supported`]) or the shapes disagree.
///
/// # Safety
/// `dst` is valid for writes (and reads when `accumulate`) of `a.rows` rows of `b.cols`
/// elements at row stride `ld`; nothing else touches them meanwhile.
pub(crate) unsafe fn matmul(dst: *mut f32, ld: usize, a: Mat, b: Mat, accumulate: bool) {
    assert!(supported(), "AMX products need AMX-BF16");
    // SAFETY: the caller's contract.
    unsafe { product(dst, ld, a, b, 1.0, accumulate, true) }
}

/// `dst = scale·a·b`, or `dst += scale·a·b` when `accumulate`, on this thread alone (callers
/// parallelise, e.g. over attention heads).
///
/// # Safety
/// The CPU has AMX ([`supported`]); `dst` is valid for writes of `a.rows` rows of `b.cols`
/// elements at row stride `ld`, and no other thread touches them meanwhile.
pub(crate) unsafe fn matmul_to(dst: *mut f32, ld: usize, a: Mat, b: Mat, scale: f32, acc: bool) {
    // SAFETY: the caller's contract.
    unsafe { product(dst, ld, a, b, scale, acc, false) }
}

/// Packs both operands, then computes block after block, in passes over the inner dimension
/// of at most [`PASS_BYTES`] of packed `b` (each pass after the first adds onto the last).
///
/// # Safety
/// As [`matmul_to`], with `parallel` saying whether rayon's threads share the work.
unsafe fn product(
    dst: *mut f32,
    ld: usize,
    a: Mat,
    b: Mat,
    scale: f32,
    accumulate: bool,
    parallel: bool,
) {
    assert_eq!(a.cols(), b.rows(), "inner dimensions");
    let (m, n, k) = (a.rows(), b.cols(), a.cols());
    if m == 0 || n == 0 || k == 0 {
        assert!(
            accumulate || m == 0 || n == 0,
            "an empty inner dimension is the caller's case"
        );
        return;
    }
    let slices = k.div_ceil(SLICE);
    let (strips, panels) = (m.div_ceil(BLOCK), n.div_ceil(BLOCK));
    // SAFETY (both): the CPU has the instructions; the packers write every lane; every slice
    // starts inside the inner dimension (q·SLICE < k).
    let packed_a = unsafe {
        packed(strips * slices, |out| {
            pack(
                out,
                strips,
                slices,
                a.rs() == 1 && a.cs() != 1,
                parallel,
                |s, q, t, tile| tile_a(tile, a, scale, s * BLOCK + 16 * t, q * SLICE),
            )
        })
    };
    let packed_b = unsafe {
        packed(panels * slices, |out| {
            pack(
                out,
                panels,
                slices,
                b.cs() == 1,
                parallel,
                |p, q, t, tile| tile_b(tile, b, p * BLOCK + 16 * t, q * SLICE),
            )
        })
    };
    let per_pass = (PASS_BYTES / (panels * 2 * TILE * 4)).clamp(1, slices);
    let out = SendPtr(dst);
    for (pass, first) in (0..slices).step_by(per_pass).enumerate() {
        let count = per_pass.min(slices - first);
        let accumulate = accumulate || pass > 0;
        let (packed_a, packed_b) = (&packed_a, &packed_b);
        for_each(strips, parallel, move |s| {
            let rows = BLOCK.min(m - s * BLOCK);
            let a = &packed_a[(s * slices + first) * 2 * TILE..];
            // SAFETY: tiles are configured before use and released after, on this thread;
            // the block (s·BLOCK.., p·BLOCK..) of `rows × cols` lies inside `dst` (caller's
            // contract) and strips write disjoint rows.
            unsafe {
                configure_tiles();
                for p in 0..panels {
                    let cols = BLOCK.min(n - p * BLOCK);
                    let b = &packed_b[(p * slices + first) * 2 * TILE..];
                    let c = out.get().add(s * BLOCK * ld + p * BLOCK);
                    block(a, b, count, c, ld, rows, cols, accumulate);
                }
                // Tile state back to its initial, empty form (cheaper context switches).
                asm!("tilerelease", options(nostack, nomem));
            }
        });
    }
}

/// `f(0..n)`, over rayon's threads when `parallel`.
fn for_each(n: usize, parallel: bool, f: impl Fn(usize) + Send + Sync) {
    if parallel {
        (0..n).into_par_iter().for_each(f);
    } else {
        (0..n).for_each(f);
    }
}

/// A buffer of `pairs` pairs of tiles that `fill` writes (never zero-filled first).
///
/// # Safety
/// `fill` writes every lane.
unsafe fn packed(pairs: usize, fill: impl FnOnce(SendPtr<u32>)) -> Vec<u32> {
    // SAFETY: the caller's contract.
    unsafe {
        super::written(pairs * 2 * TILE, |buf| {
            fill(SendPtr(buf.as_mut_ptr().cast()))
        })
    }
}

/// Packs `groups` strips (or panels) of `slices` slices, two tiles each: tile `(g, q, t)` goes
/// to lane `((g·slices + q)·2 + t)·TILE`, written by `tile(g, q, t, dst)`. Tasks take one
/// group each, or one slice each when `by_slice` (operands contiguous across groups: each
/// task then reads consecutive rows of memory).
///
/// # Safety
/// `out` is valid for `groups · slices · 2 · TILE` lanes; `tile` writes all `TILE` lanes.
unsafe fn pack(
    out: SendPtr<u32>,
    groups: usize,
    slices: usize,
    by_slice: bool,
    parallel: bool,
    tile: impl Fn(usize, usize, usize, *mut u32) + Send + Sync,
) {
    // SAFETY: every (g, q, t) has its own lanes inside `out`.
    let write = |g: usize, q: usize| {
        (0..2).for_each(|t| {
            tile(g, q, t, unsafe {
                out.get().add(((g * slices + q) * 2 + t) * TILE)
            })
        })
    };
    if by_slice {
        for_each(slices, parallel, |q| (0..groups).for_each(|g| write(g, q)));
    } else {
        for_each(groups, parallel, |g| (0..slices).for_each(|q| write(g, q)));
    }
}

/// Palette 1 with all eight tiles 16 rows × 64 bytes; the edges are zero-padded by packing.
///
/// # Safety
/// The CPU has AMX and the process holds the tile permission ([`supported`]).
unsafe fn configure_tiles() {
    let mut config = [0u8; 64];
    config[0] = 1;
    for t in 0..8 {
        config[16 + 2 * t..18 + 2 * t].copy_from_slice(&64u16.to_le_bytes());
        config[48 + t] = 16;
    }
    // SAFETY: a valid configuration, read from memory that lives through the instruction.
    unsafe { asm!("ldtilecfg [{}]", in(reg) config.as_ptr(), options(nostack, readonly)) };
}

/// One 32×32 block: `c[..rows][..cols] (+)= Σ_slices a ⊗ b`. Full blocks load and store the
/// accumulators straight from and to `c`; edge blocks go through a local 32×32 buffer.
///
/// # Safety
/// Tiles are configured ([`configure_tiles`]); `a` and `b` hold `slices` slices of two tiles
/// each; `c` is valid for `rows` rows of `cols` columns at row stride `ld`.
#[allow(clippy::too_many_arguments)]
unsafe fn block(
    a: &[u32],
    b: &[u32],
    slices: usize,
    c: *mut f32,
    ld: usize,
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    if rows == BLOCK && cols == BLOCK {
        // SAFETY: the caller's contract, for the whole block.
        return unsafe { tiles(a, b, slices, c, ld, accumulate) };
    }
    let mut edge = [0f32; BLOCK * BLOCK];
    let inside = |i: usize| i * BLOCK..i * BLOCK + cols;
    if accumulate {
        for i in 0..rows {
            // SAFETY: row i < rows, columns < cols: inside `c` by the caller's contract.
            let src = unsafe { std::slice::from_raw_parts(c.add(i * ld), cols) };
            edge[inside(i)].copy_from_slice(src);
        }
    }
    // SAFETY: `edge` holds a whole block at stride BLOCK.
    unsafe { tiles(a, b, slices, edge.as_mut_ptr(), BLOCK, accumulate) };
    for i in 0..rows {
        // SAFETY: as above.
        let dst = unsafe { std::slice::from_raw_parts_mut(c.add(i * ld), cols) };
        dst.copy_from_slice(&edge[inside(i)]);
    }
}

/// The tile instructions of [`block`] on a whole 32×32 block at `c`, row stride `ld`.
///
/// # Safety
/// As [`block`], with `c` valid for all 32 rows of 32 columns.
unsafe fn tiles(a: &[u32], b: &[u32], slices: usize, c: *mut f32, ld: usize, accumulate: bool) {
    let bytes = ld * 4;
    // SAFETY: every tile access stays inside `c` (32 rows × 32 columns at `ld`) or the packed
    // slices (512 lanes each, `slices` of them), by the caller's contract.
    unsafe {
        let (c0, c1) = (c, c.add(16));
        let (c2, c3) = (c.add(16 * ld), c.add(16 * ld + 16));
        if accumulate {
            asm!(
                "tileloadd tmm0, [{c0} + {s}*1]",
                "tileloadd tmm1, [{c1} + {s}*1]",
                "tileloadd tmm2, [{c2} + {s}*1]",
                "tileloadd tmm3, [{c3} + {s}*1]",
                c0 = in(reg) c0, c1 = in(reg) c1, c2 = in(reg) c2, c3 = in(reg) c3,
                s = in(reg) bytes, options(nostack, readonly),
            );
        } else {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            );
        }
        for slice in 0..slices {
            let (a0, b0) = (
                a.as_ptr().add(slice * 2 * TILE),
                b.as_ptr().add(slice * 2 * TILE),
            );
            asm!(
                "tileloadd tmm4, [{a0} + {s}*1]",
                "tileloadd tmm5, [{a1} + {s}*1]",
                "tileloadd tmm6, [{b0} + {s}*1]",
                "tileloadd tmm7, [{b1} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                a0 = in(reg) a0, a1 = in(reg) a0.add(TILE),
                b0 = in(reg) b0, b1 = in(reg) b0.add(TILE),
                s = in(reg) 64usize, options(nostack, readonly),
            );
        }
        asm!(
            "tilestored [{c0} + {s}*1], tmm0",
            "tilestored [{c1} + {s}*1], tmm1",
            "tilestored [{c2} + {s}*1], tmm2",
            "tilestored [{c3} + {s}*1], tmm3",
            c0 = in(reg) c0, c1 = in(reg) c1, c2 = in(reg) c2, c3 = in(reg) c3,
            s = in(reg) bytes, options(nostack),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// The storage of a `rows × cols` view at strides `(rs, cs)`, exactly as long as its last
    /// element needs (a read past it may fault, as it would at the end of a tensor), the
    /// view's elements deterministic values in [-1, 1), and every element between them NaN
    /// (a read of one poisons the result).
    pub(super) fn strided(rows: usize, cols: usize, rs: usize, cs: usize, seed: u64) -> Vec<f32> {
        let mut data = vec![f32::NAN; (rows - 1) * rs + (cols - 1) * cs + 1];
        for (i, value) in values(rows * cols, seed).into_iter().enumerate() {
            data[i / cols * rs + i % cols * cs] = value;
        }
        data
    }

    /// Both layouts of each operand and a doubly strided one, sizes off every tile edge:
    /// the same products as the AVX-512-BF16 kernel (same bf16 rounding of the inputs, f32
    /// sums in another order), and the columns between the result's rows left as they were.
    #[test]
    fn amx_matches_the_avx512_bf16_kernel() {
        if !crate::cpu_feature_or_skip(crate::CpuFeature::Amx) {
            return;
        }
        for (m, k, n) in [
            (37, 45, 70),
            (64, 64, 64),
            (1, 1, 1),
            (33, 100, 17),
            (96, 257, 40),
        ] {
            let a_layouts = [(k, 1), (1, m), (2 * k, 2)];
            let b_layouts = [(n, 1), (1, k), (2, 2 * k)];
            for ((ars, acs), (brs, bcs)) in a_layouts.into_iter().zip(b_layouts) {
                let (a_data, b_data) = (strided(m, k, ars, acs, 1), strided(k, n, brs, bcs, 2));
                let a = Mat::new(&a_data, m, k, ars, acs);
                let b = Mat::new(&b_data, k, n, brs, bcs);
                for accumulate in [false, true] {
                    // Rows 3 columns apart; the buffer ends with the last row's last column.
                    let ld = n + 3;
                    let start = values((m - 1) * ld + n, 3);
                    let (mut ours, mut reference) = (start.clone(), start.clone());
                    // SAFETY: both buffers hold m rows of n at stride ld.
                    unsafe {
                        matmul(ours.as_mut_ptr(), ld, a, b, accumulate);
                        super::super::bf16::matmul(reference.as_mut_ptr(), ld, a, b, accumulate);
                    }
                    let case = format!(
                        "{m}×{k}·{k}×{n}, strides {ars},{acs} / {brs},{bcs}, accumulate \
                         {accumulate}"
                    );
                    for (i, ((o, r), s)) in ours.iter().zip(&reference).zip(&start).enumerate() {
                        let (row, col) = (i / ld, i % ld);
                        if col >= n {
                            assert_eq!(o.to_bits(), s.to_bits(), "({row}, {col}) of {case}");
                            continue;
                        }
                        assert!(
                            (o - r).abs() <= 1e-5 * (1.0 + r.abs()) * (k as f32).sqrt(),
                            "({row}, {col}) of {case}: {o} vs {r}"
                        );
                    }
                }
            }
        }
    }
}
