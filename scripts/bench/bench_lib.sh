# Shared by the tandem-train benchmarks (sourced; the models need $work and $tandem_build): the
# design's bench-small and bench-base models and their synthetic corpora, and what the PyTorch
# references need.

# PyTorch as fast as Debian allows: the OpenMP OpenBLAS with its AVX-512 kernels (the
# OPENBLAS_CORETYPE/L2_SIZE overrides some machines set would force slower ones) and tcmalloc;
# for the PyTorch runs only.
torch_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp
           LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4)

# install_torch_packages [EXTRA...]: installs PyTorch, OpenBLAS (OpenMP) and tcmalloc, and the
# extra packages, where missing.
install_torch_packages() {
  local missing=() package as_root=()
  for package in python3-torch libopenblas0-openmp libtcmalloc-minimal4 "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "installing ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" > /dev/null
}

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
