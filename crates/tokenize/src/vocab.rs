//! The vocabulary: token strings ⇄ ids, in MidiTok's order.

use std::collections::HashMap;

use crate::{TokenId, TokenizeError};

/// Token strings (`Type_Value`, MidiTok's spelling) and their ids (their positions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocab {
    tokens: Vec<String>,
    ids: HashMap<String, TokenId>,
}

impl Vocab {
    /// Builds a vocabulary from tokens in id order. Duplicates keep their first id.
    pub fn new(tokens: impl IntoIterator<Item = String>) -> Self {
        let mut vocab = Vocab::default();
        for token in tokens {
            vocab.push(token);
        }
        vocab
    }

    /// Appends a token (if new) and returns its id.
    pub fn push(&mut self, token: String) -> TokenId {
        if let Some(&id) = self.ids.get(&token) {
            return id;
        }
        let id = self.tokens.len() as TokenId;
        self.ids.insert(token.clone(), id);
        self.tokens.push(token);
        id
    }

    /// Id of a token string.
    pub fn id(&self, token: &str) -> Result<TokenId, TokenizeError> {
        self.ids
            .get(token)
            .copied()
            .ok_or_else(|| TokenizeError::UnknownToken(token.to_string()))
    }

    /// Id of a token string, if present.
    pub fn get(&self, token: &str) -> Option<TokenId> {
        self.ids.get(token).copied()
    }

    /// Token string of an id.
    pub fn token(&self, id: TokenId) -> Result<&str, TokenizeError> {
        self.tokens
            .get(id as usize)
            .map(String::as_str)
            .ok_or(TokenizeError::UnknownId {
                id,
                size: self.tokens.len(),
            })
    }

    /// All tokens in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The begin-of-sequence token (`BOS_None`), which every generated sequence starts from.
    pub fn bos(&self) -> Option<TokenId> {
        self.get("BOS_None")
    }

    /// The end-of-sequence token (`EOS_None`): a model ends a piece by drawing it.
    pub fn eos(&self) -> Option<TokenId> {
        self.get("EOS_None")
    }

    /// The padding token (`PAD_None`).
    pub fn pad(&self) -> Option<TokenId> {
        self.get("PAD_None")
    }

    /// The mask token (`MASK_None`).
    pub fn mask(&self) -> Option<TokenId> {
        self.get("MASK_None")
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}
