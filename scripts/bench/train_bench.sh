#!/usr/bin/env bash
# Training throughput benchmark (not a test): tandem-train (f32 and bf16 mixed precision) on the
# design's bench-small and bench-base models at 1 rank x 1 thread, 1 x 2 and 2 ranks x 1 thread,
# next to the same model in PyTorch f32 (scripts/bench/torch_reference.py, DDP over gloo,
# OpenBLAS + tcmalloc), runs alternating tandem / PyTorch, REPEATS times each. Prints target
# tokens/s, the ratios, the all-reduce share of the step and how much of it was hidden, and
# peak RSS per rank.
# Usage: scripts/bench/train_bench.sh [small|base|all] [REPEATS]
# Environment: TANDEM_BUILD=DIR measures the programs in DIR instead of building build/;
# TANDEM_BASELINE=DIR also measures the programs in DIR (a build of an earlier commit), each run
# right after the same run of the current build, and prints before -> after columns;
# NO_TORCH=1 skips PyTorch.
set -euo pipefail
cd "$(dirname "$0")/../.."
which=${1:-all}
repeats=${2:-2}
tandem_build=${TANDEM_BUILD:-build}
work=build/train_bench
scripts/install_deps.sh > /dev/null
[ -n "${TANDEM_BUILD:-}" ] || scripts/build.sh > /dev/null
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
source scripts/bench/bench_lib.sh
[ -n "${NO_TORCH:-}" ] || install_torch_packages

summarise() {  # summarise RUN_DIR: one JSON line from tandem's metrics
  /usr/bin/python3 - "$1" <<'EOF'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
start = next(l for l in lines if l["type"] == "start")
train = [l for l in lines if l["type"] == "train"][1:]  # the first interval is warm-up
end = next(l for l in lines if l["type"] == "end")
step_s = statistics.median(l["step_s"] for l in train)
wait = statistics.median(l["time_s"]["allreduce_wait"] for l in train)
blocking = start["allreduce_blocking_s"]
print(json.dumps({"impl": "tandem", "tokens_per_s": statistics.median(l["tokens_per_s"] for l in train),
                  "step_s_median": step_s, "allreduce_wait_s": wait, "allreduce_blocking_s": blocking,
                  "allreduce_share": wait / step_s, "hidden": (1 - wait / blocking) if blocking > 0 else None,
                  "started_early": statistics.median(l["allreduce_started_early"] for l in train),
                  "peak_rss_mib": end["peak_rss_mib"]}))
EOF
}

results="$work/results.jsonl"
: > "$results"
for config in small base; do
  [ "$which" = all ] || [ "$which" = "$config" ] || continue
  bench_model "$config"
  for layout in 1x1 1x2 2x1; do
    ranks=${layout%x*} threads=${layout#*x}
    for repeat in $(seq 1 "$repeats"); do
      for precision in f32 bf16; do
        for build in "$tandem_build" ${TANDEM_BASELINE:+"$TANDEM_BASELINE"}; do
          impl=tandem; [ "$build" = "$tandem_build" ] || impl=baseline
          run="$work/run_${config}_${layout}_${precision}_${impl}_$repeat"
          rm -rf "$run"
          command=("$build/tandem-train" "${train[@]:1}" --threads "$threads" --precision "$precision" --run-dir "$run")
          if [ "$ranks" -gt 1 ]; then command=(mpirun -np "$ranks" --bind-to core "${command[@]}"); fi
          OMP_NUM_THREADS=$threads "${command[@]}" > "$run.log" 2>&1 || { cat "$run.log"; exit 1; }
          summarise "$run" | sed "s/^{/{\"config\": \"$config\", \"layout\": \"$layout\", \"precision\": \"$precision\", /" \
            | sed "s/\"impl\": \"tandem\"/\"impl\": \"$impl\"/" >> "$results"
        done
      done
      [ -n "${NO_TORCH:-}" ] && continue
      OMP_NUM_THREADS=$threads "${torch_env[@]}" /usr/bin/python3 scripts/bench/torch_reference.py "$config" \
        --ranks "$ranks" --threads "$threads" --steps $((steps > 20 ? 20 : steps)) 2>/dev/null \
        | sed "s/^{/{\"layout\": \"$layout\", /" >> "$results"
    done
  done
done

/usr/bin/python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def median(config, layout, impl, key="tokens_per_s", precision=None):
    values = [r[key] for r in rows if r.get("config") == config and r["layout"] == layout and r["impl"] == impl
              and (precision is None or r.get("precision") == precision) and r.get(key) is not None]
    return statistics.median(values) if values else float("nan")
print(f"{'config':6} {'layout':6} {'tandem f32':>10} {'tandem bf16':>11} {'PyTorch f32':>11} {'f32/PT':>6} {'bf16/PT':>7} "
      f"{'AR share':>8} {'hidden':>6} {'RSS/rank':>8}")
for config in ("small", "base"):
    for layout in ("1x1", "1x2", "2x1"):
        f32 = median(config, layout, "tandem", precision="f32")
        if f32 != f32:
            continue
        bf16 = median(config, layout, "tandem", precision="bf16")
        torch = median(config, layout, "pytorch")
        share = median(config, layout, "tandem", "allreduce_share", "f32")
        hidden = median(config, layout, "tandem", "hidden", "f32")
        rss = max(max(r["peak_rss_mib"]) for r in rows if r.get("config") == config and r["layout"] == layout
                  and r["impl"] == "tandem")
        print(f"{config:6} {layout:6} {f32:10.0f} {bf16:11.0f} {torch:11.0f} {f32 / torch:6.2f} {bf16 / torch:7.2f} "
              f"{share:8.1%} {hidden:6.1%} {rss:7.0f}M")
        base_bf16 = median(config, layout, "baseline", precision="bf16")
        if base_bf16 == base_bf16:
            base_f32 = median(config, layout, "baseline", precision="f32")
            base_rss = max(max(r["peak_rss_mib"]) for r in rows if r.get("config") == config and r["layout"] == layout
                           and r["impl"] == "baseline")
            print(f"{'':6} {'before':6} {base_f32:10.0f} {base_bf16:11.0f} {'':11} {base_f32 / torch:6.2f} "
                  f"{base_bf16 / torch:7.2f} {'':8} {'':6} {base_rss:7.0f}M   after/before: f32 {f32 / base_f32:.2f}, bf16 {bf16 / base_bf16:.2f}")
    for precision in ("f32", "bf16"):
        one, two = median(config, "1x1", "tandem", precision=precision), median(config, "2x1", "tandem", precision=precision)
        if one == one and two == two:
            print(f"{config:6} {precision} 2-rank scaling (2x1 vs 2 x 1x1): {two / (2 * one):.1%}")
EOF
