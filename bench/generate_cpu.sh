#!/usr/bin/env bash
# CPU generation speed, midigpt against the engines a user would pick for the same model on a
# CPU: PyTorch eager, PyTorch `torch.compile`, and ONNX Runtime (the model exported with past
# keys and values), each with a KV cache, batch 1 (sampled) and batch 8 (greedy), all cores,
# one after the other on the same machine.
#
#   bench/generate_cpu.sh [NEW_TOKENS]
#
# Model: bench/train_cpu.sh's (GPT-2 style, vocabulary 518, 4 layers, d_model 256, context
# 256). Makes or reuses a Python venv with PyTorch and ONNX Runtime from PyPI under
# ${MIDIGPT_TORCH_VENV:-/tmp/midigpt-torch-venv}; torch.compile needs a C compiler (cc).
set -euo pipefail
new=${1:-256}
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MIDIGPT_TORCH_VENV:-/tmp/midigpt-torch-venv}
threads=$(nproc)
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, onnx, onnxruntime" 2>/dev/null; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch numpy onnx onnxruntime
fi
(cd "$root" && cargo build -q --release -p midigpt-train --example bench)
bench="${CARGO_TARGET_DIR:-$root/target}/release/examples/bench"

results=("$("$bench" --steps 1 --new-tokens "$new" --gen-batch 8)")
for engine in eager compile onnx; do
    for batch in 1 8; do
        results+=("$(OMP_NUM_THREADS=$threads "$venv/bin/python" "$root/bench/torch_generate.py" \
            --engine "$engine" --batch "$batch" --new-tokens "$new" --threads "$threads" 2>/dev/null)")
    done
done

python3 - "${results[@]}" <<'PY'
import json, sys
ours, *theirs = (json.loads(r) for r in sys.argv[1:])
mine = {1: ours["generate_tokens_per_s"], 8: ours["generate_batch_tokens_per_s"]}
print(f"{'':22s} {'batch 1 tokens/s':>17s} {'midigpt ×':>10s} {'batch 8 tokens/s':>17s} {'midigpt ×':>10s}")
print(f"{'midigpt':22s} {mine[1]:17.0f} {'':10s} {mine[8]:17.0f}")
names = {"eager": "PyTorch eager", "compile": "PyTorch compile", "onnx": "ONNX Runtime"}
for engine in names:
    rows = {r["batch"]: r["generate_tokens_per_s"] for r in theirs if r["engine"] == engine}
    print(f"{names[engine]:22s} {rows[1]:17.0f} {mine[1] / rows[1]:9.2f}x {rows[8]:17.0f} {mine[8] / rows[8]:9.2f}x")
PY
