//! REMI / REMI+ tokens → score, as MidiTok's `REMI._tokens_to_score`.
//!
//! Tokens out of place (a `Pitch` not followed by `Velocity` and `Duration`, an unknown id)
//! are skipped, so generated sequences always decode.

use midigpt_midi::{Note, Score, Tempo, TimeSignature, Track};

use crate::miditok::preprocess::ticks_per_bar;
use crate::miditok::{program_name, Tok};
use crate::remi::Remi;
use crate::{TokenId, TokenizeError};

/// Velocity of decoded notes when the tokenizer has no `Velocity` tokens (MidiTok's default).
const DEFAULT_VELOCITY: u8 = 100;

/// Tracks being rebuilt, keyed by program (-1 = drums), in order of first appearance.
#[derive(Default)]
struct Tracks(Vec<(i16, Track)>);

impl Tracks {
    fn get(&mut self, program: i16) -> &mut Track {
        let i = match self.0.iter().position(|(p, _)| *p == program) {
            Some(i) => i,
            None => {
                self.0.push((program, new_track(program)));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }
}

fn new_track(program: i16) -> Track {
    Track {
        name: program_name(program),
        program: program.max(0) as u8,
        is_drum: program == -1,
        notes: Vec::new(),
    }
}

/// Time keeping while walking a sequence: bars, time signature sections, positions.
struct Clock {
    tpq: u32,
    max_pos: u32,
    ts: TimeSignature,
    ticks_per_bar: u32,
    ticks_per_beat: u32,
    tick: u32,
    tick_at_bar: u32,
    bar: i64,
}

impl Clock {
    fn new(tpq: u32, max_pos: u32, ts: TimeSignature) -> Self {
        let mut clock = Clock {
            tpq,
            max_pos,
            ts,
            ticks_per_bar: 0,
            ticks_per_beat: 0,
            tick: 0,
            tick_at_bar: 0,
            bar: -1,
        };
        clock.set_time_signature(ts);
        clock
    }

    fn set_time_signature(&mut self, ts: TimeSignature) {
        self.ts = ts;
        self.ticks_per_bar = ticks_per_bar(&ts, self.tpq);
        self.ticks_per_beat =
            crate::miditok::preprocess::ticks_per_beat(ts.denominator as u32, self.tpq);
    }

    fn bar(&mut self) {
        self.bar += 1;
        if self.bar > 0 {
            self.tick = self.tick_at_bar.saturating_add(self.ticks_per_bar);
        }
        self.tick_at_bar = self.tick;
    }

    fn position(&mut self, pos: u32) {
        if self.bar == -1 {
            self.bar = 0;
        }
        let ticks_per_pos = self.ticks_per_beat / self.max_pos;
        self.tick = self
            .tick_at_bar
            .saturating_add(pos.saturating_mul(ticks_per_pos));
    }
}

/// Decodes id sequences with `remi`'s vocabulary.
pub fn decode(remi: &Remi, sequences: &[Vec<TokenId>]) -> Result<Score, TokenizeError> {
    let cfg = remi.config();
    let t = remi.tables();
    let tpq = t.time_division;
    let mut score = Score::new(u16::try_from(tpq).unwrap_or(u16::MAX));
    let mut tracks = Tracks::default();
    let meaning = |id: TokenId| t.meaning.get(id as usize).copied();
    for (si, seq) in sequences.iter().enumerate() {
        let toks: Vec<Tok> = seq
            .iter()
            .map(|&id| meaning(id).unwrap_or(Tok::Special))
            .collect();
        if si == 0 {
            let first_ts = cfg
                .use_time_signatures
                .then(|| first_time_signature(&toks))
                .flatten();
            let (numerator, denominator) = first_ts.unwrap_or((4, 4));
            score.time_signatures.push(TimeSignature {
                time: 0,
                numerator: numerator as u8,
                denominator: denominator as u8,
            });
        }
        let mut clock = Clock::new(
            tpq,
            t.max_pos,
            *score.time_signatures.last().expect("pushed above"),
        );
        let mut program: i16 = 0;
        if !cfg.one_token_stream_for_programs && cfg.use_programs {
            if let Some(Tok::Program(p)) = toks.iter().find(|t| matches!(t, Tok::Program(_))) {
                program = *p;
            }
        }
        let mut track = new_track(program);
        if program == -1 {
            program = 0;
        }
        let mut uses_duration = cfg.uses_duration(program);
        let dur_offset = if cfg.use_velocities { 2 } else { 1 };
        for (ti, tok) in toks.iter().enumerate() {
            match *tok {
                Tok::Bar => clock.bar(),
                Tok::Position(pos) => clock.position(pos),
                Tok::Pitch(pitch) | Tok::PitchDrum(pitch) => {
                    if !(cfg.pitch_range.0..=cfg.pitch_range.1).contains(&pitch) {
                        continue;
                    }
                    let velocity = if cfg.use_velocities {
                        match toks.get(ti + 1) {
                            Some(Tok::Velocity(v)) => *v,
                            _ => continue,
                        }
                    } else {
                        DEFAULT_VELOCITY
                    };
                    let duration = if uses_duration {
                        match toks.get(ti + dur_offset) {
                            Some(Tok::Duration(i)) => t.durations[*i].ticks(clock.ticks_per_beat),
                            _ => continue,
                        }
                    } else {
                        (cfg.default_note_duration * clock.ticks_per_beat as f64) as u32
                    };
                    let note = Note {
                        time: clock.tick,
                        duration,
                        pitch,
                        velocity,
                    };
                    if cfg.one_token_stream_for_programs {
                        tracks.get(program).notes.push(note);
                    } else {
                        track.notes.push(note);
                    }
                }
                Tok::Program(p) => {
                    program = p;
                    uses_duration = cfg.uses_duration(p);
                }
                Tok::Tempo(i) if si == 0 => {
                    let mspq = (60_000_000.0 / t.tempos[i]).round() as u32;
                    score.tempos.push(Tempo {
                        time: clock.tick,
                        mspq,
                    });
                }
                Tok::TimeSig(n, d)
                    if (n, d) != (clock.ts.numerator as u32, clock.ts.denominator as u32)
                        && n <= 255
                        && d <= 128 =>
                {
                    let ts = TimeSignature {
                        time: clock.tick,
                        numerator: n as u8,
                        denominator: d as u8,
                    };
                    if si == 0 {
                        score.time_signatures.push(ts);
                    }
                    clock.set_time_signature(ts);
                }
                _ => {}
            }
        }
        if !cfg.one_token_stream_for_programs && !track.notes.is_empty() {
            score.tracks.push(track);
        }
    }
    if cfg.one_token_stream_for_programs {
        score.tracks = tracks.0.into_iter().map(|(_, t)| t).collect();
    }
    Ok(score)
}

/// The first `TimeSig` before any note token.
fn first_time_signature(toks: &[Tok]) -> Option<(u32, u32)> {
    for tok in toks {
        match tok {
            Tok::TimeSig(n, d) => return Some((*n, *d)),
            Tok::Pitch(_) | Tok::PitchDrum(_) | Tok::Velocity(_) | Tok::Duration(_) => return None,
            _ => {}
        }
    }
    None
}
