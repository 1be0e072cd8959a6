#!/usr/bin/env bash
# English->Chinese, tandem against PyTorch at equal wall time (not a test): for each budget,
# scripts/translate_po.sh (tandem, 2 ranks) and scripts/bench/torch_mt_reference.py (PyTorch DDP,
# 2 ranks, the same corpus and model shape), one after the other with the cores to themselves;
# both systems' test outputs scored by tandem-translate's scorer (BLEU with sacreBLEU's zh
# tokeniser, chrF2, 95 % bootstrap intervals), each greedy and with the recipe's beam 5 (the
# reference's beam search follows tandem-translate's rules; TorchReference.* test).
#
#   scripts/bench/mt_compare.sh [MINUTES...]      (default: 15 30 60)
#   MT_SYSTEMS=tandem|pytorch scripts/bench/mt_compare.sh 60   (one system only; default both)
#   MT_SYSTEMS=pytorch MT_TORCH_ARGS="--lr 2e-3" scripts/bench/mt_compare.sh 10
#       (the reference's learning-rate / batch-size sweep: its row is "pytorch --lr 2e-3")
#   MT_SYSTEMS=tandem MT_TANDEM_ARGS="--lr 3e-3" scripts/bench/mt_compare.sh 30
#       (the same for tandem's recipe: the options replace the recipe's own)
#
# Output: build/mt_compare/{tandem,torch}_<M>m[_<args>]/ and results.tsv (appended).
set -euo pipefail
cd "$(dirname "$0")/../.."
budgets=("$@")
[ ${#budgets[@]} -gt 0 ] || budgets=(15 30 60)
root=build/mt_compare
data=build/data/po_zh_CN
mkdir -p "$root"
results="$root/results.tsv"
[ -f "$results" ] || printf 'minutes\tsystem\tdecoding\tBLEU\tBLEU 95%%\tchrF2\tchrF2 95%%\tsteps\ttokens/s\n' > "$results"
source scripts/bench/bench_lib.sh
install_torch_packages python3-h5py python3-sentencepiece
torch_env+=(OMP_NUM_THREADS=1)
source scripts/recipe_lib.sh
recipe_launch 2

# row MINUTES SYSTEM DECODING SCORES_JSON TRAIN_STEPS TOKENS_PER_S
row() {
  /usr/bin/python3 - "$@" <<'EOF' >> "$results"
import json, sys
minutes, system, decoding, path, steps, rate = sys.argv[1:]
s = json.load(open(path))
print("\t".join([minutes, system, decoding, "%.2f" % s["bleu"], "[%.2f, %.2f]" % tuple(s["bleu_ci95"]),
                 "%.2f" % s["chrf"], "[%.2f, %.2f]" % tuple(s["chrf_ci95"]), steps, rate]))
EOF
}
score=(--metrics bleu,chrf --bootstrap 1000)

systems=${MT_SYSTEMS:-tandem pytorch}
run_tandem() {
  local minutes=$1 extra=${MT_TANDEM_ARGS:-} steps rate
  local out="$root/tandem_$1m${extra:+_${extra//[ -]/}}"
  # shellcheck disable=SC2086  # MT_TANDEM_ARGS is words
  MT_MINUTES=$minutes MT_OUT="$out" scripts/translate_po.sh $extra > "$out.log" 2>&1
  "${launch[@]}" build/tandem-translate --quiet --checkpoint "$out/run" --test "$data/test.tsv" --beam 1 \
    "${score[@]}" --output "$out/test_greedy.hyp" --scores-json "$out/test_greedy_scores.json"
  read -r steps rate < <(/usr/bin/python3 -c 'import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
train = [r for r in records if r["type"] == "train"][1:]
rates = sorted(r["tokens_per_s"] for r in train)
print(records[-1]["step"], "%.0f" % rates[len(rates) // 2])' "$out/run/metrics.jsonl")
  row "$minutes" "tandem${extra:+ $extra}" greedy "$out/test_greedy_scores.json" "$steps" "$rate"
  row "$minutes" "tandem${extra:+ $extra}" beam5 "$out/test_scores.json" "$steps" "$rate"
}

run_pytorch() {
  local minutes=$1 extra=${MT_TORCH_ARGS:-} steps rate references=()
  local out="$root/torch_$1m${extra:+_${extra//[ -]/}}"
  rm -rf "$out"
  # shellcheck disable=SC2086  # MT_TORCH_ARGS is words
  "${torch_env[@]}" /usr/bin/python3 scripts/bench/torch_mt_reference.py "$data/corpus" "$data/test.tsv" "$out" \
    --minutes "$minutes" --ranks 2 $extra > "$out.log" 2>&1
  for file in "$out"/ref.*; do references+=(--reference "$file"); done
  for hypotheses in test_greedy test; do
    build/tandem-translate --hypotheses "$out/$hypotheses.hyp" "${references[@]}" "${score[@]}" \
      --scores-json "$out/${hypotheses}_scores.json" 2> "$out/${hypotheses}_score.log"
  done
  read -r steps rate < <(/usr/bin/python3 -c 'import json, sys
s = json.load(open(sys.argv[1])); print(s["steps"], "%.0f" % s["tokens_per_s"])' "$out/train.json")
  row "$minutes" "pytorch${extra:+ $extra}" greedy "$out/test_greedy_scores.json" "$steps" "$rate"
  row "$minutes" "pytorch${extra:+ $extra}" beam5 "$out/test_scores.json" "$steps" "$rate"
}

for minutes in "${budgets[@]}"; do
  for system in $systems; do
    case $system in
      tandem) run_tandem "$minutes" ;;
      pytorch) run_pytorch "$minutes" ;;
      *) echo "mt_compare: MT_SYSTEMS: unknown system '$system' (tandem, pytorch)" >&2; exit 2 ;;
    esac
  done
done
column -t -s $'\t' "$results"
