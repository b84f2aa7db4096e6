//! MidiTok's `TokenizerConfig`, read from (and written back to) a MidiTok `tokenizer.json`.
//!
//! Every setting that appears in MidiTok's saved config is read. Settings that change the
//! tokens and that this implementation does not do are refused with
//! [`TokenizeError::Unsupported`], never silently ignored.

use serde_json::{Map, Value};

use crate::TokenizeError;

/// MidiTok 3.1.0's default `REMI()` tokenizer file: the template for built-in configs.
const DEFAULTS: &str = include_str!("../../data/miditok_remi_defaults.json");

/// A beat range and its resolution: durations from `start` to `end` beats in steps of
/// `1/res` beat (MidiTok's `beat_res`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeatRes {
    /// First beat of the range.
    pub start: u32,
    /// End beat (exclusive) of the range.
    pub end: u32,
    /// Positions per beat in the range.
    pub res: u32,
}

/// The settings of a MidiTok tokenizer that midigpt honours.
#[derive(Debug, Clone, PartialEq)]
pub struct MidiTokConfig {
    /// Lowest and highest pitch kept (inclusive).
    pub pitch_range: (u8, u8),
    /// Duration resolutions, in the file's order.
    pub beat_res: Vec<BeatRes>,
    /// Number of velocity bins.
    pub num_velocities: u32,
    /// Special tokens, first in the vocabulary (`PAD_None`, `BOS_None`, ...).
    pub special_tokens: Vec<String>,
    /// `Velocity` tokens after each pitch.
    pub use_velocities: bool,
    /// Programs whose notes get `Duration` tokens (-1 = drums).
    pub use_note_duration_programs: Vec<i16>,
    /// `Tempo` tokens.
    pub use_tempos: bool,
    /// `TimeSig` tokens.
    pub use_time_signatures: bool,
    /// `Program` tokens before each pitch.
    pub use_programs: bool,
    /// `PitchDrum` tokens for drum notes.
    pub use_pitchdrum_tokens: bool,
    /// Duration (in beats) given to notes of programs without `Duration` tokens on decoding.
    pub default_note_duration: f64,
    /// Programs kept when `use_programs` (-1 = drums), in MidiTok's order.
    pub programs: Vec<i16>,
    /// All tracks in one token stream (only with `use_programs`).
    pub one_token_stream_for_programs: bool,
    /// Number of tempo bins.
    pub num_tempos: u32,
    /// Lowest and highest tempo (quarters per minute).
    pub tempo_range: (f64, f64),
    /// Tempo bins spaced geometrically instead of linearly.
    pub log_tempos: bool,
    /// Drop a tempo change equal to the previous one.
    pub delete_equal_successive_tempo_changes: bool,
    /// Supported time signatures: denominator → numerators, in the file's order.
    pub time_signature_range: Vec<(u32, Vec<u32>)>,
    /// Drop a time signature change equal to the previous one.
    pub delete_equal_successive_time_sig_changes: bool,
    /// Pitch range of drum notes (inclusive).
    pub drums_pitch_range: (u8, u8),
    /// How BPE splits sequences into words (`bar`, `beat`, `no`).
    pub encode_ids_split: String,
    /// The whole config as read, written back unchanged by [`MidiTokConfig::to_json`].
    raw: Map<String, Value>,
}

/// Settings that must be off (false / null): each adds tokens this implementation lacks.
const MUST_BE_OFF: [&str; 22] = [
    "remove_duplicated_notes",
    "use_chords",
    "use_rests",
    "use_key_signatures",
    "use_sustain_pedals",
    "use_pitch_bends",
    "use_control_changes",
    "use_pitch_intervals",
    "program_changes",
    "sustain_pedal_duration",
    "ac_polyphony_track",
    "ac_polyphony_bar",
    "ac_pitch_class_bar",
    "ac_note_density_track",
    "ac_note_density_bar",
    "ac_note_duration_bar",
    "ac_note_duration_track",
    "ac_repetition_track",
    "max_bar_embedding",
    "use_bar_end_tokens",
    "add_trailing_bars",
    "chord_unknown",
];

impl MidiTokConfig {
    /// MidiTok's default config (`TokenizerConfig()`), with `overrides` applied
    /// (e.g. `{"use_programs": true}`).
    pub fn defaults_with(overrides: &[(&str, Value)]) -> Result<Self, TokenizeError> {
        let file: Value = serde_json::from_str(DEFAULTS).map_err(|e| bad(e.to_string()))?;
        let mut config = file["config"].clone();
        for (key, value) in overrides {
            config[*key] = value.clone();
        }
        Self::from_json(&config)
    }

    /// Reads the `config` object of a MidiTok `tokenizer.json`.
    pub fn from_json(config: &Value) -> Result<Self, TokenizeError> {
        let raw = config
            .as_object()
            .ok_or_else(|| bad("`config` is not an object".into()))?
            .clone();
        let mut flat = raw.clone();
        if let Some(Value::Object(extra)) = raw.get("additional_params") {
            flat.extend(extra.clone());
        }
        for key in MUST_BE_OFF {
            match flat.get(key) {
                None | Some(Value::Null) | Some(Value::Bool(false)) => {}
                Some(v) => {
                    return Err(TokenizeError::Unsupported(format!("{key} = {v}")));
                }
            }
        }
        let get = |key: &str| flat.get(key).unwrap_or(&Value::Null);
        let use_programs = bool_or(get("use_programs"), false)?;
        let parsed = MidiTokConfig {
            pitch_range: pair_u8(get("pitch_range"), (21, 109))?,
            beat_res: beat_res(get("beat_res"))?,
            num_velocities: uint_or(get("num_velocities"), 32)?,
            special_tokens: strings(get("special_tokens"))?,
            use_velocities: bool_or(get("use_velocities"), true)?,
            use_note_duration_programs: programs(get("use_note_duration_programs"))?,
            use_tempos: bool_or(get("use_tempos"), false)?,
            use_time_signatures: bool_or(get("use_time_signatures"), true)?,
            use_programs,
            use_pitchdrum_tokens: bool_or(get("use_pitchdrum_tokens"), true)?,
            default_note_duration: get("default_note_duration").as_f64().unwrap_or(0.5),
            programs: programs(get("programs"))?,
            one_token_stream_for_programs: use_programs
                && bool_or(get("one_token_stream_for_programs"), true)?,
            num_tempos: uint_or(get("num_tempos"), 32)?,
            tempo_range: pair_f64(get("tempo_range"), (40.0, 250.0))?,
            log_tempos: bool_or(get("log_tempos"), false)?,
            delete_equal_successive_tempo_changes: bool_or(
                get("delete_equal_successive_tempo_changes"),
                false,
            )?,
            time_signature_range: time_signature_range(get("time_signature_range"))?,
            delete_equal_successive_time_sig_changes: bool_or(
                get("delete_equal_successive_time_sig_changes"),
                false,
            )?,
            drums_pitch_range: pair_u8(get("drums_pitch_range"), (27, 88))?,
            encode_ids_split: get("encode_ids_split")
                .as_str()
                .unwrap_or("bar")
                .to_string(),
            raw,
        };
        parsed.validate()?;
        Ok(parsed)
    }

    fn validate(&self) -> Result<(), TokenizeError> {
        if self.beat_res.is_empty() || self.beat_res.iter().any(|b| b.res == 0 || b.end <= b.start)
        {
            return Err(bad(
                "beat_res needs non-empty ranges with a resolution > 0".into()
            ));
        }
        if self.pitch_range.0 > self.pitch_range.1 || self.pitch_range.1 > 127 {
            return Err(bad(format!("pitch_range {:?}", self.pitch_range)));
        }
        if self.use_velocities && !(1..=127).contains(&self.num_velocities) {
            return Err(bad(format!("num_velocities {}", self.num_velocities)));
        }
        for (denom, _) in &self.time_signature_range {
            if !denom.is_power_of_two() || *denom > 64 {
                return Err(bad(format!("time signature denominator {denom}")));
            }
        }
        if self.use_tempos && (self.num_tempos == 0 || self.tempo_range.0 <= 0.0) {
            return Err(bad("tempos need num_tempos > 0 and a positive range".into()));
        }
        if self.special_tokens.iter().any(|t| !t.contains('_')) {
            return Err(bad(
                "special tokens are written Type_Value (e.g. PAD_None)".into()
            ));
        }
        Ok(())
    }

    /// The config as MidiTok writes it (the object read, unchanged).
    pub fn to_json(&self) -> Value {
        Value::Object(self.raw.clone())
    }

    /// Highest resolution of any beat range: positions per beat.
    pub fn max_num_pos_per_beat(&self) -> u32 {
        self.beat_res.iter().map(|b| b.res).max().unwrap_or(1)
    }

    /// Whether a track with this program (-1 = drums) gets `Duration` tokens.
    pub fn uses_duration(&self, program: i16) -> bool {
        self.use_note_duration_programs.contains(&program)
    }
}

fn bad(message: String) -> TokenizeError {
    TokenizeError::Config(message)
}

fn bool_or(v: &Value, default: bool) -> Result<bool, TokenizeError> {
    match v {
        Value::Null => Ok(default),
        Value::Bool(b) => Ok(*b),
        other => Err(bad(format!("expected true/false, got {other}"))),
    }
}

fn uint_or(v: &Value, default: u32) -> Result<u32, TokenizeError> {
    match v {
        Value::Null => Ok(default),
        v => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(format!("expected a count, got {v}"))),
    }
}

fn pair(v: &Value) -> Result<Option<(f64, f64)>, TokenizeError> {
    match v {
        Value::Null => Ok(None),
        Value::Array(a) if a.len() >= 2 => match (a[0].as_f64(), a[1].as_f64()) {
            (Some(x), Some(y)) => Ok(Some((x, y))),
            _ => Err(bad(format!("expected two numbers, got {v}"))),
        },
        other => Err(bad(format!("expected a pair, got {other}"))),
    }
}

fn pair_f64(v: &Value, default: (f64, f64)) -> Result<(f64, f64), TokenizeError> {
    Ok(pair(v)?.unwrap_or(default))
}

fn pair_u8(v: &Value, default: (u8, u8)) -> Result<(u8, u8), TokenizeError> {
    match pair(v)? {
        None => Ok(default),
        Some((a, b)) if (0.0..=127.0).contains(&a) && (0.0..=127.0).contains(&b) => {
            Ok((a as u8, b as u8))
        }
        Some(p) => Err(bad(format!("pitch range {p:?} outside 0..=127"))),
    }
}

fn strings(v: &Value) -> Result<Vec<String>, TokenizeError> {
    match v {
        Value::Null => Ok(["PAD_None", "BOS_None", "EOS_None", "MASK_None"]
            .map(String::from)
            .to_vec()),
        Value::Array(a) => a
            .iter()
            .map(|s| {
                let s = s
                    .as_str()
                    .ok_or_else(|| bad(format!("special token {s}")))?;
                // MidiTok accepts bare names ("PAD") and stores them as "PAD_None".
                Ok(if s.contains('_') {
                    s.to_string()
                } else {
                    format!("{s}_None")
                })
            })
            .collect(),
        other => Err(bad(format!("special_tokens: {other}"))),
    }
}

fn programs(v: &Value) -> Result<Vec<i16>, TokenizeError> {
    match v {
        // MidiTok's default: drums then every program, iterated as a Python set (-1 last).
        Value::Null => Ok((0..128).chain(std::iter::once(-1)).collect()),
        Value::Array(a) => a
            .iter()
            .map(|p| {
                p.as_i64()
                    .filter(|p| (-1..=127).contains(p))
                    .map(|p| p as i16)
                    .ok_or_else(|| bad(format!("program {p}")))
            })
            .collect(),
        other => Err(bad(format!("programs: {other}"))),
    }
}

fn beat_res(v: &Value) -> Result<Vec<BeatRes>, TokenizeError> {
    let Value::Object(map) = v else {
        return Ok(vec![
            BeatRes {
                start: 0,
                end: 4,
                res: 8,
            },
            BeatRes {
                start: 4,
                end: 12,
                res: 4,
            },
        ]);
    };
    map.iter()
        .map(|(range, res)| {
            let (a, b) = range
                .split_once('_')
                .ok_or_else(|| bad(format!("beat_res key {range:?}")))?;
            let parse = |s: &str| {
                s.parse::<u32>()
                    .map_err(|_| bad(format!("beat_res {range:?}")))
            };
            Ok(BeatRes {
                start: parse(a)?,
                end: parse(b)?,
                res: uint_or(res, 0)?,
            })
        })
        .collect()
}

fn time_signature_range(v: &Value) -> Result<Vec<(u32, Vec<u32>)>, TokenizeError> {
    let Value::Object(map) = v else {
        return Ok(vec![(8, vec![3, 12, 6]), (4, vec![5, 6, 3, 2, 1, 4])]);
    };
    map.iter()
        .map(|(denom, nums)| {
            let denom = denom
                .parse::<u32>()
                .map_err(|_| bad(format!("time signature denominator {denom:?}")))?;
            let nums = match nums {
                Value::Array(a) => a
                    .iter()
                    .map(|n| {
                        uint_or(n, 0).and_then(|n| {
                            if n == 0 {
                                Err(bad("numerator 0".into()))
                            } else {
                                Ok(n)
                            }
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                // MidiTok also accepts a [min, max] range written as a tuple; JSON has no tuples.
                other => return Err(bad(format!("time signature numerators {other}"))),
            };
            Ok((denom, nums))
        })
        .collect()
}
