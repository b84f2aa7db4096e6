//! What the page asks for, checked before it queues: the task, the controls, the sampling.
//!
//! `Task` is tagged by `mode`: continuing after a bar, regenerating a rectangle of bars ×
//! tracks, or adding a track over every bar. Each becomes the compose layer's own request
//! ([`Work`]), so the page asks for exactly what the command line's `generate` does.

use midigpt_compose::{
    bar_start, parse, Ask, ComposeError, InfillRequest, Length, Prompt, Request, MAX_TOKENS,
};
use midigpt_midi::{program_name, Score};
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
    /// Write bars `bars[0]..bars[1]` (0-based, end excluded) of `tracks` again, keeping
    /// every other note.
    Infill {
        /// First bar and the bar after the last.
        bars: [usize; 2],
        /// GM programs of the tracks to write (-1: drums); empty: every track playing there.
        #[serde(default)]
        tracks: Vec<i16>,
    },
    /// Write a new track of `instrument` over every bar, keeping every other note.
    AddTrack {
        /// A GM program number, GM name, short name (`bass`) or `drums`.
        instrument: String,
    },
}

/// The compose layer's request a job runs: its first candidate's (candidate `i` adds `i` to
/// the seed).
#[derive(Debug, Clone)]
pub enum Work {
    /// A continuation (or a new piece).
    Continue(Request),
    /// Bars × tracks written again: the result is the whole score with them spliced in.
    Infill(InfillRequest),
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
    /// How the tempo may move: `gradual` (the default) or `free`.
    #[serde(default)]
    pub tempo_changes: Option<String>,
    /// A metre such as `3/4`.
    #[serde(default)]
    pub time_signature: Option<String>,
    /// Length of the new part in bars.
    #[serde(default)]
    pub bars: Option<usize>,
    /// The new part in sections, a letter named again coming back (`ABCB`, `A8 B4 A8`);
    /// sections without a length share `bars`.
    #[serde(default)]
    pub form: Option<String>,
    /// A key to prefer (`C`, `Bb minor`, `auto`); absent or `none`: the model alone.
    #[serde(default)]
    pub key: Option<String>,
    /// Pitched notes within `LOW..HIGH` (MIDI numbers).
    #[serde(default)]
    pub pitch_range: Option<String>,
}

/// Sampling, as the page's form gives it (each left out: the compose layer's default).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    /// Temperature.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Nucleus (top-p) mass; none: off.
    #[serde(default)]
    pub top_p: Option<f32>,
    /// Seed of the first candidate; candidate `i` uses `seed + i` (0).
    #[serde(default)]
    pub seed: u64,
}

impl JobRequest {
    /// The bar the new music starts at (0-based).
    pub fn cut_bar(&self) -> usize {
        match &self.task {
            Task::Continue { after_bar } => *after_bar,
            Task::Infill { bars, .. } => bars[0],
            Task::AddTrack { .. } => 0,
        }
    }

    /// Whether the task fills bars of a score (which needs a model trained to).
    pub fn fills(&self) -> bool {
        !matches!(self.task, Task::Continue { .. })
    }

    /// The compose layer's request for the first candidate, against `score` (the one
    /// `self.score` names), or a clear error for anything out of range.
    pub fn work(&self, score: Option<&Score>, config: &StudioConfig) -> Result<Work, StudioError> {
        if !(1..=config.max_candidates).contains(&self.candidates) {
            return Err(StudioError::BadRequest(format!(
                "candidates: {} is outside 1 to {}",
                self.candidates, config.max_candidates
            )));
        }
        match &self.task {
            Task::Continue { after_bar } => self
                .continuation(*after_bar, score, config)
                .map(Work::Continue),
            Task::Infill { bars, tracks } => {
                let score = self.filled(score)?;
                for &p in tracks {
                    if !score.tracks.iter().any(|t| t.program_or_drums() == p) {
                        return Err(StudioError::BadRequest(match p {
                            -1..=127 => format!(
                                "tracks: the score has no track of {}",
                                program_name(p.max(0) as u8, p < 0)
                            ),
                            _ => format!("tracks: {p} is no GM program (0 to 127, -1: drums)"),
                        }));
                    }
                }
                self.infill(score, bars[0]..bars[1], tracks.clone(), config)
            }
            Task::AddTrack { instrument } => {
                let score = self.filled(score)?;
                let program = parse::instrument(instrument).map_err(bad_request)?;
                if let Some(t) = (score.tracks.iter()).find(|t| t.program_or_drums() == program) {
                    return Err(StudioError::BadRequest(format!(
                        "instrument: the piece already has a track of {}; regenerate its bars instead",
                        program_name(t.program, t.is_drum)
                    )));
                }
                let bars = 0..score.bar_count();
                self.infill(score, bars, vec![program], config)
            }
        }
    }

    /// The score a fill works on, refusing the controls only a continuation takes (a fill
    /// keeps the piece's instruments, tempo, metre and bars; a key and a pitch range apply).
    fn filled<'a>(&self, score: Option<&'a Score>) -> Result<&'a Score, StudioError> {
        let fill_takes = Settings {
            key: self.settings.key.clone(),
            pitch_range: self.settings.pitch_range.clone(),
            ..Settings::default()
        };
        if self.settings != fill_takes {
            return Err(StudioError::BadRequest(
                "settings (instruments, tempo, metre, length, form) are for continuing; \
                 filling bars keeps the piece's"
                    .into(),
            ));
        }
        score.ok_or_else(|| StudioError::BadRequest("there is no score to fill yet".into()))
    }

    fn infill(
        &self,
        score: &Score,
        bars: std::ops::Range<usize>,
        tracks: Vec<i16>,
        config: &StudioConfig,
    ) -> Result<Work, StudioError> {
        let bad = |why: String| Err(StudioError::BadRequest(why));
        let n = score.bar_count();
        if bars.start >= bars.end {
            return bad(format!(
                "bars {} to {} select nothing: select at least one bar, from left to right",
                bars.start + 1,
                bars.end
            ));
        }
        if bars.end > n {
            return bad(format!(
                "bars {} to {}: the score has {n} bar{}",
                bars.start + 1,
                bars.end,
                if n == 1 { "" } else { "s" }
            ));
        }
        let ticks = bar_start(score, bars.start)..bar_start(score, bars.end);
        if tracks.is_empty()
            && !(score.tracks.iter().flat_map(|t| &t.notes)).any(|n| ticks.contains(&n.time))
        {
            return bad(format!(
                "bars {} to {} hold no notes: pick the tracks to write",
                bars.start + 1,
                bars.end
            ));
        }
        let programs = (!tracks.is_empty()).then_some(tracks);
        let request = self.ask(config).infill(score.clone(), bars, programs);
        request.map(Work::Infill).map_err(bad_request)
    }

    /// The page's words as the compose layer takes them from every front end: what the page
    /// leaves out takes the same defaults as on the command line.
    fn ask(&self, config: &StudioConfig) -> Ask {
        let (settings, sampling) = (&self.settings, &self.sampling);
        Ask {
            instruments: settings.instruments.clone(),
            tempo: settings.tempo,
            tempo_changes: settings.tempo_changes.clone(),
            time_signature: settings.time_signature.clone(),
            bars: settings.bars,
            form: settings.form.clone(),
            key: settings.key.clone(),
            pitch_range: settings.pitch_range.clone(),
            temperature: sampling.temperature,
            top_p: sampling.top_p,
            seed: sampling.seed,
            // The server's cap, where it is below the compose layer's budget.
            max_tokens: (config.max_tokens < MAX_TOKENS).then_some(config.max_tokens),
            ..Ask::default()
        }
    }

    fn continuation(
        &self,
        cut: usize,
        score: Option<&Score>,
        config: &StudioConfig,
    ) -> Result<Request, StudioError> {
        let bad = |why: String| Err(StudioError::BadRequest(why));
        let prompt = match score {
            Some(score) if cut > 0 => {
                let bars = score.bar_count();
                if cut > bars {
                    return bad(format!(
                        "after bar {cut}: the score has {bars} bar{}",
                        if bars == 1 { "" } else { "s" }
                    ));
                }
                Some(Prompt {
                    score: score.clone(),
                    bars: Some(cut),
                })
            }
            None if cut > 0 => return bad(format!("after bar {cut}: there is no score yet")),
            _ => None,
        };
        let request = self.ask(config).request(prompt).map_err(bad_request)?;
        if let Some(Length::Bars(n)) = request.controls.length {
            if !(1..=config.max_bars).contains(&n) {
                return bad(format!("bars: {n} is outside 1 to {}", config.max_bars));
            }
        }
        Ok(request)
    }
}

/// A compose error as the page shows it: controls by their field names (`time_signature`).
pub fn bad_request(e: ComposeError) -> StudioError {
    StudioError::BadRequest(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_compose::Key;

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
        let config = StudioConfig::default();
        let refused = |r: &JobRequest| r.work(None, &config).unwrap_err().to_string();
        let continued = |r: &JobRequest| match r.work(None, &config).unwrap() {
            Work::Continue(request) => request,
            _ => panic!("a continuation"),
        };
        r.settings.instruments = vec!["kazoo".into()];
        let err = refused(&r);
        assert!(err.starts_with("instruments: \"kazoo\""), "{err}");
        r.settings.instruments = vec!["piano".into(), "drums".into(), "0".into()];
        assert_eq!(continued(&r).controls.instruments, Some(vec![0, -1]));
        // A form shares the bars among its sections and sets the length; a key is parsed.
        r.settings.bars = Some(16);
        r.settings.form = Some("A B A B".into());
        r.settings.key = Some("Am".into());
        let request = continued(&r);
        let form = request.controls.form.expect("a form");
        assert_eq!(
            (form.to_string().as_str(), request.controls.length),
            ("A4 B4 A4 B4", Some(Length::Bars(16)))
        );
        assert_eq!(
            request.controls.key,
            Some(Key::Fixed {
                tonic: 9,
                minor: true
            })
        );
        // `none` turns either off, as on the command line.
        r.settings.form = Some("none".into());
        r.settings.key = Some(" none ".into());
        let request = continued(&r);
        assert_eq!((request.controls.form, request.controls.key), (None, None));
        r.settings.key = Some("H dur".into());
        let err = refused(&r);
        assert!(err.starts_with("key: \"H dur\" is no key"), "{err}");
        r.settings.key = Some("none".into());
        r.settings.form = Some("A100".into());
        let err = refused(&r);
        assert!(err.starts_with("bars: 100 is outside"), "{err}");
    }

    fn song() -> Score {
        let mut score = Score::new(96);
        for (program, pitch) in [(0u8, 60u8), (33, 40)] {
            score.tracks.push(midigpt_midi::Track {
                program,
                notes: (0..4)
                    .map(|bar| midigpt_midi::Note {
                        time: bar * 384,
                        duration: 96,
                        pitch,
                        velocity: 80,
                    })
                    .collect(),
                ..Default::default()
            });
        }
        score
    }

    fn fill(task: &str) -> Result<Work, StudioError> {
        let r: JobRequest = serde_json::from_str(&format!(r#"{{"task": {task}}}"#)).unwrap();
        r.work(Some(&song()), &StudioConfig::default())
    }

    #[test]
    fn fills_become_infill_requests_and_bad_ones_say_why() {
        let made = fill(r#"{"mode": "infill", "bars": [1, 3], "tracks": [33]}"#);
        let Ok(Work::Infill(r)) = made else {
            panic!("not an infill request: {made:?}");
        };
        assert_eq!((r.bars, r.programs), (1..3, Some(vec![33])));
        let made = fill(r#"{"mode": "add_track", "instrument": "flute"}"#);
        let Ok(Work::Infill(r)) = made else {
            panic!("not an infill request: {made:?}");
        };
        assert_eq!((r.bars, r.programs), (0..4, Some(vec![73])));
        for (task, expected) in [
            (
                r#"{"mode": "infill", "bars": [2, 9]}"#,
                "bars 3 to 9: the score has 4 bars",
            ),
            (r#"{"mode": "infill", "bars": [2, 2]}"#, "bars 3 to 2"),
            (
                r#"{"mode": "infill", "bars": [0, 1], "tracks": [40]}"#,
                "no track of Violin",
            ),
            (
                r#"{"mode": "add_track", "instrument": "kazoo"}"#,
                "\"kazoo\" is no instrument",
            ),
            (
                r#"{"mode": "add_track", "instrument": "33"}"#,
                "already has",
            ),
        ] {
            let err = fill(task).unwrap_err().to_string();
            assert!(err.contains(expected), "{task}: {err}");
        }
        let r: JobRequest = serde_json::from_str(
            r#"{"task": {"mode": "infill", "bars": [0, 1]}, "settings": {"tempo": 90}}"#,
        )
        .unwrap();
        let err = r.work(Some(&song()), &StudioConfig::default()).unwrap_err();
        assert!(err.to_string().contains("are for continuing"), "{err}");
        let err = r.work(None, &StudioConfig::default()).unwrap_err();
        assert!(err.to_string().contains("settings"), "{err}");
        // A key and a pitch range apply to a fill.
        let r: JobRequest = serde_json::from_str(
            r#"{"task": {"mode": "infill", "bars": [0, 1]},
                "settings": {"key": "Am", "pitch_range": "48..72"}}"#,
        )
        .unwrap();
        let Ok(Work::Infill(made)) = r.work(Some(&song()), &StudioConfig::default()) else {
            panic!("not an infill request");
        };
        let c = &made.controls;
        assert_eq!(
            (c.key, c.pitch_range),
            (Key::parse("Am").ok(), Some((48, 72)))
        );
        // Left out, the key is the compose layer's default for a fill: the music around it.
        let Ok(Work::Infill(made)) = fill(r#"{"mode": "infill", "bars": [0, 1]}"#) else {
            panic!("not an infill request");
        };
        assert_eq!(made.controls.key, Some(Key::Auto));
    }
}
