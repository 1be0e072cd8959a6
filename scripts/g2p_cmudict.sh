#!/usr/bin/env bash
# The full grapheme-to-phoneme recipe on CMUdict: data -> 2-rank training with early stopping on
# the validation WER -> beam-5 decoding of the held-out test words -> WER and PER.
#
#   scripts/g2p_cmudict.sh [extra tandem-train options]
#
# Settings (environment):
#   G2P_MINUTES  training time limit in minutes (default 58: the run fits in an hour)
#   G2P_RANKS    MPI ranks (default 2)
#   G2P_OUT      output directory (default build/g2p): run/ (checkpoints, metrics.jsonl),
#                test.hyp, test_scores.json, summary.txt
#   STRESS       1 keeps the stress digits (69 phonemes); default 0: the 39-phoneme set that
#                most published CMUdict results use
#
# Words are split 90/5/5 by a fixed hash (scripts/data/cmudict.sh); a word with several
# pronunciations counts as correct if the output matches any of them, and its PER uses the
# closest one (docs/decoding.md).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${G2P_MINUTES:-58}
ranks=${G2P_RANKS:-2}
out=${G2P_OUT:-build/g2p}
stress=${STRESS:-0}
data=build/data/cmudict
if [ "$stress" = 0 ]; then data=build/data/cmudict39; fi

scripts/install_deps.sh
scripts/build.sh
STRESS=$stress scripts/data/cmudict.sh "$data"

source scripts/recipe_lib.sh
recipe_launch "$ranks"
rm -rf "$out"
mkdir -p "$out"

# The model: characters -> 2-layer bidirectional LSTM encoder -> 2-layer LSTM decoder with
# general (Luong) attention; dropout 0.3; bf16 mixed precision (about 1.5x the f32 speed here).
# Adam 2e-3 after a 200-step warm-up, decayed linearly to 0 exactly at the time limit (the
# budget-aware schedule, docs/training.md). Validation decodes greedily every epoch; the best
# checkpoint by validation WER is decoded.
timed train_seconds "${launch[@]}" build/tandem-train \
  --corpus "$data/corpus" --run-dir "$out/run" --resume none \
  --cell lstm --bidirectional true --encoder-layers 2 --decoder-layers 2 --attention general \
  --embedding-size 64 --hidden-size 256 --dropout 0.3 --precision bf16 \
  --batch-tokens 1024 --lr 2e-3 --lr-schedule linear --warmup-steps 200 --min-lr 0 \
  --valid-every 0 --valid-metric wer --max-minutes "$minutes" \
  --log-every 200 --save-every 0 "$@"

# The best checkpoint by validation WER, beam 5, the test split, on all ranks.
timed decode_seconds "${launch[@]}" build/tandem-translate \
  --checkpoint "$out/run" --test "$data/test.tsv" --beam 5 \
  --metrics wer,per --output "$out/test.hyp" --scores-json "$out/test_scores.json"

/usr/bin/python3 - "$out" "$train_seconds" "$decode_seconds" <<'EOF' | tee "$out/summary.txt"
import json, sys
out, train_seconds, decode_seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
scores = json.load(open(out + "/test_scores.json"))
records = [json.loads(line) for line in open(out + "/run/metrics.jsonl")]
valid = [r for r in records if r.get("type") == "valid"]
end = [r for r in records if r.get("type") == "end"]
print("CMUdict G2P (test split: %d words)" % scores["sentences"])
print("  test WER %.2f %%  PER %.2f %%  (beam 5, checkpoint step %d)" % (scores["wer"], scores["per"], scores["step"]))
if valid:
    best = min(valid, key=lambda r: (r["wer"], r["step"]))
    print("  best validation WER %.2f %%  PER %.2f %%  (greedy, step %d, after epoch %d; %d validations)"
          % (best["wer"], best["per"], best["step"], best["epoch"], len(valid)))
else:
    print("  no validation yet (the time limit came before the first epoch ended): latest checkpoint used")
print("  training %d:%02d (wall), test decoding %d s" % (train_seconds // 60, train_seconds % 60, decode_seconds))
if end:
    print("  stopped by: %s" % end[-1].get("reason", "?"))
EOF
echo "examples (word, output, reference):"
awk -F'\t' 'NR == FNR { ref[$1] = ref[$1] ? ref[$1] " | " $2 : $2; next }
            FNR % 500 == 1 { printf "  %-14s %-28s %s\n", $1, $2, ref[$1] }' "$data/test.tsv" "$out/test.hyp"
