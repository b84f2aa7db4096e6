#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from a folder of MIDI files.

    fuzz/seed.py [MIDI_DIR] [--binary target/release/midigpt] [--count 40] [--max-bytes 16384]

MIDI targets (midi_read, encode_*) get a sample of the smaller files (the fuzzer's input
limit defaults to the largest seed, and small inputs run fastest), plus the fixtures in
crates/tokenize/tests/data/midi. Decode targets get those files' real encodings from
`midigpt tokenize`, written in the format `midigpt_fuzz::ids` reads (u16 little-endian, 0xFFFF
between sequences). Seeds are named by their hash, so running this twice adds nothing.
The sample is seeded: the same folder gives the same seeds.
"""

import argparse
import hashlib
import json
import random
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "crates/tokenize/tests/data/midi"
# The shared corpus beside the repository (`../shared/data/midi`), when there is one.
DEFAULT_MIDI_DIR = ROOT.parent / "shared/data/midi"
BPE_CONFIG = ROOT / "crates/tokenize/tests/data/bpe/tokenizer.json"
# Fuzz target suffix -> `midigpt tokenize` arguments choosing its tokenizer.
TOKENIZERS = {
    "remi": ["--tokenizer", "remi"],
    "remi_plus": ["--tokenizer", "remi-plus"],
    "midi_like": ["--tokenizer", "midi-like"],
    "triplet": ["--tokenizer", "triplet"],
    "bpe": ["--tokenizer-config", str(BPE_CONFIG)],
}
MIDI_SUFFIXES = {".mid", ".midi", ".rmi"}
# Ids per decode seed: long enough for many bars, short enough to run fast.
MAX_IDS = 2048


def save(target: str, data: bytes) -> None:
    folder = ROOT / "fuzz/corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def sample(midi_dir: Path, count: int, max_bytes: int) -> list:
    files = sorted(
        p for p in midi_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES and p.stat().st_size <= max_bytes
    )
    random.Random(1).shuffle(files)
    fixtures = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.stat().st_size <= max_bytes)
    return fixtures + files[:count]


def encoded(binary: str, args: list, path: Path):
    out = subprocess.run([binary, "tokenize", *args, str(path)], capture_output=True)
    if out.returncode != 0:
        return None
    sequences = json.loads(out.stdout)["ids"]
    ids = []
    for i, seq in enumerate(sequences):
        if i:
            ids.append(0xFFFF)
        ids.extend(seq)
    ids = [i for i in ids[:MAX_IDS] if i < 0xFFF0 or i == 0xFFFF]
    return struct.pack(f"<{len(ids)}H", *ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("midi_dir", nargs="?", default=DEFAULT_MIDI_DIR, type=Path,
                        help="folder of MIDI files (default: ../shared/data/midi beside the repository)")
    parser.add_argument("--binary", default=str(ROOT / "target/release/midigpt"))
    parser.add_argument("--count", type=int, default=40, help="files sampled from MIDI_DIR")
    parser.add_argument("--max-bytes", type=int, default=16384, help="largest file sampled")
    args = parser.parse_args()
    files = sample(args.midi_dir, args.count, args.max_bytes) if args.midi_dir.is_dir() else []
    if not args.midi_dir.is_dir():
        print(f"{args.midi_dir} is not a folder: seeding from the fixtures only", file=sys.stderr)
        files = sample(FIXTURES, 0, args.max_bytes)
    for path in files:
        data = path.read_bytes()
        save("midi_read", data)
        for name in TOKENIZERS:
            save(f"encode_{name}", data)
    if not Path(args.binary).is_file():
        print(f"no binary at {args.binary}: decode targets start without seeds", file=sys.stderr)
        return 0
    for name, tokenizer_args in TOKENIZERS.items():
        for path in files:
            data = encoded(args.binary, tokenizer_args, path)
            if data:
                save(f"decode_{name}", data)
    print(f"seeded {len(files)} MIDI files into {ROOT / 'fuzz/corpus'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
