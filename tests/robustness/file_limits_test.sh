#!/usr/bin/env bash
# Full disks and file-size limits end the programs with one line naming the file, exit 1, and
# leave nothing half-written behind: no corpus directory, no temporary files, and a run's earlier
# checkpoints and `latest` untouched.
#   ulimit     a file-size limit (ulimit -f) during tandem-prep and during a checkpoint
#   disk-full  a 300 KiB tmpfs filling up during tandem-prep (needs root and mount; skipped
#              otherwise)
# Usage: file_limits_test.sh BUILD_DIR SOURCE_DIR CASE
set -uo pipefail
build=$(cd "$1" && pwd)
case_name=${3:?usage: file_limits_test.sh BUILD_DIR SOURCE_DIR CASE}
source "$(dirname "$0")/../shell_lib.sh"

awk 'BEGIN { srand(3); for (i = 0; i < 20000; i++) { l = ""; n = 1 + int(rand() * 12)
       for (k = 0; k < n; k++) l = l (k ? " " : "") "w" int(rand() * 3000)
       print l "\tx" int(rand() * 50) " y" int(rand() * 9) } }' > big.tsv

case_ulimit() {
  (ulimit -f 200; "$build/tandem-prep" --quiet --train big.tsv --tokenizer word -o corpus) > prep.log 2>&1
  local code=$?
  if [ $code -eq 1 ] && grep -q "cannot write (File too large)" prep.log && [ ! -e corpus ] \
     && [ -z "$(ls -A . | grep tandem-prep)" ]; then pass "tandem-prep: $(cat prep.log)"
  else fail "tandem-prep under ulimit -f (exit $code)"; cat prep.log; ls -la; fi

  head -2000 big.tsv > small.tsv
  "$build/tandem-prep" --quiet --train small.tsv --tokenizer word -o small > /dev/null || { fail "prep"; return; }
  # A checkpoint of ~25 MB against a limit of 8 MB (MPI's own shared-memory files need a few MB).
  local train=("$build/tandem-train" --corpus small --embedding-size 256 --hidden-size 512 --save-every 3 --run-dir run)
  "${train[@]}" --max-steps 3 > first.log 2>&1 || { fail "first run"; cat first.log; return; }
  local latest
  latest=$(cat run/checkpoints/latest)
  (ulimit -f 8192; "${train[@]}" --max-steps 6) > limited.log 2>&1
  code=$?
  if [ $code -eq 1 ] && grep -q "ckpt.000000006.h5: cannot write.*(File too large)" limited.log \
     && [ "$(cat run/checkpoints/latest)" = "$latest" ] && [ -z "$(ls run/checkpoints | grep tmp)" ]
  then pass "checkpoint under ulimit -f: $(grep error limited.log); latest still $latest"
  else fail "checkpoint under ulimit -f (exit $code)"; cat limited.log; ls run/checkpoints; fi
}

case_disk-full() {
  if [ "$(id -u)" -ne 0 ] || ! mkdir -p small_fs || ! mount -t tmpfs -o size=300k tmpfs small_fs 2> /dev/null; then
    echo "file_limits_test: disk-full skipped (needs root and mount)"; exit 77
  fi
  trap 'umount "$work/small_fs" 2> /dev/null; cleanup_work' EXIT
  "$build/tandem-prep" --quiet --train big.tsv --tokenizer word -o small_fs/corpus > prep.log 2>&1
  local code=$?
  if [ $code -eq 1 ] && grep -q "cannot write (No space left on device)" prep.log \
     && [ -z "$(ls -A small_fs)" ]; then pass "tandem-prep on a full disk: $(cat prep.log)"
  else fail "tandem-prep on a full disk (exit $code)"; cat prep.log; ls -la small_fs; fi
}

run_case file_limits_test "$case_name"
