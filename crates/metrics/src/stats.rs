//! Statistics of a set of pieces: mean and spread of a metric, and how far two sets'
//! distributions overlap.

use serde::Serialize;

/// Mean and spread of one metric over a set of pieces (NaN values left out).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Mean of the finite values (NaN when there are none).
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator; NaN under 2 values).
    pub std: f64,
    /// How many pieces have a finite value.
    pub n: usize,
}

impl Summary {
    /// The summary of `values`.
    pub fn of(values: &[f64]) -> Self {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let n = finite.len();
        let mean = finite.iter().sum::<f64>() / n as f64;
        let var = finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        Summary {
            mean,
            std: if n < 2 { f64::NAN } else { var.sqrt() },
            n,
        }
    }
}

/// Most points the overlap is integrated on (the grid is finer when a distribution is narrow,
/// up to this).
const MAX_POINTS: usize = 20_000;

/// Overlapping area of the distributions of two sets of values, ∫ min(f, g): 1 for the same
/// distribution, 0 for disjoint ones. As Yang & Lerch (2020) do, each distribution is a
/// Gaussian kernel density estimate with Scott's bandwidth (σ · n^(−1/5), σ the sample
/// standard deviation, as `scipy.stats.gaussian_kde` chooses); Yang & Lerch compare the
/// distributions of distances between pieces, this compares the values themselves. A set
/// whose values are all equal takes the other set's bandwidth; when both are constant the
/// overlap is 1 if they are equal, else 0. NaN values are left out; NaN when a set has none.
pub fn overlap(a: &[f64], b: &[f64]) -> f64 {
    let finite = |v: &[f64]| -> Vec<f64> { v.iter().copied().filter(|x| x.is_finite()).collect() };
    let (a, b) = (finite(a), finite(b));
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let (ha, hb) = (scott(&a), scott(&b));
    let (ha, hb) = match (ha > 0.0, hb > 0.0) {
        (true, true) => (ha, hb),
        (true, false) => (ha, ha),
        (false, true) => (hb, hb),
        (false, false) => return if a[0] == b[0] { 1.0 } else { 0.0 },
    };
    let all = || a.iter().chain(&b);
    let lo = all().copied().fold(f64::INFINITY, f64::min) - 5.0 * ha.max(hb);
    let hi = all().copied().fold(f64::NEG_INFINITY, f64::max) + 5.0 * ha.max(hb);
    // Steps of a quarter of the narrower bandwidth resolve both curves well.
    let points = (((hi - lo) / (ha.min(hb) / 4.0)).ceil() as usize).clamp(1_000, MAX_POINTS);
    let step = (hi - lo) / (points - 1) as f64;
    let mins: Vec<f64> = (0..points)
        .map(|i| {
            let x = lo + i as f64 * step;
            density(&a, ha, x).min(density(&b, hb, x))
        })
        .collect();
    // Trapezoids.
    let area: f64 = mins.windows(2).map(|w| (w[0] + w[1]) / 2.0 * step).sum();
    area.clamp(0.0, 1.0)
}

/// Scott's rule bandwidth of a 1-D sample (0 when it has no spread).
pub(crate) fn scott(values: &[f64]) -> f64 {
    let std = Summary::of(values).std;
    if std.is_finite() {
        std * (values.len() as f64).powf(-0.2)
    } else {
        0.0
    }
}

/// The Gaussian kernel density estimate of `values` with bandwidth `h`, at `x`.
pub(crate) fn density(values: &[f64], h: f64, x: f64) -> f64 {
    let norm = 1.0 / (values.len() as f64 * h * (2.0 * std::f64::consts::PI).sqrt());
    norm * values
        .iter()
        .map(|v| (-0.5 * ((x - v) / h).powi(2)).exp())
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        let s = Summary::of(&[1.0, 2.0, 3.0, f64::NAN, 4.0]);
        assert_eq!(s.n, 4);
        assert!((s.mean - 2.5).abs() < 1e-12);
        assert!((s.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!(Summary::of(&[]).mean.is_nan());
    }

    #[test]
    fn overlap_of_same_and_disjoint_sets() {
        let a: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin()).collect();
        assert!((overlap(&a, &a) - 1.0).abs() < 1e-3, "{}", overlap(&a, &a));
        let far: Vec<f64> = a.iter().map(|v| v + 100.0).collect();
        assert!(overlap(&a, &far) < 1e-6);
        let half: Vec<f64> = a.iter().map(|v| v + 1.0).collect();
        let o = overlap(&a, &half);
        assert!(o > 0.1 && o < 0.9, "{o}");
        assert_eq!(overlap(&[3.0, 3.0], &[3.0]), 1.0);
        assert_eq!(overlap(&[3.0, 3.0], &[4.0]), 0.0);
        assert!(overlap(&[], &a).is_nan());
    }

    #[test]
    fn two_unit_gaussians_one_sigma_apart_overlap_like_theory() {
        // Large samples of N(0,1) and N(1,1) (by inverse CDF at evenly spaced quantiles):
        // their overlap is 2 Φ(-1/2) = 0.617; the kernels widen both a little.
        let quantiles: Vec<f64> = (1..2000).map(|i| probit(i as f64 / 2000.0)).collect();
        let shifted: Vec<f64> = quantiles.iter().map(|v| v + 1.0).collect();
        let o = overlap(&quantiles, &shifted);
        assert!((o - 0.617).abs() < 0.02, "{o}");
    }

    /// Inverse of the standard normal CDF by bisection (test only).
    fn probit(p: f64) -> f64 {
        let cdf = |x: f64| 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
        let (mut lo, mut hi) = (-10.0, 10.0);
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            if cdf(mid) < p {
                lo = mid
            } else {
                hi = mid
            }
        }
        lo
    }

    /// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
    fn erf(x: f64) -> f64 {
        let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
        let poly = t
            * (0.254_829_592
                + t * (-0.284_496_736
                    + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        let y = 1.0 - poly * (-x * x).exp();
        if x < 0.0 {
            -y
        } else {
            y
        }
    }
}
