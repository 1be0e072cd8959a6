#!/usr/bin/env bash
# Single-process training-step benchmark (not a test): bench-small and bench-base at 1 and 2
# OpenMP threads, fixed lengths 25 and variable lengths 20-30, f32 (and bf16 with PRECISION=bf16).
# Figures only; see the issue notes.
# Usage: scripts/bench/step_bench.sh [small|base|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install_deps.sh >/dev/null
scripts/build.sh >/dev/null
which=${1:-all}
for config in small base; do
  [ "$which" = all ] || [ "$which" = "$config" ] || continue
  steps=50; [ "$config" = base ] && steps=10
  for threads in 1 2; do
    for lengths in 25-25 20-30; do
      OMP_NUM_THREADS=$threads OMP_PROC_BIND=true build/step_bench "$config" "$steps" "$lengths" "${PRECISION:-f32}"
      echo
    done
  done
done
