#!/usr/bin/env bash
# The PyTorch reference of the English->Chinese comparison (issue 14) computes what tandem
# computes: scripts/bench/torch_mt_crosscheck.py loads tandem's initial parameters into the
# reference's model (scripts/bench/torch_mt_reference.py, the recipe's architecture at a small
# size) and checks the loss, every gradient and a 40-step Adam curve on one batch against
# tandem's own run (1 rank, f32, no dropout), and the reference's beam search against
# tandem-translate's on the trained model. A difference in the model, the optimiser or the
# search on either side shows as a gap beyond float tolerance.
# Usage: torch_crosscheck_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
scripts=$(cd "$2/scripts" && pwd)
source "$(dirname "$0")/../shell_lib.sh"
need_torch torch_crosscheck_test

# 48 sentence pairs of 1-9 words (a toy word-order task), all in one batch.
/usr/bin/python3 - <<'PY'
import random
r = random.Random(3)
words = "red green blue cat dog bird runs sleeps sings today now here".split()
with open("train.tsv", "w") as f:
    for _ in range(48):
        source = [r.choice(words) for _ in range(r.randint(1, 9))]
        target = [w.upper() for w in reversed(source)][: r.randint(1, len(source))]
        f.write(" ".join(source) + "\t" + " ".join(target) + "\n")
PY
"$build/tandem-prep" --quiet --train train.tsv --tokenizer word -o corpus > /dev/null || fail "tandem-prep"

train() {  # train NAME OPTIONS...: the recipe's architecture, small, one batch per step
  local name=$1; shift
  "$build/tandem-train" --corpus corpus --run-dir "run_$name" --cell lstm --bidirectional true \
    --encoder-layers 2 --decoder-layers 2 --attention general --embedding-size 12 --hidden-size 16 \
    --init uniform:0.1 --dropout 0 --precision f32 --batch-tokens 100000 --pool 1 --log-every 1 \
    --replica-check-every 0 "$@" > "train_$name.log" 2>&1 || { fail "$name: training"; tail -3 "train_$name.log"; }
}
latest() { echo "run_$1/checkpoints/$(cat "run_$1/checkpoints/latest")"; }
# Initial parameters: one step of rate 1e-30 changes nothing that matters.
train initial --optimizer sgd --lr 1e-30 --clip-norm 0 --max-steps 1
# The largest rate tandem takes: the gradient read from the step resolves to spacing/1000.
train sgd --optimizer sgd --lr 1000 --clip-norm 0 --max-steps 1
train adam --optimizer adam --lr 0.01 --clip-norm 1 --max-steps 40
# The trained model's beam search, tandem's side: best hypothesis and log P of every source.
cut -f1 train.tsv > sources.txt
"$build/tandem-translate" --checkpoint run_adam --latest --beam 5 --n-best 2 --input sources.txt \
  --output nbest.txt --quiet 2> /dev/null || fail "tandem-translate --n-best"
if [ $failures -eq 0 ]; then
  if /usr/bin/python3 "$scripts/bench/torch_mt_crosscheck.py" corpus --initial "$(latest initial)" \
    --sgd "$(latest sgd)" --sgd-rate 1000 --sgd-metrics run_sgd/metrics.jsonl --adam-metrics run_adam/metrics.jsonl \
    --adam-lr 0.01 --clip 1 --beam-checkpoint "$(latest adam)" --beam-sources sources.txt \
    --beam-nbest nbest.txt > crosscheck.log 2>&1; then pass "PyTorch reference = tandem"; else fail "PyTorch reference != tandem"; fi
  cat crosscheck.log
fi
finish torch_crosscheck_test
