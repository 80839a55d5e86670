#!/usr/bin/python3
"""PyTorch (CPU) counterpart of `lm bench`: the same GPT-2-layout model and shapes.

Trains with AdamW for a fixed number of steps and samples twice: with a KV cache (as HF `generate`
does; the like-for-like figure) and naively, re-running the whole sequence every token; then
prints one JSON object. Run with Debian's
python3-torch under /usr/bin/python3.
Usage: torch_bench.py --threads 2 --steps 10 --warmup 2 --batch 8 --sample-batch 16 --prompt 16 --new 128
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--sample-batch", type=int, default=16)
p.add_argument("--prompt", type=int, default=16)
p.add_argument("--new", type=int, default=128)
p.add_argument("--vocab", type=int, default=2048)
p.add_argument("--context", type=int, default=256)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--d-model", type=int, default=256)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
V, T, L, NH, C = args.vocab, args.context, args.layers, args.heads, args.d_model


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(C)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C)
        self.fc = nn.Linear(C, 4 * C)
        self.fcproj = nn.Linear(4 * C, C)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, x, cache=None):
        # cache: None (training), or a dict holding this block's keys and values so far; the new
        # positions attend to the cached ones and to themselves (causally), as HF's past_key_values.
        B, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (a.view(B, t, NH, C // NH).transpose(1, 2) for a in (q, k, v))
        past = 0
        if cache is not None:
            if "k" in cache:
                past = cache["k"].shape[2]
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // NH)
        att = att.masked_fill(~self.mask[past:past + t, :past + t], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, t, C)
        x = x + self.proj(y)
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.lnf = nn.LayerNorm(C)

    def forward(self, idx, caches=None, start=0):
        x = self.wte(idx) + self.wpe(torch.arange(start, start + idx.shape[1]))
        for i, b in enumerate(self.blocks):
            x = b(x, None if caches is None else caches[i])
        return self.lnf(x) @ self.wte.weight.T   # LM head tied to the embedding


model = GPT()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
data = torch.randint(0, V, (args.steps + args.warmup, args.batch, T + 1))
elapsed = 0.0
best = float("inf")
for i in range(args.steps + args.warmup):
    t0 = time.perf_counter()
    logits = model(data[i, :, :-1])
    loss = F.cross_entropy(logits.reshape(-1, V), data[i, :, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if i >= args.warmup:
        elapsed += time.perf_counter() - t0
        best = min(best, time.perf_counter() - t0)
train_tok_s = args.steps * args.batch * T / elapsed


@torch.no_grad()
def generate(idx, new):
    # naive: the whole sequence goes through the model again for every new token
    for _ in range(new):
        logits = model(idx[:, -T:])[:, -1, :]
        nxt = torch.multinomial(logits.softmax(-1), 1)
        idx = torch.cat([idx, nxt], dim=1)
    return idx


@torch.no_grad()
def generate_cached(idx, new):
    # with a KV cache (as HF generate does): the prompt once, then one position per new token
    caches = [{} for _ in range(L)]
    logits = model(idx, caches, 0)[:, -1, :]
    out = [idx]
    length = idx.shape[1]
    for _ in range(new):
        nxt = torch.multinomial(logits.softmax(-1), 1)
        out.append(nxt)
        logits = model(nxt, caches, length)[:, -1, :]
        length += 1
    return torch.cat(out, dim=1)


prompts = torch.randint(0, V, (args.sample_batch, args.prompt))
generate(prompts, 2)
t0 = time.perf_counter()
generate(prompts, args.new)
naive_sample_tok_s = args.sample_batch * args.new / (time.perf_counter() - t0)
generate_cached(prompts, 2)
t0 = time.perf_counter()
generate_cached(prompts, args.new)
sample_tok_s = args.sample_batch * args.new / (time.perf_counter() - t0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"torch_version": torch.__version__, "torch_train_tok_s": train_tok_s,
                  "torch_train_step_ms": elapsed / args.steps * 1000,
                  "torch_train_tok_s_best_step": args.batch * T / best, "torch_sample_tok_s": sample_tok_s,
                  "torch_naive_sample_tok_s": naive_sample_tok_s,
                  "torch_peak_rss_mb": peak, "threads": args.threads}))
