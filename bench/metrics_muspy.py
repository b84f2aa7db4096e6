"""Agreement of `midigpt metrics` with MusPy on the same files.

    python metrics_muspy.py MIDIGPT_JSON [--tolerance 1e-6]

MIDIGPT_JSON is the output of `midigpt metrics PATH --json`: its pieces are the files compared.
Each file is read with `muspy.read_midi` (mido backend, FIFO pairing of repeated notes), its
annotations and lyrics dropped (midigpt's length is the last note's end; MusPy's would also
count control changes and lyrics), its resolution set to 12 steps per quarter note
(`adjust_resolution(12)`, midigpt's default grid), and MusPy's metric functions applied, the
groove with midigpt's bar (`measure_resolution` 48 for its default 4-quarter bars). Prints a Markdown table: per metric, the means
over the files where both have a value, the largest absolute difference, the files compared and
the files beyond the tolerance; exits 1 when any file is beyond it.
"""

import argparse
import json
import math
import sys

import muspy

METRICS = [
    "pitch_class_entropy",
    "pitch_entropy",
    "scale_consistency",
    "groove_consistency",
    "empty_beat_rate",
    "polyphony",
    "polyphony_rate",
    "pitch_range",
    "n_pitch_classes_used",
    "n_pitches_used",
]


def muspy_metrics(path, bar_quarters):
    music = muspy.read_midi(path)
    music.lyrics = []
    music.annotations = []
    for track in music.tracks:
        track.annotations = []
        track.lyrics = []
    music.tracks = [t for t in music.tracks if t.notes]
    music.adjust_resolution(12)
    if bar_quarters:
        bar = 12 * bar_quarters
    else:
        at_zero = [t for t in music.time_signatures if t.time == 0]
        num, den = (at_zero[-1].numerator, at_zero[-1].denominator) if at_zero else (4, 4)
        bar = max(1, round(12 * 4 * num / den))
    calls = {
        "groove_consistency": lambda m: muspy.groove_consistency(m, bar),
    }
    out = {}
    for name in METRICS:
        fn = calls.get(name, getattr(muspy, name))
        try:
            out[name] = float(fn(music))
        except (ValueError, ZeroDivisionError):
            # MusPy raises on a piece without tracks (max() of nothing).
            out[name] = math.nan
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("midigpt_json")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()
    report = json.load(open(args.midigpt_json))
    pieces = report["sets"][0]["pieces"]
    rows = {m: [] for m in METRICS}
    muspy_failed = []
    for piece in pieces:
        try:
            theirs = muspy_metrics(piece["path"], report["config"]["bar_quarters"])
        except Exception as e:  # MusPy/mido refusing a file midigpt read
            muspy_failed.append(f"{piece['path']}: {e}")
            continue
        for m in METRICS:
            ours = piece["metrics"][m]
            ours = math.nan if ours is None else ours
            rows[m].append((piece["path"], ours, theirs[m]))

    print(f"{len(pieces)} files measured by midigpt; MusPy could not read {len(muspy_failed)}")
    for line in muspy_failed[:10]:
        print("  MusPy failed:", line)
    print()
    print("| metric | midigpt mean | MusPy mean | max abs difference | files compared | beyond tolerance | one side undefined |")
    print("|---|---|---|---|---|---|---|")
    bad = 0
    worst = []
    for m in METRICS:
        both = [(p, a, b) for p, a, b in rows[m] if math.isfinite(a) and math.isfinite(b)]
        one = sum(1 for _, a, b in rows[m] if math.isfinite(a) != math.isfinite(b))
        diffs = [(abs(a - b), p, a, b) for p, a, b in both]
        beyond = [d for d in diffs if d[0] > args.tolerance]
        bad += len(beyond)
        worst += sorted(beyond, reverse=True)[:3]
        mean = lambda xs: sum(xs) / len(xs) if xs else math.nan
        print(
            f"| {m} | {mean([a for _, a, _ in both]):.6f} | {mean([b for _, _, b in both]):.6f} "
            f"| {max((d[0] for d in diffs), default=math.nan):.2e} | {len(both)} | {len(beyond)} | {one} |"
        )
    print()
    print(f"tolerance: {args.tolerance:g} absolute, per file and metric")
    for d, p, a, b in worst:
        print(f"  beyond: {p}: midigpt {a} MusPy {b} (difference {d:.3g})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
