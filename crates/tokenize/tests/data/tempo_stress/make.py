#!/usr/bin/env python3
"""Writes MIDI files with tempo automation: many tempo changes, 2-5 of them on the same tick.

    python make.py OUT_DIR [--count 40] [--seed 1]

Each file has 50-2,000 tempo changes at one of several resolutions (ticks per quarter), in
runs of 2-5 on one tick with tempos far apart (so their order decides the Tempo token), a
piano and a string track of notes, and, in one file of three, part of the tempo changes in a
second track (symusic merges the tracks' changes before sorting them). Needs mido.
"""
import argparse
import random
from pathlib import Path

import mido

RESOLUTIONS = [96, 120, 384, 480, 960, 1024]


def tempo_events(rng, count, tpq):
    """(tick, microseconds per quarter) in time order: runs of 2-5 changes on one tick."""
    events, tick = [], 0
    while len(events) < count:
        tick += rng.choice([0, tpq // 4, tpq // 2, tpq, 3 * tpq // 2, 2 * tpq, rng.randrange(1, 4 * tpq)])
        for _ in range(min(rng.randint(2, 5), count - len(events))):
            events.append((tick, mido.bpm2tempo(rng.uniform(40, 250))))
    return events


def track(events, name=None):
    """A mido track from (tick, message) pairs in time order."""
    t = mido.MidiTrack()
    if name:
        t.append(mido.MetaMessage("track_name", name=name, time=0))
    last = 0
    for tick, msg in events:
        t.append(msg.copy(time=tick - last))
        last = tick
    return t


def notes(rng, end, tpq, channel, program, low):
    events = [(0, mido.Message("program_change", program=program, channel=channel))]
    tick = 0
    while tick < end:
        length = rng.choice([tpq // 4, tpq // 2, tpq, 2 * tpq])
        pitch = rng.randrange(low, low + 24)
        events.append((tick, mido.Message("note_on", note=pitch, velocity=rng.randrange(30, 127), channel=channel)))
        events.append((tick + length, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
        tick += rng.choice([tpq // 4, tpq // 2, tpq])
    return sorted(events, key=lambda e: (e[0], e[1].type == "note_on"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(args.count):
        tpq = RESOLUTIONS[i % len(RESOLUTIONS)]
        n = rng.choice([50, 60, 100, 200, 500, 1000, 2000]) if i >= 4 else [50, 64, 120, 300][i]
        tempos = [(t, mido.MetaMessage("set_tempo", tempo=v)) for t, v in tempo_events(rng, n, tpq)]
        end = tempos[-1][0] + 4 * tpq
        split = i % 3 == 2
        conductor = tempos[: n // 2] if split else tempos
        mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
        mid.tracks.append(track(conductor, "conductor"))
        piano = notes(rng, end, tpq, 0, 0, 48)
        if split:  # the other half of the tempo changes rides on the piano track
            piano = sorted(piano + tempos[n // 2 :], key=lambda e: e[0])
        mid.tracks.append(track(piano, "piano"))
        mid.tracks.append(track(notes(rng, end, tpq, 1, 48, 60), "strings"))
        mid.save(out / f"tempo_stress_{i:02}_{n}x_{tpq}tpq.mid")


if __name__ == "__main__":
    main()
