#!/usr/bin/env python3
"""nanoGPT-style PyTorch reference for bench/gpu.sh: the model of bench/torch_gpt.py (GPT-2
style: learned positions, LayerNorm, GELU, tied embeddings, `scaled_dot_product_attention`),
trained as nanoGPT trains it on a GPU: bf16 autocast, `torch.compile`, fused AdamW, gradient
accumulation and clipping. Then generation with a KV cache at batch 1 (sampled, temperature 1)
and at `--gen-batch` (greedy).

Use:  python bench/torch_gpu.py [--device cuda] [--shape small|gpt2-124m] [--batch 8]
      [--accum 1] [--steps 30] [--new-tokens 256] [--gen-batch 64] [--peak-tflops 989]
      [--no-compile] [--fp32]
Prints one JSON line with the keys bench/gpu.sh reads (those of midigpt's bench example).
`--device cpu` runs the same code on the CPU (no compile, f32) to check the script itself.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

from torch_gpt import GPT

SHAPES = {"small": (4, 4, 256, 256), "gpt2-124m": (12, 12, 768, 1024)}  # layers, heads, d, ctx
VOCAB = 518


def flops_per_token(model, layers, heads, d, ctx):
    """6·N + 12·L·H·Q·T (PaLM appendix B, nanoGPT's estimate_mfu), as midigpt's
    Gpt::flops_per_token: N counts the parameters in matrix products, i.e. all but the
    position embedding (the tied token embedding is the output projection)."""
    n = sum(p.numel() for p in model.parameters()) - model.wpe.weight.numel()
    return 6 * n + 12 * layers * heads * (d // heads) * ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--shape", choices=SHAPES, default="small")
    for name, default in [("batch", 8), ("accum", 1), ("steps", 30), ("new_tokens", 256),
                          ("gen_batch", 64)]:
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="device peak for MFU (default: 989, an H100 SXM in dense bf16, on cuda)")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    a = ap.parse_args()
    cuda = a.device.startswith("cuda")
    peak = a.peak_tflops if a.peak_tflops is not None else (989.0 if cuda else 0.0)
    layers, heads, d, ctx = SHAPES[a.shape]
    device = torch.device(a.device)
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True  # as nanoGPT
    torch.backends.cudnn.allow_tf32 = True

    model = GPT(VOCAB, ctx, layers, heads, d).to(device)
    fpt = flops_per_token(model, layers, heads, d, ctx)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1,
                            fused=cuda)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                              enabled=cuda and not a.fp32)
    train_model = torch.compile(model) if cuda and not a.no_compile else model
    data = torch.randint(0, VOCAB, (a.batch, ctx + 1), device=device)
    x, y = data[:, :-1], data[:, 1:]

    def step():
        for _ in range(a.accum):
            with autocast:
                logits = train_model(x)
                loss = F.cross_entropy(logits.view(-1, VOCAB), y.reshape(-1)) / a.accum
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()  # nanoGPT reads the loss back every logged step

    for _ in range(3):  # warm-up (and compilation)
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    train_tps = a.steps * a.accum * a.batch * ctx / (time.perf_counter() - start)
    peak_memory = torch.cuda.max_memory_allocated() if cuda else None

    model.eval()
    with torch.no_grad(), autocast:
        gen_tps = generate(model, layers, 1, a.new_tokens, device, sample=True)
        batch_tps = (generate(model, layers, a.gen_batch, min(a.new_tokens, ctx), device,
                              sample=False) if a.gen_batch else None)
    print(json.dumps(dict(
        train_tokens_per_s=train_tps,
        mfu=fpt * train_tps / (peak * 1e12) if peak else None,
        flops_per_token=fpt,
        generate_tokens_per_s=gen_tps,
        generate_batch_tokens_per_s=batch_tps,
        peak_memory_bytes=peak_memory,
        parameters=sum(p.numel() for p in model.parameters()),
        torch=torch.__version__,
        device=torch.cuda.get_device_name(device) if cuda else "cpu",
    )))


def generate(model, layers, n, new_tokens, device, sample):
    """Tokens/s of `n` sequences decoded together with a KV cache, timed after the first."""
    caches = [dict() for _ in range(layers)]
    idx = torch.zeros((n, 1), dtype=torch.long, device=device)
    logits = model(idx, caches, 0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for t in range(1, new_tokens):
        last = logits[:, -1].float()
        nxt = (torch.multinomial(F.softmax(last, -1), 1) if sample
               else last.argmax(-1, keepdim=True))
        nxt.cpu()  # the host sees every step's tokens, as midigpt's loop does
        logits = model(nxt, caches, t)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n * (new_tokens - 1) / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
