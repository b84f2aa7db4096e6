#!/usr/bin/env python3
"""PyTorch and ONNX Runtime generation for bench/generate_cpu.sh: the model of
bench/torch_gpt.py (midigpt's `small` preset), decoding with a KV cache from one start token.

Use:  python bench/torch_generate.py --engine eager|compile|onnx --batch 1|8
      [--new-tokens 256 --threads 2]
Prints one JSON line: engine, batch, generate_tokens_per_s (new tokens of all sequences per
second, after the first step, as midigpt's bench counts them).

Batch 1 samples at temperature 1 (as `midigpt generate`); larger batches take the argmax (as
midigpt's batched benchmark), the tokens read back every step. `compile` runs the decode step
through `torch.compile(dynamic=True)`. `onnx` exports one decode step with past keys and values
as inputs and outputs (the cache grows by concatenation), then runs it in ONNX Runtime's CPU
provider with all graph optimisations.
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_gpt import GPT


class Step(nn.Module):
    """One decode step with the cache as tensors: (idx (B,1), pos (1,), past_k, past_v
    (L, B, H, S, hs)) -> (logits (B, V), new_k, new_v (L, B, H, S+1, hs))."""

    def __init__(self, gpt, heads):
        super().__init__()
        self.gpt, self.heads = gpt, heads

    def forward(self, idx, pos, past_k, past_v):
        g = self.gpt
        x = g.wte(idx) + g.wpe(pos)[None]
        B, T, C = x.shape
        ks, vs = [], []
        for i, block in enumerate(g.h):
            h = block.ln_1(x)
            q, k, v = block.c_attn(h).split(C, dim=2)
            q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
            k, v = torch.cat([past_k[i], k], 2), torch.cat([past_v[i], v], 2)
            ks.append(k)
            vs.append(v)
            y = F.scaled_dot_product_attention(q, k, v)
            x = x + block.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
            x = x + block.proj(F.gelu(block.fc(block.ln_2(x))))
        return g.lm_head(g.ln_f(x))[:, -1], torch.stack(ks), torch.stack(vs)


def pick(logits, batch, rng):
    """The next tokens (B, 1) as int64: sampled for one sequence, argmax for a batch."""
    if batch == 1:
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        return np.array([[rng.choice(p.shape[-1], p=p[0])]], dtype=np.int64)
    return logits.argmax(-1).astype(np.int64)[:, None]


def decode(run, a, shape):
    """Tokens/s of `run(idx, pos, past_k, past_v) -> numpy (logits, k, v)`, cache from empty."""
    rng = np.random.default_rng(0)
    k = v = np.zeros(shape, dtype=np.float32)
    idx = np.zeros((a.batch, 1), dtype=np.int64)
    start = time.perf_counter()
    for t in range(a.new_tokens):
        if t == 1:
            start = time.perf_counter()
        logits, k, v = run(idx, np.array([t], dtype=np.int64), k, v)
        idx = pick(logits, a.batch, rng)
    return a.batch * (a.new_tokens - 1) / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    for name, default in [("vocab", 518), ("layers", 4), ("heads", 4), ("embd", 256), ("ctx", 256),
                          ("batch", 1), ("new_tokens", 256), ("threads", 2)]:
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    ap.add_argument("--engine", choices=["eager", "compile", "onnx"], default="eager")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    step = Step(GPT(a.vocab, a.ctx, a.layers, a.heads, a.embd), a.heads).eval()
    shape = (a.layers, a.batch, a.heads, 0, a.embd // a.heads)

    if a.engine == "onnx":
        import onnxruntime as ort

        path = os.path.join(tempfile.mkdtemp(prefix="midigpt-onnx-"), "step.onnx")
        example = (torch.zeros((a.batch, 1), dtype=torch.long), torch.zeros(1, dtype=torch.long),
                   torch.zeros(shape[:3] + (1,) + shape[4:]), torch.zeros(shape[:3] + (1,) + shape[4:]))
        torch.onnx.export(step, example, path, dynamo=False, opset_version=17,
                          input_names=["idx", "pos", "past_k", "past_v"],
                          output_names=["logits", "k", "v"],
                          dynamic_axes={"past_k": {3: "past"}, "past_v": {3: "past"},
                                        "k": {3: "total"}, "v": {3: "total"}})
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = a.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

        def run(idx, pos, k, v):
            return session.run(None, {"idx": idx, "pos": pos, "past_k": k, "past_v": v})
        version = ort.__version__
        # The exported graph computes what PyTorch does (two steps, the second on a cache).
        ids = np.arange(a.batch, dtype=np.int64)[:, None]
        k = v = np.zeros(shape, dtype=np.float32)
        for t in range(2):
            pos = np.array([t], dtype=np.int64)
            with torch.no_grad():
                want = step(*(torch.from_numpy(x) for x in (ids, pos, k, v)))
            got = run(ids, pos, k, v)
            err = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))
            assert err < 1e-4, f"ONNX Runtime differs from PyTorch by {err}"
            k, v = got[1], got[2]
        os.remove(path)
        os.rmdir(os.path.dirname(path))
    else:
        fn = torch.compile(step, dynamic=True) if a.engine == "compile" else step

        def run(idx, pos, k, v):
            with torch.no_grad():
                out = fn(torch.from_numpy(idx), torch.from_numpy(pos), torch.from_numpy(k),
                         torch.from_numpy(v))
            return tuple(t.numpy() for t in out)
        if a.engine == "compile":  # compile outside the timing: two warm-up decodes
            for _ in range(2):
                decode(run, argparse.Namespace(**{**vars(a), "new_tokens": 8}), shape)
        version = torch.__version__
    tps = decode(run, a, shape)
    print(json.dumps(dict(engine=a.engine, batch=a.batch, generate_tokens_per_s=tps,
                          version=version)))


if __name__ == "__main__":
    main()
