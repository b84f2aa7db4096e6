//! Byte-pair encoding over any tokenizer, stored the way MidiTok 3.1 stores it.
//!
//! Each base id becomes one unicode character (`chr(id + 33)`, MidiTok's `CHR_ID_START`), a
//! sequence becomes strings of such characters split into "words" (by default one per bar:
//! merges never cross a bar), and a Hugging Face `tokenizers` BPE model learns and applies
//! the merges. The saved JSON holds the base tokenizer's fields plus `_vocab_base`,
//! `_vocab_base_byte_to_token` and `_model` (the Hugging Face tokenizer as a JSON string),
//! so a MidiTok `tokenizer.json` trained with BPE loads here and ours loads in MidiTok.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use ahash::AHashMap;
use compact_str::CompactString;
use midigpt_midi::Score;
use serde_json::{Map, Value};
use tokenizers::decoders::metaspace::Metaspace as MetaspaceDecoder;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::ModelWrapper;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::AddedToken;

use crate::{TokenId, TokenTable, TokenizeError, Tokenizer, Vocab};

/// Offset from a base id to its character (MidiTok's `CHR_ID_START`): starting past the
/// space and control characters keeps every token printable and whitespace-free.
const CHR_ID_START: u32 = 33;

/// The character MidiTok's Metaspace pre-tokenizer puts in front of every word.
const WORD_MARK: char = '\u{2581}';

/// How sequences are cut into words before BPE (MidiTok's `encode_ids_split`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Split {
    /// A new word at each id for which the base tokenizer's `starts_word` holds.
    Bar,
    /// One word per sequence.
    No,
}

/// A tokenizer whose ids are BPE tokens over a base tokenizer's ids.
pub struct Bpe {
    base: Box<dyn Tokenizer>,
    hf: tokenizers::Tokenizer,
    /// `_model`, serialised once so that `to_json` cannot fail.
    model_json: String,
    split: Split,
    /// Base id → its character.
    chars: Vec<char>,
    /// BPE id → the base ids it stands for.
    expansions: Vec<Vec<TokenId>>,
    vocab: Vocab,
    /// What each id means (merges are [`crate::TokenKind::Other`]), read once.
    table: Arc<TokenTable>,
}

impl std::fmt::Debug for Bpe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bpe")
            .field("split", &self.split)
            .field("base_vocab_size", &self.chars.len())
            .field("vocab_size", &self.vocab.len())
            .finish_non_exhaustive()
    }
}

fn bpe_err(e: impl std::fmt::Display) -> TokenizeError {
    TokenizeError::Bpe(e.to_string())
}

/// The base tokenizer's `config` object, if its JSON has one.
fn base_config(base: &dyn Tokenizer) -> Value {
    base.to_json().get("config").cloned().unwrap_or(Value::Null)
}

fn split_mode(config: &Value) -> Result<Split, TokenizeError> {
    // MidiTok's default is "bar".
    match config.get("encode_ids_split").map(Value::as_str) {
        None | Some(Some("bar")) => Ok(Split::Bar),
        Some(Some("no")) => Ok(Split::No),
        Some(Some(other)) => Err(TokenizeError::Unsupported(format!(
            "encode_ids_split {other:?} (supported: \"bar\", \"no\")"
        ))),
        Some(None) => Err(TokenizeError::Config(
            "encode_ids_split is not a string".into(),
        )),
    }
}

/// Ids of the configured special tokens (MidiTok's `config.special_tokens`), in order.
fn special_ids(base: &dyn Tokenizer, config: &Value) -> Vec<TokenId> {
    let names = config.get("special_tokens").and_then(Value::as_array);
    names
        .into_iter()
        .flatten()
        .filter_map(|name| base.vocab().get(name.as_str()?))
        .collect()
}

/// Characters of the base ids, `chr(id + CHR_ID_START)`, as MidiTok assigns them.
fn default_chars(base_size: usize, split: Split) -> Result<Vec<char>, TokenizeError> {
    (0..base_size as u32)
        .map(|id| {
            let c =
                char::from_u32(id + CHR_ID_START).filter(|&c| c != WORD_MARK || split == Split::No);
            c.ok_or_else(|| {
                TokenizeError::Unsupported(format!(
                    "BPE over a base vocabulary of {base_size} tokens (id {id} has no character)"
                ))
            })
        })
        .collect()
}

impl Bpe {
    /// Learns BPE merges over `base`'s id sequences until the vocabulary holds `vocab_size`
    /// tokens (fewer if the corpus runs out of pairs), exactly as MidiTok's
    /// `tokenizer.train(vocab_size, model="BPE")` does.
    ///
    /// Sequences are consumed one at a time and only distinct words are kept with their
    /// counts, so memory grows with the number of distinct bars, not with the corpus.
    pub fn train(
        base: Box<dyn Tokenizer>,
        sequences: impl Iterator<Item = Vec<TokenId>>,
        vocab_size: usize,
    ) -> Result<Bpe, TokenizeError> {
        let config = base_config(base.as_ref());
        let split = split_mode(&config)?;
        let base_size = base.vocab_size();
        if vocab_size <= base_size {
            return Err(TokenizeError::Config(format!(
                "BPE vocab_size {vocab_size} must exceed the base vocabulary size {base_size}"
            )));
        }
        let chars = default_chars(base_size, split)?;

        let mut counts: AHashMap<CompactString, u64> = AHashMap::new();
        let mut word = String::new();
        for sequence in sequences {
            check_ids(&sequence, base_size)?;
            for ids in words(base.as_ref(), split, &sequence) {
                word.clear();
                if split == Split::Bar {
                    // What the Metaspace pre-tokenizer does to each word in MidiTok.
                    word.push(WORD_MARK);
                }
                word.extend(ids.iter().map(|&id| chars[id as usize]));
                match counts.get_mut(word.as_str()) {
                    Some(count) => *count += 1,
                    None => {
                        counts.insert(CompactString::from(word.as_str()), 1);
                    }
                }
            }
        }

        let specials: Vec<AddedToken> = special_ids(base.as_ref(), &config)
            .into_iter()
            .map(|id| AddedToken::from(chars[id as usize].to_string(), true))
            .collect();
        let mut builder = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .show_progress(false)
            .special_tokens(specials)
            .initial_alphabet(chars.iter().copied().collect::<HashSet<char>>());
        let mut model = BPE::default();
        if split == Split::Bar {
            builder = builder
                .continuing_subword_prefix(String::new())
                .end_of_word_suffix(String::new());
            model.continuing_subword_prefix = Some(String::new());
            model.end_of_word_suffix = Some(String::new());
        }
        let trainer = builder.build();
        let added = trainer.do_train(&counts, &mut model).map_err(bpe_err)?;
        drop(counts);

        let mut hf = tokenizers::Tokenizer::new(model);
        if split == Split::Bar {
            hf.with_pre_tokenizer(Some(Metaspace::new(WORD_MARK, PrependScheme::Always, true)));
            hf.with_decoder(Some(MetaspaceDecoder::new(
                WORD_MARK,
                PrependScheme::Always,
                true,
            )));
        }
        hf.add_special_tokens(&added);
        Bpe::from_parts(base, hf, split, chars)
    }

    /// Loads BPE from a MidiTok-format `tokenizer.json` (`_model`, `_vocab_base`,
    /// `_vocab_base_byte_to_token`) over `base`, the tokenizer built from the same JSON's
    /// `config`. Fails if `base`'s vocabulary differs from the saved `_vocab_base`.
    pub fn from_json(json: &Value, base: Box<dyn Tokenizer>) -> Result<Bpe, TokenizeError> {
        let split = split_mode(&base_config(base.as_ref()))?;
        let field = |key: &str| {
            json.get(key)
                .ok_or_else(|| TokenizeError::Config(format!("BPE tokenizer without {key}")))
        };
        let model = field("_model")?
            .as_str()
            .ok_or_else(|| TokenizeError::Config("_model is not a string".into()))?;
        let hf = tokenizers::Tokenizer::from_str(model)
            .map_err(|e| TokenizeError::Config(format!("_model: {e}")))?;

        let vocab = base.vocab();
        let saved_base = field("_vocab_base")?
            .as_object()
            .ok_or_else(|| TokenizeError::Config("_vocab_base is not an object".into()))?;
        let consistent = saved_base.len() == vocab.len()
            && saved_base.iter().all(|(token, id)| {
                id.as_u64().is_some() && vocab.get(token).map(u64::from) == id.as_u64()
            });
        if !consistent {
            return Err(TokenizeError::Config(
                "_vocab_base differs from the vocabulary built from config".into(),
            ));
        }

        let bytes = field("_vocab_base_byte_to_token")?
            .as_object()
            .ok_or_else(|| {
                TokenizeError::Config("_vocab_base_byte_to_token is not an object".into())
            })?;
        let mut chars: Vec<Option<char>> = vec![None; vocab.len()];
        for (byte, token) in bytes {
            let mut it = byte.chars();
            let (Some(c), None) = (it.next(), it.next()) else {
                return Err(TokenizeError::Config(format!(
                    "_vocab_base_byte_to_token key {byte:?} is not one character"
                )));
            };
            let token = token.as_str().ok_or_else(|| {
                TokenizeError::Config("_vocab_base_byte_to_token value is not a string".into())
            })?;
            chars[vocab.id(token)? as usize] = Some(c);
        }
        let chars = chars
            .into_iter()
            .enumerate()
            .map(|(id, c)| {
                c.ok_or_else(|| {
                    TokenizeError::Config(format!(
                        "base id {id} has no byte in _vocab_base_byte_to_token"
                    ))
                })
            })
            .collect::<Result<Vec<char>, _>>()?;
        Bpe::from_parts(base, hf, split, chars)
    }

    /// Derives the BPE id → base ids table and the vocabulary, as MidiTok's
    /// `__create_vocab_learned_bytes_to_tokens` does.
    fn from_parts(
        base: Box<dyn Tokenizer>,
        hf: tokenizers::Tokenizer,
        split: Split,
        chars: Vec<char>,
    ) -> Result<Bpe, TokenizeError> {
        let ModelWrapper::BPE(model) = hf.get_model() else {
            return Err(TokenizeError::Unsupported(
                "a tokenizer model other than BPE (Unigram, WordPiece)".into(),
            ));
        };
        let prefix = model.continuing_subword_prefix.clone().unwrap_or_default();
        let suffix = model.end_of_word_suffix.clone().unwrap_or_default();
        let mark = match hf.get_pre_tokenizer() {
            Some(PreTokenizerWrapper::Metaspace(m)) => Some(m.get_replacement().to_string()),
            _ => None,
        };
        let char_ids: HashMap<char, TokenId> = chars
            .iter()
            .enumerate()
            .map(|(id, &c)| (c, id as TokenId))
            .collect();

        let size = hf.get_vocab_size(true);
        let mut expansions = Vec::with_capacity(size);
        let mut names = Vec::with_capacity(size);
        for id in 0..size as TokenId {
            let token = hf.id_to_token(id).ok_or_else(|| {
                TokenizeError::Config(format!("_model has no token with id {id}"))
            })?;
            let mut key = token.as_str();
            if !prefix.is_empty() {
                key = key.strip_prefix(prefix.as_str()).unwrap_or(key);
            }
            if !suffix.is_empty() {
                key = key.strip_suffix(suffix.as_str()).unwrap_or(key);
            }
            // A word-start token: MidiTok drops the mark when expanding it.
            let rest = mark.as_deref().and_then(|m| key.strip_prefix(m));
            let marked = rest.is_some();
            key = rest.unwrap_or(key);
            let ids = key
                .chars()
                .map(|c| {
                    char_ids.get(&c).copied().ok_or_else(|| {
                        TokenizeError::Config(format!(
                            "BPE token {token:?} holds {c:?}, which is no base token"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut name = if marked {
                WORD_MARK.to_string()
            } else {
                String::new()
            };
            let parts: Vec<&str> = ids
                .iter()
                .map(|&b| base.vocab().token(b))
                .collect::<Result<_, _>>()?;
            // Merged tokens read as their base tokens joined by spaces, e.g.
            // "▁Bar_None Position_0"; single base tokens keep their own names.
            name.push_str(&parts.join(" "));
            names.push(name);
            expansions.push(ids);
        }
        let vocab = Vocab::new(names);
        if vocab.len() != size {
            return Err(TokenizeError::Config(
                "BPE tokens with identical names (base token names contain spaces?)".into(),
            ));
        }
        let model_json = hf.to_string(false).map_err(bpe_err)?;
        let table = Arc::new(TokenTable::new(&vocab, Some(base.table().ticks_per_beat())));
        Ok(Bpe {
            table,
            base,
            hf,
            model_json,
            split,
            chars,
            expansions,
            vocab,
        })
    }

    /// The base ids that BPE token `id` stands for.
    pub fn base_ids(&self, id: TokenId) -> Option<&[TokenId]> {
        self.expansions.get(id as usize).map(Vec::as_slice)
    }

    /// The base tokenizer.
    pub fn base(&self) -> &dyn Tokenizer {
        self.base.as_ref()
    }

    /// BPE-encodes one sequence of base ids (MidiTok's `encode_token_ids`).
    pub fn encode_ids(&self, ids: &[TokenId]) -> Result<Vec<TokenId>, TokenizeError> {
        check_ids(ids, self.chars.len())?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let strings: Vec<String> = words(self.base.as_ref(), self.split, ids)
            .map(|w| w.iter().map(|&id| self.chars[id as usize]).collect())
            .collect();
        let encoding = self.hf.encode_fast(strings, false).map_err(bpe_err)?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Expands BPE ids back into base ids (MidiTok's `decode_token_ids`). An id outside
    /// the vocabulary is an error.
    pub fn decode_ids(&self, ids: &[TokenId]) -> Result<Vec<TokenId>, TokenizeError> {
        let mut out = Vec::with_capacity(ids.len() * 2);
        for &id in ids {
            let ids = self
                .expansions
                .get(id as usize)
                .ok_or(TokenizeError::UnknownId {
                    id,
                    size: self.expansions.len(),
                })?;
            out.extend_from_slice(ids);
        }
        Ok(out)
    }
}

fn check_ids(ids: &[TokenId], size: usize) -> Result<(), TokenizeError> {
    match ids.iter().find(|&&id| id as usize >= size) {
        Some(&id) => Err(TokenizeError::UnknownId { id, size }),
        None => Ok(()),
    }
}

/// Cuts a sequence into words: before each id that starts one, or not at all.
fn words<'a>(
    base: &'a dyn Tokenizer,
    split: Split,
    ids: &'a [TokenId],
) -> impl Iterator<Item = &'a [TokenId]> + 'a {
    let mut rest = ids;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = match split {
            Split::No => rest.len(),
            Split::Bar => rest[1..]
                .iter()
                .position(|&id| base.starts_word(id))
                .map_or(rest.len(), |p| p + 1),
        };
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

impl Tokenizer for Bpe {
    fn is_bpe(&self) -> bool {
        true
    }

    fn encode(&self, score: &Score) -> Result<Vec<Vec<TokenId>>, TokenizeError> {
        self.base
            .encode(score)?
            .iter()
            .map(|ids| self.encode_ids(ids))
            .collect()
    }

    fn decode(&self, sequences: &[Vec<TokenId>]) -> Result<Score, TokenizeError> {
        let base_ids = sequences
            .iter()
            .map(|ids| self.decode_ids(ids))
            .collect::<Result<Vec<_>, _>>()?;
        self.base.decode(&base_ids)
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn table(&self) -> Arc<TokenTable> {
        self.table.clone()
    }

    /// The base tokenizer's JSON plus `_vocab_base`, `_model` and
    /// `_vocab_base_byte_to_token`, in MidiTok's order.
    fn to_json(&self) -> Value {
        let mut json = match self.base.to_json() {
            Value::Object(map) => map,
            other => Map::from_iter([("config".to_string(), other)]),
        };
        let base_vocab = self.base.vocab().tokens().iter().enumerate();
        let vocab_base: Map<String, Value> = base_vocab
            .clone()
            .map(|(id, token)| (token.clone(), Value::from(id)))
            .collect();
        let bytes: Map<String, Value> = base_vocab
            .map(|(id, token)| (self.chars[id].to_string(), Value::from(token.as_str())))
            .collect();
        json.insert("_vocab_base".into(), Value::Object(vocab_base));
        json.insert("_model".into(), Value::from(self.model_json.as_str()));
        json.insert("_vocab_base_byte_to_token".into(), Value::Object(bytes));
        Value::Object(json)
    }

    fn one_stream(&self) -> bool {
        self.base.one_stream()
    }

    /// Whether the token's first base id starts a word. Under bar splitting a word's first
    /// id always begins a BPE token, so this marks the same boundaries as the base does.
    fn starts_word(&self, id: TokenId) -> bool {
        self.expansions
            .get(id as usize)
            .and_then(|ids| ids.first())
            .is_some_and(|&b| self.base.starts_word(b))
    }

    /// The base grammar over BPE tokens: each token is checked through its base tokens.
    fn grammar(&self) -> Option<crate::Grammar> {
        let base = self.base.grammar()?;
        Some(base.over_expansions(&self.expansions, self.vocab.eos()))
    }
}
