#!/usr/bin/env bash
# CPU training and generation speed, midigpt vs a PyTorch script of the same model
# (bench/torch_gpt.py), on the same machine, one after the other, all cores (2 here).
#
#   bench/train_cpu.sh [STEPS]
#
# Model: GPT-2 style, REMI+ vocabulary (518), 4 layers, 4 heads, d_model 256, context 256,
# batch 8; AdamW with clipping. Generation: batch 1, KV cache, 256 new tokens.
# Makes a Python venv with PyTorch from PyPI under ${MIDIGPT_TORCH_VENV:-/tmp/midigpt-torch-venv}.
set -euo pipefail
steps=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MIDIGPT_TORCH_VENV:-/tmp/midigpt-torch-venv}
threads=$(nproc)
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch numpy
fi
(cd "$root" && cargo build -q --release -p midigpt-train --example bench)
ours=$("$root/target/release/examples/bench" --steps "$steps")
theirs=$(OMP_NUM_THREADS=$threads "$venv/bin/python" "$root/bench/torch_gpt.py" --steps "$steps" --threads "$threads")
python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'':10s} {'train tokens/s':>15s} {'generate tokens/s':>18s}")
for name, r in (("midigpt", ours), ("PyTorch", theirs)):
    print(f"{name:10s} {r['train_tokens_per_s']:15.0f} {r['generate_tokens_per_s']:18.0f}")
print(f"ratio      {ours['train_tokens_per_s'] / theirs['train_tokens_per_s']:14.2f}x "
      f"{ours['generate_tokens_per_s'] / theirs['generate_tokens_per_s']:17.2f}x")
PY
