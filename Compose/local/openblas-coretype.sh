# Sourced (POSIX sh) by env.sh and by the container image's entrypoint: the one place that chooses
# OpenBLAS's kernels.
#
# OpenBLAS picks its kernels from the CPU's identity; under some hypervisors it sees an unknown CPU
# and falls back to SSE3 kernels ("Prescott"), 4-6x slower (measured here: 37 GFLOP/s sgemm on
# 2 threads against 156 with Haswell and 213 with SkylakeX kernels). Choose from the CPU's flags
# unless the caller already did (a machine where other kernels are unsafe presets it).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  _cdra_flags=" $(grep -m1 '^flags' /proc/cpuinfo) "
  _cdra_has() { case "$_cdra_flags" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
  if _cdra_has avx512f && _cdra_has avx512bw && _cdra_has avx512dq && _cdra_has avx512vl && _cdra_has avx512cd; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif _cdra_has avx2 && _cdra_has fma; then
    export OPENBLAS_CORETYPE=Haswell
  fi
  unset _cdra_flags
  unset -f _cdra_has
fi
