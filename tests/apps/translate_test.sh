#!/usr/bin/env bash
# tandem-translate end to end on a tiny copy-task model (trained here in a few seconds):
# 1, 2 and 3 ranks give identical n-best lists; bad input lines (empty, invalid UTF-8, too many
# tokens, over 1 MiB) are refused with a warning naming the line and keep the output aligned;
# <unk> replacement copies the attended source token; the attention dump holds distributions;
# decoding + scoring equals scoring the written output; bad files and options are clear errors.
# Usage: translate_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
scripts=$(cd "$2/scripts" && pwd)
source "$(dirname "$0")/../shell_lib.sh"
translate="$build/tandem-translate"

# Copy task: strings over a-j; 30 % carry one rare letter k-z, which the target vocabulary
# (capped at 10 tokens + 4 reserved) only knows as <unk>.
/usr/bin/python3 - <<'EOF'
import random
r = random.Random(5)
with open("copy.tsv", "w") as f:
    for i in range(3000):
        s = [r.choice("abcdefghij") for _ in range(r.randint(3, 7))]
        if r.random() < 0.3:
            s[r.randrange(len(s))] = r.choice("klmnopqrstuvwxyz")
        f.write("".join(s) + "\t" + " ".join(s) + "\n")
EOF
"$build/tandem-prep" --quiet --train copy.tsv --src-tokenizer char --tgt-tokenizer word \
  --tgt-vocab-size 14 -o corpus > /dev/null || { echo "FAIL: prep"; exit 1; }
"$build/tandem-train" --corpus corpus --embedding-size 32 --hidden-size 64 --batch-tokens 400 \
  --max-steps 800 --log-every 400 --run-dir run > train.log 2>&1 || { echo "FAIL: train"; tail -3 train.log; exit 1; }
head -600 copy.tsv | cut -f1 > src.txt
head -600 copy.tsv | cut -f2 > ref.txt

# 1. Rank count does not change the output (n-best lists with scores).
for ranks in 1 2 3; do
  mpirun --oversubscribe -np $ranks "$translate" --checkpoint run --input src.txt --beam 4 \
    --n-best 3 --output nbest.$ranks.txt --quiet 2> err.$ranks || fail "$ranks ranks: exit $?"
done
if [ "$(wc -l < nbest.1.txt)" -eq 1800 ] && cmp -s nbest.1.txt nbest.2.txt && cmp -s nbest.1.txt nbest.3.txt; then
  pass "1, 2 and 3 ranks: identical n-best lists (1800 entries)"
else fail "ranks differ"; diff nbest.1.txt nbest.2.txt | head -4; fi
# n-best lists sorted by score within each line.
if awk -F' \\|\\|\\| ' '$1 == prev && $3 > last + 1e-9 { bad = 1 } { prev = $1; last = $3 } END { exit bad }' nbest.1.txt; then
  pass "n-best entries sorted by score"
else fail "n-best order"; fi

# 2. Bad lines keep the output aligned; good lines translate as they do alone.
{ sed -n 1,3p src.txt; echo; printf '\xff\xfebad\n'; echo "abcdefghijabcdefghij"; sed -n 4,5p src.txt
  printf '   \n'; head -c 1100000 /dev/zero | tr '\0' 'a'; echo; sed -n 6p src.txt; } > mixed.txt
"$translate" --checkpoint run --input mixed.txt --max-source-tokens 12 --output mixed.out 2> mixed.err
code=$?
"$translate" --checkpoint run --input <(sed -n 1,6p src.txt) --output clean.out --quiet 2> /dev/null
expected=$(sed -n 1,3p clean.out; echo; echo; echo; sed -n 4,5p clean.out; echo; echo; sed -n 6p clean.out)
if [ $code -eq 0 ] && [ "$(wc -l < mixed.out)" -eq 11 ] && [ "$(cat mixed.out)" = "$expected" ] \
   && grep -q "mixed.txt:4: empty line; its output is empty" mixed.err \
   && grep -q "mixed.txt:5: invalid UTF-8 at byte 1" mixed.err \
   && grep -q "mixed.txt:6: too long: 20 tokens (limit 12" mixed.err \
   && grep -q "mixed.txt:9: empty line" mixed.err \
   && grep -q "mixed.txt:10: line longer than 1 MiB" mixed.err; then
  pass "bad lines refused with warnings naming them; 11 output lines, good ones unchanged"
else fail "bad lines (exit $code)"; cat mixed.err; diff <(echo "$expected") mixed.out | head; fi
# ... and with --n-best every input line keeps its place (a refused one as one empty entry).
"$translate" --checkpoint run --input mixed.txt --max-source-tokens 12 --beam 3 --n-best 2 \
  --output mixed.nbest --quiet 2> /dev/null
if [ "$(cut -d' ' -f1 mixed.nbest | sort -un | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 8 9 10 " ] \
   && [ "$(grep -c '^3 |||  ||| -inf ||| -inf$' mixed.nbest)" -eq 1 ]; then
  pass "n-best: all 11 lines present, refused ones as one empty entry"
else fail "n-best with refused lines"; cat mixed.nbest | head -20; fi

# 3. <unk> replacement: rare letters come out as <unk>, and as themselves with --replace-unk.
printf 'abkcd\nqaej\nhhhz\n' > rare.txt
plain=$("$translate" --checkpoint run --input rare.txt --quiet 2>/dev/null)
replaced=$("$translate" --checkpoint run --input rare.txt --replace-unk --quiet 2>/dev/null)
if [ "$(echo "$plain" | grep -c '<unk>')" -eq 3 ] && [ "$replaced" = "$(printf 'a b k c d\nq a e j\nh h h z')" ]; then
  pass "<unk> replaced by the attended source token"
else fail "unk replacement: [$plain] -> [$replaced]"; fi

# 4. Attention dump: one JSON line per decoded line, rows are distributions over the source.
"$translate" --checkpoint run --input <(head -20 src.txt) --attention-dump att.jsonl --output /dev/null --quiet 2>/dev/null
if /usr/bin/python3 - <<'EOF'
import json
rows = [json.loads(l) for l in open("att.jsonl")]
assert len(rows) == 20, len(rows)
for r in rows:
    assert len(r["weights"]) == len(r["target"]) and r["target"][-1] == "</s>"
    for w in r["weights"]:
        assert len(w) == len(r["source"]) and abs(sum(w) - 1) < 1e-4 and min(w) >= 0
EOF
then pass "attention dump: 20 lines of [target x source] distributions"; else fail "attention dump"; fi
if /usr/bin/python3 "$scripts/plot_attention.py" att.jsonl --line 7 -o att.png > /dev/null \
   && [ "$(head -c 8 att.png | od -An -tx1 | tr -d ' ')" = "89504e470d0a1a0a" ] && [ "$(stat -c %s att.png)" -gt 2000 ]
then pass "plot_attention.py drew line 7 to a PNG"; else fail "plot_attention.py"; fi

# 5. Scores: decoding with --reference equals scoring the written output; --test groups
#    references (a source listed twice with different targets is one sentence).
"$translate" --checkpoint run --input src.txt --reference ref.txt --output hyp.txt --scores-json s1.json --quiet 2> s1.err
"$translate" --hypotheses hyp.txt --reference ref.txt --scores-json s2.json 2> s2.err
# From another directory: the run's relative corpus path is found from the checkpoint's place.
(cd / && "$translate" --checkpoint "$work/run/checkpoints" --input "$work/src.txt" --output "$work/hyp_elsewhere.txt" --quiet) 2> elsewhere.err
if cmp -s hyp.txt hyp_elsewhere.txt; then pass "started elsewhere: the run's relative corpus is found, same output"
else fail "started elsewhere"; cat elsewhere.err; fi
{ head -50 copy.tsv; head -50 copy.tsv | sed 's/\t.*/\tz z z/'; } > test.tsv
"$translate" --checkpoint run --test test.tsv --metrics wer,per --scores-json s3.json --output test.out --quiet 2> s3.err
if /usr/bin/python3 - <<'EOF'
import json
a, b, c = (json.load(open(f)) for f in ("s1.json", "s2.json", "s3.json"))
for key in ("bleu", "chrf", "wer", "per"):
    assert abs(a[key] - b[key]) < 1e-9, (key, a[key], b[key])
assert a["sentences"] == 600 and 0 <= a["wer"] <= 100 and a["bleu"] > 50, a
assert c["sentences"] == len({l.split("\t")[0] for l in open("test.tsv")}), c
assert "bleu" not in c and c["wer"] <= a["wer"] + 20, c
EOF
then pass "decode+score == score-only ($(grep -o 'WER = [0-9.]* %' s1.err)); --test groups references"
else fail "scores"; cat s1.err s2.err s3.err; fi

# 6. Validation decoding in training (2 ranks): the best checkpoint is the one with the lowest
#    validation WER, and tandem-translate on it reproduces the logged WER and PER exactly.
#    (Validation scores against the corpus's references, where a target word outside the
#    vocabulary is <unk>; the rare letters are left out so both see the same references.)
tail -200 copy.tsv | grep -v '[k-z]' > valid.tsv
head -2800 copy.tsv > train_v.tsv
"$build/tandem-prep" --quiet --train train_v.tsv --valid valid.tsv --src-tokenizer char \
  --tgt-tokenizer word --tgt-vocab-size 14 -o corpus_v > /dev/null
timeout 300 mpirun --oversubscribe -np 2 "$build/tandem-train" --corpus corpus_v --embedding-size 32 --hidden-size 64 \
  --batch-tokens 200 --max-steps 300 --valid-every 60 --log-every 100 --valid-metric wer --run-dir run_v > train_v.log 2>&1
"$translate" --checkpoint run_v --test valid.tsv --beam 1 --metrics wer,per --scores-json sv.json --output /dev/null --quiet 2> /dev/null
if /usr/bin/python3 - <<'EOF2'
import json
valid = [json.loads(l) for l in open("run_v/metrics.jsonl") if '"valid"' in l]
assert len(valid) == 5 and all("wer" in v for v in valid), valid
best = min(valid, key=lambda v: (v["wer"], v["step"]))
assert open("run_v/checkpoints/best").read().strip() == "ckpt.%09d.h5" % best["step"], best
s = json.load(open("sv.json"))
assert s["step"] == best["step"] and abs(s["wer"] - best["wer"]) < 1e-9 and abs(s["per"] - best["per"]) < 1e-9, (s, best)
print("best step", best["step"], "wer", round(best["wer"], 2), "per", round(best["per"], 2))
EOF2
then pass "validation decoding: best checkpoint by WER; tandem-translate reproduces its WER/PER"
else fail "validation decoding"; grep validation train_v.log; cat sv.json; fi

# 7. Bad files and options: one clear line, non-zero exit.
check_error() {  # expected_code pattern description command...
  local expected=$1 pattern=$2 what=$3; shift 3
  "$@" < /dev/null > /dev/null 2> err.txt
  local code=$?
  if [ $code -eq "$expected" ] && grep -q -- "$pattern" err.txt; then pass "$what -> exit $code: $(head -1 err.txt)"
  else fail "$what: exit $code"; cat err.txt; fi
}
check_error 1 "nowhere: no such checkpoint" "missing checkpoint" "$translate" --checkpoint nowhere
latest=$(cat run/checkpoints/latest)
head -c 3000 "run/checkpoints/$latest" > truncated.h5
check_error 1 "truncated.h5" "truncated checkpoint" "$translate" --checkpoint truncated.h5
for i in $(seq 1 50); do printf 'ab\tX Y\n'; done > other.tsv
"$build/tandem-prep" --quiet --train other.tsv --tgt-tokenizer word -o other > /dev/null
check_error 2 "are not the ones" "corpus with other vocabularies" "$translate" --checkpoint run --corpus other
check_error 1 "ref.txt: has 600 lines, the hypotheses/input have 3" "reference length" "$translate" --checkpoint run --input rare.txt --reference ref.txt
check_error 2 "unknown metric 'bleu4'" "unknown metric" "$translate" --checkpoint run --metrics bleu4
check_error 2 "n-best: must be between 1 and --beam" "n-best > beam" "$translate" --checkpoint run --beam 2 --n-best 3
check_error 1 "src.txt: has 600 lines, the hypotheses/input have 3" "score-only length" "$translate" --hypotheses rare.txt --reference src.txt

finish translate_test
