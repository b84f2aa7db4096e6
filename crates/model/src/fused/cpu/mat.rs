//! [`Mat`]: the strided, read-only matrix view the products take. It borrows the slice it
//! views and checks its extent once, when built, so that the kernels may read any element
//! `(r < rows, c < cols)` through raw pointers without a bounds check in their loops.

/// A strided matrix inside a slice: element `(r, c)` is `data[r·rs + c·cs]`.
///
/// The fields are private so that nothing can break the invariant [`Mat::new`] checks: every
/// element lies inside `data` (or the matrix is empty). Borrowing `data` ties the view to its
/// storage, so it cannot outlive it, and makes it `Send` and `Sync` as `&[f32]` is.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> Mat<'a> {
    /// The `rows × cols` matrix at the start of `data` with row stride `rs` and column stride
    /// `cs`.
    ///
    /// # Panics
    /// If an element falls past the end of `data`.
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        let fits = match (rows.checked_sub(1), cols.checked_sub(1)) {
            (Some(r), Some(c)) => (r.checked_mul(rs))
                .zip(c.checked_mul(cs))
                .and_then(|(r, c)| r.checked_add(c))
                .is_some_and(|last| last < data.len()),
            // An empty view reads nothing.
            _ => true,
        };
        assert!(
            fits,
            "a {rows}×{cols} view at strides ({rs}, {cs}) past {} elements",
            data.len()
        );
        Mat {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// A row-major matrix over `data` with row stride `ld`.
    pub(crate) fn dense(data: &'a [f32], rows: usize, cols: usize, ld: usize) -> Self {
        Mat::new(data, rows, cols, ld, 1)
    }

    /// The transpose (a view, nothing moves).
    pub(crate) fn t(self) -> Self {
        Mat {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Rows `r0..r1`, columns `0..cols`.
    pub(crate) fn block(self, r0: usize, r1: usize, cols: usize) -> Self {
        assert!(r0 <= r1 && r1 <= self.rows && cols <= self.cols);
        // `r0·rs` lies inside the slice when row r0 holds an element (`Mat::new`'s check);
        // otherwise the block is empty and keeps the whole slice.
        let data = if r0 < self.rows && self.cols > 0 {
            &self.data[r0 * self.rs..]
        } else {
            self.data
        };
        Mat {
            data,
            rows: r1 - r0,
            cols,
            ..self
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// Elements from one row to the next.
    pub(crate) fn rs(&self) -> usize {
        self.rs
    }

    /// Elements from one column to the next.
    pub(crate) fn cs(&self) -> usize {
        self.cs
    }

    /// Element `(0, 0)`, from which the kernels read every `(r < rows, c < cols)` at
    /// `r·rs + c·cs` (inside the slice by [`Mat::new`]'s check).
    pub(crate) fn ptr(&self) -> *const f32 {
        self.data.as_ptr()
    }

    /// Element `(r, c)`, unchecked: the packing loops read every element this way.
    ///
    /// # Safety
    /// `r < rows` and `c < cols`.
    #[inline(always)]
    pub(crate) unsafe fn at(&self, r: usize, c: usize) -> f32 {
        debug_assert!(r < self.rows && c < self.cols);
        // SAFETY: inside `data` for such `r` and `c` (the invariant of `Mat::new`).
        unsafe { *self.data.get_unchecked(r * self.rs + c * self.cs) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_reach_exactly_the_last_element() {
        let data: Vec<f32> = (0..12).map(|x| x as f32).collect();
        // 3×2 at strides (4, 2): the last element is 2·4 + 1·2 = 10.
        let m = Mat::new(&data[..11], 3, 2, 4, 2);
        // SAFETY: inside the 3×2 view.
        assert_eq!(unsafe { (m.at(2, 1), m.t().at(1, 2)) }, (10.0, 10.0));
        let rows = m.block(1, 3, 1);
        assert_eq!((rows.rows(), rows.cols()), (2, 1));
        // SAFETY: inside the 2×1 block.
        assert_eq!(unsafe { rows.at(1, 0) }, 8.0);
        // Empty views at any strides fit any slice, the empty one included.
        assert_eq!(Mat::new(&[], 0, 5, 100, 1).rows(), 0);
        assert_eq!(Mat::new(&[], 5, 0, 100, 1).cols(), 0);
        assert_eq!(m.block(3, 3, 2).rows(), 0);
    }

    #[test]
    #[should_panic(expected = "past 10 elements")]
    fn a_view_one_past_its_slice_is_refused() {
        Mat::new(&[0.0; 10], 3, 2, 4, 2);
    }

    #[test]
    #[should_panic(expected = "past")]
    fn a_view_whose_extent_overflows_is_refused() {
        Mat::new(&[0.0; 10], 3, 2, usize::MAX / 2 + 1, 1);
    }
}
