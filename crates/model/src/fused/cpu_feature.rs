//! The CPU features some kernels need, and how a test that needs one decides to run, to skip
//! or to fail: a test that skips on a machine whose CPU has the feature would let a broken
//! feature detection pass unseen, so CI names the features its CPU has and their tests may
//! then not skip.

/// The environment variable naming the CPU features whose tests must run
/// ([`cpu_feature_or_skip`]).
const REQUIRE: &str = "MIDIGPT_REQUIRE_CPU_FEATURES";

/// A CPU feature that tests of the bf16 kernels need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuFeature {
    /// Native bf16 dot products, AVX-512-BF16 ([`native_bf16`](super::native_bf16)).
    Bf16,
    /// bf16 products on Intel AMX tiles ([`bf16_kernel`](super::bf16_kernel) is `"amx"`):
    /// AMX-TILE, AMX-BF16 and AVX-512-BF16, and Linux's permission to use the tiles.
    Amx,
}

impl CpuFeature {
    const ALL: [CpuFeature; 2] = [CpuFeature::Bf16, CpuFeature::Amx];

    /// Its name in `MIDIGPT_REQUIRE_CPU_FEATURES`: `"bf16"` or `"amx"`.
    pub fn name(self) -> &'static str {
        match self {
            CpuFeature::Bf16 => "bf16",
            CpuFeature::Amx => "amx",
        }
    }

    /// Whether this process runs on it: the CPU has it and `MIDIGPT_CPU` leaves it on.
    pub fn available(self) -> bool {
        match self {
            CpuFeature::Bf16 => super::native_bf16(),
            CpuFeature::Amx => super::bf16_kernel() == Some("amx"),
        }
    }

    /// What the CPU lacks when it is not [`available`](Self::available).
    fn missing(self) -> &'static str {
        match self {
            CpuFeature::Bf16 => "native bf16 dot products (AVX-512-BF16)",
            CpuFeature::Amx => "AMX bf16 tiles (AMX-TILE, AMX-BF16, AVX-512-BF16, Linux's grant)",
        }
    }
}

/// For a test that needs `feature`: true when this process has it (the test runs), false
/// when it lacks it (the test returns early; the reason is printed).
///
/// `MIDIGPT_REQUIRE_CPU_FEATURES` turns that skip into a failure: a comma-separated list of
/// feature names ([`CpuFeature::name`]: `bf16`, `amx`), or `all` (also `1`) for every one.
/// Where it names `feature` and the feature is missing, this panics instead of returning
/// false, so a test cannot pass by skipping on a CPU known to have the feature (`.ci/run`
/// names the features `/proc/cpuinfo` shows). A name it does not know panics too: a typo must
/// not quietly let the tests skip. `MIDIGPT_CPU=avx2` or `avx512` switches features off as on
/// a CPU without them, so requiring one of them then fails as well.
///
/// # Panics
/// As above, or if the variable is not Unicode.
#[track_caller] // a failure names the test, not this function
pub fn cpu_feature_or_skip(feature: CpuFeature) -> bool {
    let required = match std::env::var(REQUIRE) {
        Ok(list) => list,
        Err(std::env::VarError::NotPresent) => String::new(),
        Err(error) => panic!("{REQUIRE}: {error}"),
    };
    let runs = match decide(feature, feature.available(), &required) {
        Ok(runs) => runs,
        Err(error) => panic!("{error}"),
    };
    if !runs {
        eprintln!(
            "skipped: this process lacks {} ({REQUIRE}={} would make this a failure)",
            feature.missing(),
            feature.name()
        );
    }
    runs
}

/// [`cpu_feature_or_skip`]'s decision, given whether the feature is `available` and the
/// `required` list: `Ok(true)` runs the test, `Ok(false)` skips it, `Err` fails it.
fn decide(feature: CpuFeature, available: bool, required: &str) -> Result<bool, String> {
    let mut named = false;
    for name in required.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "all" | "1" => named = true,
            _ => match CpuFeature::ALL.into_iter().find(|f| f.name() == name) {
                Some(f) => named |= f == feature,
                None => {
                    return Err(format!(
                        "{REQUIRE}={required:?}: no CPU feature {name:?} (known: bf16, amx, all)"
                    ))
                }
            },
        }
    }
    if named && !available {
        return Err(format!(
            "{REQUIRE}={required:?} requires {}, but this process lacks {} (or MIDIGPT_CPU \
             switches it off)",
            feature.name(),
            feature.missing()
        ));
    }
    Ok(available)
}

#[cfg(test)]
mod tests {
    use super::CpuFeature::{Amx, Bf16};
    use super::*;

    #[test]
    fn a_present_feature_runs_whatever_is_required() {
        for required in ["", "bf16", "amx", "all", "1", " bf16 , amx "] {
            assert_eq!(decide(Bf16, true, required), Ok(true), "{required:?}");
            assert_eq!(decide(Amx, true, required), Ok(true), "{required:?}");
        }
    }

    #[test]
    fn a_missing_feature_skips_unless_required() {
        assert_eq!(decide(Amx, false, ""), Ok(false));
        assert_eq!(decide(Amx, false, "bf16"), Ok(false));
        assert_eq!(decide(Bf16, false, "amx,"), Ok(false));
        for required in ["amx", "bf16,amx", "all", "1"] {
            let error = decide(Amx, false, required).unwrap_err();
            assert!(error.contains("requires amx"), "{required:?}: {error}");
        }
        assert!(decide(Bf16, false, "bf16").is_err());
    }

    #[test]
    fn an_unknown_name_fails_even_where_the_feature_is_present() {
        let error = decide(Bf16, true, "bf16,amx_tile").unwrap_err();
        assert!(error.contains("\"amx_tile\""), "{error}");
        assert!(decide(Amx, false, "yes").is_err());
    }

    /// The tests of each feature skip exactly where the feature is missing, and the
    /// variable, when set (as CI sets it), has named only features this process has.
    #[test]
    fn the_decision_follows_detection() {
        for feature in CpuFeature::ALL {
            assert_eq!(cpu_feature_or_skip(feature), feature.available());
        }
        // Without native bf16 there are no AMX products either.
        assert!(!Amx.available() || Bf16.available());
    }
}
