#!/usr/bin/env bash
# tandem-inspect and the plot scripts end to end on a tiny trained model: the checkpoint table
# totals the trained parameter count; nearest neighbours come sorted with cosines in [-1, 1];
# an unknown word and a bad side are clear errors; the Projector export parses with the right
# shapes; plot_embeddings.py (export and the primer's hand-written TSV) and plot_metrics.py
# write real PNG files; tandem-average writes a checkpoint that verifies and decodes.
# Usage: inspect_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
scripts=$(cd "$2/scripts" && pwd)
source "$(dirname "$0")/../shell_lib.sh"
inspect="$build/tandem-inspect"
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] && [ "$(stat -c %s "$1")" -gt 5000 ]; }

/usr/bin/python3 - <<'PY'
import random
r = random.Random(3)
with open("copy.tsv", "w") as f:
    for _ in range(1500):
        s = [r.choice("abcdefghij") for _ in range(r.randint(3, 7))]
        f.write("".join(s) + "\t" + " ".join(s) + "\n")
PY
"$build/tandem-prep" --quiet --train copy.tsv --valid-fraction 0.1 --src-tokenizer char --tgt-tokenizer word \
  -o corpus > /dev/null || { echo "FAIL: prep"; exit 1; }
"$build/tandem-train" --corpus corpus --embedding-size 16 --hidden-size 32 --batch-tokens 300 \
  --max-steps 120 --valid-every 60 --log-every 20 --run-dir run > train.log 2>&1 || { echo "FAIL: train"; tail -3 train.log; exit 1; }

# 1. checkpoint table: the total equals the parameter count the run reported.
"$inspect" checkpoint "run/checkpoints/$(cat run/checkpoints/latest)" > ckpt.txt
expected=$(/usr/bin/python3 -c 'import json; print(next(r["parameters"] for r in map(json.loads, open("run/metrics.jsonl")) if r["type"] == "start"))')
if grep -q "^total  *$expected$" ckpt.txt && grep -q "encoder/embedding  *\[14, 16\]" ckpt.txt \
   && grep -q "src_vocab = 14" ckpt.txt && grep -q "content .*verified" ckpt.txt
then pass "checkpoint table: $expected parameters, shapes, vocabulary sizes, verified"
else fail "checkpoint table (expected total $expected)"; cat ckpt.txt; fi

# 2. neighbours: k per word, sorted, cosines in [-1, 1], never the word itself or a reserved token.
"$inspect" embeddings run --side src --words a,b,j -k 4 > nn.txt 2> nn.err
if [ $? -eq 0 ] && /usr/bin/python3 - <<'PY'
lines = open("nn.txt").read().splitlines()
assert lines[0].startswith("source embeddings of run/checkpoints/"), lines[0]
assert "14 tokens x 16" in lines[0], lines[0]
rows = [l.split() for l in lines[1:]]
assert [r[0] for r in rows] == ["a", "b", "j"], rows
for r in rows:
    tokens, cosines = r[1::2], [float(c) for c in r[2::2]]
    assert len(tokens) == 4 and r[0] not in tokens and not any(t.startswith("<") for t in tokens), r
    assert all(-1.0 <= c <= 1.0 for c in cosines) and cosines == sorted(cosines, reverse=True), r
PY
then pass "nearest neighbours: 4 per word, sorted, no self or reserved tokens"
else fail "nearest neighbours"; cat nn.txt nn.err; fi

# 3. errors: an unknown word (exit 1, named), a bad side (exit 2), a missing checkpoint (exit 1).
"$inspect" embeddings run --words a,zz > /dev/null 2> unk.err; code=$?
if [ $code -eq 1 ] && grep -q "'zz' is not in the source vocabulary" unk.err; then pass "unknown word -> exit 1: $(cat unk.err)"
else fail "unknown word (exit $code)"; cat unk.err; fi
"$inspect" embeddings run --side middle > /dev/null 2> side.err; code=$?
if [ $code -eq 2 ] && grep -q "side: unknown value 'middle' (expected src or tgt)" side.err; then pass "bad side -> exit 2"
else fail "bad side (exit $code)"; cat side.err; fi
"$inspect" embeddings nowhere > /dev/null 2> missing.err; code=$?
if [ $code -eq 1 ] && grep -q "nowhere" missing.err; then pass "missing checkpoint -> exit 1: $(cat missing.err)"
else fail "missing checkpoint (exit $code)"; cat missing.err; fi

# 4. Projector export: whole vocabulary and --top.
"$inspect" embeddings run --side tgt --export all > /dev/null && "$inspect" embeddings run --side src --export top --top 5 > /dev/null
if /usr/bin/python3 - <<'PY'
def read(d):
    vectors = [[float(x) for x in l.split("\t")] for l in open(d + "/vectors.tsv").read().splitlines()]
    labels = open(d + "/metadata.tsv").read().splitlines()
    return vectors, labels
v, m = read("all")
assert len(v) == len(m) == 10 and all(len(r) == 16 for r in v), (len(v), len(m))
assert sorted(m) == list("abcdefghij"), m
v, m = read("top")
assert len(v) == len(m) == 5 and all(len(r) == 16 for r in v)
PY
then pass "export: vectors.tsv/metadata.tsv with 10 x 16 (tgt) and --top 5 rows"
else fail "export"; fi

# 5. plots: embeddings (export, PCA) and the primer's hand-written words, metrics.
if /usr/bin/python3 "$scripts/plot_embeddings.py" top --highlight a,e -o emb.png > /dev/null && is_png emb.png \
   && /usr/bin/python3 "$scripts/plot_embeddings.py" "$scripts/data/primer_words.tsv" -o primer.png > /dev/null && is_png primer.png \
   && /usr/bin/python3 "$scripts/plot_metrics.py" run/metrics.jsonl -o metrics.png > /dev/null && is_png metrics.png
then pass "plot_embeddings.py (export, primer TSV) and plot_metrics.py wrote PNG files"
else fail "plots"; fi
printf 'cat\t1\t2\nbad line\n' > broken.tsv
if ! /usr/bin/python3 "$scripts/plot_embeddings.py" broken.tsv -o x.png 2> broken.err && grep -q "broken.tsv:2" broken.err
then pass "plot_embeddings.py names a bad line: $(cat broken.err)"; else fail "bad TSV"; cat broken.err; fi

# 6. tandem-average: the newest two checkpoints of the run averaged into a verified checkpoint
#    that tandem-translate decodes with; an existing output is never replaced.
"$build/tandem-average" -o avg.h5 --last 2 run > average.log 2>&1
code=$?
"$inspect" checkpoint avg.h5 > avg.txt 2>&1
if [ $code -eq 0 ] && grep -q "content .*verified" avg.txt && grep -q "mean of 2 checkpoint(s)" average.log \
   && printf 'abc\nbad\n' | "$build/tandem-translate" --checkpoint avg.h5 --beam 1 > avg.out 2> avg.err && [ "$(wc -l < avg.out)" -eq 2 ]
then pass "tandem-average --last 2: $(cat average.log); decodes: $(head -1 avg.out)"
else fail "tandem-average (exit $code)"; cat average.log avg.err; fi
# ... and decodes in an ensemble: the run's model with itself gives the run's own output.
printf 'abc\nbad\nfaced\n' > three.txt
"$build/tandem-translate" --checkpoint run --beam 3 --n-best 2 --input three.txt --quiet > single.out 2>&1
"$build/tandem-translate" --checkpoint run --ensemble run --beam 3 --n-best 2 --input three.txt --quiet > pair.out 2>&1
"$build/tandem-translate" --checkpoint run --ensemble avg.h5 --beam 3 --input three.txt --quiet > mixed.out 2>&1
if [ -s single.out ] && cmp -s single.out pair.out && [ "$(wc -l < mixed.out)" -eq 3 ]
then pass "--ensemble: the model with itself = the model alone (n-best with scores); with avg.h5: $(tr '\n' '|' < mixed.out)"
else fail "--ensemble"; cat single.out pair.out mixed.out; fi
cp avg.h5 avg.before
"$build/tandem-average" -o avg.h5 --last 2 run > again.log 2>&1
code=$?
if [ $code -eq 1 ] && grep -q "avg.h5: exists" again.log && cmp -s avg.h5 avg.before; then pass "an existing output is kept: $(cat again.log)"
else fail "existing output (exit $code)"; cat again.log; fi

finish inspect_test
