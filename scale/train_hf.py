"""Train a GPT-2 or Llama model on midigpt's shards with PyTorch, on one or many GPUs/nodes.

Reads DATA/train.bin and DATA/val.bin (`midigpt prepare`) with np.memmap, trains
GPT2LMHeadModel or LlamaForCausalLM with DistributedDataParallel (nccl on GPUs, gloo on the
CPU), bf16 autocast on GPUs, AdamW, warmup + cosine schedule and gradient clipping, and
writes a Hugging Face folder that `midigpt generate --model OUT` loads:

    torchrun --nproc_per_node 8 scale/train_hf.py --data DATA --out OUT
    torchrun --nnodes 2 --node_rank R --nproc_per_node 8 --rdzv_backend c10d \\
        --rdzv_endpoint HOST:29500 scale/train_hf.py --data DATA --out OUT
"""

import argparse
import contextlib
import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM


def special_ids(data, meta):
    """PAD/BOS/EOS ids: MidiTok puts the special tokens first, in the config's order."""
    tok = json.loads((data / "tokenizer.json").read_text()) if (data / "tokenizer.json").exists() \
        else meta["tokenizer"]
    specials = tok.get("config", {}).get("special_tokens", ["PAD_None", "BOS_None", "EOS_None"])
    index = {name: i for i, name in enumerate(specials)}
    return (index.get("PAD_None", 0), index.get("BOS_None", meta.get("bos_id", 1)),
            index.get("EOS_None", meta.get("eos_id", 2)))


def build_model(args, vocab, pad, bos, eos):
    ids = dict(vocab_size=vocab, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad)
    if args.arch == "gpt2":
        # Exact GELU and a tied head, as midigpt computes GPT-2 (it refuses `gelu_new`).
        cfg = GPT2Config(n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                         n_positions=args.block_size, n_ctx=args.block_size,
                         activation_function="gelu", resid_pdrop=args.dropout,
                         embd_pdrop=args.dropout, attn_pdrop=args.dropout,
                         tie_word_embeddings=True, **ids)
        return GPT2LMHeadModel(cfg)
    cfg = LlamaConfig(hidden_size=args.n_embd, num_hidden_layers=args.n_layer,
                      num_attention_heads=args.n_head,
                      num_key_value_heads=args.n_kv_head or args.n_head,
                      intermediate_size=args.intermediate_size or
                      256 * math.ceil(8 * args.n_embd / 3 / 256),
                      max_position_embeddings=args.block_size, rope_theta=10000.0,
                      hidden_act="silu", attention_bias=False, mlp_bias=False,
                      tie_word_embeddings=False, **ids)
    return LlamaForCausalLM(cfg)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--arch", choices=["gpt2", "llama"], default="gpt2")
    p.add_argument("--n-layer", type=int, default=6)
    p.add_argument("--n-head", type=int, default=6)
    p.add_argument("--n-kv-head", type=int, default=0, help="llama: 0 = n_head")
    p.add_argument("--n-embd", type=int, default=384)
    p.add_argument("--intermediate-size", type=int, default=0, help="llama: 0 = about 8/3 n_embd")
    p.add_argument("--block-size", type=int, default=1024)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=16, help="per process")
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--max-iters", type=int, default=5000)
    p.add_argument("--warmup-iters", type=int, default=100)
    p.add_argument("--lr", type=float, default=6e-4)
    p.add_argument("--min-lr", type=float, default=6e-5)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--log-interval", type=int, default=10)
    p.add_argument("--eval-interval", type=int, default=0, help="0 = only at the end")
    p.add_argument("--eval-iters", type=int, default=20)
    p.add_argument("--seed", type=int, default=1337)
    args = p.parse_args()

    ddp = "RANK" in os.environ
    if ddp:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        rank, world, local = dist.get_rank(), dist.get_world_size(), int(os.environ["LOCAL_RANK"])
    else:
        rank, world, local = 0, 1, 0
    if torch.cuda.is_available():
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    else:
        device = torch.device("cpu")
    master = rank == 0
    torch.manual_seed(args.seed + rank)

    meta = json.loads((args.data / "meta.json").read_text())
    dtype = {"u16": np.uint16, "uint16": np.uint16, "u32": np.uint32,
             "uint32": np.uint32}[meta["dtype"].lower()]
    vocab = meta["vocab_size"]
    pad, bos, eos = special_ids(args.data, meta)
    rng = np.random.default_rng(args.seed + rank)

    def batch(split):
        data = np.memmap(args.data / f"{split}.bin", dtype=dtype, mode="r")
        if len(data) <= args.block_size + 1:
            raise SystemExit(f"{split}.bin holds {len(data)} tokens, no more than block_size + 1")
        starts = rng.integers(0, len(data) - args.block_size - 1, args.batch_size)
        w = np.stack([data[s:s + args.block_size + 1].astype(np.int64) for s in starts])
        w = torch.from_numpy(w).to(device, non_blocking=True)
        return w[:, :-1], w[:, 1:]

    torch.manual_seed(args.seed)  # the same initial weights on every rank
    model = build_model(args, vocab, pad, bos, eos).to(device)
    raw = model
    if ddp:
        model = DDP(model, device_ids=[local] if device.type == "cuda" else None)
    decay = [q for q in raw.parameters() if q.dim() >= 2]
    no_decay = [q for q in raw.parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95),
                            fused=device.type == "cuda")
    def autocast():
        if device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def lr_at(it):
        if it < args.warmup_iters:
            return args.lr * (it + 1) / (args.warmup_iters + 1)
        frac = min(1.0, (it - args.warmup_iters) / max(1, args.max_iters - args.warmup_iters))
        return args.min_lr + 0.5 * (1 + math.cos(math.pi * frac)) * (args.lr - args.min_lr)

    def loss_of(x, y):
        with autocast():
            logits = model(input_ids=x).logits
        return torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)),
                                                 y.reshape(-1))

    @torch.no_grad()
    def val_loss():
        model.eval()
        total = torch.zeros(1, device=device)
        for _ in range(args.eval_iters):
            total += loss_of(*batch("val"))
        if ddp:
            dist.all_reduce(total)
        model.train()
        return total.item() / (args.eval_iters * world)

    if master:
        n = sum(q.numel() for q in raw.parameters())
        print(f"{type(raw).__name__}: {n / 1e6:.2f}M parameters, vocab {vocab}, "
              f"{world} processes on {device.type}, "
              f"{args.batch_size * args.grad_accum * world * args.block_size} tokens/step",
              flush=True)
    model.train()
    t0 = time.time()
    for it in range(args.max_iters):
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        loss_sum = torch.zeros(1, device=device)
        for micro in range(args.grad_accum):
            if ddp:
                model.require_backward_grad_sync = micro == args.grad_accum - 1
            loss = loss_of(*batch("train"))
            (loss / args.grad_accum).backward()
            loss_sum += loss.detach()
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if it % args.log_interval == 0 or it == args.max_iters - 1:
            if ddp:
                dist.all_reduce(loss_sum)
            if master:
                dt = time.time() - t0
                print(f"step {it}: loss {loss_sum.item() / (args.grad_accum * world):.4f}, "
                      f"lr {lr_at(it):.2e}, {dt:.1f}s", flush=True)
        if args.eval_interval and it > 0 and it % args.eval_interval == 0:
            v = val_loss()
            if master:
                print(f"step {it}: val loss {v:.4f}", flush=True)
    v = val_loss()
    if master:
        print(f"final val loss {v:.4f}", flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        raw.generation_config.update(bos_token_id=bos, eos_token_id=eos, pad_token_id=pad)
        raw.save_pretrained(args.out, safe_serialization=True)
        if (args.data / "tokenizer.json").exists():
            shutil.copy(args.data / "tokenizer.json", args.out / "tokenizer.json")
        else:
            (args.out / "tokenizer.json").write_text(json.dumps(meta["tokenizer"], indent=2))
        print(f"wrote {args.out}", flush=True)
    if ddp:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
