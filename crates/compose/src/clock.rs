//! Reading a token stream as music while it is written: what each id means, and where in the
//! piece (bar, beat, second) the stream stands.
//!
//! Positions, bars and durations follow MidiTok's REMI: `Bar_None` starts a bar, a
//! `TimeSig_n/d` token right after it gives that bar's metre, `Position_p` is `p` ticks of
//! `res` per beat into the bar (a beat is the metre's 1/d note), `Duration_a.b.r` is
//! `a + b/r` beats and `Tempo_x` is `x` quarter notes per minute from where it stands.

use midigpt_tokenize::{TokenId, Vocab};

/// What one token id means to the controls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A new bar.
    Bar,
    /// Ticks into the bar, at the tokenizer's resolution.
    Position(u32),
    /// A metre.
    TimeSig(u8, u8),
    /// Quarter notes per minute.
    Tempo(f64),
    /// An instrument (GM program; -1 for drums).
    Program(i16),
    /// A pitched note (`Pitch_x`, MIDI-like `NoteOn_x`).
    Pitch(u8),
    /// A drum hit.
    Drum(u8),
    /// A note length, in beats.
    Duration(f64),
    /// Anything else (velocities, time shifts, special tokens, BPE merges).
    Other,
}

impl Kind {
    fn parse(token: &str) -> Kind {
        let (kind, value) = token.split_once('_').unwrap_or((token, ""));
        let num = |v: &str| v.parse::<f64>().ok();
        let parsed = match kind {
            "Bar" => Some(Kind::Bar),
            "Position" => value.parse().ok().map(Kind::Position),
            "TimeSig" => value
                .split_once('/')
                .and_then(|(n, d)| Some(Kind::TimeSig(n.parse().ok()?, d.parse().ok()?))),
            "Tempo" => num(value).map(Kind::Tempo),
            "Program" => value.parse().ok().map(Kind::Program),
            "Pitch" | "NoteOn" => value.parse().ok().map(Kind::Pitch),
            "PitchDrum" | "DrumOn" => value.parse().ok().map(Kind::Drum),
            "Duration" => {
                let parts: Vec<f64> = value.split('.').filter_map(num).collect();
                match parts[..] {
                    [beats, ticks, res] if res > 0.0 => Some(Kind::Duration(beats + ticks / res)),
                    _ => None,
                }
            }
            _ => None,
        };
        // BPE merges ("Bar_None Position_0") contain a space and parse as nothing above.
        parsed
            .filter(|_| !token.contains(' '))
            .unwrap_or(Kind::Other)
    }
}

/// The meaning of every id of a vocabulary, and the tokenizer's position resolution.
#[derive(Debug, Clone)]
pub struct Table {
    kinds: Vec<Kind>,
    /// Position ticks per beat.
    pub res: f64,
}

impl Table {
    /// Reads a vocabulary; `res` is the tokenizer's position ticks per beat.
    pub fn new(vocab: &Vocab, res: u32) -> Table {
        Table {
            kinds: vocab.tokens().iter().map(|t| Kind::parse(t)).collect(),
            res: res.max(1) as f64,
        }
    }

    /// What `id` means.
    pub fn kind(&self, id: TokenId) -> Kind {
        self.kinds.get(id as usize).copied().unwrap_or(Kind::Other)
    }

    /// Every id with its meaning.
    pub fn iter(&self) -> impl Iterator<Item = (TokenId, Kind)> + '_ {
        self.kinds
            .iter()
            .enumerate()
            .map(|(i, k)| (i as TokenId, *k))
    }

    /// Forbids (see [`midigpt_generate::forbid`]) every id for which `f` holds.
    pub fn forbid_where(&self, logits: &mut [f32], f: impl Fn(TokenId, Kind) -> bool) {
        for (id, kind) in self.iter() {
            if f(id, kind) {
                midigpt_generate::forbid(logits, id);
            }
        }
    }

    /// Ids for which `f` holds.
    pub fn ids(&self, f: impl Fn(Kind) -> bool) -> Vec<TokenId> {
        self.iter().filter(|(_, k)| f(*k)).map(|(i, _)| i).collect()
    }

    /// Whether the vocabulary has tokens for which `f` holds.
    pub fn has(&self, f: impl Fn(Kind) -> bool) -> bool {
        self.kinds.iter().any(|k| f(*k))
    }
}

/// Where a token stream stands, in bars, quarter notes and seconds. Fed token by token.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Tokens read so far.
    pub read: usize,
    /// `Bar` tokens read.
    pub bars: usize,
    /// The current bar's metre.
    pub metre: (u8, u8),
    /// Where the current bar starts, in quarter notes.
    pub bar_start: f64,
    /// The current position, in quarter notes.
    pub now: f64,
    /// Notes started in the current bar.
    pub notes_in_bar: usize,
    /// Ends (in quarter notes) of the notes heard so far, for the ones that may still sound.
    pub ends: Vec<f64>,
    /// The tempo and the seconds at the quarter note where it started.
    qpm: f64,
    seconds_at: (f64, f64),
    /// Programs seen.
    pub programs: Vec<i16>,
    /// Whether a `Tempo` token has been read.
    pub tempo_seen: bool,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            read: 0,
            bars: 0,
            metre: (4, 4),
            bar_start: 0.0,
            now: 0.0,
            notes_in_bar: 0,
            ends: Vec::new(),
            // MIDI's default until the first tempo token.
            qpm: 120.0,
            seconds_at: (0.0, 0.0),
            programs: Vec::new(),
            tempo_seen: false,
        }
    }
}

impl Clock {
    /// Quarter notes per beat of the current metre.
    fn quarters_per_beat(&self) -> f64 {
        4.0 / self.metre.1.max(1) as f64
    }

    /// Length of the current bar, in quarter notes.
    pub fn bar_quarters(&self) -> f64 {
        self.metre.0 as f64 * self.quarters_per_beat()
    }

    /// Seconds from the start of the stream to quarter note `q` (at or after the last tempo).
    pub fn seconds(&self, q: f64) -> f64 {
        let (at_q, at_s) = self.seconds_at;
        at_s + (q - at_q) * 60.0 / self.qpm
    }

    /// Quarter note of position `p` in the current bar.
    pub fn position(&self, table: &Table, p: u32) -> f64 {
        self.bar_start + p as f64 / table.res * self.quarters_per_beat()
    }

    /// Notes sounding at quarter note `q` (started at or before it, ending after it).
    pub fn sounding_at(&self, q: f64) -> usize {
        self.ends.iter().filter(|&&end| end > q + 1e-9).count()
    }

    /// Reads the tokens not read yet.
    pub fn catch_up(&mut self, table: &Table, tokens: &[TokenId]) {
        for &id in &tokens[self.read.min(tokens.len())..] {
            self.step(table.kind(id), table);
        }
        self.read = tokens.len();
    }

    fn step(&mut self, kind: Kind, table: &Table) {
        match kind {
            Kind::Bar => {
                if self.bars > 0 {
                    self.bar_start += self.bar_quarters();
                }
                self.bars += 1;
                self.now = self.bar_start;
                self.notes_in_bar = 0;
                // Notes that ended before this bar never matter again.
                let start = self.bar_start;
                self.ends.retain(|&e| e > start);
            }
            Kind::TimeSig(n, d) => self.metre = (n.max(1), d.max(1)),
            Kind::Position(p) => self.now = self.position(table, p),
            Kind::Tempo(qpm) if qpm > 0.0 => {
                self.seconds_at = (self.now, self.seconds(self.now));
                self.qpm = qpm;
                self.tempo_seen = true;
            }
            Kind::Program(p) => self.programs.push(p),
            Kind::Pitch(_) | Kind::Drum(_) => self.notes_in_bar += 1,
            Kind::Duration(beats) => {
                let end = self.now + beats * self.quarters_per_beat();
                self.ends.push(end);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_miditok_spellings() {
        assert_eq!(Kind::parse("TimeSig_3/4"), Kind::TimeSig(3, 4));
        assert_eq!(Kind::parse("Program_-1"), Kind::Program(-1));
        assert_eq!(Kind::parse("Tempo_100.32"), Kind::Tempo(100.32));
        assert_eq!(Kind::parse("Duration_1.4.8"), Kind::Duration(1.5));
        assert_eq!(Kind::parse("PitchDrum_36"), Kind::Drum(36));
        assert_eq!(Kind::parse("▁Bar_None Position_0"), Kind::Other);
        assert_eq!(Kind::parse("BOS_None"), Kind::Other);
    }

    #[test]
    fn clock_follows_bars_metres_and_tempos() {
        let tokens = [
            "Bar_None",
            "TimeSig_3/4",
            "Position_0",
            "Tempo_60.0",
            "Pitch_60",
            "Duration_2.0.8",
            "Bar_None",
            "TimeSig_6/8",
            "Position_8",
        ];
        let vocab = Vocab::new(tokens.iter().map(|t| t.to_string()));
        let table = Table::new(&vocab, 8);
        let ids: Vec<TokenId> = tokens.iter().map(|t| vocab.get(t).unwrap()).collect();
        let mut clock = Clock::default();
        clock.catch_up(&table, &ids[..6]);
        assert_eq!(
            (clock.bars, clock.metre, clock.notes_in_bar),
            (1, (3, 4), 1)
        );
        assert_eq!(clock.sounding_at(1.0), 1);
        assert_eq!(clock.sounding_at(2.0), 0);
        clock.catch_up(&table, &ids);
        // The second bar starts after 3 quarters; position 8 of 6/8 is one eighth-note beat in.
        assert_eq!((clock.bar_start, clock.now), (3.0, 3.5));
        assert_eq!(clock.seconds(3.0), 3.0, "60 quarters per minute");
        assert_eq!(clock.notes_in_bar, 0);
    }
}
