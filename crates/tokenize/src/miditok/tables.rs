//! The value grids of a MidiTok config (velocities, durations, tempos, time signatures,
//! positions) and the vocabulary built from them, in MidiTok's exact order.

use std::collections::HashMap;

use super::MidiTokConfig;
use crate::{TokenId, TokenizeError, Vocab};

/// A duration (or time shift) as MidiTok spells it: `beat.pos.res`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeatPos {
    /// Whole beats.
    pub beat: u32,
    /// Positions within the beat.
    pub pos: u32,
    /// Positions per beat.
    pub res: u32,
}

impl BeatPos {
    /// Length in ticks when a beat lasts `ticks_per_beat` ticks.
    pub fn ticks(&self, ticks_per_beat: u32) -> u32 {
        (self.beat * self.res + self.pos) * ticks_per_beat / self.res
    }

    /// Token value, e.g. `1.4.8`.
    pub fn value(&self) -> String {
        format!("{}.{}.{}", self.beat, self.pos, self.res)
    }
}

/// A token's meaning, looked up from its id when decoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tok {
    /// `PAD_None`, `BOS_None`, ... : ignored by decoders.
    Special,
    /// `Bar_None`.
    Bar,
    /// `Position_n`.
    Position(u32),
    /// `Pitch_p` (MIDI-like: `NoteOn_p`).
    Pitch(u8),
    /// `PitchDrum_p` (MIDI-like: `DrumOn_p`).
    PitchDrum(u8),
    /// `NoteOff_p` / `DrumOff_p` (MIDI-like).
    NoteOff(u8),
    /// `Velocity_v`.
    Velocity(u8),
    /// `Duration_b.p.r`, as an index into [`Tables::durations`].
    Duration(usize),
    /// `TimeShift_b.p.r` (MIDI-like), as an index into [`Tables::durations`].
    TimeShift(usize),
    /// `Tempo_q`, as an index into [`Tables::tempos`].
    Tempo(usize),
    /// `Program_p` (-1 = drums).
    Program(i16),
    /// `TimeSig_n/d`.
    TimeSig(u32, u32),
}

/// Grids and vocabulary shared by the MidiTok-compatible tokenizers.
#[derive(Debug, Clone)]
pub struct Tables {
    /// Positions per beat at the finest resolution.
    pub max_pos: u32,
    /// Velocity bins, ascending.
    pub velocities: Vec<u8>,
    /// Duration bins, ascending, without zero.
    pub durations: Vec<BeatPos>,
    /// Tempo bins in quarters per minute, ascending.
    pub tempos: Vec<f64>,
    /// Supported time signatures, in vocabulary order.
    pub time_signatures: Vec<(u32, u32)>,
    /// Ticks per beat for each supported denominator.
    pub tpb_per_denom: Vec<(u32, u32)>,
    /// Ticks per quarter of decoded scores (MidiTok's `time_division`).
    pub time_division: u32,
    /// Token id → meaning.
    pub meaning: Vec<Tok>,
}

/// `np.linspace(start, stop, n)`: the same floating-point steps as NumPy.
pub fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    v[n - 1] = stop;
    v
}

/// NumPy's `round(x, 2)`: scale, round half to even, unscale.
fn round2(x: f64) -> f64 {
    (x * 100.0).round_ties_even() / 100.0
}

/// A float as Python's `str()` writes it (`40.0`, `46.77`).
pub fn py_float(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

impl Tables {
    /// Builds the grids for `config`.
    pub fn new(config: &MidiTokConfig) -> Result<Self, TokenizeError> {
        let max_pos = config.max_num_pos_per_beat();
        let n = config.num_velocities as usize;
        let velocities = if config.use_velocities {
            linspace(0.0, 127.0, n + 1)[1..]
                .iter()
                .map(|v| *v as u8)
                .collect()
        } else {
            Vec::new()
        };
        let time_signatures: Vec<(u32, u32)> = if config.use_time_signatures {
            let ts = config.time_signature_range.iter();
            ts.flat_map(|(d, nums)| nums.iter().map(move |n| (*n, *d)))
                .collect()
        } else {
            vec![(4, 4)]
        };
        let max_denom = time_signatures.iter().map(|t| t.1).max().unwrap_or(4);
        let tpb_per_denom: Vec<(u32, u32)> = config
            .time_signature_range
            .iter()
            .map(|(d, _)| (*d, max_pos * (max_denom / d)))
            .collect();
        let time_division = tpb_per_denom
            .iter()
            .find(|(d, _)| *d == 4)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                TokenizeError::Unsupported("time_signature_range without a */4 entry".into())
            })?;
        Ok(Tables {
            max_pos,
            velocities,
            durations: durations(config),
            tempos: tempos(config),
            time_signatures,
            tpb_per_denom,
            time_division,
            meaning: Vec::new(),
        })
    }

    /// Duration bins in ticks for a ticks-per-beat value, ascending.
    pub fn duration_ticks(&self, ticks_per_beat: u32) -> Vec<u32> {
        self.durations
            .iter()
            .map(|d| d.ticks(ticks_per_beat))
            .collect()
    }

    /// Duration bin of each length in ticks (a table indexed by ticks) for a ticks-per-beat
    /// value; lengths that are not a bin are `None`.
    pub fn duration_index(&self, ticks_per_beat: u32) -> Vec<Option<usize>> {
        let ticks = self.duration_ticks(ticks_per_beat);
        let mut index = vec![None; ticks.iter().max().map_or(0, |m| *m as usize + 1)];
        // Later bins win on equal ticks, as in MidiTok's dict comprehension.
        for (i, t) in ticks.iter().enumerate() {
            index[*t as usize] = Some(i);
        }
        index
    }

    /// The velocity bin of each MIDI velocity (nearest, ties up), or the velocity itself
    /// when the tokenizer has no velocity bins.
    pub fn velocity_bins(&self) -> [u8; 128] {
        std::array::from_fn(|v| {
            if self.velocities.is_empty() {
                v as u8
            } else {
                self.velocities[super::preprocess::closest(&self.velocities, v as f64)]
            }
        })
    }

    /// Tempo bins converted to microseconds per quarter, ascending, with their bin index.
    pub fn tempos_mspq(&self) -> Vec<(f64, usize)> {
        let mut v: Vec<(f64, usize)> = self
            .tempos
            .iter()
            .enumerate()
            .map(|(i, q)| (60_000_000.0 / q, i))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    }

    /// Registers the meaning of every token of `vocab` (called once the vocabulary is built).
    pub fn index(&mut self, vocab: &Vocab) -> Result<(), TokenizeError> {
        let durations: HashMap<String, usize> = self
            .durations
            .iter()
            .enumerate()
            .map(|(i, d)| (d.value(), i))
            .collect();
        let tempos: HashMap<String, usize> = self
            .tempos
            .iter()
            .enumerate()
            .map(|(i, t)| (py_float(*t), i))
            .collect();
        self.meaning = vocab
            .tokens()
            .iter()
            .map(|t| parse_token(t, &durations, &tempos))
            .collect::<Result<_, _>>()?;
        Ok(())
    }
}

fn parse_token(
    token: &str,
    durations: &HashMap<String, usize>,
    tempos: &HashMap<String, usize>,
) -> Result<Tok, TokenizeError> {
    let bad = || TokenizeError::UnknownToken(token.to_string());
    let (kind, value) = token.split_once('_').ok_or_else(bad)?;
    let int = || value.parse::<i64>().map_err(|_| bad());
    let pitch = || int().and_then(|p| u8::try_from(p).map_err(|_| bad()));
    Ok(match kind {
        "Bar" => Tok::Bar,
        "Position" => Tok::Position(int()? as u32),
        "Pitch" | "NoteOn" => Tok::Pitch(pitch()?),
        "PitchDrum" | "DrumOn" => Tok::PitchDrum(pitch()?),
        "NoteOff" | "DrumOff" => Tok::NoteOff(pitch()?),
        "Velocity" => Tok::Velocity(pitch()?),
        "Duration" => Tok::Duration(*durations.get(value).ok_or_else(bad)?),
        "TimeShift" => Tok::TimeShift(*durations.get(value).ok_or_else(bad)?),
        "Tempo" => Tok::Tempo(*tempos.get(value).ok_or_else(bad)?),
        "Program" => Tok::Program(int()? as i16),
        "TimeSig" => {
            let (n, d) = value.split_once('/').ok_or_else(bad)?;
            Tok::TimeSig(n.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?)
        }
        _ => Tok::Special,
    })
}

fn durations(config: &MidiTokConfig) -> Vec<BeatPos> {
    let mut out: Vec<BeatPos> = config
        .beat_res
        .iter()
        .flat_map(|b| {
            (b.start..b.end).flat_map(move |beat| {
                (0..b.res).map(move |pos| BeatPos {
                    beat,
                    pos,
                    res: b.res,
                })
            })
        })
        .collect();
    // MidiTok appends the end of the range with the largest (start, end) key.
    if let Some(last) = config.beat_res.iter().max_by_key(|b| (b.start, b.end)) {
        out.push(BeatPos {
            beat: last.end,
            pos: 0,
            res: last.res,
        });
    }
    out.remove(0); // the zero duration
    out
}

fn tempos(config: &MidiTokConfig) -> Vec<f64> {
    if !config.use_tempos {
        return Vec::new();
    }
    let (lo, hi) = config.tempo_range;
    let n = config.num_tempos as usize;
    let values = if config.log_tempos {
        // np.geomspace: exponentials of an evenly spaced log grid, exact endpoints.
        let mut v: Vec<f64> = linspace(lo.log10(), hi.log10(), n)
            .into_iter()
            .map(|x| 10f64.powf(x))
            .collect();
        v[0] = lo;
        v[n - 1] = hi;
        v
    } else {
        linspace(lo, hi, n)
    };
    values.into_iter().map(round2).collect()
}

/// Ids of the tokens an encoder emits, looked up once.
#[derive(Debug, Clone)]
pub struct Ids {
    /// `Bar_None`.
    pub bar: TokenId,
    /// `Position_n` for each n.
    pub position: Vec<TokenId>,
    /// `Pitch_p` (or `NoteOn_p`) by pitch; absent pitches are `None`.
    pub pitch: Vec<Option<TokenId>>,
    /// `PitchDrum_p` (or `DrumOn_p`) by pitch.
    pub pitch_drum: Vec<Option<TokenId>>,
    /// `Velocity_v` by velocity value.
    pub velocity: Vec<Option<TokenId>>,
    /// `Duration_*` by duration index.
    pub duration: Vec<TokenId>,
    /// `Tempo_*` by tempo index.
    pub tempo: Vec<TokenId>,
    /// `Program_p` by program + 1 (index 0 = drums).
    pub program: Vec<Option<TokenId>>,
    /// `TimeSig_n/d` ids.
    pub time_sig: HashMap<(u32, u32), TokenId>,
}

impl Ids {
    /// Looks up every id in `vocab`; tokens missing from it are `None` / errors.
    pub fn new(vocab: &Vocab, t: &Tables, prefix: (&str, &str)) -> Self {
        let by = |f: &dyn Fn(u32) -> String, n: u32| (0..n).map(|i| vocab.get(&f(i))).collect();
        Ids {
            bar: vocab.get("Bar_None").unwrap_or(0),
            position: (0..)
                .map_while(|i| vocab.get(&format!("Position_{i}")))
                .collect(),
            pitch: by(&|p| format!("{}_{p}", prefix.0), 128),
            pitch_drum: by(&|p| format!("{}_{p}", prefix.1), 128),
            velocity: by(&|v| format!("Velocity_{v}"), 128),
            duration: t
                .durations
                .iter()
                .filter_map(|d| vocab.get(&format!("Duration_{}", d.value())))
                .collect(),
            tempo: t
                .tempos
                .iter()
                .filter_map(|q| vocab.get(&format!("Tempo_{}", py_float(*q))))
                .collect(),
            program: by(&|p| format!("Program_{}", p as i32 - 1), 129),
            time_sig: t
                .time_signatures
                .iter()
                .filter_map(|&(n, d)| {
                    vocab
                        .get(&format!("TimeSig_{n}/{d}"))
                        .map(|id| ((n, d), id))
                })
                .collect(),
        }
    }
}
