#!/usr/bin/python3
"""Prints a split of a tandem corpus as "source<TAB>target" text, read with h5py.

Shows (and tests) that shards are plain HDF5: see docs/corpus.md for the schema. Tokens are
joined with single spaces, whatever the tokenizer.

usage: /usr/bin/python3 scripts/read_corpus.py CORPUS_DIR [--split train] [--limit N]
"""
import argparse
import json
import os
import sys

import h5py


def read_vocabulary(path):
    escapes = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r", "\\s": " "}
    tokens = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            token = line.rstrip("\n").split("\t")[0]
            out, i = "", 0
            while i < len(token):
                if token[i] == "\\":
                    out += escapes[token[i:i + 2]]
                    i += 2
                else:
                    out += token[i]
                    i += 1
            tokens.append(out)
    return tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=0, help="stop after N examples (0: all)")
    args = parser.parse_args()
    with open(os.path.join(args.corpus, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    vocabularies = {side: read_vocabulary(os.path.join(args.corpus, manifest[name]["vocabulary"]))
                    for side, name in (("src", "source"), ("tgt", "target"))}
    printed = 0
    for shard in manifest["splits"].get(args.split, []):
        with h5py.File(os.path.join(args.corpus, shard["file"]), "r") as f:
            sides = {side: (f[side + "_offsets"][:], f[side + "_tokens"][:]) for side in ("src", "tgt")}
            for i in range(int(f.attrs["example_count"])):
                texts = []
                for side in ("src", "tgt"):
                    offsets, tokens = sides[side]
                    texts.append(" ".join(vocabularies[side][t] for t in tokens[offsets[i]:offsets[i + 1]]))
                sys.stdout.write("\t".join(texts) + "\n")
                printed += 1
                if args.limit and printed >= args.limit:
                    return


if __name__ == "__main__":
    main()
