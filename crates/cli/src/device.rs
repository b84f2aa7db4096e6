//! `--device cpu|cuda[:N]`: the backend a command runs on, chosen at run time.
//!
//! Commands are written once, generic over the training backend (its inner backend for
//! inference); [`on_device`] picks the concrete one. CUDA is there only in a build with the
//! `cuda` feature (`cargo build --release --features cuda`), which needs no CUDA toolkit to
//! build, only the driver to run.

use anyhow::{bail, Result};
use midigpt_model::{CpuTrain, GptTrainBackend};

/// A command body that runs on any training backend `B`, on `device`.
pub trait OnBackend {
    /// What the command returns.
    type Output;
    /// Runs the command with backend `B`.
    fn run<B: GptTrainBackend>(self, device: B::Device) -> Result<Self::Output>;
}

/// Where to run, parsed from `cpu`, `cuda` or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The CPU (burn's `flex` backend, all cores).
    Cpu,
    /// An NVIDIA GPU by index.
    Cuda(usize),
}

impl std::str::FromStr for Device {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self> {
        match name.trim() {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse) {
                Some(Ok(index)) => Ok(Device::Cuda(index)),
                _ => bail!("unknown device {name:?}: use cpu, cuda or cuda:N (N a GPU index)"),
            },
        }
    }
}

/// Runs `job` on the device named `name`.
pub fn on_device<J: OnBackend>(name: &str, job: J) -> Result<J::Output> {
    match name.parse::<Device>()? {
        Device::Cpu => job.run::<CpuTrain>(Default::default()),
        #[cfg(feature = "cuda")]
        Device::Cuda(index) => {
            job.run::<midigpt_model::CudaTrain>(midigpt_model::CudaDevice::new(index))
        }
        #[cfg(not(feature = "cuda"))]
        Device::Cuda(_) => bail!(
            "device {name:?}: this midigpt was built without CUDA; build it with \
             `cargo build --release --features cuda` (no CUDA toolkit needed to build, the \
             NVIDIA driver to run)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names() {
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
        assert_eq!("cuda:3".parse::<Device>().unwrap(), Device::Cuda(3));
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", ""] {
            let err = bad.parse::<Device>().unwrap_err().to_string();
            assert!(err.contains("use cpu, cuda or cuda:N"), "{bad:?}: {err}");
        }
    }
}
