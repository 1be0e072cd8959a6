#!/usr/bin/env bash
# Multi-host: 3 ranks on 3 simulated hosts (network namespaces, real TCP; cluster/local/
# netns_hosts.sh) train bit-identically to 3 ranks on one host; then one host is cut off the
# network silently (Open MPI alone would hang for ever): the job ends within the collective
# timeout with the cut-off rank named, and the last checkpoint stays valid.
# Needs root and network namespaces; exits 77 (skipped) without them.
# Usage: multihost_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
hosts="$(cd "$2" && pwd)/cluster/local/netns_hosts.sh"
export TANDEM_NETNS_STATE=$(mktemp -d)/netns
if [ "$(id -u)" -ne 0 ] || ! ip netns add tdmns_probe 2> /dev/null; then
  echo "multihost_test: skipped (needs root and network namespaces)"
  exit 77
fi
ip netns del tdmns_probe
source "$(dirname "$0")/../shell_lib.sh"
trap '"$hosts" down > /dev/null 2>&1; pkill -KILL -f "^$build/tandem-train" 2>/dev/null; cleanup_work; rm -rf "$(dirname "$TANDEM_NETNS_STATE")"' EXIT

for i in $(seq 1 300); do printf 'w%dx%d\tA B %d C\n' $((i % 37)) $((i % 11)) $((i % 5)); done > a.tsv
"$build/tandem-prep" --quiet --train a.tsv --tgt-tokenizer word -o "$work/corpus" > /dev/null
"$hosts" up 3 > /dev/null || { fail "netns hosts up"; exit 1; }
args=(--corpus "$work/corpus" --embedding-size 16 --hidden-size 32 --batch-tokens 60 --log-every 10)
across=("$hosts" exec nodeA mpirun $("$hosts" mpirun-args) -x OMP_NUM_THREADS -np 3)

# 1. Three hosts == one host, bit for bit.
timeout 120 "${across[@]}" "$build/tandem-train" "${args[@]}" --max-steps 30 --run-dir "$work/hosts" > hosts.log 2>&1
code=$?
mpirun --oversubscribe -np 3 "$build/tandem-train" "${args[@]}" --max-steps 30 --run-dir "$work/local" > local.log 2>&1
a=$(checksum "$work/hosts/checkpoints/ckpt.000000030.h5")
b=$(checksum "$work/local/checkpoints/ckpt.000000030.h5")
if [ $code -eq 0 ] && [ -n "$a" ] && [ "$a" = "$b" ]; then pass "3 ranks on 3 hosts over TCP == 3 ranks on one host ($a)"
else fail "3 hosts (exit $code, $a vs $b)"; tail -3 hosts.log; fi

# 2. nodeC silently cut off mid-run.
timeout 180 "${across[@]}" "$build/tandem-train" "${args[@]}" --max-steps 10000000 --save-every 20 \
  --collective-timeout 6 --run-dir "$work/cut" > cut.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -e "$work/cut/checkpoints/latest" ] && break; sleep 0.2; done
sleep 1
"$hosts" cut nodeC
start=$SECONDS
wait $pid
code=$?
took=$((SECONDS - start))
"$hosts" heal nodeC
latest=$(cat "$work/cut/checkpoints/latest" 2>/dev/null)
if [ $code -ne 0 ] && [ $code -ne 124 ] && [ $took -le 40 ] \
   && grep -q "ranks that did not arrive: 2 (" cut.log \
   && "$build/tandem-inspect" checkpoint "$work/cut/checkpoints/$latest" | grep -q verified; then
  pass "nodeC cut off: job ended after ${took} s naming rank 2; latest $latest verifies"
else fail "cut off host (exit $code after ${took} s)"; grep -E "error" cut.log | head -3; fi

finish multihost_test
