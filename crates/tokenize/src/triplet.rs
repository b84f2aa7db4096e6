//! Triplet tokenization: every note is three tokens, `Delta` (time since the previous
//! onset), `Duration` and `Pitch`, on a fixed grid of `steps_per_quarter` steps per quarter.
//!
//! One vocabulary, in this order: `Delta_0..=Delta_{max_delta_steps}`,
//! `Duration_1..=Duration_{max_duration_steps}`, `Pitch_{pitch_min}..=Pitch_{pitch_max}`,
//! then `PAD_None`, `BOS_None`, `EOS_None`, `MASK_None`.
//!
//! All tracks are merged into one stream, notes sorted by onset then pitch. Drum tracks are
//! skipped unless [`TripletConfig::include_drums`] is set: their pitches name instruments, not
//! notes, and the decoded score is a single piano track. Velocities, tempos and time signatures
//! are not encoded; decoding writes a score at `steps_per_quarter` ticks per quarter with one
//! piano track, velocity [`TripletConfig::velocity`] and tempo 120.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use midigpt_midi::{Note, Score, Tempo, Track};

use crate::{TokenId, TokenTable, TokenizeError, Tokenizer, Vocab};

/// Tempo of decoded scores: 120 quarter notes per minute.
const DECODE_MSPQ: u32 = 500_000;

/// Settings of the triplet tokenizer. Every field has a default, so `{}` is a valid config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TripletConfig {
    /// Grid steps per quarter note. Default 12: sixteenths and eighth-note triplets both land
    /// on the grid.
    pub steps_per_quarter: u16,
    /// Longest time between two onsets, in steps; longer gaps are clipped to it.
    /// Default 48 (one 4/4 bar at 12 steps per quarter).
    pub max_delta_steps: u16,
    /// Longest note, in steps; longer notes are clipped to it. Default 48.
    pub max_duration_steps: u16,
    /// Lowest pitch kept (notes below are dropped). Default 0.
    pub pitch_min: u8,
    /// Highest pitch kept (notes above are dropped). Default 127.
    pub pitch_max: u8,
    /// Whether drum notes join the stream. Default false: drum pitches name instruments,
    /// and would decode as piano notes.
    pub include_drums: bool,
    /// Velocity of decoded notes. Default 100.
    pub velocity: u8,
}

impl Default for TripletConfig {
    fn default() -> Self {
        TripletConfig {
            steps_per_quarter: 12,
            max_delta_steps: 48,
            max_duration_steps: 48,
            pitch_min: 0,
            pitch_max: 127,
            include_drums: false,
            velocity: 100,
        }
    }
}

impl TripletConfig {
    /// Checks that the settings describe a usable grid and pitch range.
    pub fn validate(&self) -> Result<(), TokenizeError> {
        let bad = |msg: String| Err(TokenizeError::Config(msg));
        if self.steps_per_quarter == 0 || self.steps_per_quarter > 0x7FFF {
            return bad(format!(
                "steps_per_quarter {} is outside 1..=32767",
                self.steps_per_quarter
            ));
        }
        if self.max_delta_steps == 0 || self.max_duration_steps == 0 {
            return bad("max_delta_steps and max_duration_steps must be at least 1".into());
        }
        if self.pitch_min > self.pitch_max || self.pitch_max > 127 {
            return bad(format!(
                "pitch range {}..={} is not within 0..=127",
                self.pitch_min, self.pitch_max
            ));
        }
        if !(1..=127).contains(&self.velocity) {
            return bad(format!("velocity {} is outside 1..=127", self.velocity));
        }
        Ok(())
    }
}

/// What an id means, by its position in the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Delta(u32),
    Duration(u32),
    Pitch(u8),
    Special,
}

/// The triplet tokenizer (see the module docs).
#[derive(Debug, Clone)]
pub struct Triplet {
    config: TripletConfig,
    vocab: Vocab,
    /// What each id means, read once.
    table: Arc<TokenTable>,
}

impl Triplet {
    /// A tokenizer with the given settings.
    pub fn new(config: TripletConfig) -> Result<Triplet, TokenizeError> {
        config.validate()?;
        let deltas = (0..=config.max_delta_steps).map(|d| format!("Delta_{d}"));
        let durations = (1..=config.max_duration_steps).map(|d| format!("Duration_{d}"));
        let pitches = (config.pitch_min..=config.pitch_max).map(|p| format!("Pitch_{p}"));
        let specials = ["PAD_None", "BOS_None", "EOS_None", "MASK_None"].map(String::from);
        let vocab = Vocab::new(deltas.chain(durations).chain(pitches).chain(specials));
        // No positions: the table's resolution is never read.
        let table = Arc::new(TokenTable::new(&vocab, None));
        Ok(Triplet {
            config,
            vocab,
            table,
        })
    }

    /// Reads `{"tokenization": "Triplet", "config": {...}}`; unknown keys are an error.
    pub fn from_json(json: &serde_json::Value) -> Result<Triplet, TokenizeError> {
        let obj = json
            .as_object()
            .ok_or_else(|| TokenizeError::Config("expected a JSON object".into()))?;
        if let Some(key) = obj.keys().find(|k| *k != "tokenization" && *k != "config") {
            return Err(TokenizeError::Config(format!("unknown key {key:?}")));
        }
        let kind = obj.get("tokenization").and_then(|v| v.as_str());
        if kind != Some("Triplet") {
            return Err(TokenizeError::Config(format!(
                "tokenization {kind:?} is not \"Triplet\""
            )));
        }
        let config = match obj.get("config") {
            Some(c) => TripletConfig::deserialize(c)
                .map_err(|e| TokenizeError::Config(format!("triplet config: {e}")))?,
            None => TripletConfig::default(),
        };
        Triplet::new(config)
    }

    /// The settings.
    pub fn config(&self) -> &TripletConfig {
        &self.config
    }

    fn first_duration(&self) -> u32 {
        self.config.max_delta_steps as u32 + 1
    }

    fn first_pitch(&self) -> u32 {
        self.first_duration() + self.config.max_duration_steps as u32
    }

    fn first_special(&self) -> u32 {
        self.first_pitch() + (self.config.pitch_max - self.config.pitch_min) as u32 + 1
    }

    fn kind(&self, id: TokenId) -> Option<Kind> {
        let (dur, pitch, special) = (
            self.first_duration(),
            self.first_pitch(),
            self.first_special(),
        );
        match id {
            _ if id < dur => Some(Kind::Delta(id)),
            _ if id < pitch => Some(Kind::Duration(id - dur + 1)),
            _ if id < special => Some(Kind::Pitch(self.config.pitch_min + (id - pitch) as u8)),
            _ if (id as usize) < self.vocab.len() => Some(Kind::Special),
            _ => None,
        }
    }

    /// Ticks at `tpq` per quarter → grid steps, rounded to the nearest step.
    fn to_steps(&self, ticks: u32, tpq: u16) -> u64 {
        let spq = self.config.steps_per_quarter as u64;
        let tpq = tpq.max(1) as u64;
        (ticks as u64 * spq + tpq / 2) / tpq
    }

    /// (onset step, duration steps, pitch) of every kept note, sorted by onset then pitch.
    fn grid_notes(&self, score: &Score) -> Vec<(u64, u32, u8)> {
        let (lo, hi) = (self.config.pitch_min, self.config.pitch_max);
        let max_dur = self.config.max_duration_steps as u64;
        let tpq = score.ticks_per_quarter;
        let mut notes: Vec<(u64, u32, u8)> = score
            .tracks
            .iter()
            .filter(|t| self.config.include_drums || !t.is_drum)
            .flat_map(|t| t.notes.iter())
            .filter(|n| (lo..=hi).contains(&n.pitch))
            .map(|n| {
                let dur = self.to_steps(n.duration, tpq).clamp(1, max_dur) as u32;
                (self.to_steps(n.time, tpq), dur, n.pitch)
            })
            .collect();
        notes.sort_unstable_by_key(|&(t, d, p)| (t, p, std::cmp::Reverse(d)));
        // Two notes of one pitch at one step would decode as overlapping notes: keep the longest.
        notes.dedup_by_key(|&mut (t, _, p)| (t, p));
        notes
    }
}

impl Tokenizer for Triplet {
    fn encode(&self, score: &Score) -> Result<Vec<Vec<TokenId>>, TokenizeError> {
        let notes = self.grid_notes(score);
        let max_delta = self.config.max_delta_steps as u64;
        let mut ids = Vec::with_capacity(notes.len() * 3);
        let mut previous = 0;
        for (onset, duration, pitch) in notes {
            ids.push((onset - previous).min(max_delta) as TokenId);
            ids.push(self.first_duration() + duration - 1);
            ids.push(self.first_pitch() + (pitch - self.config.pitch_min) as TokenId);
            previous = onset;
        }
        Ok(vec![ids])
    }

    fn decode(&self, sequences: &[Vec<TokenId>]) -> Result<Score, TokenizeError> {
        let mut notes = Vec::new();
        for ids in sequences {
            decode_stream(self, ids, &mut notes);
        }
        notes.sort_by_key(|n: &Note| (n.time, n.pitch));
        let mut score = Score::new(self.config.steps_per_quarter);
        score.tempos.push(Tempo {
            time: 0,
            mspq: DECODE_MSPQ,
        });
        if !notes.is_empty() {
            score.tracks.push(Track {
                name: "Piano".into(),
                program: 0,
                is_drum: false,
                notes,
            });
        }
        Ok(score)
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "tokenization": "Triplet", "config": self.config })
    }

    fn one_stream(&self) -> bool {
        true
    }

    fn table(&self) -> Arc<TokenTable> {
        self.table.clone()
    }

    fn grammar(&self) -> Option<crate::Grammar> {
        let rules = [
            ("Delta", vec!["Duration"]),
            ("Duration", vec!["Pitch"]),
            ("Pitch", vec!["Delta"]),
        ];
        Some(crate::Grammar::new(self.vocab(), &rules, &["Delta"]))
    }
}

/// Decodes one stream. A note needs `Delta`, `Duration`, `Pitch` in that order; a token out
/// of that order drops the partial note (a `Delta` starts a new one), specials and unknown
/// ids are ignored.
fn decode_stream(tokenizer: &Triplet, ids: &[TokenId], notes: &mut Vec<Note>) {
    let mut time: u32 = 0;
    let mut delta: Option<u32> = None;
    let mut duration: Option<u32> = None;
    for &id in ids {
        match tokenizer.kind(id) {
            Some(Kind::Delta(d)) => (delta, duration) = (Some(d), None),
            Some(Kind::Duration(d)) if delta.is_some() && duration.is_none() => duration = Some(d),
            Some(Kind::Pitch(pitch)) if duration.is_some() => {
                time = time.saturating_add(delta.unwrap_or(0));
                notes.push(Note {
                    time,
                    duration: duration.unwrap_or(1),
                    pitch,
                    velocity: tokenizer.config.velocity,
                });
                (delta, duration) = (None, None);
            }
            Some(Kind::Special) | None => {}
            Some(_) => (delta, duration) = (None, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piano(tpq: u16, notes: &[(u32, u32, u8)]) -> Score {
        let mut score = Score::new(tpq);
        score.tracks.push(Track {
            name: "Piano".into(),
            program: 0,
            is_drum: false,
            notes: notes
                .iter()
                .map(|&(time, duration, pitch)| Note {
                    time,
                    duration,
                    pitch,
                    velocity: 100,
                })
                .collect(),
        });
        score
    }

    #[test]
    fn vocab_layout() {
        let t = Triplet::new(TripletConfig::default()).unwrap();
        let v = t.vocab();
        assert_eq!(v.len(), 49 + 48 + 128 + 4);
        assert_eq!(v.get("Delta_0"), Some(0));
        assert_eq!(v.get("Delta_48"), Some(48));
        assert_eq!(v.get("Duration_1"), Some(49));
        assert_eq!(v.get("Duration_48"), Some(96));
        assert_eq!(v.get("Pitch_0"), Some(97));
        assert_eq!(v.get("Pitch_127"), Some(224));
        assert_eq!(v.get("PAD_None"), Some(225));
        assert_eq!(v.get("BOS_None"), Some(226));
        assert_eq!(v.get("EOS_None"), Some(227));
        assert_eq!(v.get("MASK_None"), Some(228));
    }

    #[test]
    fn round_trip_on_grid() {
        let t = Triplet::new(TripletConfig::default()).unwrap();
        // At 12 ticks per quarter the grid is the tick: every note is on it.
        let score = piano(
            12,
            &[
                (0, 12, 60),
                (0, 6, 64),
                (3, 4, 67),
                (27, 48, 48),
                (60, 1, 72),
            ],
        );
        let ids = t.encode(&score).unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].len(), 15);
        let back = t.decode(&ids).unwrap();
        assert_eq!(back.ticks_per_quarter, 12);
        assert_eq!(
            back.tempos,
            vec![Tempo {
                time: 0,
                mspq: 500_000
            }]
        );
        assert_eq!(back.tracks.len(), 1);
        assert_eq!(back.tracks[0].notes, score.tracks[0].notes);
    }

    #[test]
    fn quantizes_merges_tracks_and_skips_drums() {
        let t = Triplet::new(TripletConfig::default()).unwrap();
        // 480 ticks per quarter: 40 ticks per step.
        let mut score = piano(480, &[(41, 479, 60)]);
        score.tracks.push(Track {
            is_drum: true,
            notes: vec![Note {
                time: 0,
                duration: 10,
                pitch: 36,
                velocity: 90,
            }],
            ..Track::default()
        });
        score.tracks.push(Track {
            program: 40,
            notes: vec![Note {
                time: 0,
                duration: 100_000,
                pitch: 70,
                velocity: 90,
            }],
            ..Track::default()
        });
        let back = t.decode(&t.encode(&score).unwrap()).unwrap();
        let notes: Vec<_> = back.tracks[0]
            .notes
            .iter()
            .map(|n| (n.time, n.duration, n.pitch))
            .collect();
        assert_eq!(notes, vec![(0, 48, 70), (1, 12, 60)]);
    }

    #[test]
    fn json_round_trip_and_unknown_keys() {
        let config = TripletConfig {
            steps_per_quarter: 8,
            pitch_min: 21,
            pitch_max: 108,
            include_drums: true,
            ..TripletConfig::default()
        };
        let t = Triplet::new(config.clone()).unwrap();
        let json = t.to_json();
        assert_eq!(json["tokenization"], "Triplet");
        let back = Triplet::from_json(&json).unwrap();
        assert_eq!(back.config(), &config);
        assert_eq!(back.vocab(), t.vocab());
        let via_crate = crate::from_json(&json).unwrap();
        assert_eq!(via_crate.to_json(), json);

        let mut bad = json.clone();
        bad["config"]["steps"] = 4.into();
        assert!(Triplet::from_json(&bad).is_err());
        let mut bad = json;
        bad["extra"] = 1.into();
        assert!(Triplet::from_json(&bad).is_err());
        let bad = serde_json::json!({"tokenization": "Triplet", "config": {"pitch_min": 90, "pitch_max": 80}});
        assert!(Triplet::from_json(&bad).is_err());
    }

    #[test]
    fn garbage_ids_decode_without_panic() {
        let t = Triplet::new(TripletConfig::default()).unwrap();
        let garbage: Vec<TokenId> = (0..5000u32)
            .map(|i| i.wrapping_mul(2_654_435_761) % 300)
            .chain([u32::MAX, 229, 100_000])
            .collect();
        let score = t.decode(&[garbage]).unwrap();
        assert!(score.to_bytes().is_ok());
        // Out of order: Pitch before Duration, Duration twice, then one valid note.
        let ids = vec![97 + 60, 49, 0, 49, 50, 97 + 60, 5, 50, 97 + 62, 226, 227];
        let notes = &t.decode(&[ids]).unwrap().tracks[0].notes;
        assert_eq!(notes.len(), 1);
        assert_eq!(
            (notes[0].time, notes[0].duration, notes[0].pitch),
            (5, 2, 62)
        );
    }

    #[test]
    fn builtin_name() {
        let t = crate::builtin("triplet").unwrap();
        assert_eq!(
            t.to_json(),
            Triplet::new(TripletConfig::default()).unwrap().to_json()
        );
        assert!(t.one_stream());
    }
}
