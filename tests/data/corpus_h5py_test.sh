#!/usr/bin/env bash
# A corpus written by tandem-prep reads back with h5py (scripts/read_corpus.py) and h5dump, and
# gives back the input pairs. Usage: corpus_h5py_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'hello world\tHH AH0 L OW1 W ER1 L D\ncat\tK AE1 T\ndog\tD AO1 G\nsoft love\tS AO1 F T L AH1 V\n' > "$work/in.tsv"
"$build/tandem-prep" --quiet --train "$work/in.tsv" --tokenizer word --shard-size 3 -o "$work/corpus" > /dev/null
/usr/bin/python3 "$source/scripts/read_corpus.py" "$work/corpus" | sort > "$work/out.tsv"
sort "$work/in.tsv" > "$work/expected.tsv"
diff "$work/expected.tsv" "$work/out.tsv"
h5dump -A "$work/corpus/train.00000.h5" | grep -q 'ATTRIBUTE "src_vocab_checksum"'
echo "corpus_h5py_test: ok"
