#!/usr/bin/env bash
# --deterministic end to end: 200 steps with dropout and validation every 50 steps on 1, 2, 3 and
# 4 ranks give the same loss curve (every train and valid record's loss, grad norm, lr) and the
# same final checkpoint content checksum (parameters, Adam moments, loader cursor, counters);
# the 3-rank run's checkpoint from the middle of an epoch, resumed on 2 and on 4 ranks, ends
# with that checksum too.
# Usage: deterministic_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
source "$(dirname "$0")/../shell_lib.sh"

for i in $(seq 1 400); do printf 'w%dx%d\tA B %d C %d\n' $((i % 37)) $((i % 11)) $((i % 5)) $((i % 3)); done > a.tsv
"$build/tandem-prep" --quiet --train a.tsv --tgt-tokenizer word --valid-fraction 0.1 -o corpus > /dev/null
run=(--corpus corpus --embedding-size 16 --hidden-size 32 --dropout 0.2 --batch-tokens 60
     --max-steps 200 --valid-every 50 --log-every 10 --deterministic --step-microbatches 4 --threads 1)

# "type step loss grad_norm lr" of every train and valid record.
curve() {
  /usr/bin/python3 -c 'import json, sys
for r in map(json.loads, open(sys.argv[1])):
    if r["type"] in ("train", "valid"):
        print(r["type"], r["step"], repr(r["loss"]), repr(r.get("grad_norm")), repr(r.get("lr")))' "$1/metrics.jsonl"
}

for ranks in 1 2 3 4; do
  extra=(); [ $ranks -eq 3 ] && extra=(--save-every 45 --keep 10)
  mpirun --oversubscribe -np $ranks "$build/tandem-train" "${run[@]}" "${extra[@]}" --run-dir "r$ranks" > "r$ranks.log" 2>&1 \
    || { fail "$ranks rank(s): exit $?"; tail -5 "r$ranks.log"; }
done
reference=$(checksum r1/checkpoints/ckpt.000000200.h5)
curve r1 > curve1
[ "$(grep -c '^valid' curve1)" -eq 4 ] && [ "$(grep -c '^train' curve1)" -eq 20 ] || fail "1 rank: unexpected records"
for ranks in 2 3 4; do
  if [ -n "$reference" ] && [ "$(checksum "r$ranks/checkpoints/ckpt.000000200.h5")" = "$reference" ] \
     && curve "r$ranks" | diff -q curve1 - > /dev/null; then
    pass "$ranks ranks = 1 rank: same loss curve and final checksum ($reference)"
  else
    fail "$ranks ranks differ from 1 rank"; curve "r$ranks" | diff curve1 - | head -5
  fi
done

# Step 135 lies inside an epoch (its cursor is past the epoch's first window or batch).
middle=r3/checkpoints/ckpt.000000135.h5
[ -n "$(h5dump -d loader/cursors "$middle" 2>/dev/null | grep -E '\(0,0\): [0-9]+, ([1-9]|0, [1-9])')" ] \
  || fail "step 135 is not inside an epoch: $(h5dump -d loader/cursors "$middle" 2>&1 | grep '(0,0)')"
for ranks in 2 4; do
  mkdir -p "m$ranks/checkpoints" && cp "$middle" "m$ranks/checkpoints/"
  mpirun --oversubscribe -np $ranks "$build/tandem-train" "${run[@]}" --run-dir "m$ranks" > "m$ranks.log" 2>&1
  if grep -q "resumed from .*ckpt.000000135.h5" "m$ranks.log" \
     && [ "$(checksum "m$ranks/checkpoints/ckpt.000000200.h5")" = "$reference" ]; then
    pass "3-rank checkpoint of step 135 resumed on $ranks ranks: final checksum = the uninterrupted run's"
  else
    fail "resumed on $ranks ranks"; tail -5 "m$ranks.log"
  fi
done
finish deterministic_test
