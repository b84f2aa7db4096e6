#!/usr/bin/env python3
"""Tokenize every MIDI file below a folder with MidiTok 3.1.0, for parity sweeps.

Use:  python bench/miditok_sweep.py MIDI_DIR OUT_DIR [--config NAME]... [--notes]
Writes OUT_DIR/tokenizer_<config>.json (MidiTok's own file) and OUT_DIR/<config>.jsonl with one
line per file: {"path": relative path, "ids": [[...], ...]} or {"path": ..., "error": "..."}.
Needs `pip install miditok==3.1.0 symusic==0.6.0` (bench/parity.sh makes the venv).
"""
import argparse
import json
from pathlib import Path

CONFIGS = {
    "remi_default": dict(),
    "remi_programs": dict(use_programs=True),
    "remi_plus_tempo": dict(use_programs=True, one_token_stream_for_programs=True,
                            use_time_signatures=True, use_tempos=True),
    "midilike_default": dict(),
    "midilike_programs": dict(use_programs=True),
}
EXT = {".mid", ".midi", ".rmi"}


def main():
    from miditok import MIDILike, REMI, TokenizerConfig
    from symusic import Score

    ap = argparse.ArgumentParser()
    ap.add_argument("midi_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--config", action="append", choices=sorted(CONFIGS))
    ap.add_argument("--notes", action="store_true", help="also store the preprocessed notes")
    args = ap.parse_args()
    root, out = Path(args.midi_dir), Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in EXT and p.is_file())
    for name in args.config or ["remi_default", "remi_programs", "remi_plus_tempo"]:
        cls = MIDILike if name.startswith("midilike") else REMI
        tokenizer = cls(TokenizerConfig(**CONFIGS[name]))
        tokenizer.save(out / f"tokenizer_{name}.json")
        with open(out / f"{name}.jsonl", "w") as f:
            for path in files:
                row = {"path": str(path.relative_to(root))}
                try:
                    score = Score(str(path))
                    seq = tokenizer.encode(score)
                    row["ids"] = [s.ids for s in (seq if isinstance(seq, list) else [seq])]
                    if args.notes:
                        prep = tokenizer.preprocess_score(score)
                        row["tpq"] = prep.ticks_per_quarter
                        row["tracks"] = [
                            {"program": -1 if t.is_drum else t.program,
                             "notes": [[n.time, n.duration, n.pitch, n.velocity] for n in t.notes]}
                            for t in prep.tracks]
                except Exception as exc:  # malformed files are expected in real corpora
                    row["error"] = f"{type(exc).__name__}: {exc}"[:300]
                f.write(json.dumps(row) + "\n")
        print(f"{name}: {len(files)} files", flush=True)


if __name__ == "__main__":
    main()
