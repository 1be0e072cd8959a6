#!/usr/bin/env bash
# The full grapheme-to-phoneme recipe on CMUdict: data -> two models trained at once, one rank
# and one core each, under a time budget (learning rate decayed linearly to 0 at its end) ->
# for each, the best checkpoint by validation WER or the average of its last checkpoints,
# whichever is better on the validation split -> the two decoded as one ensemble (beam 5) on
# the held-out test words -> WER and PER. (docs/g2p.md: within 40 and 60 minutes two 1-rank
# models ensembled beat one model trained on both ranks, 23.2 against 23.8 WER at 60.)
#
#   scripts/g2p_cmudict.sh [extra tandem-train options, replacing the recipe's]
#
# Settings (environment):
#   G2P_MINUTES  training time limit in minutes (default 58: the run fits in an hour)
#   G2P_MEMBERS  models in the ensemble (default 2), trained at once, one rank each, bound to
#                cores 0, 1, ... in turn, seeds G2P_SEED ... G2P_SEED + K - 1; 1: a single model
#                trained data-parallel on G2P_RANKS ranks
#   G2P_RANKS    MPI ranks of a single model (G2P_MEMBERS=1; default 2)
#   G2P_SEED     seed of initialisation, data order and dropout (default 1)
#   G2P_OUT      output directory (default build/g2p): for a single model run/ (checkpoints,
#                metrics.jsonl), average.h5, valid_*.json, test.hyp, test_scores.json,
#                summary.txt; for an ensemble one such directory per member (member0, ...) and
#                the ensemble's test.hyp, test_scores.json, summary.txt
#   STRESS       1 keeps the stress digits (69 phonemes); default 0: the 39-phoneme set that
#                most published CMUdict results use
#   RECIPE_MPI_OPTIONS  more mpirun options (scripts/recipe_lib.sh)
#
# Words are split 90/5/5 by a fixed hash (scripts/data/cmudict.sh); a word with several
# pronunciations counts as correct if the output matches any of them, and its PER uses the
# closest one (docs/decoding.md).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${G2P_MINUTES:-58}
ranks=${G2P_RANKS:-2}
seed=${G2P_SEED:-1}
members=${G2P_MEMBERS:-2}
[[ $members =~ ^[1-9][0-9]*$ ]] || { echo "g2p_cmudict: G2P_MEMBERS must be a whole number >= 1, not '$members'" >&2; exit 2; }
out=${G2P_OUT:-build/g2p}
stress=${STRESS:-0}
data=build/data/cmudict
if [ "$stress" = 0 ]; then data=build/data/cmudict39; fi

if [ -z "${RECIPE_SKIP_SETUP:-}" ]; then  # set by scripts/g2p_search.sh, which did these once
  scripts/install_deps.sh
  scripts/build.sh
  STRESS=$stress scripts/data/cmudict.sh "$data"
fi

# print_examples: every 500th test word with the output and the references.
print_examples() {
  echo "examples (word, output, reference):"
  awk -F'\t' 'NR == FNR { ref[$1] = ref[$1] ? ref[$1] " | " $2 : $2; next }
              FNR % 500 == 1 { printf "  %-14s %-28s %s\n", $1, $2, ref[$1] }' "$data/test.tsv" "$out/test.hyp"
}

# train_members EXTRA...: the ensemble variant: this recipe once per member, one rank each, all
# at once, each bound to its own core; then the members' chosen models decoded as one ensemble.
train_members() {
  local m pids=() runs=()
  for ((m = 0; m < members; m++)); do
    RECIPE_SKIP_SETUP=1 G2P_MEMBERS=1 G2P_RANKS=1 G2P_SEED=$((seed + m)) G2P_OUT="$out/member$m" \
      RECIPE_MPI_OPTIONS="${RECIPE_MPI_OPTIONS:-} --cpu-set $((m % $(nproc)))" \
      scripts/g2p_cmudict.sh "$@" > "$out/member$m.log" 2>&1 &
    pids+=($!)
    runs+=("$out/member$m")
  done
  for m in "${!pids[@]}"; do
    if ! wait "${pids[m]}"; then
      echo "g2p_cmudict: member $m failed; its log: $out/member$m.log" >&2
      kill "${pids[@]}" 2>/dev/null
      exit 1
    fi
  done
  {
    echo "CMUdict G2P: an ensemble of $members one-rank models trained at once"
    for ((m = 0; m < members; m++)); do
      echo "member $m (1 rank, seed $((seed + m))):"
      sed -n 's/^/  /; 1!p' "$out/member$m/summary.txt"
    done
    scripts/g2p_ensemble.sh "$out" "${runs[@]}"
  } | tee "$out/summary.txt"
  print_examples
}

rm -rf "$out"
mkdir -p "$out"
if [ "$members" -gt 1 ]; then
  train_members "$@"
  exit
fi
source scripts/recipe_lib.sh
recipe_launch "$ranks"  # the single model's launch; each member makes its own

# The model: characters -> 2-layer bidirectional LSTM encoder -> 2-layer LSTM decoder with
# general (Luong) attention; 384 units (192 per encoder direction), dropout 0.2 (docs/g2p.md: at
# 40 minutes wider beats 256, dropout 0.2 beats 0.3 and ties 0.1); bf16 mixed precision (about
# 1.5x the f32 speed here). Adam 3e-3 (the best peak of 2e-3 / 3e-3 / 5e-3, docs/g2p.md) after a 200-step
# warm-up, decayed linearly to 0 exactly at the time limit (the budget-aware schedule,
# docs/training.md). Validation decodes greedily every epoch and once more at the time limit;
# the best checkpoint by validation WER is kept. A checkpoint every twentieth of the budget, the
# newest 4 kept: the ones averaged below.
save_minutes=$(/usr/bin/python3 -c "print($minutes / 20)")
recipe=(--cell lstm --bidirectional true --encoder-layers 2 --decoder-layers 2 --attention general
  --embedding-size 64 --hidden-size 384 --dropout 0.2 --precision bf16
  --batch-tokens 1024 --lr 3e-3 --lr-schedule linear --warmup-steps 200 --min-lr 0
  --valid-every 0 --valid-metric wer --max-minutes "$minutes"
  --log-every 200 --save-every 0 --save-every-minutes "$save_minutes" --keep 4)
recipe_options "$@"  # extra options replace the recipe's own
timed train_seconds "${launch[@]}" build/tandem-train \
  --corpus "$data/corpus" --run-dir "$out/run" --resume none --seed "$seed" "${options[@]}"

# The average of the last 4 checkpoints (the annealed end of the budget) against the best one:
# both decoded greedily on the validation split; the better one decodes the test words.
build/tandem-average -o "$out/average.h5" --last 4 "$out/run"
for model in best average; do
  checkpoint="$out/run"; [ "$model" = best ] || checkpoint="$out/average.h5"
  "${launch[@]}" build/tandem-translate --quiet --checkpoint "$checkpoint" --test "$data/valid.tsv" \
    --beam 1 --metrics wer,per --output "$out/valid_$model.hyp" --scores-json "$out/valid_$model.json"
done
chosen=$(/usr/bin/python3 -c 'import json, sys
wer = {m: json.load(open("%s/valid_%s.json" % (sys.argv[1], m)))["wer"] for m in ("best", "average")}
print("average" if wer["average"] < wer["best"] else "best")' "$out")
checkpoint="$out/run"; [ "$chosen" = best ] || checkpoint="$out/average.h5"

# The chosen model, beam 5, the test split, on all ranks.
timed decode_seconds "${launch[@]}" build/tandem-translate \
  --checkpoint "$checkpoint" --test "$data/test.tsv" --beam 5 \
  --metrics wer,per --output "$out/test.hyp" --scores-json "$out/test_scores.json"

# shellcheck disable=SC2154  # train_seconds and decode_seconds are set by `timed`
/usr/bin/python3 - "$out" "$train_seconds" "$decode_seconds" "$chosen" <<'EOF' | tee "$out/summary.txt"
import json, sys
out, train_seconds, decode_seconds, chosen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
scores = json.load(open(out + "/test_scores.json"))
records = [json.loads(line) for line in open(out + "/run/metrics.jsonl")]
valid = [r for r in records if r.get("type") == "valid"]
train = [r for r in records if r.get("type") == "train"]
end = [r for r in records if r.get("type") == "end"]
print("CMUdict G2P (test split: %d words)" % scores["sentences"])
print("  test WER %.2f %%  PER %.2f %%  (beam 5, %s)" % (scores["wer"], scores["per"],
      "the average of the last 4 checkpoints" if chosen == "average" else "checkpoint step %d" % scores["step"]))
for model in ("best", "average"):
    v = json.load(open("%s/valid_%s.json" % (out, model)))
    name = "best checkpoint (step %d)" % v["step"] if model == "best" else "average of the last 4"
    print("  validation, greedy, %-26s WER %.2f %%  PER %.2f %%%s"
          % (name, v["wer"], v["per"], "   <- chosen" if model == chosen else ""))
if valid:
    best = min(valid, key=lambda r: (r["wer"], r["step"]))
    print("  validation curve: best WER %.2f %%  PER %.2f %% at step %d (epoch %d); %d validations"
          % (best["wer"], best["per"], best["step"], best["epoch"], len(valid)))
if train:
    rates = sorted(r["tokens_per_s"] for r in train[1:] or train)
    print("  training %d:%02d (wall), %d steps, median %.0f target tokens/s; test decoding %d s"
          % (train_seconds // 60, train_seconds % 60, (end or train)[-1]["step"], rates[len(rates) // 2],
             decode_seconds))
if end:
    print("  stopped by: %s" % end[-1].get("reason", "?"))
EOF
print_examples
