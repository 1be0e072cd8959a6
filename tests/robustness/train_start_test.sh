#!/usr/bin/env bash
# tandem-train refuses a bad start clearly and without touching the run directory:
#   lock        a second tandem-train on a run directory in use is refused naming the holder's
#               PID; the first run goes on and finishes
#   refused     a start that is refused (here: a checkpoint of another model) leaves config.ini
#               and metrics.jsonl exactly as they were
#   values      absurd option values (negative, NaN, huge) exit 2 naming the option
#   vocabulary  a vocabulary file edited or removed after tandem-prep is refused at start
#   memory      a model that does not fit the memory allowed (ulimit -v) is refused at start by
#               the memory estimate; told to try anyway, it ends with one line naming what was
#               being allocated and what to lower, not a bare std::bad_alloc
#   estimate    the memory estimate printed at start is within 25 % of the measured peak
#   runs        one run per directory: --resume none where a run lives is refused and changes
#               nothing; --fresh moves it into previous/ byte for byte; a checkpoint, `best` or
#               resume file of another run is never pruned, resumed from or decoded with
#   inifile     a bad line, an unknown key or a bad value in --config names the file and line; a
#               directory given as --config is refused
# Usage: train_start_test.sh BUILD_DIR SOURCE_DIR CASE
set -uo pipefail
build=$(cd "$1" && pwd)
case_name=${3:?usage: train_start_test.sh BUILD_DIR SOURCE_DIR CASE}
source "$(dirname "$0")/../shell_lib.sh"

for i in $(seq 1 200); do printf 'w%dx%d\tA B %d C\n' $((i % 37)) $((i % 11)) $((i % 5)); done > pairs.tsv
"$build/tandem-prep" --quiet --train pairs.tsv --tgt-tokenizer word --valid-fraction 0.1 -o corpus > /dev/null
train=("$build/tandem-train" --log-every 5)
small=(--corpus corpus --embedding-size 8 --hidden-size 16 --batch-tokens 60)

case_lock() {
  "${train[@]}" "${small[@]}" --max-minutes 2 --run-dir run > first.log 2>&1 &
  local first=$!
  for _ in $(seq 1 100); do grep -q '"type":"train"' run/metrics.jsonl 2>/dev/null && break; sleep 0.1; done
  "${train[@]}" "${small[@]}" --max-steps 5 --run-dir run > second.log 2>&1
  local code=$?
  if [ $code -eq 2 ] && grep -q "run-dir: run is in use by PID $first on " second.log && kill -0 $first 2>/dev/null
  then pass "second start refused naming PID $first; the first run goes on"
  else fail "second start (exit $code)"; cat second.log; fi
  kill -INT $first; wait $first
  code=$?
  if [ $code -eq 130 ] && [ "$(grep -c '"type":"start"' run/metrics.jsonl)" -eq 1 ]; then pass "the first run ended cleanly; one start record"
  else fail "first run (exit $code)"; tail -3 first.log; fi
  "${train[@]}" "${small[@]}" --max-steps 3 --run-dir run > third.log 2>&1 && pass "the lock is released with its process" || { fail "third start"; tail -3 third.log; }
}

case_refused() {
  "${train[@]}" "${small[@]}" --max-steps 4 --run-dir run > first.log 2>&1 || { fail "first run"; return; }
  cp run/config.ini config.before; cp run/metrics.jsonl metrics.before
  "${train[@]}" --corpus corpus --embedding-size 8 --hidden-size 24 --batch-tokens 60 --max-steps 8 \
    --run-dir run > refused.log 2>&1
  local code=$?
  if [ $code -eq 2 ] && grep -q "resume: .*ckpt.000000004.h5" refused.log \
     && cmp -s config.before run/config.ini && cmp -s metrics.before run/metrics.jsonl
  then pass "refused start (exit 2) left config.ini and metrics.jsonl unchanged"
  else fail "refused start (exit $code)"; cat refused.log; diff config.before run/config.ini; fi
}

case_values() {
  local -a cases=("keep -1" "max-minutes nan" "clip-norm -1" "threads 100000" "collective-timeout -5"
                  "save-every -1" "batch-tokens -5" "lr 0" "accum 0" "seed -1" "save-every-minutes inf"
                  "valid-beam 0" "stop-deadline 0")
  for entry in "${cases[@]}"; do
    local option=${entry%% *} value=${entry#* }
    "${train[@]}" --corpus corpus --max-steps 2 --run-dir "run_$option" "--$option" "$value" > out.log 2>&1
    local code=$?
    if [ $code -eq 2 ] && grep -q "^tandem-train: error: $option: " out.log && [ ! -e "run_$option/config.ini" ]
    then pass "--$option $value: $(head -c 120 out.log)"
    else fail "--$option $value (exit $code)"; cat out.log; fi
  done
}

case_vocabulary() {
  cp -r corpus edited; printf 'extra\t1\n' >> edited/tgt.vocab  # a well-formed line: only the checksum tells
  "${train[@]}" --corpus edited --embedding-size 8 --hidden-size 16 --max-steps 2 --run-dir run_edited > edited.log 2>&1
  local code=$?
  if [ $code -eq 1 ] && grep -q "edited/tgt.vocab: .*differs from the manifest" edited.log; then pass "edited vocabulary refused: $(cat edited.log)"
  else fail "edited vocabulary (exit $code)"; cat edited.log; fi
  cp -r corpus removed; rm removed/src.vocab
  "${train[@]}" --corpus removed --embedding-size 8 --hidden-size 16 --max-steps 2 --run-dir run_removed > removed.log 2>&1
  code=$?
  if [ $code -eq 1 ] && grep -q "removed/src.vocab" removed.log; then pass "missing vocabulary refused: $(cat removed.log)"
  else fail "missing vocabulary (exit $code)"; cat removed.log; fi
}

case_inifile() {
  printf 'hidden-size = 16\n# a comment\nembedding-size = 8\nmax-steps = 2\n' > good.ini
  printf 'hidden-size = 16\nthis line is wrong\n' > noequals.ini
  printf 'hidden-size = 16\n\nhiden-size = 8\n' > unknown.ini
  printf 'max-steps = 2\nkeep = -4\n' > value.ini
  "${train[@]}" --corpus corpus --config good.ini --run-dir run_good > good.log 2>&1 \
    && pass "a good INI file trains" || { fail "good INI"; cat good.log; }
  local expected
  for entry in "noequals.ini:2: expected 'key = value'" "unknown.ini:3: unknown option 'hiden-size'" \
               "value.ini:2: keep: must be in [1, 1e+06], got -4" "$work: not a regular file"; do
    local file=${entry%%:*}
    expected=${entry}
    [ "$file" = "$work" ] && file=$work
    "${train[@]}" --corpus corpus --config "$file" --run-dir run_bad > bad.log 2>&1
    local code=$?
    if [ $code -eq 2 ] && grep -qF "$expected" bad.log && [ ! -e run_bad/config.ini ]; then pass "--config $(basename "$file"): $(head -c 150 bad.log)"
    else fail "--config $file (exit $code), expected '$expected'"; cat bad.log; fi
  done
}

case_memory() {
  local huge=(--corpus corpus --hidden-size 8192 --embedding-size 4096 --max-steps 2)
  (ulimit -v 1500000; "${train[@]}" "${huge[@]}" --run-dir run_huge) > huge.log 2>&1
  local code=$?
  if [ $code -eq 2 ] && grep -q "^tandem-train: error: memory: this configuration needs about .* MiB (.*parameters .* per rank, more than the .* MiB a rank has here.*lower --batch-tokens" huge.log \
     && [ "$(wc -l < huge.log)" -le 3 ] && [ ! -e run_huge/config.ini ]; then pass "refused up front: $(tail -1 huge.log | head -c 250)"
  else fail "memory estimate refusal (exit $code)"; tail -5 huge.log; fi
  # Past the estimate (told to try anyway) the allocation itself fails: one line naming it.
  (ulimit -v 1500000; "${train[@]}" "${huge[@]}" --skip-memory-check --run-dir run_huge) > tried.log 2>&1
  code=$?
  if [ $code -eq 1 ] && grep -q "^tandem-train: error: out of memory while allocating the parameters and their gradients ([0-9]* MiB) (.*lower --batch-tokens" tried.log \
     && [ "$(grep -c . tried.log)" -le 3 ]; then pass "$(tail -1 tried.log | head -c 200)"
  else fail "out of memory (exit $code)"; tail -5 tried.log; fi
}

# The estimate printed at start against the peak measured at the end, on a small model with
# checkpoints: within 25 %.
case_estimate() {
  "${train[@]}" --corpus corpus --embedding-size 64 --hidden-size 256 --bidirectional true --dropout 0.2 \
    --batch-tokens 2048 --max-steps 10 --save-every 5 --run-dir run_estimate > estimate.log 2>&1 || { fail "run"; tail -3 estimate.log; return; }
  local ratio
  ratio=$(/usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in open("run_estimate/metrics.jsonl")]
estimate = next(l for l in lines if l["type"] == "start")["memory_estimate_mib"]["total"]
peak = max(next(l for l in lines if l["type"] == "end")["peak_rss_mib"])
print("%.3f %.0f %.0f" % (estimate / peak, estimate, peak))')
  if /usr/bin/python3 -c "import sys; sys.exit(0 if 0.75 <= float('${ratio%% *}') <= 1.25 else 1)"
  then pass "estimate / measured peak = $ratio MiB"
  else fail "estimate / measured peak = $ratio MiB"; grep memory estimate.log; fi
}

# Checksums of every file under a directory, relative names, sorted.
tree_sums() { (cd "$1" && find . -type f ! -name lock ! -name heartbeat -print0 | sort -z | xargs -0 sha256sum); }

case_runs() {
  "${train[@]}" "${small[@]}" --max-steps 6 --save-every 2 --keep 2 --run-dir run > a.log 2>&1 || { fail "run A"; tail -3 a.log; return; }
  local a; a=$(cat run/run-id)
  if [ "$(grep -c "\"run\":\"$a\"" run/metrics.jsonl)" -eq "$(wc -l < run/metrics.jsonl)" ] \
     && "$build/tandem-inspect" checkpoint run/checkpoints/ckpt.000000006.h5 | grep -q "^run  *$a$"
  then pass "run $a: its id is in every metrics record and in its checkpoints"
  else fail "run id $a not recorded"; head -2 run/metrics.jsonl; fi
  tree_sums run > a.sums

  "${train[@]}" "${small[@]}" --max-steps 4 --resume none --run-dir run > none.log 2>&1
  local code=$?
  if [ $code -eq 2 ] && grep -q "^tandem-train: error: resume: --resume none starts a new run, but run holds run $a (.*add --fresh" none.log \
     && diff <(tree_sums run) a.sums > /dev/null
  then pass "--resume none where run $a lives: refused, nothing changed: $(head -c 160 none.log)"
  else fail "--resume none (exit $code)"; cat none.log; fi

  "${train[@]}" "${small[@]}" --max-steps 4 --save-every 1 --keep 1 --fresh --run-dir run > fresh.log 2>&1 || { fail "--fresh"; tail -3 fresh.log; return; }
  local b old; b=$(cat run/run-id); old=run/previous/$a
  if [ "$b" != "$a" ] && diff <(tree_sums "$old") a.sums > /dev/null && ! grep -q "\"run\":\"$a\"" run/metrics.jsonl \
     && [ "$(ls run/checkpoints | grep -c '^ckpt')" -eq 1 ]
  then pass "--fresh: run $b started; run $a is in $old, every file byte for byte"
  else fail "--fresh (new run '$b', old folder '$old')"; ls -R run; fi

  # A file of run A planted among run B's, with a higher step, and `best` pointing at it.
  cp "$old/checkpoints/ckpt.000000006.h5" run/checkpoints/ && echo ckpt.000000006.h5 > run/checkpoints/best
  "${train[@]}" "${small[@]}" --max-steps 5 --keep 1 --run-dir run > resume.log 2>&1
  if grep -q "resumed from run/checkpoints/ckpt.000000004.h5 at step 4" resume.log && [ -e run/checkpoints/ckpt.000000006.h5 ]
  then pass "auto-resume continued run $b at step 4, passed over run $a's step 6 and did not prune it"
  else fail "auto-resume with another run's file"; cat resume.log; ls run/checkpoints; fi
  # The run validated its last model and may have pointed `best` at it: plant A's again.
  echo ckpt.000000006.h5 > run/checkpoints/best
  "$build/tandem-translate" --checkpoint run --beam 1 --input <(printf 'w1x1\n') > out.txt 2> translate.log
  if grep -q "best names ckpt.000000006.h5 of another run than $b; passed over" translate.log \
     && grep -q "with run/checkpoints/ckpt.000000005.h5 (step 5)" translate.log
  then pass "tandem-translate passed over run $a's best and decoded with run $b's step 5"
  else fail "tandem-translate with another run's best"; cat translate.log; fi

  "${train[@]}" "${small[@]}" --max-steps 8 --resume "$old/checkpoints/ckpt.000000006.h5" --run-dir run > other.log 2>&1
  code=$?
  if [ $code -eq 2 ] && grep -q "belongs to run $a, but run holds run $b" other.log; then pass "--resume FILE of run $a into run $b's directory: refused"
  else fail "--resume another run's file (exit $code)"; cat other.log; fi
}

run_case train_start_test "$case_name"
