#!/usr/bin/env python3
"""Independent numpy reference for the CDRA transformer (GPT-2 layout, llm.c parameter order).

Writes a fixture the Swift test compares against: a tiny model's logits, weighted loss, every
parameter gradient, and the loss curve of 10 AdamW steps. Computed in float64, stored as
little-endian float32. Usage: python3 reference.py out.bin
"""
import struct
import sys

import numpy as np

MAGIC = 20261130
VERSION = 1

V, MAXT, L, NH, C = 37, 16, 2, 2, 16   # vocabulary, context, layers, heads, channels
B, T = 2, 8                            # batch, sequence length (shorter than the context)
EPS = 1e-5
STEPS = 10

NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
SHAPES = {"wte": (V, C), "wpe": (MAXT, C), "ln1w": (L, C), "ln1b": (L, C),
          "qkvw": (L, 3 * C, C), "qkvb": (L, 3 * C), "attprojw": (L, C, C), "attprojb": (L, C),
          "ln2w": (L, C), "ln2b": (L, C), "fcw": (L, 4 * C, C), "fcb": (L, 4 * C),
          "fcprojw": (L, C, 4 * C), "fcprojb": (L, C), "lnfw": (C,), "lnfb": (C,)}
DECAY = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw"}


def init_params(rng):
    p = {}
    for n in NAMES:
        if n in ("ln1w", "ln2w", "lnfw"):
            p[n] = 1.0 + 0.1 * rng.standard_normal(SHAPES[n])
        else:
            p[n] = 0.2 * rng.standard_normal(SHAPES[n])
    return p


def layernorm(x, w, b):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt(var + EPS)
    norm = (x - mu) * rstd
    return norm * w + b, (norm, rstd, w)


def layernorm_backward(dout, cache):
    norm, rstd, w = cache
    dnorm = dout * w
    dx = rstd * (dnorm - dnorm.mean(-1, keepdims=True) - norm * (dnorm * norm).mean(-1, keepdims=True))
    return dx, (dout * norm).sum(axis=(0, 1)), dout.sum(axis=(0, 1))


def gelu(x):
    k = np.sqrt(2.0 / np.pi)
    return 0.5 * x * (1.0 + np.tanh(k * (x + 0.044715 * x ** 3)))


def gelu_backward(x, dout):
    k = np.sqrt(2.0 / np.pi)
    u = k * (x + 0.044715 * x ** 3)
    th = np.tanh(u)
    return dout * (0.5 * (1 + th) + 0.5 * x * (1 - th ** 2) * k * (1 + 3 * 0.044715 * x ** 2))


def attention(qkv):
    hs = C // NH
    q, k, v = np.split(qkv, 3, axis=-1)
    heads = lambda a: a.reshape(B, T, NH, hs).transpose(0, 2, 1, 3)
    q, k, v = heads(q), heads(k), heads(v)
    pre = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hs)
    mask = np.tril(np.ones((T, T), dtype=bool))
    pre = np.where(mask, pre, -np.inf)
    pre = pre - pre.max(-1, keepdims=True)
    att = np.exp(pre)
    att /= att.sum(-1, keepdims=True)
    y = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
    return y, (q, k, v, att)


def attention_backward(dy, cache):
    q, k, v, att = cache
    hs = C // NH
    dy = dy.reshape(B, T, NH, hs).transpose(0, 2, 1, 3)
    datt = dy @ v.transpose(0, 1, 3, 2)
    dv = att.transpose(0, 1, 3, 2) @ dy
    dpre = att * (datt - (att * datt).sum(-1, keepdims=True)) / np.sqrt(hs)
    dq = dpre @ k
    dk = dpre.transpose(0, 1, 3, 2) @ q
    merge = lambda a: a.transpose(0, 2, 1, 3).reshape(B, T, C)
    return np.concatenate([merge(dq), merge(dk), merge(dv)], axis=-1)


def forward_backward(p, inputs, targets, weights):
    """Returns logits, weighted loss Σ w·(−log p(y)), and gradients of that loss."""
    caches = []
    x = p["wte"][inputs] + p["wpe"][:T][None]
    for l in range(L):
        h1, ln1c = layernorm(x, p["ln1w"][l], p["ln1b"][l])
        qkv = h1 @ p["qkvw"][l].T + p["qkvb"][l]
        y, attc = attention(qkv)
        x2 = x + y @ p["attprojw"][l].T + p["attprojb"][l]
        h2, ln2c = layernorm(x2, p["ln2w"][l], p["ln2b"][l])
        f = h2 @ p["fcw"][l].T + p["fcb"][l]
        g = gelu(f)
        x3 = x2 + g @ p["fcprojw"][l].T + p["fcprojb"][l]
        caches.append((h1, ln1c, attc, y, h2, ln2c, f, g))
        x = x3
    hf, lnfc = layernorm(x, p["lnfw"], p["lnfb"])
    logits = hf @ p["wte"].T
    m = logits.max(-1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(-1, keepdims=True)) + m
    logprobs = logits - lse
    valid = targets >= 0
    safe = np.where(valid, targets, 0)
    nll = -np.take_along_axis(logprobs, safe[..., None], axis=-1)[..., 0]
    nll = np.where(valid, nll, 0.0)
    loss = (weights * nll).sum()

    grads = {n: np.zeros_like(p[n]) for n in NAMES}
    probs = np.exp(logprobs)
    onehot = np.zeros_like(probs)
    np.put_along_axis(onehot, safe[..., None], 1.0, axis=-1)
    w = np.where(valid, weights, 0.0)[..., None]
    dlogits = w * (probs - onehot)
    grads["wte"] += np.einsum("btv,btc->vc", dlogits, hf)
    dhf = dlogits @ p["wte"]
    dx, grads["lnfw"], grads["lnfb"] = layernorm_backward(dhf, lnfc)
    for l in reversed(range(L)):
        h1, ln1c, attc, y, h2, ln2c, f, g = caches[l]
        grads["fcprojw"][l] = np.einsum("bto,btc->oc", dx, g)
        grads["fcprojb"][l] = dx.sum((0, 1))
        df = gelu_backward(f, dx @ p["fcprojw"][l])
        grads["fcw"][l] = np.einsum("bto,btc->oc", df, h2)
        grads["fcb"][l] = df.sum((0, 1))
        dh2 = df @ p["fcw"][l]
        dres, grads["ln2w"][l], grads["ln2b"][l] = layernorm_backward(dh2, ln2c)
        dx = dx + dres
        grads["attprojw"][l] = np.einsum("bto,btc->oc", dx, y)
        grads["attprojb"][l] = dx.sum((0, 1))
        dqkv = attention_backward(dx @ p["attprojw"][l], attc)
        grads["qkvw"][l] = np.einsum("bto,btc->oc", dqkv, h1)
        grads["qkvb"][l] = dqkv.sum((0, 1))
        dh1 = dqkv @ p["qkvw"][l]
        dres, grads["ln1w"][l], grads["ln1b"][l] = layernorm_backward(dh1, ln1c)
        dx = dx + dres
    np.add.at(grads["wte"], inputs, dx)
    grads["wpe"][:T] += dx.sum(0)
    return logits, loss, grads


def lr_at(step, max_lr=1e-2, min_lr=1e-3, warmup=3, total=STEPS):
    if step < warmup:
        return max_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return min_lr + 0.5 * (1 + np.cos(np.pi * progress)) * (max_lr - min_lr)


def train(p, inputs, targets, weights):
    b1, b2, eps, wd, clip = 0.9, 0.95, 1e-8, 0.1, 1.0
    m = {n: np.zeros_like(p[n]) for n in NAMES}
    v = {n: np.zeros_like(p[n]) for n in NAMES}
    losses = []
    for step in range(STEPS):
        _, loss, grads = forward_backward(p, inputs, targets, weights)
        losses.append(loss)
        norm = np.sqrt(sum((grads[n] ** 2).sum() for n in NAMES))
        if norm > clip:
            for n in NAMES:
                grads[n] *= clip / (norm + 1e-6)
        lr = lr_at(step)
        t = step + 1
        for n in NAMES:
            m[n] = b1 * m[n] + (1 - b1) * grads[n]
            v[n] = b2 * v[n] + (1 - b2) * grads[n] ** 2
            mhat = m[n] / (1 - b1 ** t)
            vhat = v[n] / (1 - b2 ** t)
            decay = wd if n in DECAY else 0.0
            p[n] = p[n] - lr * (mhat / (np.sqrt(vhat) + eps) + decay * p[n])
    return losses


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20261130)
    p = init_params(rng)
    # parameters are rounded to float32 first so both sides start from identical values
    p = {n: p[n].astype(np.float32).astype(np.float64) for n in NAMES}
    inputs = rng.integers(0, V, size=(B, T))
    targets = rng.integers(0, V, size=(B, T))
    targets[0, 0] = -1                       # a position without a target
    mask = rng.random((B, T)) < 0.7          # loss mask: train on some positions only
    mask[1, -1] = True
    weights = np.where(mask, rng.standard_normal((B, T)), 0.0)   # signed per-token weights
    weights = weights.astype(np.float32).astype(np.float64)

    logits, loss, grads = forward_backward(p, inputs, targets, weights)

    train_mask = (targets >= 0) & mask
    train_weights = (train_mask / train_mask.sum()).astype(np.float32).astype(np.float64)
    losses = train({n: p[n].copy() for n in NAMES}, inputs, targets, train_weights)

    f32 = lambda a: np.asarray(a, dtype="<f4").tobytes()
    i32 = lambda a: np.asarray(a, dtype="<i4").tobytes()
    with open(out, "wb") as fh:
        fh.write(struct.pack("<9i", MAGIC, VERSION, V, MAXT, L, NH, C, B, T))
        fh.write(b"".join(f32(p[n].ravel()) for n in NAMES))
        fh.write(i32(inputs.ravel()) + i32(targets.ravel()) + f32(weights.ravel()))
        fh.write(f32(logits.ravel()) + f32([loss]))
        fh.write(b"".join(f32(grads[n].ravel()) for n in NAMES))
        fh.write(f32(train_weights.ravel()) + struct.pack("<i", STEPS) + f32(losses))
    print(f"wrote {out}: loss {loss:.6f}, 10-step losses {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
