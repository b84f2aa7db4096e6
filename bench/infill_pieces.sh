#!/usr/bin/env bash
# Bar infilling on real songs, to look at: for N POP909 validation songs, bars 9-12 of one
# track are rewritten by the model, and each song is drawn before and after (bars 5-16 by the
# song's own metre as the model reads it, the filled bars shaded, the rewritten track in
# colour) into one PNG per song.
#
#   bench/infill_pieces.sh MODEL VAL_DIR OUT [N]
#     e.g. bench/infill_pieces.sh models/pop909 /tmp/midigpt-metrics-baseline/val /tmp/fills 20
#
# MODEL: a model that fills (trained with infill tokens); VAL_DIR: the validation songs (as
# bench/metrics_baseline.sh links them); TRACK (73, the POP909 model's melody; in the original
# the track NAME, MELODY, is drawn as it), BARS (9..12).
set -euo pipefail
model=${1:?usage: bench/infill_pieces.sh MODEL VAL_DIR OUT [N]}
val=${2:?usage}
out=${3:?usage}
n=${4:-20}
track=${TRACK:-73}
bars=${BARS:-9..12}
root=$(cd "$(dirname "$0")/.." && pwd)
exe=${MIDIGPT:-$root/target/release/midigpt}
[ -x "$exe" ] || (cd "$root" && cargo build -q --release -p midigpt)
venv=/tmp/midigpt-draw-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" -q install mido matplotlib; }
mkdir -p "$out"
i=0
for song in $(ls "$val"/*.mid | sort | head -n "$n"); do
    stem=$(basename "$song" .mid)
    [ -e "$out/$stem/sample-$i.mid" ] ||
        "$exe" generate --model "$model" --prompt "$song" --infill-bars "$bars" \
            --infill-tracks "$track" --seed "$i" --out "$out/$stem" >/dev/null
    "$venv/bin/python" - "$song" "$out/$stem/sample-$i.mid" "$out/$stem.png" "$bars" "$track" <<'PY'
import os
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mido

before, after, png, bars, track = sys.argv[1:6]
first, last = (int(b) for b in bars.split(".."))
track = int(track)
name = os.environ.get("NAME", "MELODY").upper()

def notes(path):
    """(start, end, pitch, program) in quarters; a track named NAME counts as program TRACK
    (the model relabels it so)."""
    mid = mido.MidiFile(path)
    out = []
    for t in mid.tracks:
        now, program, on = 0, 0, {}
        for msg in t:
            now += msg.time
            if msg.type == "track_name" and msg.name.strip().upper() == name:
                program = track
            elif msg.type == "program_change" and program != track:
                program = msg.program
            elif msg.type == "note_on" and msg.velocity > 0:
                on[(msg.channel, msg.note)] = now
            elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in on:
                start = on.pop((msg.channel, msg.note))
                q = mid.ticks_per_beat
                out.append((start / q, now / q, msg.note, program))
    return out

def bar_starts(path, count):
    """Start of each bar in quarters, by the file's time signatures (as the model counts)."""
    mid = mido.MidiFile(path)
    changes = []
    for t in mid.tracks:
        now = 0
        for msg in t:
            now += msg.time
            if msg.type == "time_signature":
                changes.append((now / mid.ticks_per_beat, msg.numerator * 4 / msg.denominator))
    # By time only, stable: of two signatures at one tick the later one holds, as midigpt
    # (and symusic) read them.
    changes.sort(key=lambda c: c[0])
    starts, at, length = [], 0.0, 4.0
    while len(starts) < count:
        while changes and changes[0][0] <= at + 1e-9:
            length = changes.pop(0)[1]
        starts.append(at)
        at += length
    return starts

bar = bar_starts(after, last + 6)
lo, hi = bar[max(first - 5, 0)], bar[last + 4]
fig, axes = plt.subplots(2, 1, figsize=(14, 7), sharex=True, sharey=True)
for ax, path, title in zip(axes, (before, after), ("original", f"bars {bars} of program {track} rewritten")):
    for start, end, pitch, program in notes(path):
        if end < lo or start > hi:
            continue
        ax.broken_barh([(start, end - start)], (pitch - 0.4, 0.8),
                       color="tab:red" if program == track else "tab:blue")
    ax.axvspan(bar[first - 1], bar[last], color="gold", alpha=0.25)
    for b in bar:
        ax.axvline(b, color="grey", lw=0.3)
    ax.set_title(f"{sys.argv[1].split('/')[-1]}: {title}")
    ax.set_ylabel("pitch")
axes[1].set_xlabel("quarter notes")
axes[0].set_xlim(lo, hi)
fig.tight_layout()
fig.savefig(png, dpi=80)
PY
    i=$((i + 1))
done
echo "$i songs drawn in $out"
