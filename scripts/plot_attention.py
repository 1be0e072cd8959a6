#!/usr/bin/python3
"""Draws one decoded line's attention weights (from tandem-translate --attention-dump) as a heat
map: output tokens down, source tokens across, darker = more weight.

    /usr/bin/python3 scripts/plot_attention.py att.jsonl --line 3 -o att.png

--line picks the input line number (1-based, as in the dump's "line" field); without it the
first record is drawn. Needs Debian's python3-matplotlib.
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
# Chinese (and other CJK) tokens need a CJK font: Debian's fonts-noto-cjk, which matplotlib lists
# under its first name, "Noto Sans CJK JP" (the same file has the simplified Chinese glyphs);
# matplotlib falls back glyph by glyph to the next family that is installed.
matplotlib.rcParams["font.family"] = ["DejaVu Sans", "Noto Sans CJK JP"]
import matplotlib.pyplot as plt  # noqa: E402


def read_record(path, line):
    try:
        dump = open(path, encoding="utf-8")
    except OSError as error:
        sys.exit(f"{path}: cannot open ({error.strerror})")
    with dump:
        for number, text in enumerate(dump, 1):
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                sys.exit(f"{path}:{number}: not a JSON line ({error.msg})")
            if line is None or record.get("line") == line:
                return record
    sys.exit(f"{path}: no record" + (f" for input line {line}" if line is not None else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dump", help="tandem-translate --attention-dump file (JSON lines)")
    parser.add_argument("--line", type=int, help="input line number to draw (default: the first)")
    parser.add_argument("-o", "--output", default="attention.png", help="PNG to write")
    args = parser.parse_args()

    record = read_record(args.dump, args.line)
    source, target, weights = record["source"], record["target"], record["weights"]
    if len(weights) != len(target) or any(len(row) != len(source) for row in weights):
        sys.exit(f"{args.dump}: weights are not [target x source] = [{len(target)} x {len(source)}]")

    figure, axes = plt.subplots(figsize=(1 + 0.45 * len(source), 1 + 0.4 * len(target)))
    axes.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source)), source)
    axes.set_yticks(range(len(target)), target)
    axes.xaxis.tick_top()
    axes.set_xlabel("source")
    axes.set_ylabel("output")
    figure.tight_layout()
    figure.savefig(args.output, dpi=120)
    print(f"plot_attention: {args.output} ({len(target)} x {len(source)}, input line {record.get('line')})")


if __name__ == "__main__":
    main()
