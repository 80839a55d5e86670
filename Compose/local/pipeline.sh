#!/usr/bin/env bash
# The end-to-end CDRA pipeline on the built-in defaults, against the local stack (make run):
#   1. migrations
#   2. the DeepPref benchmark (3000 pairs and the perturbed test split, fixed seed)
#   3. council annotation through two council-generator replicas (skipped when every query is annotated)
#   4. PRM training (`critic train`, the main-job budget; a stored checkpoint of the same
#      configuration and data is reused)
#   5. the SFT warm start, then GRPO and CDPA over Kafka, side by side, critiques from two critic
#      replicas (`policy-trainer experiment`; a finished run is reused, an interrupted one resumes
#      from its last checkpoint)
#   6. evaluation by the evaluator service of every announced policy checkpoint (test and perturbed
#      test splits; stored runs are not evaluated again)
#   7. the report (out/report.html) and its headline table
# Every stage prints its progress; the end prints the time of each stage and the total.
# Interrupted (Ctrl-C) and started again, each stage continues from what is stored.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/env.sh"
cd "$CDRA_ROOT"
BIN="$(swift build -c release --show-bin-path)"
PAIRS="${CDRA_PAIRS:-3000}"
SEED="${CDRA_SEED:-20261130}"
REPLICAS="${CDRA_REPLICAS:-2}"
CRITICS="${CDRA_CRITICS:-2}"
STUDY="${CDRA_STUDY:-run}"
METHODS="${CDRA_METHODS:-grpo,cdpa-step}"
REWARDS="${CDRA_REWARDS:-fine}"
POLICY_CONFIG="${CDRA_POLICY_CONFIG:-$HERE/run-policy.json}"
# The PRM's main-job budget: one pass over this many labelled chains (Docs/benchmarks.md has the
# full runs, 28,800 chains).
PRM_EXAMPLES="${CDRA_PRM_EXAMPLES:-4800}"
EVAL_LIMIT="${CDRA_EVAL_LIMIT:-32}"
EVAL_TIMEOUT="${CDRA_EVAL_TIMEOUT:-900}"
mkdir -p out bench-results/logs
RUN_ID="run-$(date +%Y%m%d-%H%M%S)"
SQL=(psql "$CDRA_DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1)

pids=()
stage_names=()
stage_seconds=()
started_all=$(date +%s.%N)
stage_started=""
stage_name=""

stop_children() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
end_stage() {
  if [ -n "$stage_name" ]; then
    stage_names+=("$stage_name")
    stage_seconds+=("$(awk -v a="$stage_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')")
    stage_name=""
  fi
}
stage() {
  end_stage
  stage_name="$1"
  stage_started=$(date +%s.%N)
  printf '\n== [%s] %s\n' "$(date +%H:%M:%S)" "$*"
}
times() {
  end_stage
  printf '\n== time per stage\n'
  for i in "${!stage_names[@]}"; do printf '  %-34s %7.1f s\n' "${stage_names[$i]}" "${stage_seconds[$i]}"; done
  printf '  %-34s %7.1f s\n' "total" "$(awk -v a="$started_all" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
}
on_exit() {
  status=$?
  stop_children
  if [ "$status" -ne 0 ]; then
    times
    printf '\nmake run stopped (status %s). Started again, it continues from what is stored.\n' "$status" >&2
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Waits until a log line matching $2 appears in $1 (a replica is ready), or fails after $3 s.
wait_for_log() {
  local file="$1" pattern="$2" limit="$3" waited=0
  until grep -q "$pattern" "$file" 2>/dev/null; do
    for p in "${pids[@]}"; do
      kill -0 "$p" 2>/dev/null || { echo "a replica exited; its log: $file" >&2; tail -n 20 "$file" >&2; return 1; }
    done
    sleep 0.5; waited=$((waited + 1))
    [ "$waited" -lt $((limit * 2)) ] || { echo "no '$pattern' in $file after $limit s" >&2; tail -n 20 "$file" >&2; return 1; }
  done
}

stage "migrations"
"$BIN/cdra" migrate

stage "DeepPref benchmark: $PAIRS pairs, seed $SEED"
"$BIN/cdra" deeppref build --pairs "$PAIRS" --seed "$SEED" --out out/deeppref.jsonl --perturbed-out out/deeppref-perturbed.jsonl
cat out/deeppref.jsonl out/deeppref-perturbed.jsonl > out/deeppref-all.jsonl

stage "council annotation ($REPLICAS council-generator replicas)"
ids="{$(grep -o '"id":"[^"]*"' out/deeppref-all.jsonl | cut -d'"' -f4 | paste -sd, -)}"
wanted=$(wc -l < out/deeppref-all.jsonl)
have=$("${SQL[@]}" -c "SELECT count(DISTINCT query_id) FROM annotations WHERE backend = 'builtin' AND query_id = ANY('$ids'::text[])")
if [ "$have" -ge "$wanted" ]; then
  echo "all $wanted queries are annotated already: reusing them"
else
  echo "$have of $wanted queries are annotated; submitting all of them (annotated ones are not annotated again)"
  for i in $(seq 1 "$REPLICAS"); do
    "$BIN/council-generator" --group council-generator --replica-id "replica-$i" >"out/council-generator-$i.log" 2>&1 &
    pids+=($!)
  done
  "$BIN/cdra" submit out/deeppref-all.jsonl --correlation-id "$RUN_ID" --wait-for council-generator --timeout 900
  echo "stopping the replicas (SIGTERM: they finish the batch in hand, commit and flush)"
  stop_children
fi

stage "PRM training (one pass over $PRM_EXAMPLES labelled chains)"
"$BIN/critic" train --preset quick --examples-per-epoch "$PRM_EXAMPLES"

stage "critic replicas ($CRITICS, newest PRM) and the evaluator"
for i in $(seq 1 "$CRITICS"); do
  "$BIN/critic" serve --backend prm --group critic --replica-id "critic-$i" --http-port -1 --threads 1 \
    >"out/critic-$i.log" 2>&1 &
  pids+=($!)
done
"$BIN/evaluator" serve --group evaluator --replica-id evaluator-1 --limit "$EVAL_LIMIT" --http-port -1 --threads 1 \
  >out/evaluator.log 2>&1 &
pids+=($!)
for i in $(seq 1 "$CRITICS"); do wait_for_log "out/critic-$i.log" "critic ready" 120; done
echo "critics: out/critic-*.log; evaluator: out/evaluator.log"

stage "policy: SFT warm start, then $METHODS ($REWARDS reward) over Kafka"
"$BIN/cdra" experiment --study "$STUDY" --config "$POLICY_CONFIG" --seed-count 1 --methods "$METHODS" --rewards "$REWARDS" \
  --parallel 2 --critic-replicas 0 --requests-topic "${CDRA_TOPIC_CRITIQUE_REQUESTS:-critic.requests.v1}" --announce

stage "evaluation (evaluator service, $EVAL_LIMIT queries per split)"
# Every final checkpoint of the study's runs and their warm start, on both splits.
checkpoints_sql="
  WITH finals AS (
    SELECT DISTINCT ON (run_id) checkpoint_id, parent_checkpoint_id FROM checkpoints
    WHERE model_kind = 'policy' AND step > 0 AND run_id LIKE '$STUDY-%'
    ORDER BY run_id, step DESC)
  SELECT checkpoint_id FROM finals UNION SELECT parent_checkpoint_id FROM finals WHERE parent_checkpoint_id IS NOT NULL"
expected=$(( $("${SQL[@]}" -c "SELECT count(*) FROM ($checkpoints_sql) c") * 2 ))
waited=0
while :; do
  done_runs=$("${SQL[@]}" -c "SELECT count(DISTINCT (checkpoint_id, split)) FROM evaluation_runs
                              WHERE split IN ('test', 'test_perturbed') AND checkpoint_id IN ($checkpoints_sql)")
  printf '\r  %s/%s checkpoint × split evaluations stored (%d s)' "$done_runs" "$expected" "$waited"
  [ "$done_runs" -lt "$expected" ] || break
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo; echo "a critic or the evaluator exited; logs in out/" >&2; tail -n 20 out/evaluator.log >&2; exit 1; }
  done
  [ "$waited" -lt "$EVAL_TIMEOUT" ] || { echo; echo "evaluation not done after $EVAL_TIMEOUT s; see out/evaluator.log" >&2; exit 1; }
  sleep 2; waited=$((waited + 2))
done
echo
stop_children

stage "report"
"$BIN/cdra" report --study "$STUDY" --out out/report.html

times
cat <<EOF

The report: $CDRA_ROOT/out/report.html (self-contained; open it in any browser)

Three queries to paste into psql "$CDRA_DATABASE_URL":

-- 1. Each method's final checkpoint (and the SFT warm start they began from) on both test splits
WITH finals AS (
  SELECT DISTINCT ON (run_id) run_id, checkpoint_id, parent_checkpoint_id FROM checkpoints
  WHERE model_kind = 'policy' AND step > 0 AND run_id LIKE '$STUDY-%' ORDER BY run_id, step DESC),
shown AS (
  SELECT run_id AS run, checkpoint_id FROM finals
  UNION SELECT 'sft warm start', parent_checkpoint_id FROM finals WHERE parent_checkpoint_id IS NOT NULL)
SELECT s.run, r.split,
       round(max(e.value) FILTER (WHERE e.metric = 'acc_pf')::numeric, 3) AS acc_pf,
       round(max(e.value) FILTER (WHERE e.metric = 'm_dm')::numeric, 3) AS m_dm,
       round(max(e.value) FILTER (WHERE e.metric = 'hidden_pref_recall')::numeric, 3) AS hidden_recall,
       round(max(e.value) FILTER (WHERE e.metric = 'format_valid')::numeric, 3) AS format_valid,
       round(max(e.value) FILTER (WHERE e.metric = 'win_rate')::numeric, 3) AS win_rate
FROM shown s JOIN evaluation_runs r USING (checkpoint_id) JOIN evaluations e ON e.evaluation_run = r.evaluation_id
WHERE e.topic IS NULL GROUP BY 1, 2 ORDER BY 2, 1;

-- 2. The training curves: reward, zero-advantage groups and the PRM-oracle gap per step
SELECT run_id, step, round(max(value) FILTER (WHERE name = 'reward_mean')::numeric, 3) AS reward,
       round(max(value) FILTER (WHERE name = 'zero_advantage_group_fraction')::numeric, 3) AS zero_adv,
       round(max(value) FILTER (WHERE name = 'prm_oracle_gap')::numeric, 3) AS gap
FROM training_metrics WHERE run_id LIKE '$STUDY-%' GROUP BY run_id, step ORDER BY run_id, step;

-- 3. One test prompt: the response of each method's final checkpoint, its oracle and PRM scores
WITH finals AS (
  SELECT DISTINCT ON (run_id) run_id, checkpoint_id, parent_checkpoint_id FROM checkpoints
  WHERE model_kind = 'policy' AND step > 0 AND run_id LIKE '$STUDY-%' ORDER BY run_id, step DESC),
shown AS (
  SELECT run_id AS run, checkpoint_id FROM finals
  UNION SELECT 'sft warm start', parent_checkpoint_id FROM finals WHERE parent_checkpoint_id IS NOT NULL),
answers AS (
  SELECT s.run, x.query_id, x.oracle_score, x.prm_score, x.response_id FROM shown s
  JOIN evaluation_runs r USING (checkpoint_id) JOIN evaluation_examples x USING (evaluation_id) WHERE r.split = 'test')
SELECT a.run, a.oracle_score, a.prm_score, left(p.text, 300) AS response
FROM answers a JOIN responses p USING (response_id)
WHERE a.query_id = (SELECT min(query_id) FROM answers) ORDER BY a.run;
EOF
