//! How the training loop tells its user what it does, without printing: the caller passes a
//! [`TrainReport`] (`midigpt train` draws a progress bar on a terminal and prints nanoGPT's
//! log lines otherwise; tests pass [`NoReport`]).

/// One optimizer step, as reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// Steps done, this one included.
    pub step: u64,
    /// Steps in the whole run.
    pub max_iters: u64,
    /// Mean training loss of the step.
    pub loss: f64,
    /// Learning rate of the step.
    pub lr: f64,
    /// Training tokens per second of the step.
    pub tokens_per_s: f64,
    /// Training FLOPs per token (`Gpt::flops_per_token`).
    pub flops_per_token: f64,
    /// The device's peak TFLOP/s from the config (0: unknown, no MFU).
    pub peak_tflops: f64,
}

impl StepStats {
    /// Achieved TFLOP/s.
    pub fn tflops(&self) -> f64 {
        self.flops_per_token * self.tokens_per_s / 1e12
    }

    /// Model FLOPs utilisation, when the peak is known.
    pub fn mfu(&self) -> Option<f64> {
        (self.peak_tflops > 0.0).then(|| self.tflops() / self.peak_tflops)
    }

    /// `loss 2.0000 lr 1.00e-3 100 tok/s 1.00 TFLOP/s MFU 50.0%`: for a progress bar.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "loss {:.4} lr {:.2e} {:.0} tok/s",
            self.loss, self.lr, self.tokens_per_s
        );
        if self.tflops() > 0.0 {
            text += &format!(" {:.2} TFLOP/s", self.tflops());
        }
        if let Some(mfu) = self.mfu().filter(|_| self.tflops() > 0.0) {
            text += &format!(" MFU {:.1}%", 100.0 * mfu);
        }
        text
    }

    /// `step 100/5000: loss 2.0000 lr ...`: a log line, as nanoGPT prints every
    /// `log_interval` steps.
    pub fn line(&self) -> String {
        format!("step {}/{}: {}", self.step, self.max_iters, self.summary())
    }
}

/// What the training loop reports; every method does nothing unless implemented.
pub trait TrainReport {
    /// Training starts, or resumes, at `step` of `max_iters`.
    fn start(&self, _step: u64, _max_iters: u64) {}
    /// An optimizer step is done.
    fn step(&self, _stats: &StepStats) {}
    /// Every `log_interval` steps, with the step just written to `metrics.jsonl`.
    fn log(&self, _stats: &StepStats) {}
    /// A validation loss was measured at `step`.
    fn eval(&self, _step: u64, _loss: f64) {}
    /// Something is probably not what the user meant, or failed without stopping the run.
    fn warn(&self, _message: &str) {}
    /// Training ends (finished or stopped).
    fn finish(&self) {}
    /// Whether to stop now (a cancel button), asked before every step: the run is evaluated
    /// and saved at that step and ends; its best checkpoint stays, and `--resume` goes on.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// Reports nothing.
pub struct NoReport;

impl TrainReport for NoReport {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_and_mfu_in_the_summary() {
        let mut stats = StepStats {
            step: 10,
            max_iters: 100,
            loss: 2.0,
            lr: 1e-3,
            tokens_per_s: 100.0,
            flops_per_token: 0.0,
            peak_tflops: 0.0,
        };
        assert_eq!(stats.summary(), "loss 2.0000 lr 1.00e-3 100 tok/s");
        // 1e9 FLOP per token at 1,000 tokens/s is 1 TFLOP/s, 50% of a 2-TFLOP/s device.
        stats.flops_per_token = 1e9;
        stats.tokens_per_s = 1000.0;
        stats.peak_tflops = 2.0;
        assert_eq!(
            stats.line(),
            "step 10/100: loss 2.0000 lr 1.00e-3 1000 tok/s 1.00 TFLOP/s MFU 50.0%"
        );
    }
}
