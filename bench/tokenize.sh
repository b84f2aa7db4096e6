#!/usr/bin/env bash
# Tokenization speed, midigpt vs MidiTok 3.1.0, on the same folder, one thread each.
# Both sides count loading the file and tokenizing it (REMI+ with tempos and time signatures
# by default), and the notes of the loaded scores.
#
#   bench/tokenize.sh DIR [TOKENIZER]     e.g. bench/tokenize.sh ../shared/data/midi/pop909
#
# TOKENIZER is remi, remi-plus (default) or midi-like. Makes a Python venv with MidiTok under
# ${MIDIGPT_BENCH_VENV:-/tmp/midigpt-bench-venv} on first use.
set -euo pipefail
dir=${1:?usage: bench/tokenize.sh DIR [remi|remi-plus|midi-like]}
kind=${2:-remi-plus}
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MIDIGPT_BENCH_VENV:-/tmp/midigpt-bench-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import miditok" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q miditok==3.1.0 symusic==0.6.0
fi
(cd "$root" && cargo build -q --release -p midigpt)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 RAYON_NUM_THREADS=1

ours=$("$root/target/release/midigpt" bench-tokenize --tokenizer "$kind" "$dir")
theirs=$("$venv/bin/python" - "$dir" "$kind" <<'PY'
import json, sys, time
from pathlib import Path
from miditok import MIDILike, REMI, TokenizerConfig
from symusic import Score
root, kind = Path(sys.argv[1]), sys.argv[2]
kwargs = {"remi": {}, "midi-like": {},
          "remi-plus": dict(use_programs=True, one_token_stream_for_programs=True,
                            use_time_signatures=True, use_tempos=True)}[kind]
tok = (MIDILike if kind == "midi-like" else REMI)(TokenizerConfig(**kwargs))
files = sorted(p for p in root.rglob("*") if p.suffix.lower() in {".mid", ".midi", ".rmi"} and p.is_file())
notes = tokens = failed = 0
start = time.perf_counter()
for p in files:
    try:
        score = Score(str(p))
        seq = tok.encode(score)
        notes += score.note_num()
        tokens += sum(len(s) for s in (seq if isinstance(seq, list) else [seq]))
    except Exception:
        failed += 1
sec = time.perf_counter() - start
print(json.dumps(dict(files=len(files), failed=failed, notes=notes, tokens=tokens, seconds=sec, notes_per_s=notes / sec)))
PY
)
python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name, r in (("midigpt", ours), ("MidiTok 3.1.0", theirs)):
    print(f"{name:14s} {r['files']:6d} files ({r['failed']} failed)  {r['notes']:10d} notes  "
          f"{r['tokens']:10d} tokens  {r['seconds']:8.2f} s  {r['notes_per_s']:12.0f} notes/s")
print(f"ratio (midigpt / MidiTok, notes/s): {ours['notes_per_s'] / theirs['notes_per_s']:.1f}x")
PY
