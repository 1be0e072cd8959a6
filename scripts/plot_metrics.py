#!/usr/bin/python3
"""Plots a tandem-train run's metrics.jsonl against the step: training and validation loss and
perplexity, validation scores (WER/PER/BLEU/chrF, when the run decoded), tokens/s, learning
rate and gradient norm, to one PNG.

    /usr/bin/python3 scripts/plot_metrics.py run/metrics.jsonl -o metrics.png

Needs Debian's python3-matplotlib. A resumed run appends to the same file; the curves then
simply continue (repeated steps after a resume are drawn as they were logged).
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402


def read_records(path):
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as error:
        sys.exit(f"{path}: cannot open ({error.strerror})")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            # A run killed mid-write leaves a partial last line: skip it, say so.
            print(f"plot_metrics: {path}:{number}: not a JSON line, skipped", file=sys.stderr)
    return records


def series(records, kind, key):
    points = [(r["step"], r[key]) for r in records if r.get("type") == kind and key in r]
    return [p[0] for p in points], [p[1] for p in points]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("metrics", help="metrics.jsonl written by tandem-train")
    parser.add_argument("-o", "--output", default="metrics.png", help="PNG to write")
    args = parser.parse_args()

    records = read_records(args.metrics)
    if not any(r.get("type") == "train" for r in records):
        sys.exit(f"{args.metrics}: no training records (type 'train') to plot")
    decoded = any(r.get("type") == "valid" and "wer" in r for r in records)

    panels = ["loss", "ppl", "tokens", "lr", "grad"] + (["scores"] if decoded else [])
    figure, axes = plt.subplots(len(panels), 1, figsize=(8, 2.3 * len(panels)), sharex=True)
    for name, ax in zip(panels, axes):
        if name in ("loss", "ppl"):
            for kind, style in (("train", "-"), ("valid", "o-")):
                steps, values = series(records, kind, name)
                if steps:
                    ax.plot(steps, values, style, markersize=3, label=kind)
            ax.set_ylabel("loss (nats/token)" if name == "loss" else "perplexity")
            ax.legend()
        elif name == "tokens":
            ax.plot(*series(records, "train", "tokens_per_s"))
            ax.set_ylabel("target tokens/s")
        elif name == "lr":
            ax.plot(*series(records, "train", "lr"))
            ax.set_ylabel("learning rate")
        elif name == "grad":
            ax.plot(*series(records, "train", "grad_norm"))
            ax.set_ylabel("gradient norm")
        else:
            for key in ("wer", "per", "bleu", "chrf"):
                steps, values = series(records, "valid", key)
                ax.plot(steps, values, "o-", markersize=3, label=key.upper())
            ax.set_ylabel("validation score (%)")
            ax.legend()
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("step")
    figure.suptitle(args.metrics)
    figure.tight_layout()
    figure.savefig(args.output, dpi=100)
    print(f"plot_metrics: {args.output} ({len(records)} records, {len(panels)} panels)")


if __name__ == "__main__":
    main()
