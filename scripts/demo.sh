#!/usr/bin/env bash
# THE demo command (README): installs what is missing, builds, fetches CMUdict from the npm
# registry, and trains a grapheme-to-phoneme model on 2 MPI ranks for a bounded time, printing
# progress, then decodes the held-out test words with the trained model (beam 5) and prints
# their WER/PER and a few examples. Options: DEMO_MINUTES (default 3), DEMO_RANKS (default 2);
# extra arguments go to tandem-train (e.g. scripts/demo.sh --hidden-size 128).
# scripts/g2p_cmudict.sh is the full recipe (an hour; the learning rate decays to 0 at its end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
scripts/data/cmudict.sh build/data/cmudict
minutes=${DEMO_MINUTES:-3}
ranks=${DEMO_RANKS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
launch=(mpirun -np "$ranks" --bind-to core)
if [ "$(nproc)" -lt "$ranks" ]; then launch=(mpirun -np "$ranks" --oversubscribe --bind-to none); fi
rm -rf build/demo_run
set -x
"${launch[@]}" build/tandem-train --corpus build/data/cmudict/corpus --run-dir build/demo_run \
  --cell lstm --bidirectional true --attention general --embedding-size 64 --hidden-size 256 \
  --dropout 0.2 --batch-tokens 1024 --lr 2e-3 --max-minutes "$minutes" --valid-every 250 --valid-metric wer --log-every 50 "$@"
{ set +x; } 2>/dev/null

# Held-out words (never seen in training or validation): decode with the best checkpoint.
data=build/data/cmudict
set -x
"${launch[@]}" build/tandem-translate --checkpoint build/demo_run --test "$data/test.tsv" --beam 5 \
  --metrics wer,per --output build/demo_run/test.hyp
{ set +x; } 2>/dev/null
echo "examples (word, tandem's pronunciation, CMUdict's):"
awk -F'\t' 'NR == FNR { ref[$1] = ref[$1] ? ref[$1] " | " $2 : $2; next }
            FNR % 600 == 1 { printf "  %-14s %-30s %s\n", $1, $2, ref[$1] }' "$data/test.tsv" build/demo_run/test.hyp
