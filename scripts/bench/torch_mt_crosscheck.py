#!/usr/bin/python3
"""Does the PyTorch reference (torch_mt_reference.py's model) compute what tandem computes?

Given tandem's initial parameters, the same batch (a corpus small enough to be one batch) and
what tandem did with them, the reference model loaded with those parameters must give
  1. the same loss on the batch (tandem's step-1 loss),
  2. the same gradient of every parameter (tandem's, read from one SGD step with no clipping:
     (initial - after) / rate),
  3. the same learning curve: Adam with tandem's settings and clipping, step by step on that
     batch, against tandem's per-step losses;
  4. the same beam search: given a trained checkpoint, the reference's beam search (beam 5)
     returns tandem-translate's best hypothesis and its log P for every source.
Float tolerance only: any difference in the model (gate order, state hand-over from the
bidirectional encoder, attention, masking, loss normalisation) or in Adam shows as a gap.
tests/apps/torch_crosscheck_test.sh makes the tandem runs; docs/translation.md says why.

usage: torch_mt_crosscheck.py CORPUS --initial CKPT --sgd CKPT --sgd-rate R --sgd-metrics JSONL
           --adam-metrics JSONL --adam-lr LR --clip C
           [--beam-checkpoint CKPT --beam-sources TXT --beam-nbest NBEST (--n-best 2 or more)]
Prints one line per check; exits 1 if any fails.
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import torch_mt_reference as reference  # noqa: E402
from export_torch import model_config, text_attribute  # noqa: E402


def read_checkpoint(path):
    with h5py.File(path, "r") as f:
        names = text_attribute(f, "parameters").split()
        return model_config(f), {name: f[name][()].astype(np.float64) for name in names}


def reference_state(arrays, layers):
    """tandem's parameters (docs/model.md) under the reference's names and layouts. tandem's
    LSTM has one bias per gate; PyTorch's two (input and recurrent) add up, so the recurrent one
    is zero (and kept out of training and of the gradient comparison)."""
    state = {"src_embedding.weight": arrays["encoder/embedding"],
             "tgt_embedding.weight": arrays["decoder/embedding"],
             "w_a.weight": arrays["decoder/attention/w_a"],
             "w_c.weight": arrays["decoder/w_c/weight"], "w_c.bias": arrays["decoder/w_c/bias"],
             "output.weight": arrays["output/weight"], "output.bias": arrays["output/bias"]}

    def cell(tandem, module, suffix):  # ldigo [I, gates, H] -> PyTorch's [gates * H, I]
        layer_in = arrays[tandem + "/weights_layer"]
        state["%s.weight_ih_%s" % (module, suffix)] = layer_in.reshape(layer_in.shape[0], -1).T
        layer_iter = arrays[tandem + "/weights_iter"]
        state["%s.weight_hh_%s" % (module, suffix)] = layer_iter.reshape(layer_iter.shape[0], -1).T
        state["%s.bias_ih_%s" % (module, suffix)] = arrays[tandem + "/bias"].reshape(-1)
        state["%s.bias_hh_%s" % (module, suffix)] = np.zeros_like(arrays[tandem + "/bias"].reshape(-1))

    for l in range(layers):
        cell("encoder/l%d/fwd" % l, "encoder", "l%d" % l)
        cell("encoder/l%d/bwd" % l, "encoder", "l%d_reverse" % l)
        cell("decoder/l%d" % l, "decoder", "l%d" % l)
    return state


def step_losses(path):
    records = [json.loads(line) for line in open(path)]
    return {r["step"]: r["loss"] for r in records if r["type"] == "train"}


class Checks:
    def __init__(self):
        self.failures = 0

    def check(self, ok, message):
        print(("ok: " if ok else "FAIL: ") + message)
        self.failures += 0 if ok else 1


def check_beam_search(torch, model, cfg, manifest, args, checks):
    """4. Beam 5 on a trained model: the same best hypothesis and log P as tandem-translate's
    first n-best line (LINE ||| hypothesis ||| normalised score ||| log P) for every source."""
    _, trained = read_checkpoint(args.beam_checkpoint)
    model.load_state_dict({k: torch.tensor(v, dtype=torch.float32)
                           for k, v in reference_state(trained, cfg["encoder_layers"]).items()})
    model.eval()
    vocabulary = {side: reference.read_vocabulary(os.path.join(args.corpus, manifest[side]["vocabulary"]))
                  for side in ("source", "target")}
    ids = {word: i for i, word in enumerate(vocabulary["source"])}
    tandem = {}
    for line in open(args.beam_nbest, encoding="utf-8"):
        number, hypothesis, _, log_p = line.rstrip("\n").split(" ||| ")
        tandem.setdefault(int(number), (hypothesis, float(log_p)))
    tandem = [tandem[n] for n in sorted(tandem)]
    same, worst = 0, 0.0
    with torch.no_grad():
        for line, (hypothesis, log_p) in zip(open(args.beam_sources, encoding="utf-8"), tandem):
            source = torch.tensor([ids.get(w, reference.UNK) for w in line.split()]).unsqueeze(1)
            tokens, mine, _ = reference.best_hypothesis(torch, model, source, 5)
            same += " ".join(vocabulary["target"][t] for t in tokens) == hypothesis
            worst = max(worst, abs(mine - log_p) / max(1.0, abs(log_p)))
    checks.check(same == len(tandem) and worst <= 1e-4,
                 "beam 5: %d of %d hypotheses as tandem-translate's, largest relative log P gap %.1e" % (
                     same, len(tandem), worst))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--initial", required=True)
    parser.add_argument("--sgd", required=True)
    parser.add_argument("--sgd-rate", type=float, required=True)
    parser.add_argument("--sgd-metrics", required=True)
    parser.add_argument("--adam-metrics", required=True)
    parser.add_argument("--adam-lr", type=float, required=True)
    parser.add_argument("--clip", type=float, required=True)
    parser.add_argument("--beam-checkpoint", help="a trained checkpoint of the same shape")
    parser.add_argument("--beam-sources", help="source lines, word-tokenised")
    parser.add_argument("--beam-nbest", help="tandem-translate --beam 5 --n-best 2 of those lines")
    args = parser.parse_args()

    import torch
    cfg, initial = read_checkpoint(args.initial)
    _, after_sgd = read_checkpoint(args.sgd)
    assert cfg["encoder_layers"] == cfg["decoder_layers"] and cfg["cell"] == "lstm" and cfg["attention"] == "general"
    with open(os.path.join(args.corpus, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    pairs = reference.load_split(args.corpus, manifest, "train")
    model = reference.build_model(torch, cfg["src_vocab"], cfg["tgt_vocab"], embedding=cfg["embedding_size"],
                                  hidden=cfg["hidden_size"], layers=cfg["encoder_layers"], dropout=0.0)
    start = reference_state(initial, cfg["encoder_layers"])
    model.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in start.items()}, strict=True)
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(".bias_hh_" not in name)
    trained = [p for p in model.parameters() if p.requires_grad]
    batch = reference.tensors(torch, pairs, list(range(len(pairs))))
    tokens = float((batch[3] != reference.PAD).sum())
    checks = Checks()

    def loss_and_gradients():
        model.zero_grad(set_to_none=True)
        loss = model(*batch) / tokens
        loss.backward()
        return float(loss)

    # 1. The loss of the initial parameters on the batch.
    loss = loss_and_gradients()
    tandem_loss = step_losses(args.sgd_metrics)[1]
    checks.check(abs(loss - tandem_loss) <= 1e-6 * tandem_loss,
                 "step-1 loss: PyTorch %.7f, tandem %.7f (%d sentences, %d target tokens)" % (
                     loss, tandem_loss, len(pairs), tokens))

    # 2. Every parameter's gradient: tandem's is (initial - after) / rate after one SGD step.
    # That difference of two f32 values resolves a gradient element to float32 spacing of the
    # parameter / rate: the tolerance adds that resolution to a relative 1e-4.
    rate = args.sgd_rate
    tandem_gradient = reference_state({k: (initial[k] - after_sgd[k]) / rate for k in initial}, cfg["encoder_layers"])
    resolution = reference_state({k: np.spacing(np.abs(initial[k]).astype(np.float32)).astype(np.float64) / rate
                                  for k in initial}, cfg["encoder_layers"])
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        mine, theirs = parameter.grad.double().numpy(), tandem_gradient[name]
        difference, size = np.linalg.norm(mine - theirs), np.linalg.norm(theirs)
        bound = 1e-4 * size + np.linalg.norm(resolution[name])
        checks.check(difference <= bound, "gradient %s: difference %.2e of norm %.3e (%.0f %% of the tolerance)" % (
            name, difference, size, 100 * difference / bound))

    # 3. Learning curves from the same start: Adam as tandem runs it (bias-corrected, eps 1e-8,
    # global-norm clipping) on the same batch every step.
    model.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in start.items()})
    optimizer = torch.optim.Adam(trained, lr=args.adam_lr, betas=(0.9, 0.999), eps=1e-8)
    tandem_curve = step_losses(args.adam_metrics)
    gaps = []
    for step in range(1, max(tandem_curve) + 1):
        loss = loss_and_gradients()
        torch.nn.utils.clip_grad_norm_(trained, args.clip)
        optimizer.step()
        gaps.append((abs(loss - tandem_curve[step]) / tandem_curve[step], step, loss, tandem_curve[step]))
        if step in (1, 2, 5, 10, 20, 40) or step == max(tandem_curve):
            print("  step %3d: PyTorch %.6f, tandem %.6f" % (step, loss, tandem_curve[step]))
    gap, step, mine, theirs = max(gaps)
    checks.check(gap <= 1e-3, "Adam curves over %d steps: largest relative gap %.1e at step %d (%.6f vs %.6f); "
                 "loss %.4f -> %.4f" % (len(gaps), gap, step, mine, theirs, gaps[0][3], gaps[-1][3]))
    if args.beam_checkpoint:
        check_beam_search(torch, model, cfg, manifest, args, checks)
    sys.exit(1 if checks.failures else 0)


if __name__ == "__main__":
    main()
