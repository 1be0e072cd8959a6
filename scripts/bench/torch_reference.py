#!/usr/bin/python3
"""The design's bench-small / bench-base Seq2Seq model in PyTorch, for side-by-side throughput.

Same model as tandem's: source/target embeddings, unidirectional LSTM encoder, LSTM decoder
started from the encoder's final states, Luong "general" attention after the decoder with a
source mask, attentional vector tanh(W_c [c; h]), output projection, cross-entropy summed over
real tokens and divided by their count, Adam, global-norm clipping at 5. Synthetic batches of
fixed length 25 (source 25 tokens, target 24 + <eos>), as tandem's train_bench uses.

Data-parallel with DistributedDataParallel over gloo; processes are started here (torchrun
crashes on Debian's torch 1.13 + Python 3.11, see shared notes) and pinned one core each.
Prints one JSON line: config, ranks, threads, median step seconds, target tokens/s.

usage: /usr/bin/python3 scripts/bench/torch_reference.py small|base --ranks R --threads T --steps N
Run it with OpenBLAS and tcmalloc (scripts/bench/train_bench.sh shows how); Debian's default
reference BLAS is ~27x slower and proves nothing.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch_ranks

CONFIGS = {
    "small": dict(vocab=1000, emb=128, hidden=256, layers=1, batch=32),
    "base": dict(vocab=8000, emb=512, hidden=512, layers=2, batch=64),
}
LENGTH = 25


def build_model(torch, c):
    nn = torch.nn

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embedding = nn.Embedding(c["vocab"], c["emb"], padding_idx=0)
            self.tgt_embedding = nn.Embedding(c["vocab"], c["emb"], padding_idx=0)
            self.encoder = nn.LSTM(c["emb"], c["hidden"], num_layers=c["layers"])
            self.decoder = nn.LSTM(c["emb"], c["hidden"], num_layers=c["layers"])
            self.w_a = nn.Linear(c["hidden"], c["hidden"], bias=False)
            self.w_c = nn.Linear(2 * c["hidden"], c["hidden"])
            self.output = nn.Linear(c["hidden"], c["vocab"])

        def forward(self, source, source_lengths, target_in, target_out):
            # source, target_*: [T, N] time-major, as in tandem
            encoded, state = self.encoder(self.src_embedding(source))            # [S, N, H]
            decoded, _ = self.decoder(self.tgt_embedding(target_in), state)       # [T, N, H]
            keys = self.w_a(encoded)                                              # [S, N, H]
            scores = torch.einsum("tnh,snh->nts", decoded, keys)                  # [N, T, S]
            positions = torch.arange(source.shape[0]).unsqueeze(0)
            mask = positions >= source_lengths.unsqueeze(1)                       # [N, S]
            scores = scores.masked_fill(mask.unsqueeze(1), float("-inf"))
            weights = torch.softmax(scores, dim=-1)
            context = torch.einsum("nts,snh->tnh", weights, encoded)
            attentional = torch.tanh(self.w_c(torch.cat([context, decoded], dim=-1)))
            logits = self.output(attentional)
            loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), target_out.view(-1),
                                               ignore_index=0, reduction="sum")
            return loss, int((target_out != 0).sum())

    return Seq2Seq()


def worker(args, rank):
    import torch
    import torch.distributed as dist

    torch_ranks.pin(rank, args.threads)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    c = CONFIGS[args.config]
    model = build_model(torch, c)
    if args.ranks > 1:
        dist.init_process_group("gloo", rank=rank, world_size=args.ranks)
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(100 + rank)
    batches = []
    for _ in range(8):
        n = c["batch"]
        source = torch.randint(4, c["vocab"], (LENGTH, n), generator=generator)
        target = torch.randint(4, c["vocab"], (LENGTH, n), generator=generator)
        target_in = torch.cat([torch.full((1, n), 2), target[:-1]])   # <bos> y
        target_out = torch.cat([target[:-1], torch.full((1, n), 3)])  # y <eos>
        batches.append((source, torch.full((n,), LENGTH), target_in, target_out))
    times = []
    for step in range(args.warmup + args.steps):
        source, lengths, target_in, target_out = batches[step % len(batches)]
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss, tokens = model(source, lengths, target_in, target_out)
        (loss / (tokens * args.ranks)).backward()  # DDP averages over ranks
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    if rank == 0:
        step_s = statistics.median(times)
        tokens_per_step = c["batch"] * LENGTH * args.ranks
        print(json.dumps({"impl": "pytorch", "config": args.config, "ranks": args.ranks, "threads": args.threads,
                          "step_s_median": step_s, "step_s_min": min(times),
                          "tokens_per_s": tokens_per_step / step_s}), flush=True)
    sys.stdout.flush()
    os._exit(0)  # gloo can hang at interpreter exit (shared notes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", choices=sorted(CONFIGS))
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--worker-rank", type=int, default=-1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch_ranks.run_ranks(args.ranks, args.worker_rank, lambda rank: worker(args, rank))


if __name__ == "__main__":
    main()
