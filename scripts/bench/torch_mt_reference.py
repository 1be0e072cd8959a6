#!/usr/bin/python3
"""A PyTorch reference for scripts/translate_po.sh: the same task under the same wall-time budget.

What it shares with tandem's recipe: the corpus (tandem's HDF5 shards, read with h5py, and its
SentencePiece models and vocabularies), the model's shape (embeddings 256, 2-layer bidirectional
LSTM encoder of 256 per direction, 2-layer LSTM decoder of 512 started from the encoder's final
states of both directions, Luong "general" attention, attentional vector tanh(W_c [c; h]),
dropout 0.2, every parameter U(-0.1, 0.1)), Adam with a 200-step warm-up and a linear decay
to 0 at the time limit (the slowest rank's clock), 2,048 target tokens per rank and step in
length-sorted pools of batches, cross-entropy over real tokens, gradient clipping at 5. What it
does as PyTorch users do: packed sequences in the encoder, DistributedDataParallel over gloo,
f32 with OpenBLAS (bf16 LSTMs are not faster in Debian's torch 1.13 on CPU). After training,
rank 0 saves the model and decodes the test sources greedily (batched) and with beam search by
tandem-translate's rules (beam 5 and length normalisation 1 as the recipe), and writes
hypotheses plus reference files that group repeated sources the way `tandem-translate --test`
does, so tandem's scorer measures both systems alike (scripts/bench/mt_compare.sh runs both).

usage: /usr/bin/python3 scripts/bench/torch_mt_reference.py CORPUS TEST_TSV OUT_DIR
           --minutes M [--ranks R] [--threads T] [--seed S] [--lr LR] [--batch-tokens B] [--beam K]
       /usr/bin/python3 scripts/bench/torch_mt_reference.py CORPUS TEST_TSV OUT_DIR --decode-only [--beam K]
--lr and --batch-tokens (default: the recipe's 5e-3 and 2,048) are for the reference's own
learning-rate and batch-size sweep (scripts/bench/mt_compare.sh, MT_TORCH_ARGS). --decode-only
decodes again with the model an earlier run saved in OUT_DIR.
Writes OUT_DIR/model.pt, OUT_DIR/test.hyp (beam K), OUT_DIR/test_greedy.hyp, OUT_DIR/ref.N (one
per reference slot) and OUT_DIR/train.json.
"""
import argparse
import json
import os
import random
import sys
import time

import torch_ranks

PAD, UNK, BOS, EOS = 0, 1, 2, 3


def read_vocabulary(path):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from read_corpus import read_vocabulary as read  # tandem's vocabulary file format
    return read(path)


def load_split(corpus, manifest, split):
    import h5py
    import numpy as np
    pairs = []
    for shard in manifest["splits"].get(split, []):
        with h5py.File(os.path.join(corpus, shard["file"]), "r") as f:
            sides = [(f[s + "_offsets"][:], f[s + "_tokens"][:].astype(np.int64)) for s in ("src", "tgt")]
            for i in range(int(f.attrs["example_count"])):
                pairs.append(tuple(tokens[offsets[i]:offsets[i + 1]] for offsets, tokens in sides))
    return pairs


def build_model(torch, vocab_src, vocab_tgt, embedding=256, hidden=512, layers=2, dropout=0.2):
    """The recipe's shape by default; `hidden` is the decoder's (the encoder's per direction is
    half). scripts/bench/torch_mt_crosscheck.py builds a small one."""
    nn = torch.nn

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embedding = nn.Embedding(vocab_src, embedding, padding_idx=PAD)
            self.tgt_embedding = nn.Embedding(vocab_tgt, embedding, padding_idx=PAD)
            self.encoder = nn.LSTM(embedding, hidden // 2, num_layers=layers, bidirectional=True, dropout=dropout)
            self.decoder = nn.LSTM(embedding, hidden, num_layers=layers, dropout=dropout)
            self.w_a = nn.Linear(hidden, hidden, bias=False)
            self.w_c = nn.Linear(2 * hidden, hidden)
            self.output = nn.Linear(hidden, vocab_tgt)
            self.dropout = nn.Dropout(dropout)
            for parameter in self.parameters():
                nn.init.uniform_(parameter, -0.1, 0.1)

        def encode(self, source, lengths):  # source [S, N]
            packed = nn.utils.rnn.pack_padded_sequence(self.dropout(self.src_embedding(source)), lengths.cpu(),
                                                       enforce_sorted=False)
            encoded, (h, c) = self.encoder(packed)
            encoded, _ = nn.utils.rnn.pad_packed_sequence(encoded, total_length=source.shape[0])
            # [layers * 2, N, H/2] -> [layers, N, H]: forward and backward final states side by side
            bridge = lambda s: torch.cat([s[0::2], s[1::2]], dim=-1)
            mask = torch.arange(source.shape[0]).unsqueeze(0) >= lengths.unsqueeze(1)  # [N, S]
            return encoded, (bridge(h), bridge(c)), mask

        def decode(self, encoded, mask, target_in, state):  # target_in [T, N]
            decoded, state = self.decoder(self.dropout(self.tgt_embedding(target_in)), state)
            scores = torch.einsum("tnh,snh->nts", decoded, self.w_a(encoded))
            weights = torch.softmax(scores.masked_fill(mask.unsqueeze(1), float("-inf")), dim=-1)
            context = torch.einsum("nts,snh->tnh", weights, encoded)
            attentional = self.dropout(torch.tanh(self.w_c(torch.cat([context, decoded], dim=-1))))
            return self.output(attentional), state

        def forward(self, source, lengths, target_in, target_out):
            encoded, state, mask = self.encode(source, lengths)
            logits, _ = self.decode(encoded, mask, target_in, state)
            return nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), target_out.view(-1),
                                               ignore_index=PAD, reduction="sum")

    return Seq2Seq()


def batches(pairs, rank, ranks, epoch, seed, budget=2048, pool=60):
    """This rank's share of an epoch: shuffled, windows of `pool` batches sorted by length."""
    order = list(range(rank, len(pairs), ranks))
    random.Random(seed * 1000 + epoch).shuffle(order)
    window = pool * max(1, budget // 12)
    for begin in range(0, len(order), window):
        chunk = sorted(order[begin:begin + window], key=lambda i: (max(len(pairs[i][0]), len(pairs[i][1]) + 1), i))
        current, longest, made = [], 0, []
        for i in chunk:
            length = max(len(pairs[i][0]), len(pairs[i][1]) + 1)
            if current and max(longest, length) * (len(current) + 1) > budget:
                made.append(current)
                current, longest = [], 0
            current.append(i)
            longest = max(longest, length)
        if current:
            made.append(current)
        random.Random(seed + epoch + begin).shuffle(made)
        yield from made


def tensors(torch, pairs, indices):
    sources = [pairs[i][0] for i in indices]
    targets = [pairs[i][1] for i in indices]
    n, s, t = len(indices), max(map(len, sources)), max(map(len, targets)) + 1
    source = torch.full((s, n), PAD, dtype=torch.long)
    target_in = torch.full((t, n), PAD, dtype=torch.long)
    target_out = torch.full((t, n), PAD, dtype=torch.long)
    for k, (src, tgt) in enumerate(zip(sources, targets)):
        source[:len(src), k] = torch.from_numpy(src)
        target_in[0, k] = BOS
        target_in[1:len(tgt) + 1, k] = torch.from_numpy(tgt)
        target_out[:len(tgt), k] = torch.from_numpy(tgt)
        target_out[len(tgt), k] = EOS
    return source, torch.tensor([len(x) for x in sources]), target_in, target_out


def train(args, rank, torch, model, pairs):
    import torch.distributed as dist
    ddp = torch.nn.parallel.DistributedDataParallel(model) if args.ranks > 1 else model
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    budget_s, start, step, epoch, tokens_done = args.minutes * 60, time.time(), 0, 0, 0
    interval_loss, interval_tokens = 0.0, 0  # this rank's loss sum, all ranks' tokens
    stream = batches(pairs, rank, args.ranks, epoch, args.seed, args.batch_tokens)
    while True:
        # The slowest rank's clock decides both the rate and the stop, as in tandem.
        elapsed = torch.tensor([time.time() - start], dtype=torch.float64)
        if args.ranks > 1:
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
        used = float(elapsed) / budget_s
        if used >= 1.0:
            break
        indices = next(stream, None)
        if indices is None:
            epoch += 1
            stream = batches(pairs, rank, args.ranks, epoch, args.seed, args.batch_tokens)
            indices = next(stream)
        lr = args.lr * min(1.0, (step + 1) / 200) * (1.0 - used)
        for group in optimizer.param_groups:
            group["lr"] = lr
        source, lengths, target_in, target_out = tensors(torch, pairs, indices)
        tokens = torch.tensor([float((target_out != PAD).sum())])
        if args.ranks > 1:
            dist.all_reduce(tokens)
        optimizer.zero_grad(set_to_none=True)
        loss = ddp(source, lengths, target_in, target_out)
        (loss * args.ranks / tokens).backward()  # DDP averages: the sum over ranks / all tokens
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        step += 1
        tokens_done += int(tokens)
        interval_loss += float(loss)
        interval_tokens += int(tokens)
        if step % 200 == 0:  # the loss per token over the last 200 steps, as tandem's progress line
            total = torch.tensor([interval_loss], dtype=torch.float64)
            if args.ranks > 1:
                dist.all_reduce(total)
            if rank == 0:
                print("step %d epoch %d loss %.4f lr %.2e %.0f tok/s" % (
                    step, epoch, float(total) / interval_tokens, lr, tokens_done / (time.time() - start)),
                    file=sys.stderr, flush=True)
            interval_loss, interval_tokens = 0.0, 0
    return {"steps": step, "epochs": epoch, "seconds": time.time() - start,
            "tokens_per_s": tokens_done / (time.time() - start), "lr": args.lr,
            "batch_tokens": args.batch_tokens}


def test_sentences(path):
    """Sources in first-appearance order, each with all its references (as tandem-translate --test)."""
    references = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            source, reference = line.rstrip("\n").split("\t")
            references.setdefault(source, []).append(reference)
    return list(references.items())


def beam_search(torch, model, source, beam):
    """The hypotheses that beam search of width `beam` ends for one source [S, 1], as
    (tokens, log P, finished), by tandem-translate's rules (trainer/decode/beam_search.cpp): each
    live hypothesis offers its best 2 x beam continuations, best first over all; <eos> ends one
    (at most `beam` end), <pad>/<bos> are skipped, the first `beam` others live on; at
    2 x S + 10 tokens the live ones end unfinished."""
    memory, state, mask = model.encode(source, torch.tensor([source.shape[0]]))
    max_length, live, ended = 2 * source.shape[0] + 10, [([], 0.0)], []
    for step in range(max_length):
        n = len(live)
        previous = torch.tensor([[tokens[-1] if tokens else BOS for tokens, _ in live]])
        logits, state = model.decode(memory.expand(-1, n, -1), mask.expand(n, -1), previous, state)
        logprobs = torch.log_softmax(logits[0], dim=-1)
        best, best_ids = logprobs.topk(min(2 * beam, logprobs.shape[-1]), dim=-1)
        candidates = sorted(((live[row][1] + float(best[row, i]), row, int(best_ids[row, i]))
                             for row in range(n) for i in range(best.shape[1])), key=lambda c: -c[0])
        next_live, parents = [], []
        for log_p, row, token in candidates:
            if len(next_live) == beam:
                break
            if token == EOS:
                if len(ended) < beam:
                    ended.append((live[row][0], log_p, True))
            elif token not in (PAD, BOS):
                next_live.append((live[row][0] + [token], log_p))
                parents.append(row)
        if step + 1 >= max_length:
            ended += [(tokens, log_p, False) for tokens, log_p in next_live]
            next_live = []
        if len(ended) >= beam or not next_live:
            return ended
        state = tuple(s.index_select(1, torch.tensor(parents)) for s in state)
        live = next_live
    return ended


def best_hypothesis(torch, model, source, beam, alpha=1.0):
    """tandem-translate's choice, as (tokens, log P, finished): beam's and greedy's ended
    hypotheses ranked by log P / length^alpha (the length counts <eos>), the first of equals."""
    ended = beam_search(torch, model, source, beam) + (beam_search(torch, model, source, 1) if beam > 1 else [])
    return max(ended, key=lambda h: h[1] / max(1, len(h[0]) + h[2]) ** alpha)


def greedy(torch, model, encoded):
    """Greedy outputs of the encoded sources, in batches of 64 sources of similar length."""
    outputs = [None] * len(encoded)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    for begin in range(0, len(order), 64):
        chunk = order[begin:begin + 64]
        n, s = len(chunk), max(len(encoded[i]) for i in chunk)
        source = torch.full((s, n), PAD, dtype=torch.long)
        for k, i in enumerate(chunk):
            source[:len(encoded[i]), k] = torch.tensor(encoded[i])
        memory, state, mask = model.encode(source, torch.tensor([len(encoded[i]) for i in chunk]))
        token = torch.full((1, n), BOS, dtype=torch.long)
        done = torch.zeros(n, dtype=torch.bool)
        result = [[] for _ in chunk]
        for _ in range(2 * s + 10):
            logits, state = model.decode(memory, mask, token, state)
            token = logits.argmax(-1)  # [1, N]
            for k in range(n):
                if not done[k] and int(token[0, k]) != EOS:
                    result[k].append(int(token[0, k]))
            done |= token[0] == EOS
            if bool(done.all()):
                break
        for k, i in enumerate(chunk):
            outputs[i] = result[k]
    return outputs


def decode(torch, model, corpus, manifest, sentences, out, beam):
    """Writes OUT/test_greedy.hyp, OUT/test.hyp (beam search; greedy when beam is 1) and the
    reference files; returns the seconds each decoding took."""
    import sentencepiece
    sides = {}
    for side in ("source", "target"):
        sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(corpus, manifest[side]["sentencepiece_model"]))
        vocabulary = read_vocabulary(os.path.join(corpus, manifest[side]["vocabulary"]))
        sides[side] = (sp, vocabulary, {token: i for i, token in enumerate(vocabulary)})
    sp, _, ids = sides["source"]
    encoded = [[ids.get(piece, UNK) for piece in sp.encode(source, out_type=str)] or [UNK] for source, _ in sentences]
    target_sp, target_vocabulary, _ = sides["target"]
    model.eval()
    seconds = {}
    with torch.no_grad():
        for name, k in (("test_greedy.hyp", 1), ("test.hyp", beam)):
            start = time.time()
            if k > 1:
                outputs = [best_hypothesis(torch, model, torch.tensor(e).unsqueeze(1), k)[0] for e in encoded]
            elif name == "test_greedy.hyp":  # beam 1: test.hyp is these outputs again
                outputs = greedy(torch, model, encoded)
            seconds[name] = time.time() - start
            with open(os.path.join(out, name), "w", encoding="utf-8") as f:
                for tokens in outputs:
                    f.write(target_sp.decode_pieces([target_vocabulary[t] for t in tokens]) + "\n")
    slots = max(len(references) for _, references in sentences)
    for slot in range(slots):  # missing references repeat the first: no score changes
        with open(os.path.join(out, "ref.%d" % slot), "w", encoding="utf-8") as f:
            for _, references in sentences:
                f.write(references[slot if slot < len(references) else 0] + "\n")
    return seconds


def worker(args, rank):
    import torch
    import torch.distributed as dist
    torch_ranks.pin(rank, args.threads)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with open(os.path.join(args.corpus, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    model = build_model(torch, manifest["source"]["vocab_size"], manifest["target"]["vocab_size"])
    if args.decode_only:  # the model a previous run saved, decoded again
        model.load_state_dict(torch.load(os.path.join(args.out, "model.pt")))
        with open(os.path.join(args.out, "train.json")) as f:
            summary = json.load(f)
    else:
        if args.ranks > 1:
            dist.init_process_group("gloo", rank=rank, world_size=args.ranks)
        summary = train(args, rank, torch, model, load_split(args.corpus, manifest, "train"))
    if rank == 0:
        if not args.decode_only:
            torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
        seconds = decode(torch, model, args.corpus, manifest, test_sentences(args.test), args.out, args.beam)
        summary.update(beam=args.beam, greedy_decode_seconds=seconds["test_greedy.hyp"],
                       decode_seconds=seconds["test.hyp"])
        with open(os.path.join(args.out, "train.json"), "w") as f:
            json.dump(summary, f)
        print(json.dumps(summary), flush=True)
    sys.stdout.flush()
    os._exit(0)  # gloo can hang at interpreter exit


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("test")
    parser.add_argument("out")
    parser.add_argument("--minutes", type=float)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lr", type=float, default=5e-3, help="peak learning rate")
    parser.add_argument("--batch-tokens", type=int, default=2048, help="target tokens per rank and step")
    parser.add_argument("--beam", type=int, default=5, help="beam width of test.hyp (1: greedy)")
    parser.add_argument("--decode-only", action="store_true", help="decode with OUT_DIR/model.pt, no training")
    parser.add_argument("--worker-rank", type=int, default=-1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.decode_only:
        args.ranks = 1
    elif args.minutes is None:
        parser.error("--minutes is required (unless --decode-only)")
    if args.beam < 1:
        parser.error("--beam must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    torch_ranks.run_ranks(args.ranks, args.worker_rank, lambda rank: worker(args, rank))


if __name__ == "__main__":
    main()
