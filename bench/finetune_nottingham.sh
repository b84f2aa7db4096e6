#!/usr/bin/env bash
# Fine-tuning the built-in model on 40 Nottingham folk tunes (jigs in 6/8, waltzes in 3/4,
# reels in 4/4), 10 other tunes held out; against the built-in model as it is and a model of
# the same shape (context 1,024, two windows a step) trained from scratch for as many steps
# as the fine-tune took (so for about as long).
#
#   bench/finetune_nottingham.sh NOTTINGHAM_MIDI_DIR [OUT]   e.g. ../shared/data/midi/nottingham/MIDI
#
# Prints each model's validation loss on the held-out tunes (`midigpt eval`; one of the ten
# goes to the training split, as `prepare` always keeps one file for training), the seconds
# each run took, and `midigpt metrics --reference` of PIECES (32) pieces of 16 bars from each
# model against the held-out tunes; OUT (default /tmp/midigpt-finetune) keeps everything.
set -euo pipefail
src=${1:?usage: bench/finetune_nottingham.sh NOTTINGHAM_MIDI_DIR [OUT]}
src=$(cd "$src" && pwd)
out=${2:-/tmp/midigpt-finetune}
root=$(cd "$(dirname "$0")/.." && pwd)
exe=$("$root/bench/midigpt.sh")  # PROFILE=dev builds faster
mkdir -p "$out/train" "$out/held"
# Every 20th jig, every 3rd waltz and every 30th reel, in name order: 14+13+13 to train on,
# the next 4+3+3 held out.
pick() { ls "$src" | grep "^$1" | sort -V | awk -v n="$2" 'NR % n == 1' | head -"$3"; }
split() {
    local i=0
    for f in $(pick "$1" "$2" $(($3 + $4))); do
        i=$((i + 1))
        if [ $i -le "$3" ]; then ln -sf "$src/$f" "$out/train/"; else ln -sf "$src/$f" "$out/held/"; fi
    done
}
split jigs 20 14 3; ln -sf "$src/jigs10.mid" "$out/held/"  # 17 jigs fall on every 20th
split waltzes 3 13 3
split reels 30 13 3
echo "$(ls "$out/train" | wc -l) tunes to train on, $(ls "$out/held" | wc -l) held out"
[ -s "$out/held-data/meta.json" ] ||
    "$exe" prepare "$out/held" --out "$out/held-data" --like builtin --val-fraction 1 >/dev/null
timed() { local t0=$SECONDS; "$@"; echo "$((SECONDS - t0)) s: $*"; }
[ -e "$out/fine-tuned/train_info.json" ] ||
    timed "$exe" train --init builtin --data "$out/train" --out "$out/fine-tuned"
steps=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['steps'])" "$out/fine-tuned/train_info.json")
[ -e "$out/scratch/train_info.json" ] ||
    timed "$exe" train --data "$out/fine-tuned/data" --out "$out/scratch" \
        --set block_size=1024 --set batch_size=2 --set max_iters="$steps" \
        --set lr_decay_iters="$steps" --set eval_interval=15 --set eval_iters=5 \
        --set checkpoint_interval=15 --set keep_last=1
for model in builtin fine-tuned scratch; do
    flag=(); [ $model = builtin ] || flag=(--model "$out/$model")
    echo "$model: $("$exe" eval "${flag[@]}" --data "$out/held-data")"
    for seed in $(seq 0 $((${PIECES:-32} - 1))); do
        [ -e "$out/pieces-$model/sample-$seed.mid" ] ||
            "$exe" generate "${flag[@]}" --bars 16 --seed "$seed" --out "$out/pieces-$model" >/dev/null
    done
    "$exe" metrics "$out/pieces-$model" --reference "$out/held" --plot "$out/metrics-$model.png" |
        tee "$out/metrics-$model.txt"
done
