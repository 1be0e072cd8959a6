# Shared by the tandem-train benchmarks (sourced; needs $work and $tandem_build): the design's
# bench-small and bench-base models and their synthetic corpora.

# bench_corpus NAME VOCAB: $work/corpus_NAME, 20k pairs, source 25 words, target 24 words
# (+ <eos> = 25), made once.
bench_corpus() {
  local dir="$work/corpus_$1"
  [ -f "$dir/manifest.json" ] && return
  LC_ALL=C awk -v words=$(($2 - 4)) 'BEGIN { srand(3); for (i = 0; i < 20000; ++i) {
      line = ""; for (k = 0; k < 25; ++k) line = line (k ? " " : "") "w" int(rand() * words)
      line = line "\t"; for (k = 0; k < 24; ++k) line = line (k ? " " : "") "w" int(rand() * words)
      print line } }' > "$work/$1.tsv"
  "$tandem_build/tandem-prep" --quiet --force --train "$work/$1.tsv" --tokenizer word -o "$dir" > /dev/null
}

# bench_model CONFIG (small|base): makes its corpus and sets `train` (the tandem-train command
# without --threads and --run-dir), `steps` and `log`.
bench_model() {
  local vocab shape
  if [ "$1" = small ]; then
    vocab=1000; shape=(--embedding-size 128 --hidden-size 256 --encoder-layers 1 --decoder-layers 1 --batch-size 32)
    steps=60; log=10
  else
    vocab=8000; shape=(--embedding-size 512 --hidden-size 512 --encoder-layers 2 --decoder-layers 2 --batch-size 64)
    steps=15; log=3
  fi
  bench_corpus "$1" "$vocab"
  train=("$tandem_build/tandem-train" --corpus "$work/corpus_$1" "${shape[@]}" --batch-tokens 0 --bidirectional false
         --attention general --decoder-init final --dropout 0 --max-steps "$steps" --log-every "$log"
         --replica-check-every 0)
}
