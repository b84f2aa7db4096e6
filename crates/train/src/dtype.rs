//! `dtype` of the training config: the precision of CPU training's matrix products.

use std::fmt;
use std::str::FromStr;

use midigpt_model::{bf16_preferred, native_bf16, set_cpu_precision, Precision};
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// The precision of the matrix products when training on the CPU. Weights, gradients and
/// optimizer state are f32 in every mode; GPUs train in f32 whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// bf16 where the CPU's native bf16 products outrun its f32 ones
    /// ([`bf16_preferred`]: Intel AMX, AMD with AVX-512-BF16), f32 elsewhere.
    #[default]
    Auto,
    /// bf16 operands with f32 accumulation, as PyTorch's CPU autocast; on a CPU without
    /// native bf16 the run falls back to f32 (with a warning).
    Bf16,
    /// f32 throughout.
    F32,
}

impl Dtype {
    /// The precision this setting gives on this CPU.
    pub fn resolve(self) -> Precision {
        match self {
            Dtype::Auto if bf16_preferred() => Precision::Bf16,
            Dtype::Bf16 if native_bf16() => Precision::Bf16,
            _ => Precision::F32,
        }
    }

    /// Sets this thread's precision of CPU training ([`set_cpu_precision`]) to
    /// [`Dtype::resolve`]'s and returns it.
    pub fn apply(self) -> Result<Precision, TrainError> {
        let precision = self.resolve();
        set_cpu_precision(precision)?;
        Ok(precision)
    }

    /// Why the run will not train in the precision asked for, if it will not.
    pub fn warning(self) -> Option<String> {
        (self == Dtype::Bf16 && !native_bf16()).then(|| {
            "dtype = \"bf16\", but this CPU has no native bf16 dot products (AVX-512-BF16): \
             training in f32"
                .to_owned()
        })
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dtype::Auto => "auto",
            Dtype::Bf16 => "bf16",
            Dtype::F32 => "f32",
        })
    }
}

impl FromStr for Dtype {
    type Err = String;

    fn from_str(s: &str) -> Result<Dtype, String> {
        match s {
            "auto" => Ok(Dtype::Auto),
            "bf16" => Ok(Dtype::Bf16),
            "f32" => Ok(Dtype::F32),
            other => Err(format!("dtype {other:?}: auto, bf16 or f32")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtypes_parse_resolve_and_round_trip() {
        for dtype in [Dtype::Auto, Dtype::Bf16, Dtype::F32] {
            assert_eq!(dtype.to_string().parse::<Dtype>(), Ok(dtype));
        }
        assert!("fp16".parse::<Dtype>().is_err());
        assert_eq!(Dtype::F32.resolve(), Precision::F32);
        let native = if native_bf16() {
            Precision::Bf16
        } else {
            Precision::F32
        };
        let preferred = if bf16_preferred() {
            Precision::Bf16
        } else {
            Precision::F32
        };
        assert_eq!(Dtype::Auto.resolve(), preferred);
        assert_eq!(Dtype::Bf16.resolve(), native);
        assert_eq!(Dtype::Bf16.warning().is_some(), !native_bf16());
        assert_eq!(Dtype::Auto.warning(), None);
    }
}
