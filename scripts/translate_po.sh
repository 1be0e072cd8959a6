#!/usr/bin/env bash
# The translation recipe, the primer's own task: English -> Chinese on real text nobody here
# wrote (the gettext catalogs of Debian packages, scripts/data/po_corpus.sh) -> SentencePiece 8k
# per side, text as written -> 2-rank training with a linear learning rate that reaches zero at
# the time limit, validation chrF every epoch picking the best checkpoint -> beam-5 decoding of
# the held-out test split -> BLEU (sacreBLEU's zh tokeniser) and chrF with signatures and 95 %
# bootstrap intervals, a few example translations, wall times.
#
#   scripts/translate_po.sh [extra tandem-train options, replacing the recipe's]
#
# Settings (environment):
#   MT_MINUTES  training time limit in minutes (default 60)
#   MT_RANKS    MPI ranks (default 2)
#   MT_OUT      output directory (default build/mt): run/, test.hyp, test_scores.json, summary.txt
#   PO_LANG     zh_CN (default) or de
# Model: bi-LSTM encoder 2 x 256 per direction, decoder 2 x 512, embeddings 256, general
# attention, dropout 0.2, bf16; every parameter starts U(-0.1, 0.1) (fastest start measured on
# this corpus, docs/model.md "Initial values"); Adam 5e-3 (the best of a sweep for both systems,
# docs/translation.md "Learning rate"), 2,048 tokens per rank and step.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${MT_MINUTES:-60}
ranks=${MT_RANKS:-2}
out=${MT_OUT:-build/mt}
lang=${PO_LANG:-zh_CN}
data=build/data/po_$lang

scripts/install_deps.sh
scripts/build.sh
scripts/data/po_corpus.sh "$data"
if [ ! -f "$data/corpus/manifest.json" ]; then
  build/tandem-prep --quiet --train "$data/train.tsv" --valid "$data/valid.tsv" \
    --tokenizer sentencepiece --vocab-size 8000 -o "$data/corpus"
fi

source scripts/recipe_lib.sh
recipe_launch "$ranks"
rm -rf "$out"
mkdir -p "$out"

recipe=(--cell lstm --bidirectional true --encoder-layers 2 --decoder-layers 2 --attention general
  --embedding-size 256 --hidden-size 512 --dropout 0.2 --precision bf16 --init uniform:0.1
  --batch-tokens 2048 --lr 5e-3 --lr-schedule linear --warmup-steps 200 --min-lr 0
  --valid-every 0 --valid-metric chrf --max-minutes "$minutes"
  --log-every 200 --save-every 0)
recipe_options "$@"  # extra options replace the recipe's own
timed train_seconds "${launch[@]}" build/tandem-train \
  --corpus "$data/corpus" --run-dir "$out/run" --resume none "${options[@]}"

timed decode_seconds "${launch[@]}" build/tandem-translate \
  --checkpoint "$out/run" --test "$data/test.tsv" --beam 5 \
  --metrics bleu,chrf --bootstrap 1000 --output "$out/test.hyp" --scores-json "$out/test_scores.json"

/usr/bin/python3 - "$out" "$train_seconds" "$decode_seconds" <<'EOF' | tee "$out/summary.txt"
import json, sys
out, train_seconds, decode_seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
scores = json.load(open(out + "/test_scores.json"))
records = [json.loads(line) for line in open(out + "/run/metrics.jsonl")]
valid = [r for r in records if r.get("type") == "valid"]
train = [r for r in records if r.get("type") == "train"]
print("English -> Chinese, catalog text (test split: %d sentences)" % scores["sentences"])
print("  test BLEU %.2f [%.2f, %.2f]  chrF2 %.2f [%.2f, %.2f]  (beam 5, checkpoint step %d; 95 %% bootstrap)"
      % (scores["bleu"], scores["bleu_ci95"][0], scores["bleu_ci95"][1], scores["chrf"],
         scores["chrf_ci95"][0], scores["chrf_ci95"][1], scores["step"]))
print("  BLEU signature %s" % scores["bleu_signature"])
if valid:
    best = max(valid, key=lambda r: (r["chrf"], -r["step"]))
    print("  best validation chrF2 %.2f  BLEU %.2f  (greedy, step %d, after epoch %d; %d validations)"
          % (best["chrf"], best["bleu"], best["step"], best["epoch"], len(valid)))
if train:
    rates = sorted(r["tokens_per_s"] for r in train[1:] or train)
    print("  training %d:%02d (wall), %d steps, median %.0f target tokens/s, padding %.2f"
          % (train_seconds // 60, train_seconds % 60, records[-1]["step"], rates[len(rates) // 2],
             train[-1].get("padding_efficiency", float("nan"))))
print("  test decoding %d s" % decode_seconds)
EOF
echo "examples (source, output, reference):"
awk -F'\t' 'NR == FNR { ref[$1] = $2; next }
            FNR % 600 == 1 { printf "  %s\n    -> %s\n    ref %s\n", $1, $2, ref[$1] }' "$data/test.tsv" "$out/test.hyp"
echo "I love you" | build/tandem-translate --checkpoint "$out/run" --beam 5 --quiet 2>/dev/null \
  | sed 's/^/  I love you -> /'
