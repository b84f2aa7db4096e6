"""Builds the MidiTok 3.1.0 BPE reference fixture for midigpt's BPE tests.

Usage: make_fixture.py [MIDI_DIR]  (default: ../shared/data/midi beside the repository)
"""
import json
import sys
from pathlib import Path
from symusic import Score
from miditok import REMI, TokSequence

repo = Path(__file__).resolve().parents[5]
midi = Path(sys.argv[1]) if len(sys.argv) > 1 else repo.parent / "shared" / "data" / "midi"
d = midi / "miditok_tests" / "tests" / "MIDIs_one_track"
train = [d / "6338816_Etude No. 4.mid", d / "POP909_008.mid", d / "POP909_022.mid"]
tok = REMI()
tok.train(vocab_size=450, files_paths=train)
out_dir = Path("out"); out_dir.mkdir(exist_ok=True)
tok.save(out_dir / "tokenizer.json")

def enc(score):
    base = tok.encode(score, encode_ids=False)
    base = base if isinstance(base, list) else [base]
    bpe = tok.encode(score)
    bpe = bpe if isinstance(bpe, list) else [bpe]
    return [s.ids for s in base], [s.ids for s in bpe]

files = []
for f in train:
    b, e = enc(Score(f))
    files.append({"name": f.name, "training": True, "base_ids": b, "bpe_ids": e})
held = Score(d / "POP909_191.mid")
held = held.clip(0, held.ticks_per_quarter * 4 * 24)
b, e = enc(held)
files.append({"name": "POP909_191.mid, first 24 bars", "training": False, "base_ids": b, "bpe_ids": e})
# decode check on MidiTok's side
for x in files:
    for bb, ee in zip(x["base_ids"], x["bpe_ids"]):
        s = TokSequence(ids=list(ee), are_ids_encoded=True)
        tok.decode_token_ids(s)
        assert s.ids == bb
    print(x["name"], [len(v) for v in x["base_ids"]], [len(v) for v in x["bpe_ids"]])
json.dump({"vocab_size": 450, "files": files}, open(out_dir / "encoded.json", "w"), separators=(",", ":"))
