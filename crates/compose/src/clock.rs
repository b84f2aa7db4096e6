//! Where a token stream stands while it is written: in bars, beats and seconds, and what it
//! has played. One clock reads each token once, and every control reads the clock.
//!
//! Positions, bars and durations follow MidiTok's REMI: `Bar_None` starts a bar, a
//! `TimeSig_n/d` token right after it gives that bar's metre, `Position_p` is `p` ticks of
//! the tokenizer's resolution per beat into the bar (a beat is the metre's 1/d note),
//! `Duration_a.b.r` is `a + b/r` beats and `Tempo_x` is `x` quarter notes per minute from
//! where it stands.

use std::sync::Arc;

use midigpt_tokenize::{TokenId, TokenKind, TokenTable};

/// Where a token stream stands, in bars, quarter notes and seconds. Fed the whole stream
/// (the prompt, then the generated part that starts at `new_from`), each token once.
#[derive(Debug, Clone)]
pub struct Clock {
    table: Arc<TokenTable>,
    /// Tokens read so far.
    pub read: usize,
    /// The ids read, in order (a form plays earlier bars again from them).
    pub ids: Vec<TokenId>,
    /// Where each `Bar` token read stands in the stream.
    pub bar_starts: Vec<usize>,
    /// Where the generated part starts.
    pub new_from: usize,
    /// The last token read.
    pub last: Option<TokenKind>,
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
    /// Where the last note start (its pitch token) stands in the stream.
    pub last_note: Option<usize>,
    /// Ends (in quarter notes) of the notes heard so far, for the ones that may still sound.
    pub ends: Vec<f64>,
    /// The tempo and the seconds at the quarter note where it started.
    qpm: f64,
    seconds_at: (f64, f64),
    /// The last program token read (-1 for drums).
    pub program: Option<i16>,
    /// Pitched notes read outside the drums, by pitch class.
    pub pitch_classes: [usize; 12],
    /// Where the first `Position` token stands in the stream.
    pub first_position: Option<usize>,
    /// Bars and seconds where the prompt ends (its last bar, and where its last note stops).
    pub prompt_end: Option<(usize, f64)>,
    /// Programs of the generated part, in order.
    pub new_programs: Vec<i16>,
    /// Whether the generated part has set a tempo.
    pub new_tempo: bool,
    /// Tempo tokens read, and the bar (its count of `Bar` tokens) of the last.
    pub tempos: usize,
    pub tempo_bar: usize,
}

impl Clock {
    /// A clock before any token, reading ids through `table`.
    pub fn new(table: Arc<TokenTable>) -> Clock {
        Clock {
            table,
            read: 0,
            ids: Vec::new(),
            bar_starts: Vec::new(),
            new_from: 0,
            last: None,
            bars: 0,
            metre: (4, 4),
            bar_start: 0.0,
            now: 0.0,
            notes_in_bar: 0,
            last_note: None,
            ends: Vec::new(),
            // MIDI's default until the first tempo token.
            qpm: 120.0,
            seconds_at: (0.0, 0.0),
            program: None,
            pitch_classes: [0; 12],
            first_position: None,
            prompt_end: None,
            new_programs: Vec::new(),
            new_tempo: false,
            tempos: 0,
            tempo_bar: 0,
        }
    }

    /// The tempo now, in quarter notes per minute (MIDI's 120 before any tempo token).
    pub fn qpm(&self) -> f64 {
        self.qpm
    }

    /// What each id means.
    pub fn table(&self) -> &TokenTable {
        &self.table
    }

    /// Quarter notes per beat of the current metre.
    fn quarters_per_beat(&self) -> f64 {
        4.0 / self.metre.1.max(1) as f64
    }

    /// Length of the current bar, in quarter notes.
    pub fn bar_quarters(&self) -> f64 {
        self.metre.0 as f64 * self.quarters_per_beat()
    }

    /// Position ticks in a bar of the current metre.
    pub fn positions_in_bar(&self) -> u32 {
        self.metre.0 as u32 * self.table.ticks_per_beat()
    }

    /// Seconds from the start of the stream to quarter note `q` (at or after the last tempo).
    pub fn seconds(&self, q: f64) -> f64 {
        let (at_q, at_s) = self.seconds_at;
        at_s + (q - at_q) * 60.0 / self.qpm
    }

    /// Quarter note of position `p` in the current bar.
    pub fn position(&self, p: u32) -> f64 {
        let beats = p as f64 / self.table.ticks_per_beat() as f64;
        self.bar_start + beats * self.quarters_per_beat()
    }

    /// Notes sounding at quarter note `q` (started at or before it, ending after it).
    pub fn sounding_at(&self, q: f64) -> usize {
        self.ends.iter().filter(|&&end| end > q + 1e-9).count()
    }

    /// Whether the notes now being read are drum hits (whose pitches name no note).
    pub fn drums(&self) -> bool {
        self.program.is_some_and(|p| p < 0)
    }

    /// Reads the tokens not read yet; the generated part starts at `new_from`.
    pub fn advance(&mut self, tokens: &[TokenId], new_from: usize) {
        self.new_from = new_from;
        // The prompt first, so that where it ends is known before the new part moves on.
        self.read_to(&tokens[..new_from.max(self.read).min(tokens.len())]);
        if self.read == new_from && self.prompt_end.is_none() {
            let last_sound = self.ends.iter().copied().fold(0.0, f64::max);
            self.prompt_end = Some((self.bars, self.seconds(self.now.max(last_sound))));
        }
        self.read_to(tokens);
    }

    fn read_to(&mut self, tokens: &[TokenId]) {
        let from = self.read.min(tokens.len());
        for (i, &id) in tokens.iter().enumerate().skip(from) {
            let kind = self.table.kind(id);
            self.ids.push(id);
            self.step(i, kind);
            self.last = Some(kind);
        }
        self.read = self.read.max(tokens.len());
    }

    /// Reads token `i` of the stream, which means `kind`.
    fn step(&mut self, i: usize, kind: TokenKind) {
        let new = i >= self.new_from;
        match kind {
            TokenKind::Bar => {
                if self.bars > 0 {
                    self.bar_start += self.bar_quarters();
                }
                self.bars += 1;
                self.bar_starts.push(i);
                self.now = self.bar_start;
                self.notes_in_bar = 0;
                // Notes that ended before this bar never matter again.
                let start = self.bar_start;
                self.ends.retain(|&e| e > start);
            }
            TokenKind::TimeSig(n, d) => self.metre = (n.max(1), d.max(1)),
            TokenKind::Position(p) => {
                self.now = self.position(p);
                self.first_position.get_or_insert(i);
            }
            TokenKind::Tempo(qpm) if qpm > 0.0 => {
                self.seconds_at = (self.now, self.seconds(self.now));
                self.qpm = qpm;
                self.new_tempo |= new;
                self.tempos += 1;
                self.tempo_bar = self.bars;
            }
            TokenKind::Program(p) => {
                self.program = Some(p);
                if new {
                    self.new_programs.push(p);
                }
            }
            TokenKind::Pitch(p) => {
                self.notes_in_bar += 1;
                self.last_note = Some(i);
                if !self.drums() {
                    self.pitch_classes[(p % 12) as usize] += 1;
                }
            }
            TokenKind::Drum(_) => {
                self.notes_in_bar += 1;
                self.last_note = Some(i);
            }
            // A fill is written over its hole, not after the window around it: the window's
            // notes ring elsewhere (its pitches still tell the key).
            TokenKind::FillStart => self.ends.clear(),
            TokenKind::Duration(beats) => {
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
    use midigpt_tokenize::Vocab;

    fn clock_over(tokens: &[&str]) -> (Clock, Vec<TokenId>) {
        let vocab = Vocab::new(tokens.iter().map(|t| t.to_string()));
        let ids = tokens.iter().map(|t| vocab.get(t).unwrap()).collect();
        (Clock::new(Arc::new(TokenTable::new(&vocab, Some(8)))), ids)
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
        let (mut clock, ids) = clock_over(&tokens);
        clock.advance(&ids[..6], 0);
        assert_eq!(
            (clock.bars, clock.metre, clock.notes_in_bar),
            (1, (3, 4), 1)
        );
        assert_eq!(clock.sounding_at(1.0), 1);
        assert_eq!(clock.sounding_at(2.0), 0);
        clock.advance(&ids, 0);
        // The second bar starts after 3 quarters; position 8 of 6/8 is one eighth-note beat in.
        assert_eq!((clock.bar_start, clock.now), (3.0, 3.5));
        assert_eq!(clock.seconds(3.0), 3.0, "60 quarters per minute");
        assert_eq!(clock.notes_in_bar, 0);
        assert_eq!(
            (clock.bar_starts.as_slice(), clock.ids.len()),
            ([0, 6].as_slice(), 9)
        );
        assert_eq!(
            (clock.first_position, clock.positions_in_bar()),
            (Some(2), 48)
        );
    }

    #[test]
    fn the_new_part_is_told_apart_from_the_prompt() {
        let tokens = [
            "BOS_None",
            "Bar_None",
            "Position_0",
            "Tempo_60.0",
            "Program_0",
            "Pitch_62",
            "Duration_4.0.8",
            // The new part.
            "Program_0",
            "Pitch_65",
            "Program_-1",
            "Pitch_64",
            "Tempo_90.0",
        ];
        let (mut clock, ids) = clock_over(&tokens);
        clock.advance(&ids[..5], 7);
        assert_eq!(clock.prompt_end, None, "the prompt is not all read");
        clock.advance(&ids, 7);
        // One bar, whose note rings four quarters at 60 a minute.
        assert_eq!(clock.prompt_end, Some((1, 4.0)));
        assert_eq!(clock.new_programs, [0, -1]);
        assert!(clock.new_tempo && clock.drums());
        // A pitch under the drums' program names no note.
        assert_eq!(clock.pitch_classes.iter().sum::<usize>(), 2);
        assert_eq!((clock.pitch_classes[2], clock.pitch_classes[5]), (1, 1));
        assert_eq!(clock.last, Some(TokenKind::Tempo(90.0)));
    }
}
