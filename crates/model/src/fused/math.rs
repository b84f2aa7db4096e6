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
    let n = (x * std::f32::consts::LOG2_E + ROUNDER) - ROUNDER;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Taylor series of eʳ to r⁶/6!: the remainder is below r⁷/7! ≈ 1.2·10⁻⁷ on |r| ≤ ln2/2.
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    f32::from_bits(((n as i32 + 127) << 23) as u32) * p
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
