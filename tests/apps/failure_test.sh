#!/usr/bin/env bash
# Failures under mpirun: a rank killed with -9 at random moments (checkpoint writes included,
# with a checkpoint every 2 steps) ends the job within 30 s and the next run resumes from a
# verified `latest`, four times over, then finishes; a rank stopped with SIGSTOP ends the job
# after --collective-timeout with the stopped rank named, and `latest` stays valid.
# Usage: failure_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
source "$(dirname "$0")/../shell_lib.sh"
trap 'pkill -KILL -f "^$build/tandem-train" 2>/dev/null; cleanup_work' EXIT
ranks_alive() { pgrep -f "^$build/tandem-train" > /dev/null; }
wait_gone() {  # seconds until no rank is left (max $1)
  local start=$SECONDS
  while ranks_alive && [ $((SECONDS - start)) -lt "$1" ]; do sleep 0.2; done
  ranks_alive && return 1 || return 0
}

for i in $(seq 1 300); do printf 'w%dx%d\tA B %d C\n' $((i % 37)) $((i % 11)) $((i % 5)); done > a.tsv
"$build/tandem-prep" --quiet --train a.tsv --tgt-tokenizer word -o corpus > /dev/null
# ~9 MB checkpoints every 2 steps: a random kill often lands inside a write.
train=(mpirun --oversubscribe -np 2 "$build/tandem-train" --corpus corpus --embedding-size 64 --hidden-size 256
       --batch-tokens 60 --log-every 10 --save-every 2 --keep 2 --run-dir run)

for round in 1 2 3 4; do
  "${train[@]}" --max-steps 100000 > "round$round.log" 2>&1 &
  sleep $((3 + RANDOM % 3)).$((RANDOM % 10))
  victim=$(pgrep -f "^$build/tandem-train" | shuf -n 1)
  kill -KILL "$victim"
  if wait_gone 30; then pass "round $round: killed pid $victim, job ended within 30 s"
  else fail "round $round: ranks still running 30 s after the kill"; fi
  wait 2> /dev/null
  if [ $round -gt 1 ] && ! grep -q "resumed from" "round$round.log"; then fail "round $round did not resume"; fi
  latest=$(cat run/checkpoints/latest)
  if "$build/tandem-inspect" checkpoint "run/checkpoints/$latest" > /dev/null 2>&1; then echo "  latest $latest verifies"
  else fail "round $round: latest $latest does not verify"; fi
done
latest_step=$(sed 's/ckpt\.0*\([0-9][0-9]*\)\.h5/\1/' run/checkpoints/latest)
"${train[@]}" --max-steps $((latest_step + 20)) > final.log 2>&1
code=$?
if [ $code -eq 0 ] && grep -q "resumed from" final.log && ! grep -q "skipping checkpoint" final.log; then
  pass "after 4 kills the run resumes from a verified latest and finishes"
else fail "final resume (exit $code)"; grep -E "error|skipping|resumed" final.log | head -3; fi

# A stopped (not dead) rank: the watchdog ends the job and names it.
rm -rf run
"${train[@]}" --max-steps 100000 --collective-timeout 8 > stall.log 2>&1 &
sleep 4
victim=$(pgrep -f "^$build/tandem-train" | shuf -n 1)
kill -STOP "$victim"
start=$SECONDS
if wait_gone 40; then
  took=$((SECONDS - start))
  if grep -q "did not complete within 8 s (--collective-timeout); ranks that did not arrive: [0-9]" stall.log; then
    pass "SIGSTOP'd rank: job ended after ${took} s naming it"
  else fail "stall message"; grep error stall.log | head -2; fi
else fail "stalled job still running after 40 s"; fi
kill -KILL "$victim" 2> /dev/null
wait 2> /dev/null
latest=$(cat run/checkpoints/latest)
if "$build/tandem-inspect" checkpoint "run/checkpoints/$latest" | grep -q "verified"; then
  pass "latest ($latest) still verifies after the stall"
else fail "latest after stall"; fi

finish failure_test
