#!/usr/bin/env bash
# Text as written survives prep -> train -> translate: a Chinese target's full-width punctuation
# (，！？：（）) comes out of tandem-translate as it went into tandem-prep (SentencePiece with the
# default --sp-normalization identity). With nmt_nfkc the same run outputs ASCII punctuation,
# which shows the check can fail. Usage: fullwidth_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'hello world\t你好，世界！\nopen the file\t打开文件？\nsave it now\t现在保存：好吗？\nclose the window\t关闭窗口（是）\n' > pairs.tsv
for i in 1 2 3 4 5 6 7 8; do cat pairs.tsv; done > train.tsv
run_with() {  # run_with NORMALIZATION: memorise the pairs, translate their sources
  rm -rf corpus run
  "$build/tandem-prep" --quiet --train train.tsv --tokenizer sentencepiece --vocab-size 60 \
    --sp-normalization "$1" -o corpus > /dev/null
  "$build/tandem-train" --corpus corpus --run-dir run --embedding-size 32 --hidden-size 64 \
    --batch-size 4 --batch-tokens 0 --lr 0.01 --max-steps 150 --valid-every 0 --save-every 0 \
    --threads 1 > train.log 2>&1
  cut -f1 pairs.tsv | "$build/tandem-translate" --checkpoint run --quiet 2> /dev/null
}
run_with identity > identity.txt
if ! diff <(cut -f2 pairs.tsv) identity.txt; then
  echo "fullwidth_test: FAIL: the outputs above differ from the targets as written"
  exit 1
fi
run_with nmt_nfkc > nfkc.txt
if ! grep -q '?' nfkc.txt || grep -q '？' nfkc.txt; then
  echo "fullwidth_test: FAIL: nmt_nfkc was expected to turn ？ into ?"; cat nfkc.txt; exit 1
fi
echo "fullwidth_test: ok"
