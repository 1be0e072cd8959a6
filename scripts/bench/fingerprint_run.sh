#!/usr/bin/env bash
# A fixed 2-rank training run whose results must not change when code is restructured:
# 300 steps with dropout, validation (loss and decoded WER) every 50 steps, checkpoints every
# 100. Prints the final checkpoint's content checksum and the loss curve; compare the output of
# two builds with diff.
# Usage: fingerprint_run.sh BUILD_DIR [WORK_DIR]
set -euo pipefail
build=$(cd "$1" && pwd)
work=${2:-$(mktemp -d)}
mkdir -p "$work" && cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
rm -rf corpus run
# Reverse-the-letters pairs: deterministic, varied lengths.
awk 'BEGIN { srand(7); for (i = 0; i < 4000; i++) { n = 2 + int(rand() * 10); w = "";
       for (j = 0; j < n; j++) w = w sprintf("%c", 97 + int(rand() * 20));
       r = ""; for (j = n; j > 0; j--) r = r " " substr(w, j, 1); print w "\t" substr(r, 2) } }' > pairs.tsv
"$build/tandem-prep" --quiet --train pairs.tsv --tgt-tokenizer word --valid-fraction 0.05 -o corpus > /dev/null
mpirun --oversubscribe -np 2 "$build/tandem-train" --corpus corpus --run-dir run \
  --embedding-size 32 --hidden-size 64 --encoder-layers 2 --decoder-layers 2 --dropout 0.2 \
  --batch-tokens 400 --max-steps 300 --valid-every 50 --valid-metric wer --save-every 100 \
  --keep 2 --log-every 10 > train.log 2>&1
final=run/checkpoints/ckpt.000000300.h5
echo "checksum $(h5dump -a checksum "$final" | sed -n 's/.*(0): "\(.*\)".*/\1/p')"
python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "train": print("train", r["step"], repr(r["loss"]), repr(r["grad_norm"]))
    if r["type"] == "valid": print("valid", r["step"], repr(r["loss"]), r.get("wer"), r["best"])
' run/metrics.jsonl
