//! What the page asks for, checked before it queues: the task, the controls, the sampling.
//!
//! `Task` is tagged by `mode`, so new kinds of work (regenerating bars × tracks, adding a
//! track) become new variants beside `continue`, with the same controls and sampling.

use midigpt_compose::{parse, Controls, Length, Prompt, Request, SamplingConfig};
use midigpt_midi::Score;
use serde::Deserialize;

use crate::{StudioConfig, StudioError};

/// A generation request from the page (`POST /api/jobs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// The score to work on (an id from `POST /api/scores`); none: start from nothing.
    #[serde(default)]
    pub score: Option<u64>,
    /// What to do with it.
    pub task: Task,
    /// Controls over the new music.
    #[serde(default)]
    pub settings: Settings,
    /// Sampling.
    #[serde(default)]
    pub sampling: Sampling,
    /// How many candidates (1).
    #[serde(default = "one")]
    pub candidates: usize,
}

fn one() -> usize {
    1
}

/// What to do with the score.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Task {
    /// Keep bars `0..after_bar` and write what follows (0: a new piece).
    Continue {
        /// Bars kept (0-based end, exclusive).
        after_bar: usize,
    },
}

/// Controls, as the page's form gives them (each off when absent).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Instruments: GM program numbers, GM names, short names (`piano`) or `drums`.
    #[serde(default)]
    pub instruments: Vec<String>,
    /// Quarter notes per minute.
    #[serde(default)]
    pub tempo: Option<f64>,
    /// A metre such as `3/4`.
    #[serde(default)]
    pub time_signature: Option<String>,
    /// Length of the new part in bars.
    #[serde(default)]
    pub bars: Option<usize>,
}

/// Sampling, as the page's form gives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    /// Temperature (1.0).
    #[serde(default = "unit")]
    pub temperature: f32,
    /// Nucleus (top-p) mass; none: off.
    #[serde(default)]
    pub top_p: Option<f32>,
    /// Seed of the first candidate; candidate `i` uses `seed + i` (0).
    #[serde(default)]
    pub seed: u64,
}

fn unit() -> f32 {
    1.0
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 1.0,
            top_p: None,
            seed: 0,
        }
    }
}

impl JobRequest {
    /// The bars the new music starts after.
    pub fn cut_bar(&self) -> usize {
        match self.task {
            Task::Continue { after_bar } => after_bar,
        }
    }

    /// The composing request for one candidate, against `score` (the one `self.score`
    /// names), or a clear error for anything out of range.
    pub fn compose_request(
        &self,
        score: Option<&Score>,
        config: &StudioConfig,
    ) -> Result<Request, StudioError> {
        let bad = |why: String| Err(StudioError::BadRequest(why));
        if !(1..=config.max_candidates).contains(&self.candidates) {
            return bad(format!(
                "candidates: {} is outside 1..={}",
                self.candidates, config.max_candidates
            ));
        }
        let cut = self.cut_bar();
        let prompt = match score {
            Some(score) if cut > 0 => {
                let bars = score.bar_count();
                if cut > bars {
                    return bad(format!(
                        "after bar {cut}: the score has {bars} bar{}",
                        if bars == 1 { "" } else { "s" }
                    ));
                }
                if score.slice_bars(0..cut).note_count() == 0 {
                    return bad(format!("bars 1 to {cut} hold no notes to continue"));
                }
                Some(Prompt {
                    score: score.clone(),
                    bars: Some(cut),
                })
            }
            None if cut > 0 => return bad(format!("after bar {cut}: there is no score yet")),
            _ => None,
        };
        let controls = self.controls(config)?;
        let sampling = SamplingConfig {
            temperature: self.sampling.temperature,
            top_k: None,
            top_p: self.sampling.top_p,
            // A piece with a length in bars ends at its bar line; without one, at least a
            // bar or two of music before the end token.
            min_tokens: 64.min(config.max_tokens),
        };
        sampling
            .validate()
            .map_err(|e| StudioError::BadRequest(e.to_string()))?;
        Ok(Request {
            prompt,
            sampling,
            seed: self.sampling.seed,
            pieces: 1,
            max_tokens: config.max_tokens,
            controls,
        })
    }

    fn controls(&self, config: &StudioConfig) -> Result<Controls, StudioError> {
        let bad = |e: midigpt_compose::ComposeError| StudioError::BadRequest(strip(e));
        let mut instruments = Vec::new();
        for name in &self.settings.instruments {
            let p = parse::instrument(name).map_err(bad)?;
            if !instruments.contains(&p) {
                instruments.push(p);
            }
        }
        if let Some(n) = self.settings.bars {
            if !(1..=config.max_bars).contains(&n) {
                return Err(StudioError::BadRequest(format!(
                    "bars: {n} is outside 1..={}",
                    config.max_bars
                )));
            }
        }
        let controls = Controls {
            instruments: (!instruments.is_empty()).then_some(instruments),
            tempo: self.settings.tempo,
            time_signature: (self.settings.time_signature.as_deref())
                .filter(|t| !t.trim().is_empty())
                .map(parse::time_signature)
                .transpose()
                .map_err(bad)?,
            length: self.settings.bars.map(Length::Bars),
            ..Controls::default()
        };
        controls.validate().map_err(bad)?;
        Ok(controls)
    }
}

/// A compose error in the page's words: without the command line's `--` before a control.
pub fn strip(e: midigpt_compose::ComposeError) -> String {
    let text = e.to_string();
    text.strip_prefix("--").unwrap_or(&text).replace("--", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_names_the_task_and_unknown_fields_are_refused() {
        let r: JobRequest =
            serde_json::from_str(r#"{"task": {"mode": "continue", "after_bar": 4}, "score": 3}"#)
                .unwrap();
        assert_eq!(r.task, Task::Continue { after_bar: 4 });
        assert_eq!((r.score, r.candidates), (Some(3), 1));
        let err =
            serde_json::from_str::<JobRequest>(r#"{"task": {"mode": "remix", "after_bar": 1}}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("remix"), "{err}");
        let err = serde_json::from_str::<JobRequest>(
            r#"{"task": {"mode": "continue", "after_bar": 1}, "settings": {"tempi": 3}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("tempi"), "{err}");
    }

    #[test]
    fn controls_are_checked_with_clear_words() {
        let mut r: JobRequest =
            serde_json::from_str(r#"{"task": {"mode": "continue", "after_bar": 0}}"#).unwrap();
        r.settings.instruments = vec!["kazoo".into()];
        let err = r
            .compose_request(None, &StudioConfig::default())
            .unwrap_err();
        assert!(
            err.to_string().starts_with("instruments: \"kazoo\""),
            "{err}"
        );
        r.settings.instruments = vec!["piano".into(), "drums".into(), "0".into()];
        let request = r.compose_request(None, &StudioConfig::default()).unwrap();
        assert_eq!(request.controls.instruments, Some(vec![0, -1]));
    }
}
