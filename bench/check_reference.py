#!/usr/bin/env python3
"""Check `midigpt tokenize --tokenizer-config` against MidiTok reference files.

Use:  python bench/check_reference.py MIDIGPT_EXE MIDI_ROOT REF_DIR...
Each REF_DIR holds MidiTok's `tokenizer_<config>.json` and `<name>__<config>.json` files whose
`source` is relative to MIDI_ROOT and whose `tokens` are MidiTok's token strings. Prints one
line per difference and a summary; exits 1 if any file differs.
"""
import json
import subprocess
import sys
from pathlib import Path


def main():
    exe, root, dirs = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    same = bad = 0
    for ref_dir in map(Path, dirs):
        for ref in sorted(ref_dir.glob("*__*.json")):
            config = ref.stem.split("__", 1)[1]
            doc = json.loads(ref.read_text())
            run = subprocess.run(
                [exe, "tokenize", "--tokenizer-config", str(ref_dir / f"tokenizer_{config}.json"),
                 str(root / doc["source"])], capture_output=True, text=True)
            if run.returncode == 0 and json.loads(run.stdout)["tokens"] == doc["tokens"]:
                same += 1
            else:
                bad += 1
                print(f"DIFF {ref}: {run.stderr.strip()[:200]}")
    print(f"{same} of {same + bad} reference files identical ({100.0 * same / max(same + bad, 1):.1f}%)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
