#!/usr/bin/env bash
# midigpt against nanoGPT-style PyTorch (bench/torch_gpu.py) on one NVIDIA GPU, one after the
# other, in one call.
#
#   bench/gpu.sh build   here: builds bench/bin/bench and bench/bin/midigpt with --features
#                        cuda (no CUDA toolkit needed; CUDA 13.0 bindings, .cargo/config.toml)
#   bench/gpu.sh run     on the GPU machine (PyTorch installed): correctness, then speed of
#                        both shapes, then the table
#   bench/gpu.sh check   anywhere: the same steps on the CPU, tiny, with the CPU build (checks
#                        the scripts, measures nothing)
#
# Correctness: the first 10 training losses on the GPU against the CPU's, from the same
# weights and batch, within 2e-2 (bf16 tolerance). Speed: train tokens/s, MFU (6·N + 12·L·H·Q·T
# FLOPs per token over PEAK_TFLOPS, default 989: H100 SXM, dense bf16), peak memory, and
# generation tokens/s at batch 1 and 64 with the KV cache. Shapes: the CPU benchmark model
# (BATCH_SMALL × 256) and GPT-2 124M (BATCH_124M × 1024 × ACCUM_124M per step).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bench/bin
mode=${1:-}
python=${PYTHON:-python3}

case $mode in
build)
    cd "$root"
    cargo build --release --features cuda -p midigpt-train --example bench \
        --target-dir target-cuda
    cargo build --release --features cuda -p midigpt --bin midigpt --target-dir target-cuda
    mkdir -p "$bin"
    cp target-cuda/release/examples/bench target-cuda/release/midigpt "$bin/"
    echo "built $bin/bench and $bin/midigpt (carry bench/bin to the GPU machine)"
    exit 0
    ;;
run)
    device=cuda steps=${STEPS:-20} shapes="small gpt2-124m" peak=${PEAK_TFLOPS:-989}
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    ;;
check)
    cargo build -q --release -p midigpt-train --example bench --manifest-path "$root/Cargo.toml"
    bin=$root/target/release/examples
    device=cpu steps=1 shapes=small peak=0
    ;;
*)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac

small_batch=${BATCH_SMALL:-8}
big_batch=${BATCH_124M:-16}
big_accum=${ACCUM_124M:-2}
[[ $mode == check ]] && big_batch=1 big_accum=1

echo "== correctness: first 10 losses, $device against cpu"
ours_cpu=$("$bin/bench" --losses 10 --device cpu)
ours_dev=$("$bin/bench" --losses 10 --device "$device")
"$python" - "$ours_cpu" "$ours_dev" <<'PY'
import json, sys
cpu, dev = (json.loads(a)["losses"] for a in sys.argv[1:3])
worst = max(abs(a - b) for a, b in zip(cpu, dev))
print("cpu   ", " ".join(f"{v:.4f}" for v in cpu))
print("device", " ".join(f"{v:.4f}" for v in dev))
print(f"largest difference {worst:.2e} (tolerance 2e-2)")
sys.exit(0 if worst <= 2e-2 and len(cpu) == len(dev) == 10 else 1)
PY

results=()
for shape in $shapes; do
    if [[ $shape == small ]]; then batch=$small_batch accum=1; else batch=$big_batch accum=$big_accum; fi
    args=(--device "$device" --shape "$shape" --batch "$batch" --accum "$accum" --steps "$steps"
          --gen-batch 64 --new-tokens 256)
    [[ $mode == check ]] && args+=(--gen-batch 2 --new-tokens 8)
    echo "== $shape: midigpt"
    ours=$("$bin/bench" "${args[@]}" --peak-tflops "$peak")
    echo "$ours"
    echo "== $shape: PyTorch"
    theirs=$(cd "$root/bench" && "$python" torch_gpu.py "${args[@]}" --peak-tflops "$peak")
    echo "$theirs"
    results+=("$shape" "$ours" "$theirs")
done

"$python" - "${results[@]}" <<'PY'
import json, sys
rows = sys.argv[1:]
fmt = lambda v, f: "-" if v is None else f.format(v)
print(f"\n{'shape':10s} {'':8s} {'train tok/s':>12s} {'MFU':>6s} {'peak mem':>9s} "
      f"{'gen tok/s b1':>13s} {'gen tok/s b64':>14s}")
for i in range(0, len(rows), 3):
    shape, ours, theirs = rows[i], json.loads(rows[i + 1]), json.loads(rows[i + 2])
    for name, r in (("midigpt", ours), ("PyTorch", theirs)):
        mem = r.get("peak_memory_bytes")
        print(f"{shape:10s} {name:8s} {r['train_tokens_per_s']:12.0f} "
              f"{fmt(r.get('mfu') and 100 * r['mfu'], '{:5.1f}%'):>6s} "
              f"{fmt(mem and mem / 2**30, '{:.1f} GiB'):>9s} "
              f"{r['generate_tokens_per_s']:13.0f} "
              f"{fmt(r.get('generate_batch_tokens_per_s'), '{:.0f}'):>14s}")
    ratio = lambda k: ours[k] / theirs[k] if ours.get(k) and theirs.get(k) else None
    print(f"{shape:10s} {'ratio':8s} {fmt(ratio('train_tokens_per_s'), '{:.2f}x'):>12s} "
          f"{'':>6s} {'':>9s} {fmt(ratio('generate_tokens_per_s'), '{:.2f}x'):>13s} "
          f"{fmt(ratio('generate_batch_tokens_per_s'), '{:.2f}x'):>14s}")
PY
