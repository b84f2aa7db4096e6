//! What every id of a vocabulary means, read once from MidiTok's spelling of its tokens.
//!
//! `Bar_None` starts a bar, `TimeSig_n/d` gives its metre, `Position_p` is `p` ticks (of
//! [`TokenTable::ticks_per_beat`]) into the bar, `Duration_a.b.r` is `a + b/r` beats and
//! `Tempo_x` is `x` quarter notes per minute. Generation controls, infilling and front ends
//! ask this table instead of parsing token names themselves.

use crate::infill::{FILL_END, FILL_START, INFILL_BAR};
use crate::{TokenId, Vocab};

/// Position ticks per beat of a scheme that does not say (MidiTok's default `beat_res`).
pub const DEFAULT_TICKS_PER_BEAT: u32 = 8;

/// What one token id means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TokenKind {
    /// A new bar (`Bar_None`).
    Bar,
    /// Ticks into the bar, at [`TokenTable::ticks_per_beat`].
    Position(u32),
    /// A metre: numerator and denominator.
    TimeSig(u8, u8),
    /// Quarter notes per minute.
    Tempo(f64),
    /// An instrument (GM program; -1 for drums).
    Program(i16),
    /// A pitched note (`Pitch_x`, MIDI-like `NoteOn_x`).
    Pitch(u8),
    /// A drum hit (`PitchDrum_x`, MIDI-like `DrumOn_x`).
    Drum(u8),
    /// A note's velocity.
    Velocity(u8),
    /// A note length, in beats.
    Duration(f64),
    /// `Infill_Bar`: a bar of the context whose notes are filled later.
    InfillBar,
    /// `FillBar_Start`: the fill begins.
    FillStart,
    /// `FillBar_End`: the fill ends.
    FillEnd,
    /// `PAD_None`.
    Pad,
    /// `BOS_None`.
    Bos,
    /// `EOS_None`.
    Eos,
    /// `MASK_None`.
    Mask,
    /// Anything else: time shifts, note-offs, other specials, BPE merges.
    Other,
}

impl TokenKind {
    /// Reads a token name as MidiTok spells it (`Type_Value`).
    pub fn parse(token: &str) -> TokenKind {
        // A BPE merge ("Bar_None Position_0") stands for several tokens at once.
        if token.contains(' ') {
            return TokenKind::Other;
        }
        let whole = match token {
            INFILL_BAR => Some(TokenKind::InfillBar),
            FILL_START => Some(TokenKind::FillStart),
            FILL_END => Some(TokenKind::FillEnd),
            "PAD_None" => Some(TokenKind::Pad),
            "BOS_None" => Some(TokenKind::Bos),
            "EOS_None" => Some(TokenKind::Eos),
            "MASK_None" => Some(TokenKind::Mask),
            _ => None,
        };
        let (kind, value) = token.split_once('_').unwrap_or((token, ""));
        let typed = || match kind {
            "Bar" => Some(TokenKind::Bar),
            "Position" => value.parse().ok().map(TokenKind::Position),
            "TimeSig" => {
                let (n, d) = value.split_once('/')?;
                Some(TokenKind::TimeSig(n.parse().ok()?, d.parse().ok()?))
            }
            "Tempo" => value.parse().ok().map(TokenKind::Tempo),
            "Program" => value.parse().ok().map(TokenKind::Program),
            "Pitch" | "NoteOn" => value.parse().ok().map(TokenKind::Pitch),
            "PitchDrum" | "DrumOn" => value.parse().ok().map(TokenKind::Drum),
            "Velocity" => value.parse().ok().map(TokenKind::Velocity),
            "Duration" => beats(value).map(TokenKind::Duration),
            _ => None,
        };
        whole.or_else(typed).unwrap_or(TokenKind::Other)
    }
}

/// Beats of a MidiTok duration value `a.b.r`: `a + b/r`.
fn beats(value: &str) -> Option<f64> {
    let mut parts = value.split('.').map(|p| p.parse::<f64>().ok());
    match (parts.next()??, parts.next()??, parts.next()??, parts.next()) {
        (whole, ticks, res, None) if res > 0.0 => Some(whole + ticks / res),
        _ => None,
    }
}

/// The meaning of every id of a tokenizer's vocabulary, and its position resolution. A
/// tokenizer builds it once ([`crate::Tokenizer::table`]) and shares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenTable {
    kinds: Vec<TokenKind>,
    ticks_per_beat: u32,
}

impl TokenTable {
    /// Reads `vocab`; `ticks_per_beat` is the tokenizer's finest position resolution
    /// (`None` for a scheme without one: [`DEFAULT_TICKS_PER_BEAT`]).
    pub fn new(vocab: &Vocab, ticks_per_beat: Option<u32>) -> TokenTable {
        TokenTable {
            kinds: vocab.tokens().iter().map(|t| TokenKind::parse(t)).collect(),
            ticks_per_beat: ticks_per_beat.unwrap_or(DEFAULT_TICKS_PER_BEAT).max(1),
        }
    }

    /// What `id` means (an id outside the vocabulary is [`TokenKind::Other`]).
    pub fn kind(&self, id: TokenId) -> TokenKind {
        self.kinds
            .get(id as usize)
            .copied()
            .unwrap_or(TokenKind::Other)
    }

    /// Position ticks per beat (a beat is the metre's 1/d note).
    pub fn ticks_per_beat(&self) -> u32 {
        self.ticks_per_beat
    }

    /// Every id with its meaning, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (TokenId, TokenKind)> + '_ {
        (self.kinds.iter().enumerate()).map(|(i, k)| (i as TokenId, *k))
    }

    /// The ids for which `f` holds, in id order.
    pub fn ids(&self, f: impl Fn(TokenKind) -> bool) -> Vec<TokenId> {
        self.iter().filter(|(_, k)| f(*k)).map(|(i, _)| i).collect()
    }

    /// The first id for which `f` holds.
    pub fn first(&self, f: impl Fn(TokenKind) -> bool) -> Option<TokenId> {
        self.iter().find(|(_, k)| f(*k)).map(|(i, _)| i)
    }

    /// Whether the vocabulary has a token for which `f` holds.
    pub fn has(&self, f: impl Fn(TokenKind) -> bool) -> bool {
        self.kinds.iter().any(|k| f(*k))
    }

    /// The bar token (`Bar_None`).
    pub fn bar(&self) -> Option<TokenId> {
        self.first(|k| k == TokenKind::Bar)
    }

    /// The id of `Program_p` (-1 = drums).
    pub fn program(&self, program: i16) -> Option<TokenId> {
        self.first(|k| k == TokenKind::Program(program))
    }

    /// The id of `TimeSig_n/d`.
    pub fn time_sig(&self, numerator: u8, denominator: u8) -> Option<TokenId> {
        self.first(|k| k == TokenKind::TimeSig(numerator, denominator))
    }

    /// The metres (numerator, denominator) of the `TimeSig` tokens, in id order.
    pub fn time_sigs(&self) -> Vec<(u8, u8)> {
        let metre = |(_, k)| match k {
            TokenKind::TimeSig(n, d) => Some((n, d)),
            _ => None,
        };
        self.iter().filter_map(metre).collect()
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{builtin, with_infill_tokens, Tokenizer};

    #[test]
    fn miditok_spellings_parse() {
        use TokenKind::*;
        let cases = [
            ("Bar_None", Bar),
            ("Position_12", Position(12)),
            ("TimeSig_3/4", TimeSig(3, 4)),
            ("TimeSig_6/8", TimeSig(6, 8)),
            ("Tempo_100.32", Tempo(100.32)),
            ("Program_-1", Program(-1)),
            ("Program_33", Program(33)),
            ("Pitch_60", Pitch(60)),
            ("NoteOn_60", Pitch(60)),
            ("PitchDrum_36", Drum(36)),
            ("DrumOn_36", Drum(36)),
            ("Velocity_79", Velocity(79)),
            ("Duration_1.4.8", Duration(1.5)),
            ("Duration_0.1.8", Duration(0.125)),
            ("Infill_Bar", InfillBar),
            ("FillBar_Start", FillStart),
            ("FillBar_End", FillEnd),
            ("PAD_None", Pad),
            ("BOS_None", Bos),
            ("EOS_None", Eos),
            ("MASK_None", Mask),
            ("TimeShift_1.0.8", Other),
            ("NoteOff_60", Other),
            // A triplet duration counts grid steps, not MidiTok's beats.
            ("Duration_12", Other),
            // BPE merges, with and without MidiTok's word mark.
            ("Bar_None Position_0", Other),
            ("▁Bar_None Position_0", Other),
            ("Position_x", Other),
        ];
        for (token, kind) in cases {
            assert_eq!(TokenKind::parse(token), kind, "{token}");
        }
    }

    #[test]
    fn a_table_knows_its_tokenizer() {
        let plus = builtin("remi-plus").unwrap();
        let table = plus.table();
        assert_eq!(table.len(), plus.vocab_size());
        assert_eq!(table.ticks_per_beat(), 8);
        assert_eq!(table.bar(), plus.vocab().get("Bar_None"));
        assert_eq!(table.program(-1), plus.vocab().get("Program_-1"));
        assert_eq!(table.time_sig(3, 4), plus.vocab().get("TimeSig_3/4"));
        assert_eq!(table.time_sigs().len(), 9);
        assert!(table.time_sigs().contains(&(12, 8)));
        assert_eq!(table.kind(table.bar().unwrap()), TokenKind::Bar);
        assert_eq!(table.kind(u32::MAX), TokenKind::Other);
        assert!(table.has(|k| matches!(k, TokenKind::Tempo(_))));
        let positions = table.ids(|k| matches!(k, TokenKind::Position(_)));
        assert_eq!(positions.len(), 12 * 8, "twelve beats of 12/8 at 8 ticks");
        let remi = builtin("remi").unwrap();
        assert!(!remi.table().has(|k| matches!(k, TokenKind::Program(_))));
        let midi_like = builtin("midi-like").unwrap().table();
        assert!(midi_like.has(|k| matches!(k, TokenKind::Pitch(_))));
        assert!(!midi_like.has(|k| k == TokenKind::Bar));
        let triplet = builtin("triplet").unwrap().table();
        assert_eq!(triplet.ticks_per_beat(), DEFAULT_TICKS_PER_BEAT);
        let infill = with_infill_tokens(plus.as_ref()).unwrap().table();
        assert!(infill.has(|k| k == TokenKind::FillEnd));
    }

    #[test]
    fn the_finest_beat_res_is_the_resolution() {
        use serde_json::json;
        let config = crate::miditok::MidiTokConfig::defaults_with(&[(
            "beat_res",
            json!({"0_4": 4, "4_12": 12}),
        )])
        .unwrap();
        let remi = crate::Remi::new(config).unwrap();
        assert_eq!(remi.table().ticks_per_beat(), 12);
        assert_eq!(
            crate::from_json(&remi.to_json())
                .unwrap()
                .table()
                .ticks_per_beat(),
            12
        );
    }
}
