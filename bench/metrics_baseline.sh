#!/usr/bin/env bash
# The built-in model's music against the POP909 validation songs, by `midigpt metrics`.
#
#   bench/metrics_baseline.sh POP909_DIR [OUT]    e.g. bench/metrics_baseline.sh ../shared/data/midi/pop909/POP909
#
# The validation songs are the ones `midigpt prepare` puts in val.bin (split by content hash,
# 5%) when run, as models/pop909/README.md does, on the 909 main files (not versions/).
# PIECES (32) pieces of `midigpt generate --bars 64` (default sampling, seeds 0..31) and the songs are
# measured on their first 30 s (SECONDS_CUT). MODEL: a run or model folder instead of the
# built-in model. Writes OUT/metrics.txt, OUT/metrics.json, OUT/metrics.png and, over whole
# pieces, OUT/metrics-whole.txt; OUT defaults to /tmp/midigpt-metrics-baseline.
set -euo pipefail
pop=${1:?usage: bench/metrics_baseline.sh POP909_DIR [OUT]}
pop=$(cd "$pop" && pwd)
out=${2:-/tmp/midigpt-metrics-baseline}
root=$(cd "$(dirname "$0")/.." && pwd)
exe=$("$root/bench/midigpt.sh")  # PROFILE=dev builds faster
mkdir -p "$out/pop909-main" "$out/val"
for f in "$pop"/*/[0-9][0-9][0-9].mid; do ln -sf "$f" "$out/pop909-main/"; done
[ -s "$out/pop909-data/meta.json" ] || "$exe" prepare "$out/pop909-main" --out "$out/pop909-data"
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
meta = json.load(open(f"{out}/pop909-data/meta.json"))
val = sorted({f["path"] for f in meta["files"] if f["split"] == "val"})
for name in val:
    link = f"{out}/val/{os.path.basename(name)}"
    if not os.path.lexists(link):
        os.symlink(os.path.realpath(f"{out}/pop909-main/{name}"), link)
print(f"{len(val)} validation songs")
PY
# One seed at a time, so that a rerun goes on where a stopped one left off.
for seed in $(seq 0 $((${PIECES:-32} - 1))); do
    [ -e "$out/generated/sample-$seed.mid" ] ||
        "$exe" generate ${MODEL:+--model "$MODEL"} --bars 64 --seed "$seed" --out "$out/generated"
done
args=("$out/generated" --reference "$out/val" --seconds "${SECONDS_CUT:-30}")
"$exe" metrics "${args[@]}" --plot "$out/metrics.png" | tee "$out/metrics.txt"
"$exe" metrics "${args[@]}" --json >"$out/metrics.json"
"$exe" metrics "$out/generated" --reference "$out/val" >"$out/metrics-whole.txt"
