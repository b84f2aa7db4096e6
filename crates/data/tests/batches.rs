//! Batches from shards written by `prepare`: the path a training run takes through the data.

use std::path::Path;

use midigpt_data::{load_meta, prepare, Batcher, NoProgress, PrepareOptions, Shard, Split};
use midigpt_tokenize::builtin;

#[test]
fn batches_from_prepared_shards() {
    let midi = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tokenize/tests/data/midi");
    let out = tempfile::tempdir().unwrap();
    let mut options = PrepareOptions::new(&midi, out.path());
    options.val_fraction = 0.3;
    prepare(builtin("remi").unwrap(), &options, &NoProgress).unwrap();

    let meta = load_meta(out.path()).unwrap();
    let train = Shard::open_split(out.path(), &meta, Split::Train).unwrap();
    assert_eq!(train.len() as u64, meta.counts.tokens_train);
    let mut batcher = Batcher::new(Split::Train, 4, 32, 1337);
    for _ in 0..10 {
        let batch = batcher.next_batch(&train).unwrap();
        assert_eq!(batch.x.len(), 4 * 32);
        assert!(batch
            .x
            .iter()
            .chain(&batch.y)
            .all(|&id| (id as usize) < meta.vocab_size));
        // Row by row, y is x moved one id to the left.
        for (x, y) in batch.x.chunks(32).zip(batch.y.chunks(32)) {
            assert_eq!(x[1..], y[..31]);
        }
    }
}
