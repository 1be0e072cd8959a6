#!/usr/bin/env bash
# A model leaves tandem (issue 17): scripts/export_torch.py turns a checkpoint into a PyTorch
# module + state dict whose greedy decoding gives the same strings as tandem-translate --beam 1
# on a test set (>= 99 %), for several architectures: cells (LSTM, GRU, LBR-GRU, tanh RNN),
# attention kinds (general, additive, dot, none), bidirectional encoders, bridge/final decoder
# initialisation and input feeding. Also: an existing output directory is refused.
# Usage: export_torch_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
scripts=$(cd "$2/scripts" && pwd)
source "$(dirname "$0")/../shell_lib.sh"
need_torch export_torch_test

# Reverse a string of 3-8 letters: char source, word target.
/usr/bin/python3 - <<'PY'
import random
r = random.Random(7)
def word(): return "".join(r.choice("abcdefghij") for _ in range(r.randint(3, 8)))
with open("train.tsv", "w") as f:
    for _ in range(3000):
        w = word(); f.write(w + "\t" + " ".join(reversed(w)) + "\n")
with open("test.txt", "w") as f:
    for _ in range(300): f.write(word() + "\n")
PY
"$build/tandem-prep" --quiet --train train.tsv --src-tokenizer char --tgt-tokenizer word -o corpus > /dev/null

check() {  # check NAME TANDEM-TRAIN-OPTIONS...
  local name=$1; shift
  "$build/tandem-train" --corpus corpus --embedding-size 16 --hidden-size 32 --batch-tokens 400 \
    --max-steps 150 --lr 0.01 --log-every 50 --run-dir "run_$name" "$@" > "train_$name.log" 2>&1 || { fail "$name: training"; tail -3 "train_$name.log"; return; }
  "$build/tandem-translate" --checkpoint "run_$name" --latest --beam 1 --input test.txt --output "tandem_$name.txt" --quiet 2> /dev/null \
    || { fail "$name: tandem-translate"; return; }
  /usr/bin/python3 "$scripts/export_torch.py" "run_$name/checkpoints/$(cat "run_$name/checkpoints/latest")" "torch_$name" > "export_$name.log" 2>&1 \
    || { fail "$name: export"; cat "export_$name.log"; return; }
  /usr/bin/python3 "torch_$name/tandem_torch.py" "torch_$name" < test.txt > "torch_$name.txt" 2> "torch_$name.err" \
    || { fail "$name: PyTorch decoding"; tail -3 "torch_$name.err"; return; }
  local same total
  same=$(paste -d '\n' "tandem_$name.txt" "torch_$name.txt" | paste - - | awk -F'\t' '$1 == $2' | wc -l)
  total=$(wc -l < test.txt)
  if [ "$(wc -l < "torch_$name.txt")" -eq "$total" ] && [ $((same * 100)) -ge $((total * 99)) ]
  then pass "$name: $same of $total outputs identical ($(head -1 "tandem_$name.txt"))"
  else fail "$name: $same of $total identical"; paste "tandem_$name.txt" "torch_$name.txt" | awk -F'\t' '$1 != $2' | head -3; fi
}
check lstm_bi_general --cell lstm --bidirectional true --attention general
check gru_additive_bridge_feeding --cell gru --attention additive --decoder-init bridge --encoder-layers 2 --input-feeding true
check lbrgru_dot --cell lbr_gru --attention dot --bidirectional true
check tanh_none --cell rnn_tanh --attention none

/usr/bin/python3 "$scripts/export_torch.py" "run_lstm_bi_general/checkpoints/$(cat run_lstm_bi_general/checkpoints/latest)" torch_lstm_bi_general > again.log 2>&1
code=$?
if [ $code -ne 0 ] && grep -q "torch_lstm_bi_general: exists" again.log; then pass "an existing output directory is refused: $(cat again.log)"
else fail "existing output (exit $code)"; cat again.log; fi

finish export_torch_test
