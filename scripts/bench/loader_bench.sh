#!/usr/bin/env bash
# Data-path benchmark (not a test): tandem-prep throughput and peak RSS on generated corpora of
# 100k and 1M lines (word tokens from an 8000-word vocabulary, 20-30 tokens a side: bench-base
# shaped), loader throughput on bench-base-sized batches, and padding efficiency bucketed vs
# unbucketed on CMUdict. Both corpora have 10 shards, so the loader holds the same number open.
# Usage: scripts/bench/loader_bench.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-build/bench_data}
scripts/install_deps.sh > /dev/null
scripts/build.sh > /dev/null
if ! [ -x /usr/bin/time ]; then
  if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q time > /dev/null
fi
mkdir -p "$work"

generate() {  # generate LINES FILE: "w.. w.. <TAB> w.. w.." lines, seeded
  LC_ALL=C awk -v lines="$1" 'BEGIN {
    srand(7)
    for (i = 0; i < lines; ++i) {
      for (side = 0; side < 2; ++side) {
        n = 20 + int(rand() * 11); text = ""
        for (k = 0; k < n; ++k) text = text (k ? " " : "") "w" int(8000 * rand() ^ 2)
        printf "%s%s", text, (side ? "\n" : "\t")
      }
    }
  }' > "$2"
}

for lines in 100000 1000000; do
  tsv="$work/synthetic_$lines.tsv"
  [ -f "$tsv" ] || generate "$lines" "$tsv"
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/prep_rss" build/tandem-prep --quiet --force --train "$tsv" --tokenizer word --shards 10 \
    -o "$work/corpus_$lines" > /dev/null
  end=$(date +%s.%N)
  awk -v n="$lines" -v s="$start" -v e="$end" -v rss="$(cat "$work/prep_rss")" \
    'BEGIN { printf "prep %d lines: %.1f s = %.0f lines/s, peak RSS %.1f MiB\n", n, e - s, n / (e - s), rss / 1024 }'
  build/loader_bench "$work/corpus_$lines" 1920
done

scripts/data/cmudict.sh "$work/cmudict" > /dev/null
echo "CMUdict, budget 768 tokens (about 64 words):"
build/loader_bench "$work/cmudict/corpus" 768 20 64
build/loader_bench "$work/cmudict/corpus" 768 1 1
