#!/usr/bin/env bash
# scripts/data/po_corpus.py on a hand-made catalog: accelerators removed on both sides; header,
# plural, empty and untranslated entries dropped, a message context dropped but its message kept;
# duplicates removed; and the splitting rule: no normalised English in two splits (checked on a
# few thousand generated variants "Open", "_Open", "Open...").
# Usage: po_corpus_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/catalogs/usr/share/locale/zh_CN/LC_MESSAGES"
/usr/bin/python3 - "$work/catalogs/usr/share/locale/zh_CN/LC_MESSAGES/fixture.mo" <<'PY'
import struct, sys
entries = [
    (b"", b"Content-Type: text/plain; charset=UTF-8\n"),   # header
    (b"_Open", "打开(_O)".encode()),
    (b"&Save", "保存(&S)".encode()),
    (b"C_onfigure", "配置(_O)".encode()),
    (b"file\x00files", "文件\x00文件".encode()),             # plural
    (b"Empty", b""),                                         # untranslated
    (b"OK", b"OK"),                                          # copied, not translated
    (b"menu\x04Quit", "退出".encode()),                     # with a context
    (b"Copy %s to\n%s", "复制 %s 到\n%s".encode()),
    (b"Open", "打开".encode()),                              # same pair as "_Open" once cleaned
]
for i in range(4000):
    word = "Item%d" % (i % 1000)
    variant = ["%s", "_%s", "%s...", "%s:"][i // 1000] % word
    entries.append((variant.encode(), ("条目%d号%s" % (i % 1000, "：" * (i % 3))).encode()))
entries.sort(key=lambda e: e[0])
ids = b"".join(e[0] + b"\0" for e in entries)
strs = b"".join(e[1] + b"\0" for e in entries)
n = len(entries)
start = 28 + 16 * n
table, offset = b"", start
for source, _ in entries:
    table += struct.pack("<2I", len(source), offset); offset += len(source) + 1
ttable = b""
for _, target in entries:
    ttable += struct.pack("<2I", len(target), offset); offset += len(target) + 1
open(sys.argv[1], "wb").write(struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0) + table + ttable + ids + strs)
PY
/usr/bin/python3 "$source/scripts/data/po_corpus.py" pairs "$work/catalogs" zh_CN "$work/pairs.tsv" > /dev/null
/usr/bin/python3 "$source/scripts/data/po_corpus.py" split "$work/pairs.tsv" "$work/out" > /dev/null
cat "$work"/out/{train,valid,test}.tsv > "$work/all.tsv"
fail() { echo "po_corpus_test: FAIL: $*"; exit 1; }
expect() { grep -qxF "$1" "$work/all.tsv" || fail "missing pair: $1"; }
refuse() { ! grep -q "$1" "$work/all.tsv" || fail "should be dropped: $1"; }
expect $'Open\t打开'
expect $'Save\t保存'
expect $'Configure\t配置'
expect $'Quit\t退出'
expect $'Copy %s to %s\t复制 %s 到 %s'
refuse $'^file\t'
refuse $'^Empty\t'
refuse $'^OK\t'
refuse 'Content-Type'
[ "$(grep -c $'^Open\t打开$' "$work/all.tsv")" = 1 ] || fail "a duplicate was kept"
/usr/bin/python3 - "$work/out" <<'PY'
import re, sys
where = {}
for split in ("train", "valid", "test"):
    for line in open("%s/%s.tsv" % (sys.argv[1], split), encoding="utf-8"):
        key = re.sub(r"[^0-9a-z]", "", line.split("\t")[0].lower())
        where.setdefault(key, set()).add(split)
straddling = [k for k, s in where.items() if len(s) > 1]
sizes = {s: sum(1 for k in where if s in where[k]) for s in ("train", "valid", "test")}
assert not straddling, "in two splits: %s" % straddling[:5]
assert sizes["valid"] > 0 and sizes["test"] > 0 and sizes["train"] > 20 * sizes["test"], sizes
PY
echo "po_corpus_test: ok"
