#!/usr/bin/env bash
# Full-disk test: runs prepare, train and generate on an 8 MB tmpfs until it is full, and checks
# that each stops with an error that says so (and what to do), that what was written before
# stays whole (the dataset, complete checkpoints), and that `train --resume` finishes the run
# once there is room again. Needs root (it mounts the tmpfs).
#
#   scripts/full_disk.sh [BINARY]        (default target/release/midigpt)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/midigpt}")
fixtures=$PWD/crates/tokenize/tests/data/midi
disk=$(mktemp -d)
trap 'umount "$disk" 2>/dev/null || true; rmdir "$disk"' EXIT
mount -t tmpfs -o size=8M tmpfs "$disk"

fail() { echo "FAILED: $*" >&2; exit 1; }
fill() { fallocate -l "$(( $(df --output=avail -k "$disk" | tail -1) - ${1:-0} ))K" "$disk/filler" || true; }
# Runs midigpt, expecting a full-disk failure; checks the message and that nothing panicked.
refused_full() {
    local out
    if out=$("$bin" "$@" 2>&1); then fail "midigpt $* succeeded on a full disk"; fi
    grep -q "panicked" <<<"$out" && fail "midigpt $* panicked: $out"
    grep -q "No space left on device" <<<"$out" || fail "midigpt $*: no word of the disk: $out"
    grep -q "hint: the disk is full" <<<"$out" || fail "midigpt $*: no hint: $out"
}
no_temporaries() {
    local left
    left=$(find "$1" -name '*.tmp' -o -name '.tmp-*' -o -name '*.tmp.png')
    [[ -z $left ]] || fail "temporary files left: $left"
}

echo "== prepare"
"$bin" prepare "$fixtures" --out "$disk/data" >/dev/null
cp -r "$disk/data" /tmp/full-disk-data.$$
fill
refused_full prepare "$fixtures" --out "$disk/data" --transpose -2..2
diff -r "$disk/data" /tmp/full-disk-data.$$ >/dev/null || fail "the previous dataset changed"
rm -rf /tmp/full-disk-data.$$
no_temporaries "$disk/data"
rm "$disk/filler"
echo "prepare: refused with a clear error; the previous dataset is whole"

echo "== train"
sets=(--set n_layer=1 --set n_embd=64 --set n_head=2 --set block_size=64 --set batch_size=4
      --set max_iters=40 --set checkpoint_interval=5 --set eval_interval=5 --set eval_iters=1
      --set keep_last=2 --set sample_interval=0)
fill 2500  # room for one checkpoint (about 1.6 MB), not two
refused_full train --data "$disk/data" --out "$disk/run" "${sets[@]}"
steps=$(find "$disk/run/checkpoints" -maxdepth 1 -name 'step-*' | wc -l)
[[ $steps -ge 1 ]] || fail "no checkpoint was written before the disk filled"
for ckpt in "$disk"/run/checkpoints/step-*; do
    [[ -s $ckpt/model.safetensors ]] || fail "$ckpt is incomplete"
done
no_temporaries "$disk/run"
"$bin" eval --model "$disk/run" --data "$disk/data" >/dev/null || fail "eval cannot read the checkpoints"
rm "$disk/filler"
"$bin" train --data "$disk/data" --out "$disk/run" --resume >/dev/null 2>&1 ||
    fail "train --resume did not finish once there was room"
grep -q '"step":40' <(tr -d ' ' <"$disk/run/metrics.jsonl") || fail "the resumed run did not reach step 40"
echo "train: stopped with a clear error, $steps complete checkpoint(s) kept; --resume finished the run"

echo "== generate"
fill
refused_full generate --model "$disk/run" --out "$disk/samples" --num-samples 3 --max-tokens 300
find "$disk/samples" -name '*.mid' -size 0 | grep -q . && fail "an empty sample was left"
no_temporaries "$disk"
echo "generate: stopped with a clear error, no partial sample"
echo "full-disk test passed"
