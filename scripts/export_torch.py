"""Exports a tandem checkpoint to PyTorch: a module definition and its state dict, readable
without tandem (h5py to read the checkpoint; torch to use the result).

    /usr/bin/python3 scripts/export_torch.py CHECKPOINT OUT [--corpus DIR]
    /usr/bin/python3 OUT/tandem_torch.py OUT < words.txt      # greedy, as tandem-translate --beam 1

OUT receives tandem_torch.py (the module: scripts/tandem_torch.py), state_dict.pt (every
parameter under its tandem name with '/' -> '.', shapes and layouts as in docs/model.md),
config.json (the model configuration and the tokenizers) and the two vocabularies from the
corpus the model was trained on (`corpus` in the checkpoint's run configuration, or --corpus).
The state dict is loaded into the module before anything is written (strict: every name and
shape must match). Character and word tokenizers only; a SentencePiece corpus is refused.
"""
import argparse
import json
import os
import shutil
import sys

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGERS = {"src_vocab", "tgt_vocab", "embedding_size", "hidden_size", "encoder_layers", "decoder_layers"}
BOOLEANS = {"bidirectional", "input_feeding"}


def text_attribute(f, name):
    value = f.attrs[name]
    return value.decode() if isinstance(value, bytes) else str(value)


def key_values(text):
    pairs = {}
    for line in text.splitlines():
        if " = " in line:
            key, value = line.split(" = ", 1)
            pairs[key.strip()] = value.strip()
    return pairs


def model_config(f):
    cfg = {}
    for key, value in key_values(text_attribute(f, "model_config")).items():
        cfg[key] = int(value) if key in INTEGERS else value == "true" if key in BOOLEANS else value
    return cfg


def fail(message):
    sys.exit("export_torch: error: " + message)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="a tandem checkpoint file (ckpt.*.h5, or one from tandem-average)")
    parser.add_argument("out", help="output directory (created; must not exist)")
    parser.add_argument("--corpus", help="the corpus the model was trained on (default: the run's)")
    args = parser.parse_args()
    if os.path.exists(args.out):
        fail("%s: exists; give a new directory" % args.out)
    try:
        f = h5py.File(args.checkpoint, "r")
    except OSError as error:
        fail("%s: cannot read as HDF5 (%s)" % (args.checkpoint, error))
    with f:
        if "format" not in f.attrs or text_attribute(f, "format") != "tandem-checkpoint":
            fail("%s: not a tandem checkpoint" % args.checkpoint)
        cfg = model_config(f)
        corpus = args.corpus or key_values(text_attribute(f, "run_config")).get("corpus", "")
        names = text_attribute(f, "parameters").split()
        arrays = {name: f[name][()] for name in names}
    manifest_path = os.path.join(corpus, "manifest.json")
    if not os.path.isfile(manifest_path):
        fail("%s: no corpus manifest (give --corpus DIR)" % manifest_path)
    with open(manifest_path) as m:
        manifest = json.load(m)
    tokenizers = {side: manifest[side]["tokenizer"] for side in ("source", "target")}
    if "sentencepiece" in tokenizers.values():
        fail("%s: SentencePiece corpora are not exported (char and word are)" % corpus)

    import torch  # only here: reading the checkpoint needs no torch

    sys.path.insert(0, HERE)
    from tandem_torch import Seq2Seq

    state = {name.replace("/", "."): torch.from_numpy(array) for name, array in arrays.items()}
    Seq2Seq(cfg).load_state_dict(state, strict=True)  # every name and shape, before writing
    os.makedirs(args.out)
    torch.save(state, os.path.join(args.out, "state_dict.pt"))
    with open(os.path.join(args.out, "config.json"), "w") as out:
        json.dump({"model": cfg, "source_tokenizer": tokenizers["source"],
                   "target_tokenizer": tokenizers["target"], "checkpoint": args.checkpoint}, out, indent=1)
    for side, name in (("source", "src.vocab"), ("target", "tgt.vocab")):
        shutil.copyfile(os.path.join(corpus, manifest[side]["vocabulary"]), os.path.join(args.out, name))
    shutil.copyfile(os.path.join(HERE, "tandem_torch.py"), os.path.join(args.out, "tandem_torch.py"))
    print("export_torch: %s -> %s (%d parameters, %s %s, attention %s)" % (
        args.checkpoint, args.out, sum(a.size for a in arrays.values()), cfg["cell"],
        "bidirectional" if cfg["bidirectional"] else "unidirectional", cfg["attention"]))


if __name__ == "__main__":
    main()
