#!/usr/bin/env python3
"""PyTorch reference for bench/train_cpu.sh: the same GPT-2 style model as midigpt's `small`
preset, trained and sampled the way nanoGPT does it, timed on the CPU.

Use:  python bench/torch_gpt.py --vocab 518 [--layers 4 --heads 4 --embd 256 --ctx 256
      --batch 8 --steps 30 --new-tokens 256 --threads 2] [--compile] [--bf16]
Prints one JSON line: train_tokens_per_s, generate_tokens_per_s (null with --new-tokens 0),
parameters, mode.

--compile trains through `torch.compile(model)` (needs a C compiler); --bf16 runs forward and
loss under `torch.autocast("cpu", dtype=torch.bfloat16)`, the mixed precision PyTorch offers
on CPUs (f32 weights and optimizer, bf16 matrix products). Generation is always eager f32.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def attn(self, x, cache):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        # Causal only when queries and keys start together (training, prefill).
        y = F.scaled_dot_product_attention(q, k, v, is_causal=T == k.shape[2])
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.proj(F.gelu(self.fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, vocab, ctx, layers, heads, d):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.h = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying, as GPT-2

    def forward(self, idx, caches=None, pos0=0):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(pos0, pos0 + T, device=idx.device))
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return self.lm_head(self.ln_f(x))


def generate_tokens_per_s(model, a):
    """Batch 1, KV cache, eager f32: tokens/s after the first token, as is customary."""
    model.eval()
    with torch.no_grad():
        caches = [dict() for _ in range(a.layers)]
        idx = torch.zeros((1, 1), dtype=torch.long)
        logits = model(idx, caches, 0)
        start = time.perf_counter()
        for t in range(1, a.new_tokens):
            nxt = torch.multinomial(F.softmax(logits[:, -1], -1), 1)
            logits = model(nxt, caches, t)
        return (a.new_tokens - 1) / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    for name, default in [("vocab", 518), ("layers", 4), ("heads", 4), ("embd", 256), ("ctx", 256),
                          ("batch", 8), ("steps", 30), ("new_tokens", 256), ("threads", 2)]:
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--bf16", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = GPT(a.vocab, a.ctx, a.layers, a.heads, a.embd)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    data = torch.randint(0, a.vocab, (a.batch, a.ctx + 1))
    x, y = data[:, :-1], data[:, 1:]

    train_model = torch.compile(model) if a.compile else model
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16)

    def step():
        with autocast:
            loss = F.cross_entropy(train_model(x).view(-1, a.vocab).float(), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(5 if a.compile else 3):  # warm-up (and compilation)
        step()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    train_tps = a.steps * a.batch * a.ctx / (time.perf_counter() - start)

    gen_tps = generate_tokens_per_s(model, a) if a.new_tokens > 1 else None
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps(dict(train_tokens_per_s=train_tps, generate_tokens_per_s=gen_tps,
                          parameters=params, torch=torch.__version__,
                          mode=("compile" if a.compile else "eager") + ("+bf16" if a.bf16 else ""))))


if __name__ == "__main__":
    main()
