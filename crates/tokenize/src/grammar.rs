//! Which token may follow which: a token-type graph, as MidiTok's `tokens_types_graph`.
//!
//! Generation masks the tokens the graph forbids, so every sampled sequence decodes into the
//! events it spells. A token's type is the part of its name before the first `_`. A BPE token
//! stands for several base tokens: it may follow what its first base token may follow, what
//! follows it is what may follow its last, and it is never drawn if its own base tokens break
//! the graph.

use std::collections::HashMap;

use crate::{TokenId, Vocab};

/// The token-type graph of a tokenizer, resolved to ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grammar {
    /// Type index of each token id's first and last base token (`SPECIAL` for special
    /// tokens, `NEVER` for a BPE token whose base tokens break the graph).
    ends: Vec<(u8, u8)>,
    /// For each type, the bitmask of the types allowed next.
    next: Vec<u64>,
    /// Types allowed to start a sequence.
    first: u64,
    /// Id of `EOS_None`, allowed after any token, if the vocabulary has one.
    eos: Option<TokenId>,
}

const SPECIAL: u8 = u8::MAX;
const NEVER: u8 = u8::MAX - 1;

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
        let ends = vocab
            .tokens()
            .iter()
            .map(|t| {
                let kind = t.split('_').next().unwrap_or(t);
                let kind = index.get(kind).copied().unwrap_or(SPECIAL);
                (kind, kind)
            })
            .collect();
        Grammar {
            ends,
            next: rules.iter().map(|(_, after)| bits(after)).collect(),
            first: bits(first),
            eos: vocab.eos(),
        }
    }

    /// The same graph over tokens that each stand for a run of this grammar's tokens (BPE:
    /// `expansions[id]` are the base ids of token `id`); `eos` is the new vocabulary's end
    /// token.
    pub fn over_expansions(&self, expansions: &[Vec<TokenId>], eos: Option<TokenId>) -> Grammar {
        let ends = expansions
            .iter()
            .map(|base| {
                let kinds: Vec<u8> = base
                    .iter()
                    .map(|&b| self.ends.get(b as usize).map_or(NEVER, |e| e.0))
                    .collect();
                match kinds.as_slice() {
                    [] => (NEVER, NEVER),
                    [k] => (*k, *k),
                    // Special tokens are never merged into others: such a token is no event.
                    _ if kinds.iter().any(|&k| k >= NEVER) => (NEVER, NEVER),
                    _ if kinds
                        .windows(2)
                        .all(|w| self.next[w[0] as usize] & (1 << w[1]) != 0) =>
                    {
                        (kinds[0], kinds[kinds.len() - 1])
                    }
                    _ => (NEVER, NEVER),
                }
            })
            .collect();
        Grammar {
            ends,
            next: self.next.clone(),
            first: self.first,
            eos,
        }
    }

    /// Whether `next` may follow `prev` (`None`: at the start of a sequence). Special tokens
    /// are never generated, except EOS, which may end a sequence after any non-special token.
    pub fn allows(&self, prev: Option<TokenId>, next: TokenId) -> bool {
        let last = prev.and_then(|p| self.ends.get(p as usize)).map(|e| e.1);
        if Some(next) == self.eos {
            // Not right after BOS: an empty piece is no piece.
            return last.is_some_and(|k| k != SPECIAL);
        }
        let Some(&(kind, _)) = self.ends.get(next as usize) else {
            return false;
        };
        if kind >= NEVER {
            return false;
        }
        let allowed = match last {
            // At the start, or after a special token (e.g. BOS): what a sequence may start with.
            None | Some(SPECIAL) => self.first,
            Some(NEVER) => 0,
            Some(k) => self.next[k as usize],
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
