#!/usr/bin/env bash
# Benchmark of the transformer LM against PyTorch on the CPU, same config, shapes and threads.
# Prints a side-by-side table and writes bench-results/lm.json.
#
# Environment: LM_BENCH_STEPS (timed training steps, default 10), LM_BENCH_NEW_TOKENS (new tokens per
# sampled sequence, default 64), LM_BENCH_THREADS (default 2), LM_BENCH_ROUNDS (default 2).
#
# The machine may be shared: Swift and PyTorch run alternately for several rounds and each figure is
# the best round, so a burst of someone else's load hurts neither side more than the other.
set -euo pipefail
cd "$(dirname "$0")/../.."
source Compose/local/env.sh   # OPENBLAS_CORETYPE, for both the Swift and the PyTorch side

STEPS=${LM_BENCH_STEPS:-10}
NEW=${LM_BENCH_NEW_TOKENS:-64}
THREADS=${LM_BENCH_THREADS:-2}
ROUNDS=${LM_BENCH_ROUNDS:-2}
PY=/usr/bin/python3   # Debian's python3-torch imports only under the system interpreter

if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "bench-lm: installing python3-torch with apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch
fi

# One build at a time on a shared machine.
flock /tmp/cdra-build.lock swift build -c release --product lm

mkdir -p bench-results
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round: Swift (OpenBLAS, $THREADS threads)"
    .build/release/lm bench --steps "$STEPS" --sample-tokens "$NEW" --threads "$THREADS" \
        --json "bench-results/lm-swift-$round.json"
    echo "== round $round: PyTorch (CPU, $THREADS threads)"
    "$PY" Services/lm/torch_bench.py --threads "$THREADS" --steps "$STEPS" --new "$NEW" > "bench-results/lm-torch-$round.json"
    cat "bench-results/lm-torch-$round.json"
done

"$PY" - "$NEW" "$ROUNDS" <<'PYEOF'
import json, sys
new, rounds = int(sys.argv[1]), int(sys.argv[2])
swifts = [json.load(open(f"bench-results/lm-swift-{r}.json")) for r in range(1, rounds + 1)]
torches = [json.load(open(f"bench-results/lm-torch-{r}.json")) for r in range(1, rounds + 1)]
best = lambda runs, key: max(run[key] for run in runs)
swift, torch = dict(swifts[0]), dict(torches[0])
for key in ["train_tok_s", "train_tok_s_best_step", "train_gflops", "train_gflops_best_step", "sgemm_gflops",
            "sample_tok_s", "peak_rss_mb"]:
    swift[key] = best(swifts, key)
for key in ["torch_train_tok_s", "torch_train_tok_s_best_step", "torch_sample_tok_s", "torch_naive_sample_tok_s", "torch_peak_rss_mb"]:
    torch[key] = best(torches, key)
result = dict(swift)
result.update(torch)
result["rounds"] = rounds
result["train_ratio"] = swift["train_tok_s"] / torch["torch_train_tok_s"]
result["train_ratio_best_step"] = swift["train_tok_s_best_step"] / torch["torch_train_tok_s_best_step"]
result["sample_ratio"] = swift["sample_tok_s"] / torch["torch_sample_tok_s"]
result["naive_sample_ratio"] = swift["sample_tok_s"] / torch["torch_naive_sample_tok_s"]
result["rounds_raw"] = {"swift": swifts, "torch": torches}
rows = [
    ("training tokens/s (mean of steps)", swift["train_tok_s"], torch["torch_train_tok_s"], result["train_ratio"]),
    ("training tokens/s (best step)", swift["train_tok_s_best_step"], torch["torch_train_tok_s_best_step"], result["train_ratio_best_step"]),
    (f"sampling tokens/s, KV cache (batch 16, {new} new)", swift["sample_tok_s"], torch["torch_sample_tok_s"], result["sample_ratio"]),
    (f"  PyTorch without a KV cache", swift["sample_tok_s"], torch["torch_naive_sample_tok_s"], result["naive_sample_ratio"]),
    ("peak RSS (MiB)", swift["peak_rss_mb"], torch["torch_peak_rss_mb"], swift["peak_rss_mb"] / torch["torch_peak_rss_mb"]),
]
c = swift["config"]
print(f"\nstandard config: d_model {c['d_model']}, {c['layers']} layers, {c['heads']} heads, context {c['context']}, "
      f"vocab {c['vocab']} ({c['params']} params), batch {swift['batch_size']}, {swift['threads']} threads, best of {rounds} rounds; "
      f"PyTorch {torch['torch_version']} samples with a KV cache (and, for reference, without)")
print(f"{'':40} {'Swift':>12} {'PyTorch':>12} {'ratio':>8}")
for name, s, t, r in rows:
    print(f"{name:40} {s:12.1f} {t:12.1f} {r:8.2f}")
print(f"training step ({swift['train_step_gflop']:.1f} GFLOP): {swift['train_gflops']:.1f} GFLOP/s mean, "
      f"{swift['train_gflops_best_step']:.1f} GFLOP/s best step; sgemm 1024^3 {swift['sgemm_gflops']:.1f} GFLOP/s "
      f"(best step at {100 * swift['train_gflops_best_step'] / swift['sgemm_gflops']:.0f}% of it)")
json.dump(result, open("bench-results/lm.json", "w"), indent=2, sort_keys=True)
print("wrote bench-results/lm.json")
PYEOF
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
