#!/usr/bin/python3
"""Where a real training run's oneDNN time goes: reads oneDNN's verbose log (ONEDNN_VERBOSE=1, or
=2 for creation too) and prints, per primitive kind and implementation, the executions and
creations with their total milliseconds, per training step if STEPS is given. step_bench times
fixed synthetic batches, whose shapes repeat; real data brings new shapes, and this shows what
those cost (primitive creation) next to the execution time.

usage: /usr/bin/python3 scripts/bench/onednn_log_summary.py LOG [STEPS [AFTER_STEP [UNTIL_STEP]]]
With AFTER_STEP, only what follows tandem-train's progress line "step AFTER_STEP |" counts (the
steady state, once the caches hold the common shapes); STEPS is then the steps after it. With
UNTIL_STEP, reading stops at the progress line "step UNTIL_STEP |" (so a validation or the final
one at the end of the run is left out).
"""
import collections
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    steps = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    marker = "step %s |" % sys.argv[3] if len(sys.argv) > 3 else None
    end = "step %s |" % sys.argv[4] if len(sys.argv) > 4 else None
    totals = collections.defaultdict(lambda: [0, 0.0])  # (event, kind, impl) -> [count, ms]
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            if end is not None and line.startswith(end):
                break
            if marker is not None:
                marker = None if line.startswith(marker) else marker
                continue
            if not line.startswith("onednn_verbose,"):
                continue
            fields = line.rstrip("\n").split(",")
            if len(fields) < 6 or not (fields[1] == "exec" or fields[1].startswith("create")):
                continue
            try:
                ms = float(fields[-1])
            except ValueError:
                continue
            # The kind is "rnn" etc.; propagation says forward or backward.
            key = (fields[1], fields[3], fields[4], fields[5])
            totals[key][0] += 1
            totals[key][1] += ms
    by_event = collections.defaultdict(float)
    for (event, _, _, _), (_, ms) in totals.items():
        by_event[event] += ms
    unit = "per step" if steps != 1.0 else "in all"
    print("%-20s %-10s %-28s %-22s %10s %12s" % ("event", "kind", "implementation", "propagation",
                                                 "count", "ms " + unit))
    for key, (count, ms) in sorted(totals.items(), key=lambda item: -item[1][1]):
        print("%-20s %-10s %-28s %-22s %10.1f %12.2f" % (key + (count / steps, ms / steps)))
    for event, ms in sorted(by_event.items()):
        print("total %-14s %.2f ms %s" % (event, ms / steps, unit))


if __name__ == "__main__":
    main()
