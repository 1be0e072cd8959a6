#!/usr/bin/env bash
# What --deterministic costs (a benchmark, not a test): tandem-train on the design's bench-small
# and bench-base models (bench_lib.sh) in the default mode and with
# --deterministic --step-microbatches RANKS (the same global batch: one micro-batch per rank and
# step), at 1 rank x 1 thread and 2 ranks x 1 thread, runs alternating, REPEATS times each.
# Prints target tokens/s of both, their ratio, the bytes all-reduced per step and the seconds per
# step spent converting gradients to and from fixed point.
# Usage: scripts/bench/deterministic_bench.sh [small|base|all] [REPEATS]
# Environment: TANDEM_BUILD=DIR measures the programs in DIR instead of building build/.
set -euo pipefail
cd "$(dirname "$0")/../.."
which=${1:-all}
repeats=${2:-2}
tandem_build=${TANDEM_BUILD:-build}
work=build/deterministic_bench
[ -n "${TANDEM_BUILD:-}" ] || scripts/build.sh > /dev/null
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
source scripts/bench/bench_lib.sh

summarise() {  # summarise RUN_DIR: one JSON line
  /usr/bin/python3 - "$1" <<'EOF'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
start = next(l for l in lines if l["type"] == "start")
train = [l for l in lines if l["type"] == "train"][1:]  # the first interval is warm-up
print(json.dumps({"tokens_per_s": statistics.median(l["tokens_per_s"] for l in train),
                  "step_s": statistics.median(l["step_s"] for l in train),
                  "fixed_point_s": statistics.median(l["time_s"].get("fixed_point", 0) for l in train),
                  "allreduce_s": statistics.median(l["time_s"]["allreduce_wait"] for l in train),
                  "allreduce_bytes": start.get("allreduce_bytes", start["gradient_bytes"])}))
EOF
}

results="$work/results.jsonl"
: > "$results"
for config in small base; do
  [ "$which" = all ] || [ "$which" = "$config" ] || continue
  bench_model "$config"
  for ranks in 1 2; do
    for repeat in $(seq 1 "$repeats"); do
      for mode in default deterministic; do
        run="$work/run_${config}_${ranks}x1_${mode}_$repeat"
        rm -rf "$run"
        extra=(); [ "$mode" = deterministic ] && extra=(--deterministic --step-microbatches "$ranks")
        command=("${train[@]}" --threads 1 --run-dir "$run" "${extra[@]}")
        if [ "$ranks" -gt 1 ]; then command=(mpirun -np "$ranks" --bind-to core "${command[@]}"); fi
        OMP_NUM_THREADS=1 "${command[@]}" > "$run.log" 2>&1 || { cat "$run.log"; exit 1; }
        summarise "$run" | sed "s/^{/{\"config\": \"$config\", \"layout\": \"${ranks}x1\", \"mode\": \"$mode\", /" >> "$results"
      done
    done
  done
done

/usr/bin/python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def median(config, layout, mode, key):
    values = [r[key] for r in rows if (r["config"], r["layout"], r["mode"]) == (config, layout, mode)]
    return statistics.median(values) if values else float("nan")
print(f"{'config':6} {'layout':6} {'default tok/s':>13} {'determ. tok/s':>13} {'ratio':>6} "
      f"{'AR MiB default':>14} {'AR MiB determ.':>14} {'fixed-point s/step':>18} {'step s':>7}")
for config in ("small", "base"):
    for layout in ("1x1", "2x1"):
        default = median(config, layout, "default", "tokens_per_s")
        if default != default:
            continue
        exact = median(config, layout, "deterministic", "tokens_per_s")
        bytes_default = median(config, layout, "default", "allreduce_bytes") if layout != "1x1" else 0
        bytes_exact = median(config, layout, "deterministic", "allreduce_bytes") if layout != "1x1" else 0
        print(f"{config:6} {layout:6} {default:13.0f} {exact:13.0f} {exact / default:6.3f} "
              f"{bytes_default / 2**20:14.1f} {bytes_exact / 2**20:14.1f} "
              f"{median(config, layout, 'deterministic', 'fixed_point_s'):18.4f} "
              f"{median(config, layout, 'deterministic', 'step_s'):7.3f}")
EOF
