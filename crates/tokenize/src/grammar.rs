//! Which token may follow which: a token-type graph, as MidiTok's `tokens_types_graph`.
//!
//! Generation masks the tokens the graph forbids, so every sampled sequence decodes into the
//! events it spells. A token's type is the part of its name before the first `_`.

use std::collections::HashMap;

use crate::{TokenId, Vocab};

/// The token-type graph of a tokenizer, resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grammar {
    /// Type index of each token id (`u8::MAX` for special tokens).
    kind_of: Vec<u8>,
    /// For each type, the bitmask of the types allowed next.
    next: Vec<u64>,
    /// Types allowed to start a sequence.
    first: u64,
    /// Id of `EOS_None`, allowed after any token, if the vocabulary has one.
    eos: Option<TokenId>,
}

const SPECIAL: u8 = u8::MAX;

impl Grammar {
    /// Builds a grammar from `(type, types allowed after it)` rules; `first` lists the types
    /// a sequence may start with. Types absent from the rules may not be generated.
    pub fn new(vocab: &Vocab, rules: &[(&str, Vec<&str>)], first: &[&str]) -> Grammar {
        let index: HashMap<&str, u8> = rules
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (*name, i as u8))
            .collect();
        let bits = |names: &[&str]| {
            names
                .iter()
                .filter_map(|n| index.get(n))
                .fold(0u64, |m, i| m | 1 << i)
        };
        let kind_of = vocab
            .tokens()
            .iter()
            .map(|t| {
                let kind = t.split('_').next().unwrap_or(t);
                index.get(kind).copied().unwrap_or(SPECIAL)
            })
            .collect();
        Grammar {
            kind_of,
            next: rules.iter().map(|(_, after)| bits(after)).collect(),
            first: bits(first),
            eos: vocab.get("EOS_None"),
        }
    }

    /// Whether `next` may follow `prev` (`None`: at the start of a sequence). Special tokens
    /// are never generated, except EOS, which may end a sequence after any non-special token.
    pub fn allows(&self, prev: Option<TokenId>, next: TokenId) -> bool {
        if Some(next) == self.eos {
            // Not right after BOS: an empty piece is no piece.
            let kind = prev.and_then(|p| self.kind_of.get(p as usize));
            return kind.is_some_and(|k| *k != SPECIAL);
        }
        let Some(&kind) = self.kind_of.get(next as usize) else {
            return false;
        };
        if kind == SPECIAL {
            return false;
        }
        let allowed = match prev.and_then(|p| self.kind_of.get(p as usize)) {
            None => self.first,
            // After a special token (e.g. BOS) anything a sequence may start with.
            Some(&SPECIAL) => self.first,
            Some(&k) => self.next[k as usize],
        };
        allowed & (1 << kind) != 0
    }

    /// Sets `mask[id]` to whether id may follow `prev`, for every id of the vocabulary.
    pub fn fill_mask(&self, prev: Option<TokenId>, mask: &mut [bool]) {
        for (id, m) in mask.iter_mut().enumerate() {
            *m = self.allows(prev, id as TokenId);
        }
    }
}
