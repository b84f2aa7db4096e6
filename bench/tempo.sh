#!/usr/bin/env bash
# How the tempo of the built-in model's new pieces moves, gradual (the default) against free,
# beside POP909's songs: `midigpt metrics` tempo measures.
#
#   bench/tempo.sh POP909_DIR [OUT]     e.g. bench/tempo.sh ../shared/data/midi/pop909/POP909
#
# PIECES (8) pieces of 32 bars each way, seeds 0 and up; OUT defaults to /tmp/midigpt-tempo.
set -euo pipefail
pop=${1:?usage: bench/tempo.sh POP909_DIR [OUT]}
pop=$(cd "$pop" && pwd)
out=${2:-/tmp/midigpt-tempo}
root=$(cd "$(dirname "$0")/.." && pwd)
exe=$("$root/bench/midigpt.sh")  # PROFILE=dev builds faster
mkdir -p "$out/pop909"
for f in "$pop"/*/[0-9][0-9][0-9].mid; do ln -sf "$f" "$out/pop909/"; done
for how in gradual free; do
    for seed in $(seq 0 $((${PIECES:-8} - 1))); do
        [ -e "$out/$how/sample-$seed.mid" ] ||
            "$exe" generate --bars 32 --tempo-changes "$how" --seed "$seed" --out "$out/$how" >/dev/null
    done
    echo "== $how"
    "$exe" metrics "$out/$how" --reference "$out/pop909" | grep -E "^metric|tempo"
done
