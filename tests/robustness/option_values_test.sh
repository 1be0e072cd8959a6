#!/usr/bin/env bash
# Absurd option values for tandem-prep, tandem-translate and tandem-inspect: exit 2 with the
# option named, before any file is read or written. (tandem-train's: train_start_test.sh values.)
# Usage: option_values_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
source "$(dirname "$0")/../shell_lib.sh"
printf 'ab\tA B\n' > pairs.tsv

expect_usage_error() {  # expect_usage_error OPTION COMMAND...: exit 2 naming OPTION
  local option=$1; shift
  "$@" > out.log 2>&1
  local code=$?
  if [ $code -eq 2 ] && grep -q "error: .*$option: " out.log; then pass "$(head -c 140 out.log)"
  else fail "$* (exit $code)"; cat out.log; fi
}

expect_usage_error max-length-factor "$build/tandem-translate" --checkpoint run --max-length-factor 1e9
expect_usage_error beam "$build/tandem-translate" --checkpoint run --beam 0
expect_usage_error n-best "$build/tandem-translate" --checkpoint run --beam 2 --n-best 3
expect_usage_error batch-size "$build/tandem-translate" --checkpoint run --batch-size -1
expect_usage_error threads "$build/tandem-translate" --checkpoint run --threads 99999
expect_usage_error length-penalty "$build/tandem-translate" --checkpoint run --length-penalty nan
expect_usage_error top "$build/tandem-inspect" embeddings run --top -1
expect_usage_error "k" "$build/tandem-inspect" embeddings run -k 0
expect_usage_error sp-sample "$build/tandem-prep" --train pairs.tsv -o corpus --sp-sample 0
expect_usage_error deflate "$build/tandem-prep" --train pairs.tsv -o corpus --deflate 12
expect_usage_error max-len "$build/tandem-prep" --train pairs.tsv -o corpus --max-len -3
[ ! -e corpus ] && pass "no corpus directory was made" || fail "a refused tandem-prep made its output"
finish option_values_test
