#!/usr/bin/env bash
# The bf16 training curve against f32's: the benchmark model (bench/train_cpu.sh), the same
# initial weights and the same batch every step, STEPS steps with `--dtype bf16` and with
# `--dtype f32`; prints the largest difference between the two loss curves.
#
#   bench/bf16_curve.sh [STEPS]
#
# Needs a CPU with native bf16 products (x86 AVX-512-BF16).
set -euo pipefail
steps=${1:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && cargo build -q --release -p midigpt-train --example bench)
bench="${CARGO_TARGET_DIR:-$root/target}/release/examples/bench"
bf16=$("$bench" --losses "$steps" --dtype bf16)
f32=$("$bench" --losses "$steps" --dtype f32)
python3 - "$bf16" "$f32" <<'PY'
import json, sys
bf16, f32 = (json.loads(a)["losses"] for a in sys.argv[1:])
diffs = [abs(a - b) for a, b in zip(bf16, f32)]
worst = max(range(len(diffs)), key=diffs.__getitem__)
print(f"steps: {len(diffs)}")
print(f"loss at steps 1, 100, 200, last: bf16 {bf16[0]:.4f} {bf16[99 % len(bf16)]:.4f} "
      f"{bf16[199 % len(bf16)]:.4f} {bf16[-1]:.4f}; f32 {f32[0]:.4f} {f32[99 % len(f32)]:.4f} "
      f"{f32[199 % len(f32)]:.4f} {f32[-1]:.4f}")
print(f"max |bf16 - f32|: {diffs[worst]:.4f} at step {worst + 1} "
      f"({diffs[worst] / f32[worst]:.2%} of f32's loss there)")
print(f"max |bf16 - f32| over the last 100 steps: {max(diffs[-100:]):.4f}")
PY
