"""transformers and midigpt compute the same model, both ways (run by check_hf.sh).

1. Tiny random midigpt models (GPT-2 and Llama recipes) and the built-in model, exported by
   midigpt, load with AutoModelForCausalLM and no custom code; their logits on a real token
   sequence (a MIDI file tokenized by MidiTok) equal midigpt's within 1e-4; transformers'
   generate + MidiTok decode makes a MIDI file that parses.
2. Tiny random GPT-2, Llama and Mistral models made by transformers with the MidiTok
   vocabulary (one sharded, one bfloat16) load in midigpt with the same logits.
"""

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import miditok
import symusic
import torch
import transformers
from transformers import (AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig,
                          LlamaForCausalLM, MistralConfig, MistralForCausalLM)

ATOL = 1e-4


def midigpt_logits(tool, folder, ids):
    out = subprocess.run([tool, str(folder), ",".join(map(str, ids))],
                         check=True, capture_output=True, text=True).stdout
    return torch.tensor(json.loads(out))


def miditok_tokenizer(folder):
    kind = json.loads((folder / "tokenizer.json").read_text())["tokenization"]
    return getattr(miditok, kind)(params=folder / "tokenizer.json")


def real_ids(tok, midi, n):
    seq = tok.encode(symusic.Score(str(midi)))
    seq = seq[0] if isinstance(seq, list) else seq
    return ([tok["BOS_None"]] + seq.ids)[:n]


def compare(name, tool, folder, model, ids):
    with torch.no_grad():
        theirs = model(torch.tensor([ids])).logits[0].float()
    ours = midigpt_logits(tool, folder, ids)
    diff = (theirs - ours).abs().max().item()
    ok = diff <= ATOL
    print(f"{'PASS' if ok else 'FAIL'} {name}: {len(ids)} ids, max |logit diff| {diff:.2e}")
    return ok


def exported(tool, midi, work):
    ok = True
    for arch in ["gpt2", "llama", "builtin"]:
        folder = work / f"midigpt-{arch}"
        subprocess.run([tool, "export", arch, str(folder)], check=True)
        model = AutoModelForCausalLM.from_pretrained(folder).eval()
        tok = miditok_tokenizer(folder)
        ids = real_ids(tok, midi, min(64, model.config.vocab_size))
        ok &= compare(f"midigpt {arch} -> transformers {type(model).__name__}", tool, folder,
                      model, ids)
        torch.manual_seed(0)
        ctx = getattr(model.config, "n_positions", None) or model.config.max_position_embeddings
        out = model.generate(torch.tensor([ids[:8]]), do_sample=True, top_p=0.95,
                             max_new_tokens=min(120, ctx - 8))
        path = work / f"{arch}.mid"
        ids_out = out[0].tolist()
        # A tokenizer of one stream per track decodes a list of streams.
        tok.decode(ids_out if tok.one_token_stream else [ids_out]).dump_midi(path)
        notes = sum(len(t.notes) for t in symusic.Score(str(path)).tracks)
        print(f"     generate + decode: {path.name}, {path.stat().st_size} bytes, {notes} notes")
    return ok


def made_by_transformers(tool, work, tokenizer_json, vocab):
    common = dict(vocab_size=vocab, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    llama = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                 rope_theta=10000.0, **common)
    cases = [
        ("gpt2", GPT2LMHeadModel(GPT2Config(n_embd=64, n_layer=2, n_head=4, n_positions=64,
                                            activation_function="gelu", **common)), {}),
        ("llama sharded", LlamaForCausalLM(LlamaConfig(**llama)), {"max_shard_size": "40KB"}),
        ("mistral bf16", MistralForCausalLM(MistralConfig(sliding_window=64, **llama)), {}),
    ]
    ok = True
    for name, model, save in cases:
        torch.manual_seed(1)
        model.eval()
        if "bf16" in name:
            model = model.to(torch.bfloat16)
        folder = work / ("hf-" + name.replace(" ", "-"))
        model.save_pretrained(folder, safe_serialization=True, **save)
        shutil.copy(tokenizer_json, folder / "tokenizer.json")
        files = sorted(p.name for p in folder.iterdir())
        ids = list(range(1, 60, 3)) + [5, 9, 200, 31]
        ok &= compare(f"transformers {name} -> midigpt ({', '.join(files)})", tool, folder,
                      model.float(), ids)
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True)
    parser.add_argument("--midi", required=True)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ok = exported(args.tool, args.midi, work)
        vocab = len(miditok_tokenizer(work / "midigpt-gpt2"))
        ok &= made_by_transformers(args.tool, work, work / "midigpt-gpt2/tokenizer.json", vocab)
    print("ALL PASS" if ok else "SOME FAILED")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
