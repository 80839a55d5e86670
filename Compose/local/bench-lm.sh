#!/usr/bin/env bash
# Benchmark of the transformer LM against PyTorch on the CPU, same config, shapes and threads.
# Prints a side-by-side table and writes bench-results/lm.json.
#
# Environment: LM_BENCH_STEPS (timed training steps, default 10), LM_BENCH_NEW_TOKENS (new tokens per
# sampled sequence, default 64), LM_BENCH_THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."

STEPS=${LM_BENCH_STEPS:-10}
NEW=${LM_BENCH_NEW_TOKENS:-64}
THREADS=${LM_BENCH_THREADS:-2}
PY=/usr/bin/python3   # Debian's python3-torch imports only under the system interpreter

if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "bench-lm: installing python3-torch with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch
fi

# One build at a time on a shared machine.
flock /tmp/cdra-build.lock swift build -c release --product lm

mkdir -p bench-results
echo "== Swift (OpenBLAS, $THREADS threads)"
.build/release/lm bench --steps "$STEPS" --sample-tokens "$NEW" --threads "$THREADS" --json bench-results/lm-swift.json
echo "== PyTorch (CPU, $THREADS threads)"
"$PY" Services/lm/torch_bench.py --threads "$THREADS" --steps "$STEPS" --new "$NEW" > bench-results/lm-torch.json
cat bench-results/lm-torch.json

"$PY" - "$NEW" <<'PYEOF'
import json, sys
swift = json.load(open("bench-results/lm-swift.json"))
torch = json.load(open("bench-results/lm-torch.json"))
new = int(sys.argv[1])
result = dict(swift)
result.update(torch)
result["train_ratio"] = swift["train_tok_s"] / torch["torch_train_tok_s"]
result["train_ratio_best_step"] = swift["train_tok_s_best_step"] / torch["torch_train_tok_s_best_step"]
result["sample_ratio"] = swift["sample_tok_s"] / torch["torch_sample_tok_s"]
rows = [
    ("training tokens/s (batch 8 x 256)", swift["train_tok_s"], torch["torch_train_tok_s"], result["train_ratio"]),
    ("training tokens/s, best single step", swift["train_tok_s_best_step"], torch["torch_train_tok_s_best_step"], result["train_ratio_best_step"]),
    (f"sampling tokens/s (batch 16, {new} new)", swift["sample_tok_s"], torch["torch_sample_tok_s"], result["train_ratio_best_step"] = swift["train_tok_s_best_step"] / torch["torch_train_tok_s_best_step"]
result["sample_ratio"]),
    ("peak RSS (MiB)", swift["peak_rss_mb"], torch["torch_peak_rss_mb"], swift["peak_rss_mb"] / torch["torch_peak_rss_mb"]),
]
c = swift["config"]
print(f"\nstandard config: d_model {c['d_model']}, {c['layers']} layers, {c['heads']} heads, context {c['context']}, "
      f"vocab {c['vocab']} ({c['params']} params), {swift['threads']} threads; PyTorch {torch['torch_version']} "
      "samples without a KV cache")
print(f"{'':40} {'Swift':>12} {'PyTorch':>12} {'ratio':>8}")
for name, s, t, r in rows:
    print(f"{name:40} {s:12.1f} {t:12.1f} {r:8.2f}")
print(f"training step ({swift['train_step_gflop']:.1f} GFLOP): {swift['train_gflops']:.1f} GFLOP/s mean, "
      f"{swift['train_gflops_best_step']:.1f} GFLOP/s best step, vs sgemm 1024^3 best {swift['sgemm_gflops']:.1f} GFLOP/s "
      f"({100 * swift['train_gflops_best_step'] / swift['sgemm_gflops']:.0f}% best step)")
json.dump(result, open("bench-results/lm.json", "w"), indent=2, sort_keys=True)
print("wrote bench-results/lm.json")
PYEOF
