#!/usr/bin/env bash
# Decodes CMUdict's test words with the models of several finished G2P recipe runs as one
# ensemble (log-probabilities averaged per step in beam 5, docs/decoding.md) and scores it, so
# that "K models of M minutes each" can be set against "one model of K x M minutes".
#
#   scripts/g2p_ensemble.sh OUT RUN_DIR...   (RUN_DIR: a G2P_OUT of scripts/g2p_cmudict.sh)
#
# Each run contributes the model it chose itself (the best checkpoint or the average, named in
# its test_scores.json). Writes OUT/test.hyp and OUT/test_scores.json; prints WER and PER.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: scripts/g2p_ensemble.sh OUT RUN_DIR RUN_DIR..." >&2; exit 2; }
out=$1
shift
data=build/data/cmudict39
models=()
for run in "$@"; do
  scores="$run/test_scores.json"
  [ -f "$scores" ] || { echo "g2p_ensemble: $scores: missing (not a finished recipe run)" >&2; exit 1; }
  models+=("$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["checkpoint"])' \
    "$scores")")
done
ensemble=()
for model in "${models[@]:1}"; do ensemble+=(--ensemble "$model"); done

source scripts/recipe_lib.sh
recipe_launch 2
mkdir -p "$out"
timed decode_seconds "${launch[@]}" build/tandem-translate --quiet --checkpoint "${models[0]}" \
  "${ensemble[@]}" --test "$data/test.tsv" --beam 5 --metrics wer,per \
  --output "$out/test.hyp" --scores-json "$out/test_scores.json"
# shellcheck disable=SC2154  # decode_seconds is set by `timed`
/usr/bin/python3 - "$out" "$decode_seconds" "$#" <<'EOF'
import json, sys
out, seconds, members = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
scores = json.load(open(out + "/test_scores.json"))
print("ensemble of %d models: test WER %.2f %%  PER %.2f %%  (beam 5, %d words, decoding %d s)"
      % (members, scores["wer"], scores["per"], scores["sentences"], seconds))
EOF
