//! `exp` and `erf` in plain arithmetic, so that loops over slices compile to SIMD instructions
//! (the standard library's call into libm one element at a time).

/// 1.5·2²³: adding and subtracting it rounds an f32 of magnitude below 2²² to the nearest
/// integer with baseline SSE2 instructions (no `roundps`).
const ROUNDER: f32 = 12_582_912.0;

/// `eˣ` with a relative error below 2·10⁻⁷; inputs are clamped to `[-87, 88]` (the range of
/// normal results).
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    // eˣ = 2ⁿ·eʳ with n = round(x·log₂e) and |r| ≤ ln2/2; ln2 split in two so that n·ln2 is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = t - ROUNDER;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Taylor series of eʳ to r⁶/6!: the remainder is below r⁷/7! ≈ 1.2·10⁻⁷ on |r| ≤ ln2/2.
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2ⁿ straight from the bits of `t` = 1.5·2²³ + n (its mantissa holds n): integer
    // operations only, where a float-to-int conversion (`as i32` saturates) would leave the
    // vector registers element by element.
    let two_n = (t
        .to_bits()
        .wrapping_sub(ROUNDER.to_bits())
        .wrapping_add(127))
        << 23;
    f32::from_bits(two_n) * p
}

/// `erf(x)` with an absolute error below 10⁻⁶: the rational approximation Eigen and XLA use,
/// on `[-4, 4]` (beyond it erf is ±1 in f32).
#[inline(always)]
pub(super) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = -2.726_142_3e-10;
    let p = p * x2 + 2.770_681_4e-8;
    let p = p * x2 - 2.101_024e-6;
    let p = p * x2 - 5.692_506_4e-5;
    let p = p * x2 - 7.349_906e-4;
    let p = p * x2 - 2.954_6e-3;
    let p = p * x2 - 1.609_603_3e-2;
    let q = -1.456_607_2e-5;
    let q = q * x2 - 2.133_740_6e-4;
    let q = q * x2 - 1.682_827e-3;
    let q = q * x2 - 7.373_329e-3;
    let q = q * x2 - 1.426_474e-2;
    x * p / q
}

/// Lanes of [`sum3`]'s partial sums: as many as an AVX-512 register holds.
const LANES: usize = 16;

/// `Σ f(a[i], b[i], c[i])` over the shortest of the three, in [`LANES`] partial sums folded
/// in a fixed order: the loop then runs on vectors (a single running sum waits on each
/// addition in turn), and the bits do not depend on the vector width or the thread count.
#[inline(always)]
pub(super) fn sum3(a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let n = a.len().min(b.len()).min(c.len());
    let (a, b, c) = (&a[..n], &b[..n], &c[..n]);
    let (ca, cb, cc) = (
        a.chunks_exact(LANES),
        b.chunks_exact(LANES),
        c.chunks_exact(LANES),
    );
    let rest: f32 = (ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .zip(cc.remainder()))
    .map(|((&x, &y), &z)| f(x, y, z))
    .sum();
    let mut lanes = [0.0f32; LANES];
    for ((x, y), z) in ca.zip(cb).zip(cc) {
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane += f(x[i], y[i], z[i]);
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// `Σ f(a[i], b[i])`, as [`sum3`].
#[inline(always)]
pub(super) fn sum2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    sum3(a, b, b, |x, y, _| f(x, y))
}

/// `Σ f(a[i])`, as [`sum3`].
#[inline(always)]
pub(super) fn sum1(a: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    sum3(a, a, a, |x, _, _| f(x))
}

/// The largest of `x` (−∞ when empty), lane by lane as [`sum3`].
#[inline(always)]
pub(super) fn max_of(x: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = if v > *lane { v } else { *lane };
        }
    }
    let rest = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    lanes.iter().copied().fold(rest, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_to_a_few_ulps() {
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let (ours, std) = (exp(x), x.exp());
            assert!(
                ((ours - std) / std).abs() < 3e-7,
                "exp({x}) = {ours}, std {std}"
            );
        }
    }

    #[test]
    fn sums_and_max_of_see_every_element() {
        for n in [0usize, 1, 15, 16, 17, 100] {
            let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let expected = (n * n.saturating_sub(1) / 2) as f32;
            assert_eq!(sum1(&x, |v| v), expected, "n = {n}");
            assert_eq!(sum2(&x, &x, |a, b| a - b), 0.0, "n = {n}");
            assert_eq!(
                sum3(&x, &x, &x[..n / 2], |a, _, _| a),
                ((n / 2) * (n / 2).saturating_sub(1) / 2) as f32
            );
            let max = if n == 0 {
                f32::NEG_INFINITY
            } else {
                (n - 1) as f32
            };
            assert_eq!(max_of(&x), max, "n = {n}");
        }
    }

    #[test]
    fn erf_matches_the_series() {
        // erf by its Taylor series (in f64), converging well for |x| ≤ 3.
        let reference = |x: f64| {
            let (mut term, mut sum) = (x, x);
            for n in 1..200 {
                term *= -x * x / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        };
        for i in -300..=300 {
            let x = i as f64 / 100.0;
            let diff = (erf(x as f32) as f64 - reference(x)).abs();
            assert!(diff < 1e-6, "erf({x}) off by {diff}");
        }
        assert!((erf(10.0) - 1.0).abs() < 1e-6 && (erf(-10.0) + 1.0).abs() < 1e-6);
    }
}
