//! Progress of long stages: a terminal progress bar, or, for training without a terminal,
//! a log line every `log_interval` steps as nanoGPT prints them.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use midigpt_train::{StepStats, TrainReport};

/// An indicatif bar driven by [`midigpt_data::Progress`] reports.
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new() -> Bar {
        let bar = ProgressBar::new(0);
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar(bar)
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl midigpt_data::Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        let template = if total > 0 {
            "{msg:>14} [{bar:40}] {pos}/{len} files ({per_sec}, eta {eta})"
        } else {
            "{msg:>14} {spinner} {elapsed}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.0.set_style(style.progress_chars("=> "));
        }
        self.0.set_message(name.to_string());
        self.0.set_length(total);
        self.0.set_position(0);
    }

    fn advance(&self) {
        self.0.inc(1);
    }
}

/// Training progress: a bar on a terminal, else log lines on stderr (a log file, a pipe).
pub struct TrainBar(Option<ProgressBar>);

impl TrainBar {
    pub fn new() -> TrainBar {
        let terminal = std::io::stderr().is_terminal();
        TrainBar(
            terminal.then(|| ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())),
        )
    }

    fn println(&self, line: &str) {
        match &self.0 {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

impl TrainReport for TrainBar {
    fn start(&self, step: u64, max_iters: u64) {
        let Some(bar) = &self.0 else { return };
        let template = "{elapsed_precise} [{wide_bar:.cyan/blue}] {pos}/{len} {msg} (eta {eta})";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_length(max_iters);
        bar.set_position(step);
        // The bar's rate estimate would count resumed steps as instant: reset it.
        bar.reset_eta();
    }

    fn step(&self, stats: &StepStats) {
        if let Some(bar) = &self.0 {
            bar.set_position(stats.step);
            bar.set_message(stats.summary());
        }
    }

    fn log(&self, stats: &StepStats) {
        if self.0.is_none() {
            eprintln!("{}", stats.line());
        }
    }

    fn eval(&self, step: u64, loss: f64) {
        self.println(&format!("step {step}: val loss {loss:.4}"));
    }

    fn warn(&self, message: &str) {
        self.println(&format!("warning: {message}"));
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.abandon();
        }
    }
}
