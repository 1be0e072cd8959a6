#!/usr/bin/env bash
# CMUdict 0.7a (from the npm registry's `cmudict` package) -> a grapheme-to-phoneme corpus.
#   OUT/{train,valid,test}.tsv   "word<TAB>PH ON EM ES" (lower-case letters; ARPAbet phonemes with
#                                stress; alternative pronunciations as extra lines)
#   OUT/corpus/                  tandem-prep output: characters -> phoneme tokens
# Words are split 90/5/5 by a fixed hash of the word, so all pronunciations of a word fall in one
# split and the split never changes. Entries with anything but letters and apostrophes
# (punctuation names such as "!EXCLAMATION-POINT") are left out.
# STRESS=0 drops the stress digits (AH0/AH1/AH2 -> AH: the 39-phoneme set most published G2P
# results use) and then the pronunciations that became duplicates.
# Usage: [STRESS=0] scripts/data/cmudict.sh [OUT]   (default OUT: build/data/cmudict)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build/data/cmudict}
stress=${STRESS:-1}
mkdir -p "$out"

if ! command -v npm >/dev/null 2>&1; then
  echo "cmudict: installing npm (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm
fi
dict="$out/npm/node_modules/cmudict/lib/cmu/cmudict.0.7a"
if [ ! -f "$dict" ]; then
  echo "+ npm install --prefix $out/npm cmudict@1.0.2"
  npm install --silent --no-audit --no-fund --prefix "$out/npm" cmudict@1.0.2
fi

# The hash: polynomial over the characters' codes, mod 2^31 - 1 (awk has no ord(), hence the table).
rm -f "$out/train.tsv" "$out/valid.tsv" "$out/test.tsv"
LC_ALL=C awk -v out="$out" -v stress="$stress" '
  BEGIN { for (i = 32; i < 127; ++i) ord[sprintf("%c", i)] = i }
  /^;;;/ { next }
  {
    word = $1; sub(/\([0-9]+\)$/, "", word)
    if (word !~ /^[A-Z'"'"']+$/) next
    phones = $2; for (i = 3; i <= NF; ++i) phones = phones " " $i
    if (stress == 0) { gsub(/[0-9]/, "", phones); if (seen[word "\t" phones]++) next }
    h = 7; for (i = 1; i <= length(word); ++i) h = (h * 131 + ord[substr(word, i, 1)]) % 2147483647
    bucket = h % 100
    split_name = bucket < 5 ? "test" : (bucket < 10 ? "valid" : "train")
    print tolower(word) "\t" phones > (out "/" split_name ".tsv")
  }' "$dict"
wc -l "$out/train.tsv" "$out/valid.tsv" "$out/test.tsv"

if [ ! -x build/tandem-prep ]; then scripts/build.sh; fi
echo "+ build/tandem-prep --train $out/train.tsv --valid $out/valid.tsv --src-tokenizer char --tgt-tokenizer word -o $out/corpus --force"
build/tandem-prep --quiet --train "$out/train.tsv" --valid "$out/valid.tsv" \
  --src-tokenizer char --tgt-tokenizer word -o "$out/corpus" --force
