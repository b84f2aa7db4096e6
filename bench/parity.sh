#!/usr/bin/env bash
# Token-for-token parity of `midigpt tokenize` with MidiTok 3.1.0 on every MIDI file below a
# folder, for REMI, REMI+ and MIDI-like configs.
#
#   bench/parity.sh MIDI_DIR [OUT_DIR]       e.g. bench/parity.sh ../shared/data/midi
#
# MidiTok tokenizes every file (bench/miditok_sweep.py, in a venv made on first use under
# ${MIDIGPT_BENCH_VENV:-/tmp/midigpt-bench-venv}); then `midigpt tokenize --tokenizer-config`
# with MidiTok's own saved tokenizer.json tokenizes the same files, and the ids are compared.
# Prints per-config counts (same / differ / failed) and every difference.
set -euo pipefail
dir=${1:?usage: bench/parity.sh MIDI_DIR [OUT_DIR]}
out=${2:-/tmp/midigpt-parity}
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MIDIGPT_BENCH_VENV:-/tmp/midigpt-bench-venv}
configs=${PARITY_CONFIGS:-"remi_default remi_programs remi_plus_tempo midilike_default midilike_programs"}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import miditok" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q miditok==3.1.0 symusic==0.6.0
fi
(cd "$root" && cargo build -q --release -p midigpt)
mkdir -p "$out"
for c in $configs; do
    [ -s "$out/$c.jsonl" ] || "$venv/bin/python" "$root/bench/miditok_sweep.py" "$dir" "$out" --config "$c"
done
python3 - "$root/target/release/midigpt" "$dir" "$out" $configs <<'PY'
import json, subprocess, sys
from pathlib import Path
exe, root, out, configs = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
total_bad = 0
for config in configs:
    same = differ = failed = both = 0
    tok = out / f"tokenizer_{config}.json"
    for line in open(out / f"{config}.jsonl"):
        row = json.loads(line)
        run = subprocess.run([exe, "tokenize", "--tokenizer-config", str(tok), str(root / row["path"])],
                             capture_output=True, text=True)
        if "ids" not in row:
            both += run.returncode != 0
            same += run.returncode == 0  # MidiTok failed, midigpt read it: not a difference
            continue
        if run.returncode != 0:
            failed += 1
            print(f"FAIL {config} {row['path']}: {run.stderr.strip()}")
        elif json.loads(run.stdout)["ids"] == row["ids"]:
            same += 1
        else:
            differ += 1
            print(f"DIFF {config} {row['path']}")
    total_bad += differ + failed
    print(f"{config}: {same} same, {differ} differ, {failed} failed here only, {both} failed in both")
sys.exit(1 if total_bad else 0)
PY
