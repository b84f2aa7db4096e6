//! The key/value cache for generation: each layer's keys and values of the positions seen so
//! far, so that a new token costs one position's work instead of the whole context's.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// Keys and values of one attention layer, `(B, n_kv_head, T_so_far, head_size)` each.
#[derive(Debug, Clone)]
pub(crate) struct LayerCache<B: Backend> {
    kv: Option<(Tensor<B, 4>, Tensor<B, 4>)>,
}

impl<B: Backend> LayerCache<B> {
    /// Positions cached.
    pub(crate) fn len(&self) -> usize {
        self.kv.as_ref().map_or(0, |(k, _)| k.dims()[2])
    }

    /// Appends `k`, `v` `(B, nkv, T, hs)` and returns all keys and values `(B, nkv, S, hs)`.
    pub(crate) fn append(
        &mut self,
        k: Tensor<B, 4>,
        v: Tensor<B, 4>,
    ) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let (k, v) = match self.kv.take() {
            Some((k0, v0)) => (Tensor::cat(vec![k0, k], 2), Tensor::cat(vec![v0, v], 2)),
            None => (k, v),
        };
        self.kv = Some((k.clone(), v.clone()));
        (k, v)
    }
}

/// Per-layer keys and values for [`Gpt::forward_cached`](crate::Gpt::forward_cached).
///
/// Holds at most `block_size` positions; past that the caller starts a new cache from the
/// last tokens (positions are absolute, so old entries cannot be shifted).
#[derive(Debug, Clone)]
pub struct KvCache<B: Backend> {
    layers: Vec<LayerCache<B>>,
}

impl<B: Backend> KvCache<B> {
    /// An empty cache for a model with `n_layer` blocks.
    pub fn new(n_layer: usize) -> Self {
        Self {
            layers: vec![LayerCache { kv: None }; n_layer],
        }
    }

    /// Positions cached so far (the position of the next token).
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, LayerCache::len)
    }

    /// Whether no position is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of layers the cache was made for.
    pub fn n_layer(&self) -> usize {
        self.layers.len()
    }

    /// Forgets every position.
    pub fn clear(&mut self) {
        self.layers.iter_mut().for_each(|layer| layer.kv = None);
    }

    pub(crate) fn layer(&mut self, i: usize) -> &mut LayerCache<B> {
        &mut self.layers[i]
    }
}
