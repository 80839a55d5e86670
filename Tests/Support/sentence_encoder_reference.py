"""Reference sentence embeddings of all-MiniLM-L6-v2, in numpy, for the Swift encoder's test.

Written from the model's published description (BERT: post-LN encoder, exact-erf GELU, lower-cased
WordPiece; sentence-transformers: mean pooling over all tokens, then L2 normalisation), independently
of Shared/SentenceEncoder. Reads the model folder the install script extracts (model.safetensors,
vocab.txt, config.json) and sentences as a JSON list on stdin; writes
{"tokens": [[id, ...], ...], "embeddings": [[float, ...], ...]} on stdout.

Usage: python3 sentence_encoder_reference.py MODEL_DIR < sentences.json
"""
import json
import math
import struct
import sys
import unicodedata

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + start : base + end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokens(text):
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        if ch in "\t\n\r" or unicodedata.category(ch) == "Zs":
            cleaned.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        elif is_cjk(cp):
            cleaned.append(" " + ch + " ")
        else:
            cleaned.append(ch)
    words = []
    for word in "".join(cleaned).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        current = ""
        for c in word:
            if is_punct(c):
                if current:
                    words.append(current)
                words.append(c)
                current = ""
            else:
                current += c
        if current:
            words.append(current)
    return words


def wordpiece(word, vocab):
    if len(word) > 100:
        return [vocab["[UNK]"]]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                found = vocab[piece]
                break
            end -= 1
        if found is None:
            return [vocab["[UNK]"]]
        pieces.append(found)
        start = end
    return pieces


def layer_norm(x, w, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed(ids, p, cfg):
    x = p["embeddings.word_embeddings.weight"][ids] + p["embeddings.position_embeddings.weight"][: len(ids)]
    x = x + p["embeddings.token_type_embeddings.weight"][0]
    eps = cfg["layer_norm_eps"]
    x = layer_norm(x, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"], eps)
    heads = cfg["num_attention_heads"]
    hs = cfg["hidden_size"] // heads
    for i in range(cfg["num_hidden_layers"]):
        pre = f"encoder.layer.{i}."
        def lin(name, h):
            return h @ p[pre + name + ".weight"].T + p[pre + name + ".bias"]
        q, k, v = lin("attention.self.query", x), lin("attention.self.key", x), lin("attention.self.value", x)
        ctx = np.zeros_like(x)
        for h in range(heads):
            s = slice(h * hs, (h + 1) * hs)
            scores = q[:, s] @ k[:, s].T / math.sqrt(hs)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx[:, s] = scores @ v[:, s]
        x = layer_norm(x + lin("attention.output.dense", ctx), p[pre + "attention.output.LayerNorm.weight"],
                       p[pre + "attention.output.LayerNorm.bias"], eps)
        hidden = gelu(lin("intermediate.dense", x))
        x = layer_norm(x + lin("output.dense", hidden), p[pre + "output.LayerNorm.weight"],
                       p[pre + "output.LayerNorm.bias"], eps)
    pooled = x.mean(0)
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def main():
    model_dir = sys.argv[1]
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    with open(f"{model_dir}/vocab.txt", encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    params = load_safetensors(f"{model_dir}/model.safetensors")
    sentences = json.load(sys.stdin)
    tokens, embeddings = [], []
    for text in sentences:
        ids = [i for w in basic_tokens(text) for i in wordpiece(w, vocab)][:254]
        ids = [vocab["[CLS]"]] + ids + [vocab["[SEP]"]]
        tokens.append(ids)
        embeddings.append([float(v) for v in embed(np.array(ids), params, cfg)])
    json.dump({"tokens": tokens, "embeddings": embeddings}, sys.stdout)


if __name__ == "__main__":
    main()
