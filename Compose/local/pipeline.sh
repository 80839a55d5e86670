#!/usr/bin/env bash
# The end-to-end CDRA pipeline on the built-in defaults, against the local stack (make run).
#   1. apply migrations
#   2. build the DeepPref benchmark (3000 pairs, fixed seed)
#   3. start two council-generator replicas (one consumer group)
#   4. stream every benchmark query into deeppref.queries.v1
#   5. wait until every query is annotated, stop the replicas gracefully
#   6. show what is stored
# Everything it writes goes to out/ and to the PostgreSQL database of the local stack.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/env.sh"
cd "$CDRA_ROOT"
BIN="$(swift build -c release --show-bin-path)"
PAIRS="${CDRA_PAIRS:-3000}"
SEED="${CDRA_SEED:-20261130}"
REPLICAS="${CDRA_REPLICAS:-2}"
mkdir -p out
RUN_ID="run-$(date +%Y%m%d-%H%M%S)"
GROUP="council-generator"

step() { printf '\n== %s\n' "$*"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

step "migrations"
"$BIN/cdra" migrate

step "DeepPref benchmark: $PAIRS pairs, seed $SEED"
"$BIN/cdra" deeppref build --pairs "$PAIRS" --seed "$SEED" --out out/deeppref.jsonl

step "starting $REPLICAS council-generator replicas"
for i in $(seq 1 "$REPLICAS"); do
  "$BIN/council-generator" --group "$GROUP" --replica-id "replica-$i" >"out/council-generator-$i.log" 2>&1 &
  pids+=($!)
done

step "submitting queries and waiting until every one is annotated"
"$BIN/cdra" submit out/deeppref.jsonl --correlation-id "$RUN_ID" --wait-for council-generator --timeout 900

step "stopping replicas (SIGTERM: finish the batch in hand, commit, flush)"
cleanup; pids=()

step "what is stored"
"$BIN/cdra" status --group "$GROUP"
"$BIN/cdra" sql persona-summary
"$BIN/cdra" sql council-recall --limit 60
