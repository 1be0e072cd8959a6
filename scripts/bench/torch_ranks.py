"""Starting the PyTorch reference processes (shared by the bench's references).

torchrun crashes on Debian's torch 1.13 + Python 3.11, so each reference starts its ranks itself:
the same script again with `--worker-rank R`, gloo rendezvous on a free local port, and each rank
pinned to its own cores.
"""
import os
import socket
import subprocess
import sys


def run_ranks(ranks, worker_rank, worker):
    """In a worker (worker_rank >= 0) or with one rank: worker(rank). Otherwise starts `ranks`
    copies of this command line as workers and exits with the worst exit code."""
    if worker_rank >= 0 or ranks == 1:
        worker(max(worker_rank, 0))
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(ranks))
    workers = [subprocess.Popen([sys.executable] + sys.argv + ["--worker-rank", str(r)], env=env)
               for r in range(ranks)]
    sys.exit(max(w.wait() for w in workers))


def pin(rank, threads):
    """Rank r runs on cores [r * threads, (r + 1) * threads) where this process may run."""
    wanted = set(range(rank * threads, (rank + 1) * threads)) & os.sched_getaffinity(0)
    os.sched_setaffinity(0, wanted or os.sched_getaffinity(0))
