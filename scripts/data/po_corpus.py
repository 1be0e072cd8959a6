#!/usr/bin/python3
"""Parallel text from gettext catalogs (.mo files) of Debian packages: English msgid -> msgstr.

Sub-commands (scripts/data/po_corpus.sh drives them):
  pairs  DIR LANG OUT.tsv      every (msgid, msgstr) of DIR's LANG catalogs, cleaned, one per line
  split  PAIRS.tsv OUT_DIR     deduplicated pairs -> OUT_DIR/{train,valid,test}.tsv + statistics

What is kept and how (docs/corpus.md, "Translation corpus from gettext catalogs"):
- Plural entries (msgid with a plural form), the header (empty msgid) and empty translations are
  dropped; compiled catalogs hold no fuzzy entries. A message context (msgctxt) is dropped, the
  message kept.
- Menu accelerators are removed on both sides: "_Open" / "&Open" -> "Open", a single underscore
  inside a word ("C_onfigure"), and the Chinese convention "打开(_O)" / "打开(&O)" -> "打开".
  They are keyboard mnemonics, not words.
- Format directives (%s, %d, %1$s, %(name)s, {0}) and markup are kept as written: a translator
  carries them over unchanged, and so should a model.
- Whitespace (newlines, tabs) becomes single spaces; pairs longer than MAX_CHARS characters on
  either side, and pairs whose translation equals the English (untranslated) are dropped.
- Duplicates (same English, same translation) are removed. The split is by a hash of the
  normalised English (lower case, letters and digits only), so "Open", "_Open" and "Open..." fall
  into one split with all their translations: 96 % train, 2 % valid, 2 % test.
"""
import hashlib
import os
import re
import struct
import sys

MAX_CHARS = 300
SPLITS = (("train", 96), ("valid", 2), ("test", 2))  # percent, in hash order


def read_mo(path):
    """The (msgid, msgstr) byte strings of a compiled gettext catalog."""
    data = open(path, "rb").read()
    if len(data) < 28:
        raise ValueError(path + ": too short for a .mo file")
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">" if magic == 0xDE120495 else None
    if order is None:
        raise ValueError(path + ": not a .mo file (bad magic number)")
    _, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    entries = []
    for i in range(count):
        length, offset = struct.unpack(order + "2I", data[originals + 8 * i:originals + 8 * i + 8])
        source = data[offset:offset + length]
        length, offset = struct.unpack(order + "2I", data[translations + 8 * i:translations + 8 * i + 8])
        entries.append((source, data[offset:offset + length]))
    return entries


ACCELERATOR_SUFFIX = re.compile(r"\s*[(（]\s*[_&][^\s)）]\s*[)）]")
ACCELERATOR = re.compile(r"(?<![_&\w])[_&](?=\w)")


def clean(text):
    text = ACCELERATOR_SUFFIX.sub("", text)
    text = ACCELERATOR.sub("", text)
    if text.count("_") == 1:  # one underscore inside a word is a mnemonic too: "C_onfigure"
        text = re.sub(r"(?<=\w)_(?=\w)", "", text)
    return " ".join(text.split())


def pairs_of_catalog(path):
    for source, target in read_mo(path):
        if not source or b"\x00" in source or not target or b"\x00" in target:
            continue  # header, plural forms
        if b"\x04" in source:
            source = source.split(b"\x04", 1)[1]  # msgctxt
        try:
            english, translation = source.decode("utf-8"), target.decode("utf-8")
        except UnicodeDecodeError:
            continue
        english, translation = clean(english), clean(translation)
        if not english or not translation or english == translation:
            continue
        if len(english) > MAX_CHARS or len(translation) > MAX_CHARS:
            continue
        yield english, translation


def catalogs(directory, language):
    """Every LANG .mo file under DIR (gettext's LANG/LC_MESSAGES and LibreOffice's zh-CN style)."""
    names = {language, language.replace("_", "-")}
    found = []
    for root, _, files in os.walk(directory):
        parts = root.split(os.sep)
        if any(name in parts for name in names):
            found += [os.path.join(root, f) for f in files if f.endswith(".mo")]
    return sorted(found)


def split_key(english):
    return re.sub(r"[^0-9a-z]", "", english.lower())


def split_of(english):
    bucket = int(hashlib.sha1(split_key(english).encode("utf-8")).hexdigest(), 16) % 100
    for name, percent in SPLITS:
        if bucket < percent:
            return name
        bucket -= percent
    raise AssertionError("splits must add up to 100")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100.0 * len(ordered)))] if ordered else 0


def command_pairs(directory, language, output):
    files = catalogs(directory, language)
    if not files:
        sys.exit("po_corpus: %s: no %s catalogs (.mo) found" % (directory, language))
    with open(output, "w", encoding="utf-8") as out:
        for path in files:
            for english, translation in pairs_of_catalog(path):
                out.write(english + "\t" + translation + "\n")
    print("po_corpus: %d catalogs" % len(files))


def command_split(pairs_path, out_dir):
    seen, splits = set(), {name: [] for name, _ in SPLITS}
    total = 0
    for line in open(pairs_path, encoding="utf-8"):
        english, translation = line.rstrip("\n").split("\t")
        total += 1
        if (english, translation) in seen:
            continue
        seen.add((english, translation))
        splits[split_of(english)].append((english, translation))
    os.makedirs(out_dir, exist_ok=True)
    print("po_corpus: %d pairs, %d after removing duplicates" % (total, len(seen)))
    for name, _ in SPLITS:
        rows = sorted(splits[name])
        with open(os.path.join(out_dir, name + ".tsv"), "w", encoding="utf-8") as out:
            for english, translation in rows:
                out.write(english + "\t" + translation + "\n")
        words = [len(e.split()) for e, _ in rows]
        chars = [len(t) for _, t in rows]
        print("  %-5s %7d pairs  English words p50 %d p90 %d p99 %d max %d  translation chars "
              "p50 %d p90 %d p99 %d max %d" % (
                  name, len(rows), percentile(words, 50), percentile(words, 90),
                  percentile(words, 99), max(words, default=0), percentile(chars, 50),
                  percentile(chars, 90), percentile(chars, 99), max(chars, default=0)))


def main(argv):
    if len(argv) == 5 and argv[1] == "pairs":
        command_pairs(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "split":
        command_split(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
