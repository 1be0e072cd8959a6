#!/usr/bin/env bash
# English -> Chinese (zh_CN; PO_LANG=de for German) parallel text from the gettext catalogs of the
# Debian packages pinned in scripts/data/po_corpus.lock:
#   OUT/{train,valid,test}.tsv   "English<TAB>translation", split by a hash of the normalised
#                                English (what is kept and how: scripts/data/po_corpus.py)
# The .deb files are fetched with apt-get download (cached in OUT/debs, checked against the lock
# file's sha256) and only their .mo files extracted, so the corpus never changes silently.
# Usage: [PO_LANG=zh_CN|de] [PO_UPDATE_LOCK=1] scripts/data/po_corpus.sh [OUT]
#        (default OUT: build/data/po_<lang>)
set -euo pipefail
cd "$(dirname "$0")/../.."
lang=${PO_LANG:-zh_CN}
out=${1:-build/data/po_$lang}
lock=scripts/data/po_corpus.lock
mkdir -p "$out/debs"

if [ -n "${PO_UPDATE_LOCK:-}" ]; then
  packages=$(grep -v '^#' "$lock" | cut -d' ' -f1)
  header=$(grep '^#' "$lock")
  rm -f "$out"/debs/*.deb
  (cd "$out/debs" && apt-get download $packages > /dev/null)
  { echo "$header"
    for deb in "$out"/debs/*.deb; do
      echo "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version) $(sha256sum "$deb" | cut -d' ' -f1)"
    done | sort; } > "$lock.new"
  mv "$lock.new" "$lock"
  echo "po_corpus: re-pinned $(grep -vc '^#' "$lock") packages in $lock"
fi

rm -rf "$out/catalogs"
mkdir -p "$out/catalogs"
while read -r package version sha256; do
  deb=$(ls "$out/debs/${package}_"*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ] || [ "$(sha256sum "$deb" | cut -d' ' -f1)" != "$sha256" ]; then
    rm -f "$out/debs/${package}_"*.deb
    if ! (cd "$out/debs" && apt-get download "$package=$version" > /dev/null 2>&1); then
      echo "po_corpus: error: $lock: cannot download $package $version (gone from the archive?" \
           "PO_UPDATE_LOCK=1 re-pins)" >&2
      exit 1
    fi
    deb=$(ls "$out/debs/${package}_"*.deb | head -1)
    if [ "$(sha256sum "$deb" | cut -d' ' -f1)" != "$sha256" ]; then
      echo "po_corpus: error: $deb: sha256 differs from $lock" >&2
      exit 1
    fi
  fi
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$out/catalogs" --wildcards '*.mo' 2>/dev/null || true
done < <(grep -v '^#' "$lock")

/usr/bin/python3 scripts/data/po_corpus.py pairs "$out/catalogs" "$lang" "$out/pairs.tsv"
/usr/bin/python3 scripts/data/po_corpus.py split "$out/pairs.tsv" "$out"
