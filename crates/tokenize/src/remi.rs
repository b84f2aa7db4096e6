//! REMI and REMI+, token for token as MidiTok 3.1.0.
//!
//! A bar starts with `Bar_None` (and `TimeSig_n/d`), each onset time with `Position_n`, and
//! each note is `Pitch`, `Velocity`, `Duration` (REMI+ puts `Program` first and streams all
//! tracks together). See Huang & Yang 2020 (REMI) and von Rütte et al. 2022 (REMI+).

use std::sync::Arc;

use midigpt_midi::Score;
use serde_json::Value;

use crate::miditok::preprocess::ticks_per_beat;
use crate::miditok::{self, preprocess, Ids, MidiTokConfig, Prepared, Tables};
use crate::{TokenId, TokenTable, TokenizeError, Tokenizer, Vocab};

/// A REMI / REMI+ tokenizer with MidiTok's settings.
#[derive(Debug, Clone)]
pub struct Remi {
    config: MidiTokConfig,
    tables: Tables,
    vocab: Vocab,
    ids: Ids,
    /// What each id means, read once.
    table: Arc<TokenTable>,
}

/// One event before time tokens are added: a time signature, a tempo, or a whole note.
#[derive(Debug, Clone, Copy)]
enum Event {
    TimeSig(u32, u32),
    Tempo(TokenId),
    /// Up to four ids (Program, Pitch, Velocity, Duration) and how many are used.
    Note([TokenId; 4], u8),
}

impl Remi {
    /// A tokenizer for a MidiTok config.
    pub fn new(config: MidiTokConfig) -> Result<Self, TokenizeError> {
        let mut tables = Tables::new(&config)?;
        let vocab = miditok::vocab_with_specials(&config, base_vocab(&config, &tables));
        tables.index(&vocab)?;
        let ids = Ids::new(&vocab, &tables, ("Pitch", "PitchDrum"));
        let table = Arc::new(TokenTable::new(&vocab, Some(config.max_num_pos_per_beat())));
        Ok(Remi {
            config,
            tables,
            vocab,
            ids,
            table,
        })
    }

    /// Reads a MidiTok `tokenizer.json` (already parsed) whose `tokenization` is `REMI`.
    pub fn from_json(json: &Value) -> Result<Self, TokenizeError> {
        Remi::new(MidiTokConfig::from_json(&json["config"])?)
    }

    /// The value grids.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The settings.
    pub fn config(&self) -> &MidiTokConfig {
        &self.config
    }

    /// MidiTok's preprocessing of a score (the notes the tokens describe).
    pub fn preprocess(&self, score: &Score) -> Prepared {
        preprocess(score, &self.config, &self.tables, false)
    }

    fn global_events(&self, p: &Prepared) -> Vec<(u32, Event)> {
        let mut events = Vec::new();
        if self.config.use_time_signatures {
            for ts in &p.time_signatures {
                events.push((
                    ts.time,
                    Event::TimeSig(ts.numerator as u32, ts.denominator as u32),
                ));
            }
        }
        for &(time, bin) in &p.tempos {
            events.push((time, Event::Tempo(self.ids.tempo[bin])));
        }
        events
    }

    fn track_events(
        &self,
        p: &Prepared,
        track: &miditok::PTrack,
        out: &mut Vec<(u32, Event)>,
    ) -> Result<(), TokenizeError> {
        let drum = track.program == -1;
        let uses_duration = self.config.uses_duration(track.program);
        let mut tables: Vec<(u32, Vec<Option<usize>>)> = Vec::new();
        for note in &track.notes {
            let mut ids = [0; 4];
            let mut n = 0;
            let mut push =
                |id: Option<TokenId>, what: &dyn Fn() -> String| -> Result<(), TokenizeError> {
                    ids[n] = id.ok_or_else(|| TokenizeError::UnknownToken(what()))?;
                    n += 1;
                    Ok(())
                };
            if self.config.use_programs {
                push(self.ids.program[(track.program + 1) as usize], &|| {
                    format!("Program_{}", track.program)
                })?;
            }
            let pitch = if drum && self.config.use_pitchdrum_tokens {
                &self.ids.pitch_drum
            } else {
                &self.ids.pitch
            };
            push(pitch[note.pitch as usize], &|| {
                format!("Pitch_{}", note.pitch)
            })?;
            if self.config.use_velocities {
                push(self.ids.velocity[note.velocity as usize], &|| {
                    format!("Velocity_{}", note.velocity)
                })?;
            }
            if uses_duration {
                let tpb = p.ticks_per_beat_at(note.time);
                let map = match tables.iter().position(|(k, _)| *k == tpb) {
                    Some(i) => &tables[i].1,
                    None => {
                        tables.push((tpb, self.tables.duration_index(tpb)));
                        &tables.last().expect("just pushed").1
                    }
                };
                let index = map.get(note.duration as usize).copied().flatten();
                push(index.map(|i| self.ids.duration[i]), &|| {
                    format!("Duration of {} ticks", note.duration)
                })?;
            }
            out.push((note.time, Event::Note(ids, n as u8)));
        }
        Ok(())
    }

    /// Adds Bar / TimeSig / Position tokens between time-sorted events (MidiTok's
    /// `REMI._add_time_events`).
    fn add_time_tokens(
        &self,
        events: &[(u32, Event)],
        tpq: u32,
    ) -> Result<Vec<TokenId>, TokenizeError> {
        let mut out = Vec::with_capacity(events.len() * 4);
        let mut ts = (4u32, 4u32);
        if self.config.use_time_signatures {
            if let Some((_, Event::TimeSig(n, d))) =
                events.iter().find(|e| matches!(e.1, Event::TimeSig(..)))
            {
                ts = (*n, *d);
            }
        }
        let units = |ts: (u32, u32)| -> Result<(i64, i64), TokenizeError> {
            let beat = ticks_per_beat(ts.1, tpq);
            let pos = beat / self.tables.max_pos;
            if pos == 0 {
                return Err(TokenizeError::Unsupported(format!(
                    "time signature {}/{} at {tpq} ticks per quarter",
                    ts.0, ts.1
                )));
            }
            Ok(((beat * ts.0) as i64, pos as i64))
        };
        let (mut ticks_per_bar, mut ticks_per_pos) = units(ts)?;
        let (mut current_bar, mut bar_at_last_ts, mut previous_tick) = (-1i64, 0i64, -1i64);
        let (mut tick_at_last_ts, mut tick_at_current_bar) = (0i64, 0i64);
        for &(time, event) in events {
            let time = time as i64;
            let is_ts = matches!(event, Event::TimeSig(..));
            if time != previous_tick {
                let new_bars = bar_at_last_ts + (time - tick_at_last_ts).div_euclid(ticks_per_bar)
                    - current_bar;
                for i in 0..new_bars.max(0) {
                    current_bar += 1;
                    tick_at_current_bar =
                        tick_at_last_ts + (current_bar - bar_at_last_ts) * ticks_per_bar;
                    out.push(self.ids.bar);
                    if self.config.use_time_signatures && !(is_ts && i + 1 == new_bars) {
                        out.push(self.time_sig_id(ts)?);
                    }
                }
                if !is_ts {
                    let pos = (time - tick_at_current_bar).div_euclid(ticks_per_pos);
                    let id = usize::try_from(pos)
                        .ok()
                        .and_then(|p| self.ids.position.get(p));
                    out.push(
                        *id.ok_or_else(|| TokenizeError::UnknownToken(format!("Position_{pos}")))?,
                    );
                }
                previous_tick = time;
            }
            match event {
                Event::TimeSig(n, d) => {
                    bar_at_last_ts += (time - tick_at_last_ts).div_euclid(ticks_per_bar);
                    tick_at_last_ts = time;
                    ts = (n, d);
                    (ticks_per_bar, ticks_per_pos) = units(ts)?;
                    previous_tick -= 1;
                    out.push(self.time_sig_id(ts)?);
                }
                Event::Tempo(id) => out.push(id),
                Event::Note(ids, n) => out.extend_from_slice(&ids[..n as usize]),
            }
        }
        Ok(out)
    }

    fn time_sig_id(&self, ts: (u32, u32)) -> Result<TokenId, TokenizeError> {
        self.ids
            .time_sig
            .get(&ts)
            .copied()
            .ok_or_else(|| TokenizeError::UnknownToken(format!("TimeSig_{}/{}", ts.0, ts.1)))
    }
}

/// MidiTok's REMI vocabulary order after the special tokens.
fn base_vocab(c: &MidiTokConfig, t: &Tables) -> Vec<String> {
    let mut v = vec!["Bar_None".to_string()];
    v.extend((c.pitch_range.0..=c.pitch_range.1).map(|p| format!("Pitch_{p}")));
    v.extend(t.velocities.iter().map(|x| format!("Velocity_{x}")));
    if !c.use_note_duration_programs.is_empty() {
        v.extend(
            t.durations
                .iter()
                .map(|d| format!("Duration_{}", d.value())),
        );
    }
    let max_beats = t.time_signatures.iter().map(|x| x.0).max().unwrap_or(4);
    v.extend((0..t.max_pos * max_beats).map(|i| format!("Position_{i}")));
    v.extend(miditok::additional_tokens(c, t, &["PitchDrum"]));
    v
}

impl Tokenizer for Remi {
    fn encode(&self, score: &Score) -> Result<Vec<Vec<TokenId>>, TokenizeError> {
        miditok::check_length(score)?;
        let p = self.preprocess(score);
        miditok::score_to_tokens(
            self.config.one_token_stream_for_programs,
            self.global_events(&p),
            &p.tracks,
            |e| e.0,
            |track, events| self.track_events(&p, track, events),
            |events| self.add_time_tokens(events, p.tpq),
        )
    }

    fn decode(&self, sequences: &[Vec<TokenId>]) -> Result<Score, TokenizeError> {
        crate::remi_decode::decode(self, sequences)
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn to_json(&self) -> Value {
        miditok::tokenizer_json("REMI", &self.config)
    }

    fn table(&self) -> Arc<TokenTable> {
        self.table.clone()
    }

    fn one_stream(&self) -> bool {
        self.config.one_token_stream_for_programs
    }

    fn starts_word(&self, id: TokenId) -> bool {
        id == self.ids.bar
    }

    fn grammar(&self) -> Option<crate::Grammar> {
        Some(miditok::graph::remi(&self.config, &self.vocab))
    }
}
