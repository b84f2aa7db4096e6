#!/usr/bin/env bash
# CPU training and generation speed, midigpt vs a PyTorch script of the same model
# (bench/torch_gpt.py), on the same machine, one after the other, all cores.
#
#   bench/train_cpu.sh [STEPS] [avx2|avx512]
#
# `avx2`: AVX-512 disabled at run time, to stand in for an AVX2-only CPU on an AVX-512 one:
# PyTorch with ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2 and MKL_ENABLE_INSTRUCTIONS=AVX2
# (its own kernels, oneDNN's and MKL's products), midigpt with MIDIGPT_CPU=avx2 (its
# own kernels; the `gemm` crate's products choose AVX-512 by themselves and cannot be capped
# at run time), bf16 modes skipped as on a CPU without AVX-512.
# `avx512`: AMX disabled at run time, to stand in for an AVX-512-BF16 CPU without AMX on an AMX
# one: PyTorch with ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 (oneDNN's products, autocast's among
# them, off AMX), midigpt with MIDIGPT_CPU=avx512 (bf16 products on `vdpbf16ps`).
#
# Model: GPT-2 style, REMI+ vocabulary (518), 4 layers, 4 heads, d_model 256, context 256,
# batch 8; AdamW with clipping. Generation: batch 1, KV cache, 256 new tokens.
#
# PyTorch runs in every mode a user could pick: eager and `torch.compile`, each in f32 and,
# where the CPU has native bf16 dot products (x86 avx512_bf16 or amx_bf16, ARM bf16), under
# bf16 autocast. midigpt runs in f32 and, where the CPU has native bf16, in bf16 (its
# `dtype = "auto"` is whichever of the two is faster on the CPU kind); on an AMX CPU bf16 runs
# twice, on AMX tiles and with `MIDIGPT_CPU=avx512` on the AVX-512-BF16 kernel. Each line
# gives the ratio to PyTorch's fastest mode.
# Makes a Python venv with PyTorch from PyPI under ${MIDIGPT_TORCH_VENV:-/tmp/midigpt-torch-venv};
# torch.compile needs a C compiler (cc).
set -euo pipefail
steps=${1:-30}
cap=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MIDIGPT_TORCH_VENV:-/tmp/midigpt-torch-venv}
threads=$(nproc)
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch numpy
fi
# Native bf16: the same test midigpt makes at run time (crates/model/src/fused/cpu/features.rs).
if grep -qwE 'avx512_bf16|amx_bf16|bf16' /proc/cpuinfo; then bf16=1; else bf16=0; fi
if [ "$cap" = avx2 ]; then
    bf16=0
    export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2
    export MIDIGPT_CPU=avx2
    echo "AVX-512 disabled at run time on an AVX-512 CPU (midigpt: its own kernels only)"
elif [ "$cap" = avx512 ]; then
    export ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 MIDIGPT_CPU=avx512
    echo "AMX disabled at run time"
fi
(cd "$root" && cargo build -q --release -p midigpt-train --example bench)
bench="${CARGO_TARGET_DIR:-$root/target}/release/examples/bench"
torch() { OMP_NUM_THREADS=$threads "$venv/bin/python" "$root/bench/torch_gpt.py" \
    --steps "$steps" --threads "$threads" "$@"; }

results=()
results+=("$(torch)")
results+=("$(torch --new-tokens 0 --compile)")
if [ "$bf16" = 1 ]; then
    results+=("$(torch --new-tokens 0 --bf16)")
    results+=("$(torch --new-tokens 0 --compile --bf16)")
fi
results+=("$("$bench" --steps "$steps" --dtype f32)")
if [ "$bf16" = 1 ]; then
    results+=("$("$bench" --steps "$steps" --dtype bf16 --new-tokens 0)")
    # On an AMX CPU, also the AVX-512-BF16 kernel a CPU without AMX would run.
    if grep -qw amx_bf16 /proc/cpuinfo && [ -z "$cap" ]; then
        results+=("$(MIDIGPT_CPU=avx512 "$bench" --steps "$steps" --dtype bf16 --new-tokens 0)")
    fi
fi

python3 - "$bf16" "${results[@]}" <<'PY'
import json, sys
native_bf16, runs = sys.argv[1] == "1", [json.loads(r) for r in sys.argv[2:]]
torch_runs = [r for r in runs if "torch" in r]
ours = [r for r in runs if "torch" not in r]
best = max(torch_runs, key=lambda r: r["train_tokens_per_s"])
print(f"native bf16: {'yes' if native_bf16 else 'no (bf16 modes skipped)'}")
print(f"{'':24s} {'train tokens/s':>15s} {'vs PyTorch best':>16s} {'generate tokens/s':>18s}")
for r in torch_runs + ours:
    kernel = f" ({r['kernel']})" if r.get("dtype") == "bf16" else ""
    name = f"PyTorch {r['mode']}" if "torch" in r else f"midigpt {r['dtype']}{kernel}"
    gen = r.get("generate_tokens_per_s")
    gen = f"{gen:18.0f}" if gen else f"{'-':>18s}"
    ratio = r["train_tokens_per_s"] / best["train_tokens_per_s"]
    print(f"{name:24s} {r['train_tokens_per_s']:15.0f} {ratio:15.2f}x {gen}")
print(f"PyTorch's best mode: {best['mode']}")
PY
