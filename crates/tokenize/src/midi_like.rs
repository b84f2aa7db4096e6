//! MIDI-like events, token for token as MidiTok 3.1.0's `MIDILike`: `NoteOn`, `Velocity`,
//! `NoteOff` and `TimeShift` tokens (Oore et al. 2018), with MidiTok's optional `Program`,
//! `Tempo` and `TimeSig` tokens.

use std::collections::VecDeque;
use std::sync::Arc;

use midigpt_midi::{Note, Score, Tempo, TimeSignature};
use serde_json::Value;

use crate::miditok::preprocess::ticks_per_beat;
use crate::miditok::{self, preprocess, program_name, Ids, MidiTokConfig, Prepared, Tables, Tok};
use crate::{TokenId, TokenTable, TokenizeError, Tokenizer, Vocab};

/// A MIDI-like tokenizer with MidiTok's settings.
#[derive(Debug, Clone)]
pub struct MidiLike {
    config: MidiTokConfig,
    tables: Tables,
    vocab: Vocab,
    ids: Ids,
    note_off: Vec<Option<TokenId>>,
    drum_off: Vec<Option<TokenId>>,
    time_shift: Vec<TokenId>,
    /// What each id means, read once.
    table: Arc<TokenTable>,
}

/// An event before time shifts are added: a group of ids at one tick.
type Event = (u32, [TokenId; 3], u8);

impl MidiLike {
    /// A tokenizer for a MidiTok config.
    pub fn new(config: MidiTokConfig) -> Result<Self, TokenizeError> {
        if config
            .to_json()
            .get("additional_params")
            .and_then(|p| p.get("max_duration"))
            .is_some_and(|v| !v.is_null())
        {
            return Err(TokenizeError::Unsupported("max_duration".into()));
        }
        let mut tables = Tables::new(&config)?;
        let vocab = miditok::vocab_with_specials(&config, base_vocab(&config, &tables));
        tables.index(&vocab)?;
        let ids = Ids::new(&vocab, &tables, ("NoteOn", "DrumOn"));
        let by = |prefix: &str| {
            (0..128)
                .map(|p| vocab.get(&format!("{prefix}_{p}")))
                .collect()
        };
        let time_shift = tables
            .durations
            .iter()
            .filter_map(|d| vocab.get(&format!("TimeShift_{}", d.value())))
            .collect();
        let table = Arc::new(TokenTable::new(&vocab, Some(config.max_num_pos_per_beat())));
        Ok(MidiLike {
            table,
            note_off: by("NoteOff"),
            drum_off: by("DrumOff"),
            time_shift,
            config,
            tables,
            vocab,
            ids,
        })
    }

    /// Reads a MidiTok `tokenizer.json` (already parsed) whose `tokenization` is `MIDILike`.
    pub fn from_json(json: &Value) -> Result<Self, TokenizeError> {
        MidiLike::new(MidiTokConfig::from_json(&json["config"])?)
    }

    /// MidiTok's preprocessing of a score (the notes the tokens describe).
    pub fn preprocess(&self, score: &Score) -> Prepared {
        preprocess(score, &self.config, &self.tables, true)
    }

    fn global_events(&self, p: &Prepared) -> Result<Vec<Event>, TokenizeError> {
        let mut events = Vec::new();
        if self.config.use_time_signatures {
            for ts in &p.time_signatures {
                let key = (ts.numerator as u32, ts.denominator as u32);
                let id = self
                    .ids
                    .time_sig
                    .get(&key)
                    .ok_or_else(|| missing(format!("TimeSig_{}/{}", key.0, key.1)))?;
                events.push((ts.time, [*id, 0, 0], 1));
            }
        }
        for &(time, bin) in &p.tempos {
            events.push((time, [self.ids.tempo[bin], 0, 0], 1));
        }
        Ok(events)
    }

    fn track_events(
        &self,
        track: &miditok::PTrack,
        out: &mut Vec<Event>,
    ) -> Result<(), TokenizeError> {
        let drum = track.program == -1 && self.config.use_pitchdrum_tokens;
        let program = if self.config.use_programs {
            Some(
                self.ids.program[(track.program + 1) as usize]
                    .ok_or_else(|| missing(format!("Program_{}", track.program)))?,
            )
        } else {
            None
        };
        let (on, off) = if drum {
            (&self.ids.pitch_drum, &self.drum_off)
        } else {
            (&self.ids.pitch, &self.note_off)
        };
        let uses_off = self.config.uses_duration(track.program);
        for note in &track.notes {
            let mut ids = [0; 3];
            let mut n = 0;
            for id in [
                program,
                Some(
                    on[note.pitch as usize]
                        .ok_or_else(|| missing(format!("NoteOn_{}", note.pitch)))?,
                ),
            ]
            .into_iter()
            .flatten()
            {
                ids[n] = id;
                n += 1;
            }
            if self.config.use_velocities {
                ids[n] = self.ids.velocity[note.velocity as usize]
                    .ok_or_else(|| missing(format!("Velocity_{}", note.velocity)))?;
                n += 1;
            }
            out.push((note.time, ids, n as u8));
            if uses_off {
                let off = off[note.pitch as usize]
                    .ok_or_else(|| missing(format!("NoteOff_{}", note.pitch)))?;
                match program {
                    Some(p) => out.push((note.end(), [p, off, 0], 2)),
                    None => out.push((note.end(), [off, 0, 0], 1)),
                }
            }
        }
        Ok(())
    }

    /// Inserts `TimeShift` tokens between time-sorted events (MidiTok's
    /// `MIDILike._add_time_events`), greedy from the largest shift that fits.
    fn add_time_shifts(&self, events: &[Event], tpq: u32) -> Vec<TokenId> {
        let mut out = Vec::with_capacity(events.len() * 3);
        let mut previous = 0u32;
        let mut tpb = ticks_per_beat(4, tpq);
        let mut bins = self.tables.duration_ticks(tpb);
        for (time, ids, n) in events {
            if *time > previous {
                let mut shift = time - previous;
                while bins.first().is_some_and(|min| shift >= *min) {
                    let index = bins.partition_point(|b| *b <= shift) - 1;
                    out.push(self.time_shift[index]);
                    shift -= bins[index];
                }
                previous = *time;
            }
            if let Some(Tok::TimeSig(_, d)) = self.tables.meaning.get(ids[0] as usize) {
                tpb = ticks_per_beat(*d, tpq);
                bins = self.tables.duration_ticks(tpb);
            }
            out.extend_from_slice(&ids[..*n as usize]);
        }
        out
    }
}

fn missing(token: String) -> TokenizeError {
    TokenizeError::UnknownToken(token)
}

/// MidiTok's MIDILike vocabulary order after the special tokens.
fn base_vocab(c: &MidiTokConfig, t: &Tables) -> Vec<String> {
    let pitches = || c.pitch_range.0..=c.pitch_range.1;
    let with_off = !c.use_note_duration_programs.is_empty();
    let mut v: Vec<String> = pitches().map(|p| format!("NoteOn_{p}")).collect();
    if with_off {
        v.extend(pitches().map(|p| format!("NoteOff_{p}")));
    }
    v.extend(t.velocities.iter().map(|x| format!("Velocity_{x}")));
    v.extend(
        t.durations
            .iter()
            .map(|d| format!("TimeShift_{}", d.value())),
    );
    v.extend(miditok::additional_tokens(c, t, &["DrumOn", "DrumOff"]));
    v
}

impl Tokenizer for MidiLike {
    fn encode(&self, score: &Score) -> Result<Vec<Vec<TokenId>>, TokenizeError> {
        miditok::check_length(score)?;
        let p = self.preprocess(score);
        miditok::score_to_tokens(
            self.config.one_token_stream_for_programs,
            self.global_events(&p)?,
            &p.tracks,
            |e| e.0,
            |track, events| self.track_events(track, events),
            |events| Ok(self.add_time_shifts(events, p.tpq)),
        )
    }

    fn decode(&self, sequences: &[Vec<TokenId>]) -> Result<Score, TokenizeError> {
        Ok(decode(self, sequences))
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn to_json(&self) -> Value {
        miditok::tokenizer_json("MIDILike", &self.config)
    }

    fn table(&self) -> Arc<TokenTable> {
        self.table.clone()
    }

    fn one_stream(&self) -> bool {
        self.config.one_token_stream_for_programs
    }

    fn grammar(&self) -> Option<crate::Grammar> {
        Some(miditok::graph::midi_like(&self.config, &self.vocab))
    }
}

/// MidiTok's `MIDILike._tokens_to_score`: note-ons wait (first in, first out per program and
/// pitch) for their note-off; notes never closed are dropped.
fn decode(m: &MidiLike, sequences: &[Vec<TokenId>]) -> Score {
    let (cfg, t) = (&m.config, &m.tables);
    let tpq = t.time_division;
    let mut score = Score::new(u16::try_from(tpq).unwrap_or(u16::MAX));
    let mut tracks: Vec<(i16, midigpt_midi::Track)> = Vec::new();
    let new_track = |program: i16| midigpt_midi::Track {
        name: program_name(program),
        program: program.max(0) as u8,
        is_drum: program == -1,
        notes: Vec::new(),
    };
    for (si, seq) in sequences.iter().enumerate() {
        let toks: Vec<Tok> = seq
            .iter()
            .map(|&id| t.meaning.get(id as usize).copied().unwrap_or(Tok::Special))
            .collect();
        let (mut tick, mut tpb) = (0u32, tpq);
        let mut program: i16 = 0;
        if !cfg.one_token_stream_for_programs && cfg.use_programs {
            if let Some(Tok::Program(p)) = toks.iter().find(|t| matches!(t, Tok::Program(_))) {
                program = *p;
            }
        }
        if !cfg.one_token_stream_for_programs {
            tracks.push((program, new_track(program)));
            program = program.max(0);
        }
        let mut uses_off = cfg.uses_duration(program);
        let mut active: std::collections::HashMap<(i16, u8), VecDeque<(u32, u8)>> =
            Default::default();
        for (ti, tok) in toks.iter().enumerate() {
            let target = |tracks: &mut Vec<(i16, midigpt_midi::Track)>, program: i16| -> usize {
                if !cfg.one_token_stream_for_programs {
                    return tracks.len() - 1;
                }
                tracks
                    .iter()
                    .position(|(p, _)| *p == program)
                    .unwrap_or_else(|| {
                        tracks.push((program, new_track(program)));
                        tracks.len() - 1
                    })
            };
            match *tok {
                Tok::TimeShift(i) => tick = tick.saturating_add(t.durations[i].ticks(tpb)),
                Tok::Pitch(pitch) | Tok::PitchDrum(pitch)
                    if (cfg.pitch_range.0..=cfg.pitch_range.1).contains(&pitch) =>
                {
                    let velocity = if cfg.use_velocities {
                        match toks.get(ti + 1) {
                            Some(Tok::Velocity(v)) => *v,
                            Some(_) => continue,
                            None => break,
                        }
                    } else {
                        100
                    };
                    if uses_off {
                        active
                            .entry((program, pitch))
                            .or_default()
                            .push_back((tick, velocity));
                    } else {
                        let duration = (cfg.default_note_duration * tpb as f64) as u32;
                        let i = target(&mut tracks, program);
                        tracks[i].1.notes.push(Note {
                            time: tick,
                            duration,
                            pitch,
                            velocity,
                        });
                    }
                }
                Tok::NoteOff(pitch) => {
                    if let Some((onset, velocity)) = active
                        .get_mut(&(program, pitch))
                        .and_then(VecDeque::pop_front)
                    {
                        let i = target(&mut tracks, program);
                        tracks[i].1.notes.push(Note {
                            time: onset,
                            duration: tick - onset,
                            pitch,
                            velocity,
                        });
                    }
                }
                Tok::Program(p) => {
                    program = p;
                    uses_off = cfg.uses_duration(p);
                }
                Tok::Tempo(i) if si == 0 => score.tempos.push(Tempo {
                    time: tick,
                    mspq: (60_000_000.0 / t.tempos[i]).round() as u32,
                }),
                Tok::TimeSig(n, d) => {
                    tpb = t
                        .tpb_per_denom
                        .iter()
                        .find(|(den, _)| *den == d)
                        .map_or(tpb, |(_, v)| *v);
                    if si == 0 && n <= 255 && d <= 128 {
                        score.time_signatures.push(TimeSignature {
                            time: tick,
                            numerator: n as u8,
                            denominator: d as u8,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    score.tracks = tracks
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| !t.notes.is_empty())
        .collect();
    score
}
