//! A progress bar for training: step / max_iters, loss, learning rate, tokens per second.
//! Hidden when stderr is not a terminal; log lines then go straight to stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The training progress bar.
#[derive(Debug, Clone)]
pub struct TrainProgress {
    bar: ProgressBar,
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
        TrainProgress { bar }
    }

    /// Shows step `step` done with these values.
    pub fn update(&self, step: u64, loss: f64, lr: f64, tokens_per_s: f64) {
        self.bar.set_position(step);
        self.bar.set_message(format!(
            "loss {loss:.4} lr {lr:.2e} {:.0} tok/s",
            tokens_per_s
        ));
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
}
