#!/usr/bin/env bash
# tandem-train end to end under mpirun, one behaviour per case (ctest runs each as its own test):
#   disagreement  planted disagreements (configuration, vocabulary) end every rank with the same
#                 message in bounded time
#   uneven        a rank whose share runs out early does not deadlock the others
#   config        INI files and the command line combine (the command line wins)
#   options       a bad option value exits 2 naming the option
#   sigint        SIGINT stops cleanly after a checkpoint (exit 130); no thread of the process
#                 can run a handler for the stop signals (they are all blocked: stop_signals.h)
#   missing       a corpus missing on one rank only is the same error everywhere
#   budget        the linear schedule ends at --min-lr at the end of a step budget and a resume
#                 continues it bit for bit (2 ranks); over a time budget, a resumed run goes on
#                 with the time already spent: lower rates, and it stops when the total is used;
#                 a run ended by its budget validates the model it ends with (once), one ended
#                 by a signal does not
# Usage: train_cli_test.sh BUILD_DIR SOURCE_DIR CASE
set -uo pipefail
build=$(cd "$1" && pwd)
case_name=${3:?usage: train_cli_test.sh BUILD_DIR SOURCE_DIR CASE}
source "$(dirname "$0")/../shell_lib.sh"
mpirun=(mpirun --oversubscribe)

# Two corpora with different target vocabularies; one whose two shards differ in length.
for i in $(seq 1 120); do printf 'ab%d\tA B %d\n' $((i % 17)) $((i % 5)); done > "$work/a.tsv"
for i in $(seq 1 120); do printf 'ab%d\tX Y %d\n' $((i % 17)) $((i % 7)); done > "$work/b.tsv"
{ for i in $(seq 1 60); do printf 'a\tA\n'; done
  for i in $(seq 1 60); do printf 'abcdefghijklmnopqrstuvwxyzabcdefgh\tA B C D E F G H I J K L M N O P Q R S T\n'; done; } > "$work/uneven.tsv"
"$build/tandem-prep" --quiet --train "$work/a.tsv" --tgt-tokenizer word -o "$work/corpus_a" --valid-fraction 0.1 > /dev/null
"$build/tandem-prep" --quiet --train "$work/b.tsv" --tgt-tokenizer word -o "$work/corpus_b" > /dev/null
"$build/tandem-prep" --quiet --train "$work/uneven.tsv" --tgt-tokenizer word --shard-size 60 -o "$work/uneven" > /dev/null
shape=(--embedding-size 8 --hidden-size 16 --log-every 5)
small=("${shape[@]}" --batch-tokens 64)

case_disagreement() {
  # 1. Configuration differs on rank 1.
  timeout 60 "${mpirun[@]}" -np 1 "$build/tandem-train" --corpus "$work/corpus_a" "${small[@]}" --max-steps 5 --run-dir "$work/r1" \
    : -np 1 "$build/tandem-train" --corpus "$work/corpus_a" --embedding-size 8 --hidden-size 32 --log-every 5 --batch-tokens 64 --max-steps 5 --run-dir "$work/r1" \
    > "$work/out1" 2>&1
  code=$?
  if [ $code -eq 124 ]; then fail "config mismatch: hung"
  elif [ $code -eq 0 ]; then fail "config mismatch: exit 0"
  elif grep -q "ranks disagree on the configuration: hidden-size is '16' on rank 0 but '32' on rank 1" "$work/out1"; then pass "config mismatch -> one clear error (exit $code)"
  else fail "config mismatch: message"; cat "$work/out1"; fi

  # 2. Vocabulary differs on rank 1 (another corpus, same options).
  timeout 60 "${mpirun[@]}" -np 1 "$build/tandem-train" --corpus "$work/corpus_a" "${small[@]}" --max-steps 5 --run-dir "$work/r2" \
    : -np 1 "$build/tandem-train" --corpus "$work/corpus_b" "${small[@]}" --max-steps 5 --run-dir "$work/r2" \
    > "$work/out2" 2>&1
  code=$?
  if [ $code -eq 124 ]; then fail "vocab mismatch: hung"
  elif [ $code -eq 0 ]; then fail "vocab mismatch: exit 0"
  elif grep -q "ranks disagree on the configuration: corpus is" "$work/out2" && [ "$(grep -c 'tandem-train: error' "$work/out2")" -eq 1 ]; then pass "vocab/corpus mismatch -> one clear error (exit $code)"
  else fail "vocab mismatch: message"; cat "$work/out2"; fi
  # ... and with the same corpus path but another vocabulary behind it.
  mkdir -p "$work/r2b/x" "$work/r2b/y"
  cp -r "$work/corpus_a" "$work/r2b/x/corpus"; cp -r "$work/corpus_b" "$work/r2b/y/corpus"
  timeout 60 "${mpirun[@]}" -np 1 --wdir "$work/r2b/x" "$build/tandem-train" --corpus corpus "${small[@]}" --max-steps 5 --run-dir run \
    : -np 1 --wdir "$work/r2b/y" "$build/tandem-train" --corpus corpus "${small[@]}" --max-steps 5 --run-dir run > "$work/out2b" 2>&1
  code=$?
  if [ $code -ne 0 ] && [ $code -ne 124 ] && grep -q "ranks disagree on the configuration: [st][rg][ct]_vocab_checksum is" "$work/out2b"; then pass "vocab checksum mismatch -> named (exit $code)"
  else fail "vocab checksum mismatch (exit $code)"; cat "$work/out2b"; fi
}

case_uneven() {
  # 3. Uneven shares: rank 1 gets the long examples and more batches; two epochs, no deadlock.
  timeout 120 "${mpirun[@]}" -np 2 "$build/tandem-train" --corpus "$work/uneven" "${shape[@]}" --batch-tokens 80 --max-epochs 2 \
    --run-dir "$work/r3" > "$work/out3" 2>&1
  code=$?
  if [ $code -eq 0 ] && grep -q '"reason":"epoch limit"' "$work/r3/metrics.jsonl"; then pass "uneven ranks: 2 epochs done"
  else fail "uneven ranks (exit $code)"; cat "$work/out3"; fi
}

case_config() {
  # 4. INI file + command line (the command line wins), one rank, threads chosen.
  printf 'hidden-size = 24\nmax-steps = 3\nlog-every = 1\n' > "$work/run.ini"
  timeout 60 "$build/tandem-train" --config "$work/run.ini" --corpus "$work/corpus_a" --embedding-size 8 --max-steps 4 \
    --run-dir "$work/r4" > "$work/out4" 2>&1
  code=$?
  if [ $code -eq 0 ] && grep -q "^hidden-size = 24$" "$work/r4/config.ini" && grep -q "^max-steps = 4$" "$work/r4/config.ini" \
     && [ "$(grep -c '"type":"train"' "$work/r4/metrics.jsonl")" -eq 4 ]; then pass "INI + command line"
  else fail "INI + command line (exit $code)"; cat "$work/out4"; fi
}

case_options() {
  # 5. Bad option value: exit 2 with the option named.
  timeout 60 "$build/tandem-train" --corpus "$work/corpus_a" --cell lstmm --max-steps 1 > "$work/out5" 2>&1
  code=$?
  if [ $code -eq 2 ] && grep -q "cell: unknown value 'lstmm'" "$work/out5"; then pass "bad option -> exit 2"
  else fail "bad option (exit $code)"; cat "$work/out5"; fi
}

case_sigint() {
  # 6. SIGINT: a clean, agreed stop with exit code 130.
  "$build/tandem-train" --corpus "$work/corpus_a" "${small[@]}" --max-minutes 5 --run-dir "$work/r6" > "$work/out6" 2>&1 &
  pid=$!
  sleep 4
  # HUP INT USR1 USR2 TERM (bits 0 1 9 11 14 of SigBlk) blocked in every thread but the one
  # waiting for them in sigwait (which unblocks them while it waits), however many threads run.
  local threads=0 others=0
  for task in /proc/$pid/task/*; do
    threads=$((threads + 1))
    mask=$(awk '/^SigBlk/ { print $2 }' "$task/status")
    [ $(( 0x$mask & 0x4A03 )) -eq $(( 0x4A03 )) ] || [[ "$(cat "$task/wchan")" == *sigtimedwait* ]] \
      || others=$((others + 1))
  done
  if [ $threads -ge 3 ] && [ $others -eq 0 ]; then pass "stop signals blocked in all $threads threads but the waiter"
  else fail "stop signals: $others of $threads threads could run a handler for them"; fi
  kill -INT $pid
  timeout 30 tail --pid=$pid -f /dev/null
  wait $pid
  code=$?
  if [ $code -eq 130 ] && grep -q "stopped (interrupted (SIGINT))" "$work/out6"; then pass "SIGINT -> clean stop, exit 130"
  else fail "SIGINT (exit $code)"; cat "$work/out6"; fi
}

case_missing() {
  # 7. Missing corpus on one rank only: same error everywhere, bounded time.
  timeout 60 "${mpirun[@]}" -np 1 "$build/tandem-train" --corpus "$work/corpus_a" "${small[@]}" --max-steps 5 --run-dir "$work/r7" \
    : -np 1 "$build/tandem-train" --corpus "$work/nowhere" "${small[@]}" --max-steps 5 --run-dir "$work/r7" > "$work/out7" 2>&1
  code=$?
  if [ $code -ne 0 ] && [ $code -ne 124 ] && grep -q "rank 1: .*nowhere: corpus directory does not exist" "$work/out7" \
     && [ "$(grep -c 'tandem-train: error' "$work/out7")" -eq 1 ]; then pass "missing corpus on one rank -> agreed error"
  else fail "missing corpus on one rank (exit $code)"; cat "$work/out7"; fi
}

# "step lr loss" of every train record of a run.
train_lines() {
  /usr/bin/python3 -c 'import json, sys
for r in map(json.loads, open(sys.argv[1])):
    if r["type"] == "train": print(r["step"], repr(r["lr"]), repr(r["loss"]))' "$1/metrics.jsonl"
}

case_budget() {
  local linear=(--corpus "$work/corpus_a" "${small[@]}" --lr 0.01 --min-lr 0.0001 --lr-schedule linear --max-steps 40)
  "${mpirun[@]}" -np 2 "$build/tandem-train" "${linear[@]}" --save-every 20 --keep 10 --run-dir "$work/b1" > "$work/b1.log" 2>&1 || { fail "linear run"; tail -3 "$work/b1.log"; return; }
  local last; last=$(train_lines "$work/b1" | awk '$1 == 40 { print $2 }')
  # Update 39 of 40 (0-based) has used 39/40 of the budget: 1e-4 + (1e-2 - 1e-4) / 40.
  if /usr/bin/python3 -c "import sys; sys.exit(0 if abs($last - (1e-4 + (1e-2 - 1e-4) / 40)) < 1e-9 else 1)"
  then pass "linear over 40 steps: lr at step 40 = $last"; else fail "linear: lr at step 40 = $last"; fi
  if /usr/bin/python3 - "$work/b1/metrics.jsonl" <<'PY'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
steps = [r["step"] for r in records if r["type"] == "valid"]
assert steps and steps[-1] == 40 and len(steps) == len(set(steps)), steps
assert records[-1]["type"] == "end" and records[-1]["step"] == 40, records[-1]
PY
  then pass "the step budget's last model (step 40, mid-epoch) is validated, once"
  else fail "no validation at the end of the step budget"; fi
  mkdir -p "$work/b2/checkpoints" && cp "$work/b1/checkpoints/ckpt.000000020.h5" "$work/b2/checkpoints/"
  "${mpirun[@]}" -np 2 "$build/tandem-train" "${linear[@]}" --run-dir "$work/b2" > "$work/b2.log" 2>&1 || { fail "resumed linear run"; tail -3 "$work/b2.log"; return; }
  if diff <(train_lines "$work/b1" | awk '$1 > 20') <(train_lines "$work/b2") > "$work/b.diff"
  then pass "resumed at step 20: lr and loss of steps 25..40 identical to the uninterrupted run"
  else fail "resumed linear run differs"; cat "$work/b.diff"; tail -5 "$work/b2.log"; fi

  # Time: 12 s in all; interrupted after about 5 s, then resumed with the same budget.
  local timed=(--corpus "$work/corpus_a" "${small[@]}" --lr 0.01 --lr-schedule linear --max-minutes 0.2 --run-dir "$work/b3")
  "$build/tandem-train" "${timed[@]}" > "$work/b3.log" 2>&1 &
  local pid=$!
  sleep 5; kill -INT $pid; wait $pid
  "$build/tandem-train" "${timed[@]}" > "$work/b4.log" 2>&1 || { fail "resumed timed run"; tail -3 "$work/b4.log"; return; }
  /usr/bin/python3 - "$work/b3/metrics.jsonl" <<'PY' > "$work/b.check" 2>&1
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
ends = [r for r in records if r["type"] == "end"]
resumed_at = [i for i, r in enumerate(records) if r["type"] == "resume"][0]
first_end = ends[0]["elapsed_s"]
saved = records[resumed_at]["elapsed_s"]  # the training time the checkpoint recorded
later_lr = [r["lr"] for r in records[resumed_at:] if r["type"] == "train"]
assert ends[0]["reason"].startswith("interrupted") and ends[1]["reason"] == "time limit", ends
assert 11.5 <= ends[1]["elapsed_s"] < 14, "total training time %.1f s, budget 12" % ends[1]["elapsed_s"]
valid_steps = [r["step"] for r in records if r["type"] == "valid"]
assert valid_steps[-1] == ends[1]["step"], "the time budget's last model is not validated: %s" % valid_steps
assert len(valid_steps) == len(set(valid_steps)), valid_steps
bound = 0.01 * (1 - saved / 12) + 1e-9
assert later_lr and max(later_lr) <= bound, "resumed lr %g above %g: the schedule restarted" % (max(later_lr), bound)
print("interrupted at %.1f s, resumed at %.1f s, stopped at %.1f s in all; resumed lr %.2g..%.2g <= %.2g" %
      (first_end, saved, ends[1]["elapsed_s"], max(later_lr), min(later_lr), bound))
PY
  if [ $? -eq 0 ]; then pass "time budget: $(cat "$work/b.check")"; else fail "time budget"; cat "$work/b.check"; fi
}

run_case train_cli_test "$case_name"
