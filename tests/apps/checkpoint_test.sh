#!/usr/bin/env bash
# Checkpoints end to end: K steps straight == j steps + stop + resume + K-j steps, bit for bit
# (content checksums cover parameters, optimizer moments, counters and every rank's loader
# cursor; loss curves compared too), on 1 and 2 ranks, across an epoch boundary, with dropout;
# the same after a preemption signal (exit 75); a corrupt newest checkpoint is reported and the
# previous one used; another model shape is a clear error that leaves the checkpoints alone;
# a full disk and an unwritable directory fail cleanly with `latest` still valid; keep K + best.
# Usage: checkpoint_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
source "$(dirname "$0")/../shell_lib.sh"
losses() { grep '"type":"train"' "$1/metrics.jsonl" | sed 's/.*"loss":\([^,]*\),.*"step":\([0-9]*\),.*/\2 \1/'; }

for i in $(seq 1 160); do printf 'w%dx%d\tA B %d C\n' $((i % 37)) $((i % 11)) $((i % 5)); done > a.tsv
"$build/tandem-prep" --quiet --train a.tsv --tgt-tokenizer word --valid-fraction 0.1 -o corpus > /dev/null
train=("$build/tandem-train" --corpus corpus --embedding-size 8 --hidden-size 16 --batch-tokens 60
       --log-every 1 --dropout 0.1 --valid-every 0)

# 1 + 2. Exact resume on 1 and 2 ranks, 30 steps crossing epoch boundaries, stopped at step 11.
for ranks in 1 2; do
  launch=(); [ "$ranks" -gt 1 ] && launch=(mpirun --oversubscribe -np "$ranks")
  "${launch[@]}" "${train[@]}" --save-every 0 --max-steps 30 --run-dir "straight$ranks" > "straight$ranks.log" 2>&1
  "${launch[@]}" "${train[@]}" --save-every 0 --max-steps 11 --run-dir "resumed$ranks" > "first$ranks.log" 2>&1
  "${launch[@]}" "${train[@]}" --save-every 0 --max-steps 30 --run-dir "resumed$ranks" > "second$ranks.log" 2>&1
  a=$(checksum "straight$ranks/checkpoints/ckpt.000000030.h5")
  b=$(checksum "resumed$ranks/checkpoints/ckpt.000000030.h5")
  epochs=$(grep -c '"type":"valid"' "straight$ranks/metrics.jsonl")
  if [ -n "$a" ] && [ "$a" = "$b" ] && grep -q "resumed from" "second$ranks.log" && [ "$epochs" -ge 1 ] \
     && diff <(losses "straight$ranks") <(losses "resumed$ranks") > /dev/null; then
    pass "$ranks rank(s): 30 straight == 11 + resume + 19 (checksum $a, $epochs epoch ends, same losses)"
  else fail "$ranks rank(s): exact resume ($a vs $b)"; tail -3 "second$ranks.log"; fi
done

# 3. Preemption: SIGUSR1 mid-run -> checkpoint, exit 75; the requeued run ends bit-identical.
"${train[@]}" --max-steps 400 --run-dir preempt > preempt.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q '"step":30,' preempt/metrics.jsonl 2>/dev/null && break; sleep 0.1; done
kill -USR1 $pid
wait $pid
code=$?
stopped=$(sed -n 's/.*"type":"end".*"step":\([0-9]*\).*/\1/p;s/.*"step":\([0-9]*\),"type":"end".*/\1/p' preempt/metrics.jsonl | tail -1)
"${train[@]}" --max-steps 400 --run-dir preempt > preempt2.log 2>&1
"${train[@]}" --max-steps 400 --run-dir preempt_straight > /dev/null 2>&1
if [ $code -eq 75 ] && grep -q "preempted" preempt.log && grep -q "resumed from" preempt2.log \
   && [ "$(checksum preempt/checkpoints/ckpt.000000400.h5)" = "$(checksum preempt_straight/checkpoints/ckpt.000000400.h5)" ]; then
  pass "SIGUSR1 -> checkpoint at step $stopped, exit 75; resumed run == straight run"
else fail "preemption (exit $code)"; tail -3 preempt.log; fi

# 4. A corrupt newest checkpoint is reported and the previous one used.
"${train[@]}" --max-steps 10 --save-every 5 --keep 5 --run-dir corrupt > /dev/null 2>&1
newest=corrupt/checkpoints/ckpt.000000010.h5
truncate -s $(( $(stat -c %s "$newest") / 2 )) "$newest"
"${train[@]}" --max-steps 12 --run-dir corrupt > corrupt.log 2>&1
code=$?
if [ $code -eq 0 ] && grep -q "skipping checkpoint .*ckpt.000000010.h5" corrupt.log \
   && grep -q "resumed from corrupt/checkpoints/ckpt.000000005.h5" corrupt.log; then
  pass "truncated newest checkpoint skipped, previous one used"
else fail "corrupt checkpoint fallback (exit $code)"; cat corrupt.log | tail -5; fi
# ... and a flipped byte in the middle of the parameters fails the content checksum.
cp corrupt/checkpoints/ckpt.000000005.h5 flipped.h5
size=$(stat -c %s flipped.h5)
printf '\xff' | dd of=flipped.h5 bs=1 seek=$((size / 2)) conv=notrunc 2> /dev/null
"${train[@]}" --max-steps 12 --resume flipped.h5 --run-dir flipped_run > flipped.log 2>&1
code=$?
if [ $code -ne 0 ] && grep -q "flipped.h5" flipped.log; then pass "flipped byte -> named error (exit $code)"
else fail "flipped byte (exit $code)"; tail -3 flipped.log; fi

# 5. Another model shape: a clear error naming the parameter; checkpoints untouched.
before=$(md5sum resumed1/checkpoints/* | md5sum)
"$build/tandem-train" --corpus corpus --embedding-size 8 --hidden-size 32 --batch-tokens 60 --max-steps 40 \
  --run-dir resumed1 > shape.log 2>&1
code=$?
after=$(md5sum resumed1/checkpoints/* | md5sum)
if [ $code -eq 2 ] && grep -q "has shape \[" shape.log && [ "$before" = "$after" ]; then
  pass "other model shape -> exit 2, one line, checkpoints untouched"
else fail "model shape mismatch (exit $code)"; tail -3 shape.log; fi

# 6. Disk full (a file-size limit): the save fails with the file named; latest stays valid.
"$build/tandem-train" --corpus corpus --embedding-size 64 --hidden-size 256 --batch-tokens 60 --log-every 1 \
  --dropout 0.1 --valid-every 0 --max-steps 4 --run-dir full > /dev/null 2>&1
latest_before=$(cat full/checkpoints/latest)
(trap '' XFSZ; ulimit -f 4096; "$build/tandem-train" --corpus corpus --embedding-size 64 --hidden-size 256 \
  --batch-tokens 60 --log-every 1 --dropout 0.1 --valid-every 0 --max-steps 8 --run-dir full > full.log 2>&1)
code=$?
if [ $code -ne 0 ] && grep -q "ckpt.000000008.h5: cannot write" full.log && [ "$(cat full/checkpoints/latest)" = "$latest_before" ] \
   && [ ! -e full/checkpoints/ckpt.000000008.h5 ] && [ -n "$(checksum "full/checkpoints/$latest_before")" ]; then
  pass "disk full -> error naming the file (exit $code), latest still $latest_before"
else fail "disk full (exit $code)"; tail -3 full.log; fi

# 7. The checkpoint directory cannot be created.
mkdir -p blocked && touch blocked/checkpoints
"${train[@]}" --max-steps 2 --run-dir blocked > blocked.log 2>&1
code=$?
if [ $code -ne 0 ] && grep -q "blocked/checkpoints: cannot create the checkpoint directory" blocked.log; then
  pass "unwritable checkpoint directory -> named error (exit $code)"
else fail "unwritable directory (exit $code)"; tail -3 blocked.log; fi

# 8. Keep the newest 2 plus the best by validation.
"${train[@]}" --max-steps 40 --save-every 4 --keep 2 --run-dir keep > /dev/null 2>&1
count=$(ls keep/checkpoints/ckpt.*.h5 | wc -l)
best=$(cat keep/checkpoints/best 2>/dev/null)
if [ -n "$best" ] && [ -e "keep/checkpoints/$best" ] && [ "$count" -le 3 ] && [ -e keep/checkpoints/ckpt.000000040.h5 ]; then
  pass "keep 2 + best ($count files, best $best)"
else fail "keep ($count files, best '$best')"; ls keep/checkpoints; fi

# 10. Another rank count mid-epoch: 2 ranks stop at step 3 (inside epoch 0), 3 ranks go on with
#     the rest of that epoch; changing again before it ends is refused; 3 ranks then finish.
mpi() { mpirun --oversubscribe -np "$1" "${train[@]:0}" "${@:2}"; }
mpi 2 --save-every 0 --max-steps 3 --run-dir change > change1.log 2>&1
mpi 3 --save-every 0 --max-steps 4 --run-dir change > change2.log 2>&1
code2=$?
mpi 1 --save-every 0 --max-steps 5 --run-dir change > change3.log 2>&1
code3=$?
mpi 3 --save-every 0 --max-steps 40 --run-dir change > change4.log 2>&1
code4=$?
if [ $code2 -eq 0 ] && grep -q "written by 2 rank(s): the rest of epoch 0" change2.log && [ $code3 -eq 2 ] \
   && grep -q "already resumed with another rank count (2 -> 3)" change3.log && [ $code4 -eq 0 ] \
   && grep -q '"type":"valid"' change/metrics.jsonl; then
  pass "2 -> 3 ranks mid-epoch continues; a second change in that epoch is refused; training goes on"
else fail "rank-count change ($code2, $code3, $code4)"; tail -2 change2.log change3.log change4.log; fi

# 9. tandem-inspect reads a checkpoint.
if "$build/tandem-inspect" checkpoint straight1/checkpoints/ckpt.000000030.h5 | grep -q "^decoder/w_c/weight"; then
  pass "tandem-inspect checkpoint"
else fail "tandem-inspect"; fi

finish checkpoint_test
