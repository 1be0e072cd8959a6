#!/usr/bin/env bash
# The training step on real data (not a test). step_bench repeats one synthetic batch, whose
# shapes the primitive caches soon hold; real batches keep bringing new ones. This trains a
# recipe's own configuration (the config.ini its run directory keeps) for STEPS steps on
# 1 rank x 1 thread with each given build, the builds taking turns REPEATS times, and prints
# per run: the median step time and target tokens/s over the 50-step windows after the first
# WARMUP steps, and the peak resident memory. No validation, no checkpoints but the last.
#
#   scripts/bench/real_step_bench.sh CONFIG STEPS BUILD_DIR...
#   e.g. scripts/bench/real_step_bench.sh build/g2p/run/config.ini 2000 build-before build
#
# Settings (environment): REPEATS (default 1), WARMUP (default STEPS / 4), OUT (default
# build/real_step_bench: one directory per run, with train.log and metrics.jsonl).
set -euo pipefail
config=$1 steps=$2
shift 2
[ $# -gt 0 ] || { echo "usage: $0 CONFIG STEPS BUILD_DIR..." >&2; exit 2; }
repeats=${REPEATS:-1}
warmup=${WARMUP:-$((steps / 4))}
out=${OUT:-build/real_step_bench}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1

printf '%-28s %6s %12s %12s %10s\n' build repeat "step ms" "tokens/s" "peak MiB"
for ((r = 1; r <= repeats; r++)); do
  for build in "$@"; do
    run="$out/$(basename "$build")_$r"
    rm -rf "$run"
    mkdir -p "$run"
    /usr/bin/time -f '%M' -o "$run/peak_kib" "$build/tandem-train" --config "$config" \
      --run-dir "$run/run" --resume none --threads 1 --max-steps "$steps" --max-minutes 0 \
      --max-epochs 0 --valid-every $((steps + 1)) --early-stopping 0 --save-every 0 \
      --save-every-minutes 0 --log-every 50 > "$run/train.log" 2>&1 ||
      { tail -n 5 "$run/train.log" >&2; exit 1; }
    /usr/bin/python3 - "$run/run/metrics.jsonl" "$warmup" "$build" "$r" "$run/peak_kib" <<'EOF'
import json, statistics, sys
path, warmup, build, repeat, peak = sys.argv[1:]
train = [r for r in map(json.loads, open(path)) if r["type"] == "train" and r["step"] > int(warmup)]
step_ms = statistics.median(r["step_s"] for r in train) * 1000
rate = statistics.median(r["tokens_per_s"] for r in train)
print("%-28s %6s %12.2f %12.0f %10.0f" % (build, repeat, step_ms, rate, int(open(peak).read()) / 1024))
EOF
  done
done
