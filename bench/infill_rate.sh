#!/usr/bin/env bash
# Does learning to fill cost continuation quality? Two runs that differ only in infill_rate
# (0 and 0.5), trained for the same steps on the same data, then scored left to right on the
# whole validation split (plain windows) and on seeded infill holes.
#
#   bench/infill_rate.sh DATA OUT [STEPS]
#     e.g. bench/infill_rate.sh pop909-data /tmp/infill-rate 800
#
# DATA: prepared with --infill-tokens. CONFIG (default models/pop909/train.toml) gives every
# other setting; the schedule is shortened to STEPS (default 800).
set -euo pipefail
data=${1:?usage: bench/infill_rate.sh DATA OUT [STEPS]}
out=${2:?usage}
steps=${3:-800}
root=$(cd "$(dirname "$0")/.." && pwd)
exe=${MIDIGPT:-$root/target/release/midigpt}
config=${CONFIG:-$root/models/pop909/train.toml}
[ -x "$exe" ] || (cd "$root" && cargo build -q --release -p midigpt)
mkdir -p "$out"
for rate in 0 0.5; do
    run=$out/rate-$rate
    resume=$([ -d "$run/checkpoints" ] && echo --resume || true)
    "$exe" train --data "$data" --out "$run" --config "$config" $resume \
        --set infill_rate=$rate --set max_iters=$steps --set lr_decay_iters=$steps \
        --set warmup_iters=$((steps / 10)) --set sample_interval=0 \
        --set eval_interval=$((steps / 4)) > "$out/train-$rate.log" 2>&1
    "$exe" eval --model "$run" --data "$data" --infill 64 > "$out/eval-$rate.txt"
    echo "infill_rate $rate, $steps steps:"
    cat "$out/eval-$rate.txt"
done
