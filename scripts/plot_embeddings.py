#!/usr/bin/python3
"""Draws token embeddings as labelled points in 3-D, like the classic Seq2Seq primer's picture
of words in space ("cat" near "dog", far from "love").

    build/tandem-inspect embeddings run/ --side src --export emb/
    /usr/bin/python3 scripts/plot_embeddings.py emb/ --highlight a,e,i,o,u -o letters.png
    /usr/bin/python3 scripts/plot_embeddings.py scripts/data/primer_words.tsv -o primer.png

INPUT is either a directory with the TensorBoard Projector files vectors.tsv + metadata.tsv
(tandem-inspect's export) or one hand-written TSV with a label and its numbers on each line
("cat<TAB>0.9<TAB>0.8<TAB>0.1"). Vectors with more than 3 dimensions are projected onto their
first 3 principal components (PCA: centre, SVD); 3-D or smaller ones are drawn as given.
Labels use a font with CJK glyphs (Debian's fonts-noto-cjk, installed by
scripts/install_deps.sh) when it is there. Needs python3-matplotlib and python3-numpy.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402


def read_numbers(path, number, fields):
    try:
        return [float(x) for x in fields]
    except ValueError:
        sys.exit(f"{path}:{number}: not a row of numbers")


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except OSError as error:
        sys.exit(f"{path}: cannot open ({error.strerror})")
    except UnicodeDecodeError:
        sys.exit(f"{path}: not UTF-8 text")


def read_input(path):
    """Returns (labels, vectors as an N x D array)."""
    if os.path.isdir(path):
        vectors_path = os.path.join(path, "vectors.tsv")
        labels = read_lines(os.path.join(path, "metadata.tsv"))
        rows = [read_numbers(vectors_path, n, line.split("\t"))
                for n, line in enumerate(read_lines(vectors_path), 1)]
        if len(rows) != len(labels):
            sys.exit(f"{path}: vectors.tsv has {len(rows)} rows but metadata.tsv {len(labels)} labels")
    else:
        labels, rows = [], []
        for n, line in enumerate(read_lines(path), 1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                sys.exit(f"{path}:{n}: expected 'label<TAB>number<TAB>number...'")
            labels.append(fields[0])
            rows.append(read_numbers(path, n, fields[1:]))
    if not rows:
        sys.exit(f"{path}: no vectors")
    if len({len(r) for r in rows}) != 1:
        sys.exit(f"{path}: the vectors do not all have the same length")
    return labels, np.array(rows, dtype=np.float64)


def to_3d(vectors):
    """First 3 principal components (and their share of the variance), or the vectors padded."""
    n, d = vectors.shape
    if d <= 3:
        return np.hstack([vectors, np.zeros((n, 3 - d))]), None
    centred = vectors - vectors.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    variance = singular ** 2
    explained = variance[:3].sum() / variance.sum() if variance.sum() > 0 else 0.0
    points = centred @ components[:3].T
    if points.shape[1] < 3:  # fewer points than 3 dimensions
        points = np.hstack([points, np.zeros((n, 3 - points.shape[1]))])
    return points, explained


def use_cjk_font():
    """Prefers Noto Sans CJK for labels (falls back to DejaVu Sans glyph by glyph)."""
    for path in font_manager.findSystemFonts():
        if "NotoSansCJK" in os.path.basename(path) or "NotoSansMonoCJK" in os.path.basename(path):
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            plt.rcParams["font.family"] = [name, "DejaVu Sans"]
            return name
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="export directory (vectors.tsv + metadata.tsv) or a labelled TSV")
    parser.add_argument("--words", help="comma-separated labels to draw (default: all, up to --max-labels labelled)")
    parser.add_argument("--highlight", help="comma-separated labels drawn in a second colour (e.g. vowels)")
    parser.add_argument("--max-labels", type=int, default=80, help="label at most this many points")
    parser.add_argument("--title", help="figure title")
    parser.add_argument("-o", "--output", default="embeddings.png", help="PNG to write")
    args = parser.parse_args()

    labels, vectors = read_input(args.input)
    points, explained = to_3d(vectors)
    chosen = range(len(labels))
    if args.words:
        wanted = args.words.split(",")
        missing = [w for w in wanted if w not in labels]
        if missing:
            print(f"plot_embeddings: not in {args.input}: {', '.join(missing)}", file=sys.stderr)
        chosen = [labels.index(w) for w in wanted if w in labels]
        if not chosen:
            sys.exit("plot_embeddings: none of --words is in the input")
    highlight = set(args.highlight.split(",")) if args.highlight else set()
    font = use_cjk_font()

    figure = plt.figure(figsize=(8, 7))
    ax = figure.add_subplot(projection="3d")
    for index, number in enumerate(chosen):
        x, y, z = points[number]
        colour = "tab:red" if labels[number] in highlight else "tab:blue"
        ax.scatter([x], [y], [z], color=colour, s=30)
        if index < args.max_labels:
            ax.text(x, y, z, " " + labels[number], fontsize=10)
    if highlight:
        ax.scatter([], [], [], color="tab:red", label="highlighted: " + ",".join(sorted(highlight)))
        ax.scatter([], [], [], color="tab:blue", label="other")
        ax.legend(loc="upper left")
    axis_name = "PC" if explained is not None else "dim "
    ax.set_xlabel(axis_name + "1")
    ax.set_ylabel(axis_name + "2")
    ax.set_zlabel(axis_name + "3")
    title = args.title or os.path.basename(os.path.normpath(args.input))
    if explained is not None:
        title += f"  (PCA of {vectors.shape[1]}-D vectors: {100 * explained:.0f} % of the variance)"
    ax.set_title(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(args.output, dpi=110)
    print(f"plot_embeddings: {args.output} ({len(list(chosen))} points"
          + (f", {100 * explained:.0f} % variance in 3 PCs" if explained is not None else "")
          + (f", font {font}" if font else "") + ")")


if __name__ == "__main__":
    main()
