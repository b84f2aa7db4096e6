//! A progress bar for training: step / max_iters, loss, learning rate, tokens per second.
//! Hidden when stderr is not a terminal; log lines then go straight to stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The training progress bar.
#[derive(Debug, Clone)]
pub struct TrainProgress {
    bar: ProgressBar,
    /// Training FLOPs per token and the device's peak FLOP/s (0: unknown), for MFU.
    flops: (f64, f64),
}

impl TrainProgress {
    /// A bar to `max_iters`, starting at `start_step` (non-zero when resuming).
    pub fn new(max_iters: u64, start_step: u64) -> TrainProgress {
        TrainProgress::with_target(max_iters, start_step, ProgressDrawTarget::stderr())
    }

    /// A bar that draws nothing (tests, `--quiet`); [`TrainProgress::println`] still prints.
    pub fn hidden(max_iters: u64) -> TrainProgress {
        TrainProgress::with_target(max_iters, 0, ProgressDrawTarget::hidden())
    }

    fn with_target(max_iters: u64, start_step: u64, target: ProgressDrawTarget) -> TrainProgress {
        let bar = ProgressBar::with_draw_target(Some(max_iters), target);
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar:.cyan/blue}] {pos}/{len} {msg} (eta {eta})",
        )
        .expect("template is valid")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_position(start_step);
        // The bar's own rate estimate would count resumed steps as instant: reset it.
        bar.reset_eta();
        TrainProgress {
            bar,
            flops: (0.0, 0.0),
        }
    }

    /// Shows achieved TFLOP/s from `flops_per_token` (see `Gpt::flops_per_token`), and MFU
    /// when `peak_tflops` is above 0.
    pub fn with_flops(mut self, flops_per_token: f64, peak_tflops: f64) -> TrainProgress {
        self.flops = (flops_per_token, peak_tflops * 1e12);
        self
    }

    /// Shows step `step` done with these values.
    pub fn update(&self, step: u64, loss: f64, lr: f64, tokens_per_s: f64) {
        self.bar.set_position(step);
        self.bar.set_message(self.message(loss, lr, tokens_per_s));
    }

    fn message(&self, loss: f64, lr: f64, tokens_per_s: f64) -> String {
        let mut text = format!("loss {loss:.4} lr {lr:.2e} {tokens_per_s:.0} tok/s");
        let (per_token, peak) = self.flops;
        let achieved = per_token * tokens_per_s;
        if achieved > 0.0 {
            text += &format!(" {:.2} TFLOP/s", achieved / 1e12);
        }
        if achieved > 0.0 && peak > 0.0 {
            text += &format!(" MFU {:.1}%", 100.0 * achieved / peak);
        }
        text
    }

    /// Prints a line above the bar (or to stderr when the bar is hidden).
    pub fn println(&self, line: impl AsRef<str>) {
        if self.bar.is_hidden() {
            eprintln!("{}", line.as_ref());
        } else {
            self.bar.println(line.as_ref());
        }
    }

    /// Leaves the bar at its last state.
    pub fn finish(&self) {
        self.bar.abandon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_bar_accepts_updates() {
        let p = TrainProgress::hidden(100);
        p.update(10, 3.25, 1e-3, 5000.0);
        p.println("step 10: loss 3.25");
        p.finish();
        assert_eq!(p.bar.position(), 10);
    }

    #[test]
    fn flops_and_mfu_in_the_message() {
        let plain = TrainProgress::hidden(10);
        assert_eq!(
            plain.message(2.0, 1e-3, 100.0),
            "loss 2.0000 lr 1.00e-3 100 tok/s"
        );
        // 1e9 FLOP per token at 1,000 tokens/s is 1 TFLOP/s, 50% of a 2-TFLOP/s device.
        let mfu = TrainProgress::hidden(10).with_flops(1e9, 2.0);
        assert_eq!(
            mfu.message(2.0, 1e-3, 1000.0),
            "loss 2.0000 lr 1.00e-3 1000 tok/s 1.00 TFLOP/s MFU 50.0%"
        );
    }
}
