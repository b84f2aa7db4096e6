//! Matrix products of the fused kernels over strided f32 views: the `gemm` crate for f32 (it
//! picks AVX-512, AVX2+FMA or NEON at run time; AVX-512 needs its `x86-v4` feature, on in
//! the workspace), or for bf16 operands with f32 accumulation [`amx`](super::amx) where the
//! CPU has AMX, else [`bf16`](super::bf16) (AVX-512-BF16).

use gemm::Parallelism;

use super::mat::Mat;
use crate::fused::Precision;

/// Products of at least this many multiply-adds are split over rayon's threads (burn's flex
/// uses the same threshold for its own).
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

/// `dst = beta·a·b`, or `dst += beta·a·b` when `accumulate`; `dst` row-major with row stride
/// `ld`, f32; bf16 operands where `precision` asks for them and the CPU has AMX, else f32.
/// Single-threaded: callers parallelise over heads.
///
/// # Safety
/// `dst` is valid for writes of `a.rows` rows of `b.cols` elements at row stride `ld`, and
/// no other thread touches those elements meanwhile.
pub(crate) unsafe fn matmul_to(
    precision: Precision,
    dst: *mut f32,
    ld: usize,
    a: Mat,
    b: Mat,
    beta: f32,
    acc: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if precision == Precision::Bf16 && a.cols() > 0 && super::amx::supported() {
        // SAFETY: the caller's contract.
        return unsafe { super::amx::matmul_to(dst, ld, a, b, beta, acc) };
    }
    let _ = precision;
    // SAFETY: the caller's contract.
    unsafe { gemm_f32(dst, ld, a, b, beta, acc, Parallelism::None) }
}

/// `dst = a·b`, or `dst += a·b` when `accumulate`, in `precision`, split over rayon's threads
/// when large; `dst` row-major with row stride `ld`.
pub(crate) fn product(
    precision: Precision,
    dst: &mut [f32],
    ld: usize,
    a: Mat,
    b: Mat,
    accumulate: bool,
) {
    assert_eq!(a.cols(), b.rows(), "inner dimensions");
    let (m, n) = (a.rows(), b.cols());
    assert!(
        m == 0 || n == 0 || (m - 1) * ld + n <= dst.len(),
        "destination too small"
    );
    // SAFETY: the destination bounds are checked above, and `dst` is borrowed exclusively.
    unsafe { product_raw(precision, dst.as_mut_ptr(), ld, a, b, accumulate) };
}

/// `a·b` in `precision`, as a new row-major `(a.rows, b.cols)` vector: the product writes
/// every element, so the buffer is never zero-filled first.
pub(crate) fn product_new(precision: Precision, a: Mat, b: Mat) -> Vec<f32> {
    assert_eq!(a.cols(), b.rows(), "inner dimensions");
    // SAFETY: the buffer holds `a.rows` rows of `b.cols`; without `accumulate` every path of
    // `product_raw` writes each of them and reads none.
    unsafe {
        super::written(a.rows() * b.cols(), |out| {
            product_raw(precision, out.as_mut_ptr().cast(), b.cols(), a, b, false)
        })
    }
}

/// [`product`] into raw memory.
///
/// # Safety
/// `dst` is valid for writes (and, when `accumulate`, reads) of `a.rows` rows of `b.cols`
/// elements at row stride `ld`, and nothing else touches them meanwhile.
unsafe fn product_raw(
    precision: Precision,
    dst: *mut f32,
    ld: usize,
    a: Mat,
    b: Mat,
    accumulate: bool,
) {
    let (m, n) = (a.rows(), b.cols());
    if m == 0 || n == 0 {
        return;
    }
    if precision == Precision::Bf16 {
        if a.cols() == 0 {
            // An empty sum: nothing to add, or zeros.
            if !accumulate {
                // SAFETY: row r's `n` elements lie inside `dst` (the caller's contract).
                (0..m).for_each(|r| unsafe { std::ptr::write_bytes(dst.add(r * ld), 0, n) });
            }
            return;
        }
        // SAFETY (both): the caller's contract.
        #[cfg(target_arch = "x86_64")]
        return unsafe {
            if super::amx::supported() {
                super::amx::matmul(dst, ld, a, b, accumulate)
            } else {
                super::bf16::matmul(dst, ld, a, b, accumulate)
            }
        };
    }
    let work = m.saturating_mul(a.cols()).saturating_mul(n);
    let parallelism = if work >= PARALLEL_THRESHOLD {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: the caller's contract.
    unsafe { gemm_f32(dst, ld, a, b, 1.0, accumulate, parallelism) };
}

/// # Safety
/// As [`matmul_to`]. (`gemm` reads `a` and `b` only inside their slices: `Mat`'s invariant.)
unsafe fn gemm_f32(
    dst: *mut f32,
    ld: usize,
    a: Mat,
    b: Mat,
    beta: f32,
    accumulate: bool,
    parallelism: Parallelism,
) {
    assert_eq!(a.cols(), b.rows(), "inner dimensions");
    let (m, n) = (a.rows(), b.cols());
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the caller's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            a.cols(),
            dst,
            1,
            ld as isize,
            accumulate,
            a.ptr(),
            a.cs() as isize,
            a.rs() as isize,
            b.ptr(),
            b.cs() as isize,
            b.rs() as isize,
            if accumulate { 1.0 } else { 0.0 },
            beta,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// A raw pointer rayon's tasks may share, each writing elements no other task writes.
pub(crate) struct SendPtr<T = f32>(pub(crate) *mut T);
// SAFETY: users guarantee that tasks write disjoint elements (see each use).
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

// Copy for every `T` (a derive would ask `T: Copy`).
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so that closures capture the whole `SendPtr`, not its field).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}
