#!/usr/bin/env bash
# The recorded configuration search behind scripts/g2p_cmudict.sh: runs the recipe once per named
# configuration (the recipe with that configuration's options replacing its own), each under the
# same time budget and with the 2 cores to itself, and appends one row per run to a table.
#
#   scripts/g2p_search.sh NAME... (see `configs` below: each NAME trains one model on 2 ranks,
#   the recipe's single-model variant, G2P_MEMBERS=1; `ensemble2` is the recipe as it stands,
#   two 1-rank models trained at once, one per core, for the same time, decoded as an
#   ensemble; `ensemble2-NAME` does the same with configuration NAME)
#
# Settings (environment): G2P_MINUTES (default 20), G2P_SEED (default 1),
# SEARCH_OUT (default build/g2p_search): one directory per run and results.tsv, which keeps the
# rows of earlier invocations (the table grows; delete it to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${G2P_MINUTES:-20}
seed=${G2P_SEED:-1}
root=${SEARCH_OUT:-build/g2p_search}
mkdir -p "$root"
table="$root/results.tsv"
[ -f "$table" ] || printf 'config\tminutes\tseed\ttest WER\ttest PER\tmodel\tvalid WER best\tvalid WER avg\tsteps\ttokens/s\toptions\n' > "$table"

# Each name is the recipe with these options replacing its own (so the recipe's own values, 384
# units, dropout 0.2, lr 3e-3, have no entry: `recipe` runs them; docs/g2p.md names the options
# of the rows measured before the recipe moved).
declare -A configs=(
  [recipe]=""
  # The recipe before 2026-12-02 b (256 units, dropout 0.3): the earlier rows' baseline.
  [hidden256-dropout0.3]="--hidden-size 256 --dropout 0.3"
  [smooth0.1]="--label-smoothing 0.1"
  [hidden512]="--hidden-size 512 --embedding-size 128"
  [batch2048]="--batch-tokens 2048"
  [feeding]="--input-feeding"
  [init-xavier]="--init xavier"
  [dropout0.1]="--dropout 0.1"
  [dropout0.4]="--dropout 0.4"
  [weight-decay0.01]="--weight-decay 0.01"
  [additive]="--attention additive"
  # The peak learning rate (the recipe's 3e-3 since 2026-12-02; 2e-3 before): on translation
  # both systems gained most from a higher peak under the decay to zero (docs/translation.md).
  [lr1e-3]="--lr 1e-3"
  [lr2e-3]="--lr 2e-3"
  [lr5e-3]="--lr 5e-3"
)

# row NAME OUT OPTIONS: one table row from a recipe output directory.
row() {
  /usr/bin/python3 - "$1" "$2" "$minutes" "$seed" "$3" <<'EOF' >> "$table"
import json, sys
name, out, minutes, seed, options = sys.argv[1:]
test = json.load(open(out + "/test_scores.json"))
valid = {m: json.load(open("%s/valid_%s.json" % (out, m)))["wer"] for m in ("best", "average")}
records = [json.loads(l) for l in open(out + "/run/metrics.jsonl")]
train = [r for r in records if r["type"] == "train"]
rates = sorted(r["tokens_per_s"] for r in train[1:] or train)  # none in a run under --log-every steps
model = "average" if test["checkpoint"].endswith("average.h5") else "best"
print("\t".join([name, minutes, seed, "%.2f" % test["wer"], "%.2f" % test["per"], model,
                 "%.2f" % valid["best"], "%.2f" % valid["average"], str(records[-1]["step"]),
                 "%.0f" % rates[len(rates) // 2] if rates else "-", options or "(recipe)"]))
EOF
}

# ensemble2 CONFIG: the recipe's ensemble variant (G2P_MEMBERS=2: two 1-rank models of CONFIG
# trained at once, one per core, seeds S and S + 1), a row per member and one for the ensemble.
ensemble2() {
  local name="ensemble2${1:+-$1}" options=${configs[${1:-recipe}]} s
  local out="$root/${name}_${minutes}m_s$seed"
  # shellcheck disable=SC2086  # the options are words
  G2P_MEMBERS=2 G2P_OUT="$out" G2P_MINUTES=$minutes G2P_SEED=$seed scripts/g2p_cmudict.sh $options \
    > "$out.log" 2>&1
  for s in 0 1; do row "$name-member$s" "$out/member$s" "1 rank, seed $((seed + s)) ${options:-(recipe)}"; done
  /usr/bin/python3 - "$out" "$minutes" "$seed" "$name" <<'EOF' >> "$table"
import json, sys
out, minutes, seed, name = sys.argv[1:]
test = json.load(open(out + "/test_scores.json"))
print("\t".join([name, minutes, seed, "%.2f" % test["wer"], "%.2f" % test["per"], "ensemble",
                 "", "", "", "", "two 1-rank models trained at once, log-probabilities averaged"]))
EOF
}

[ $# -gt 0 ] || { echo "usage: scripts/g2p_search.sh NAME... (${!configs[*]}; ensemble2 or ensemble2-NAME)" >&2; exit 2; }
scripts/install_deps.sh
scripts/build.sh
STRESS=0 scripts/data/cmudict.sh build/data/cmudict39
export RECIPE_SKIP_SETUP=1
for name in "$@"; do
  if [[ $name == ensemble2 || $name == ensemble2-* ]]; then
    config=${name#ensemble2}
    config=${config#-}
    [ -n "${configs[${config:-recipe}]+set}" ] || { echo "g2p_search: unknown configuration '$name'" >&2; exit 2; }
    ensemble2 "$config"
    continue
  fi
  [ -n "${configs[$name]+set}" ] || { echo "g2p_search: unknown configuration '$name'" >&2; exit 2; }
  out="$root/${name}_${minutes}m_s$seed"
  # shellcheck disable=SC2086  # the options are words
  G2P_MEMBERS=1 G2P_OUT="$out" G2P_MINUTES=$minutes G2P_SEED=$seed scripts/g2p_cmudict.sh ${configs[$name]} \
    > "$out.log" 2>&1
  row "$name" "$out" "${configs[$name]}"
done
column -t -s $'\t' "$table"
