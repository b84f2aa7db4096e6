//! Training BPE on the base ids of the training split.

use midigpt_tokenize::{TokenId, Tokenizer};

use crate::DataError;

/// Whether this build can train BPE.
pub(crate) const AVAILABLE: bool = false;

/// Message of the error `--bpe` gives while BPE is not available.
pub(crate) const UNAVAILABLE: &str =
    "BPE (--bpe) is not available in this build: the tokenize crate provides no Bpe yet";

/// Trains BPE over `base` to `vocab_size` ids.
///
/// Once `midigpt_tokenize::Bpe` exists this becomes
/// `Ok(Box::new(Bpe::train(base, sequences.into_iter(), vocab_size)?))` and [`AVAILABLE`] true.
pub(crate) fn train(
    _base: Box<dyn Tokenizer>,
    _sequences: Vec<Vec<TokenId>>,
    _vocab_size: usize,
) -> Result<Box<dyn Tokenizer>, DataError> {
    Err(DataError::Option(UNAVAILABLE.into()))
}
