"""A tandem model in PyTorch: the module definition that scripts/export_torch.py ships with an
exported state dict, and greedy decoding that gives the same outputs as
`tandem-translate --beam 1` (docs/model.md, "Using a trained model elsewhere").

    python3 OUT/tandem_torch.py OUT < words.txt        # OUT: what export_torch.py wrote

The layers follow tandem's definitions exactly (docs/model.md): oneDNN's gate orders (LSTM i, f,
c~, o; GRU u, r, o; the linear-before-reset GRU's extra bias), one bias per gate, weights in
`ldigo` as [input, gates, hidden]; bidirectional layers concatenate [forward; backward]; the
attentional vector is tanh(W_c [context; h] + b). Sentences are decoded one at a time, so no
padding or masking is needed.
"""
import json
import math
import os
import sys

import torch
from torch import nn

PAD, UNK, BOS, EOS = 0, 1, 2, 3


class Cell(nn.Module):
    """One RNN layer in one direction, with tandem's (oneDNN's) parameter layout."""

    GATES = {"lstm": 4, "gru": 3, "lbr_gru": 3, "rnn_tanh": 1}

    def __init__(self, kind, input_size, hidden_size):
        super().__init__()
        g = self.GATES[kind]
        self.kind, self.hidden = kind, hidden_size
        self.weights_layer = nn.Parameter(torch.zeros(input_size, g, hidden_size))
        self.weights_iter = nn.Parameter(torch.zeros(hidden_size, g, hidden_size))
        self.bias = nn.Parameter(torch.zeros(4 if kind == "lbr_gru" else g, hidden_size))

    def step(self, x, h, c):
        """x [I], h [H], c [H] (LSTM cell state; unused otherwise) -> h', c'."""
        wx = torch.einsum("i,igh->gh", x, self.weights_layer)
        b = self.bias
        if self.kind == "lstm":
            gates = wx + torch.einsum("i,igh->gh", h, self.weights_iter) + b
            i, f, g, o = torch.sigmoid(gates[0]), torch.sigmoid(gates[1]), torch.tanh(gates[2]), torch.sigmoid(gates[3])
            c = f * c + i * g
            return o * torch.tanh(c), c
        if self.kind == "rnn_tanh":
            return torch.tanh(wx[0] + h @ self.weights_iter[:, 0, :] + b[0]), c
        uh = torch.einsum("i,igh->gh", h, self.weights_iter)
        u = torch.sigmoid(wx[0] + uh[0] + b[0])
        r = torch.sigmoid(wx[1] + uh[1] + b[1])
        if self.kind == "gru":  # reset applied before the recurrent product
            o = torch.tanh(wx[2] + (r * h) @ self.weights_iter[:, 2, :] + b[2])
        else:  # lbr_gru: linear before reset, with its own bias on the recurrent part
            o = torch.tanh(wx[2] + b[2] + r * (uh[2] + b[3]))
        return u * h + (1 - u) * o, c

    def run(self, xs, h, c):
        outputs = []
        for x in xs:
            h, c = self.step(x, h, c)
            outputs.append(h)
        return torch.stack(outputs), h, c


class Dense(nn.Module):
    def __init__(self, input_size, output_size):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(output_size, input_size))
        self.bias = nn.Parameter(torch.zeros(output_size))

    def forward(self, x):
        return self.weight @ x + self.bias


def module_dict(**modules):
    return nn.ModuleDict({k: v for k, v in modules.items() if v is not None})


class Seq2Seq(nn.Module):
    """Parameter names are tandem's with '/' -> '.' (encoder.embedding, decoder.l0.bias, ...)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        E, H, kind = cfg["embedding_size"], cfg["hidden_size"], cfg["cell"]
        bi = cfg["bidirectional"]
        encoder = nn.Module()
        encoder.embedding = nn.Parameter(torch.zeros(cfg["src_vocab"], E))
        for l in range(cfg["encoder_layers"]):
            size = E if l == 0 else H
            if bi:
                setattr(encoder, "l%d" % l, module_dict(fwd=Cell(kind, size, H // 2), bwd=Cell(kind, size, H // 2)))
            else:
                setattr(encoder, "l%d" % l, Cell(kind, size, H))
        self.encoder = encoder
        decoder = nn.Module()
        decoder.embedding = nn.Parameter(torch.zeros(cfg["tgt_vocab"], E))
        if cfg["decoder_init"] == "bridge":
            decoder.bridge = module_dict(**{"l%d" % l: Dense(H, H) for l in range(cfg["decoder_layers"])})
        attention = cfg["attention"]
        if attention == "general":
            decoder.attention = nn.Module()
            decoder.attention.w_a = nn.Parameter(torch.zeros(H, H))
        elif attention == "additive":
            decoder.attention = nn.Module()
            decoder.attention.w_keys = nn.Parameter(torch.zeros(H, H))
            decoder.attention.w_query = nn.Parameter(torch.zeros(H, H))
            decoder.attention.v = nn.Parameter(torch.zeros(H))
        feed = H if cfg["input_feeding"] else 0
        for l in range(cfg["decoder_layers"]):
            setattr(decoder, "l%d" % l, Cell(kind, E + feed if l == 0 else H, H))
        decoder.w_c = Dense(2 * H, H)
        self.decoder = decoder
        self.output = Dense(H, cfg["tgt_vocab"])

    def encode(self, ids):
        """ids [S] -> outputs [S, H], per-layer final h and c [H]."""
        cfg, H = self.cfg, self.cfg["hidden_size"]
        x = self.encoder.embedding[ids]
        finals = []
        for l in range(cfg["encoder_layers"]):
            layer = getattr(self.encoder, "l%d" % l)
            if cfg["bidirectional"]:
                zero = torch.zeros(H // 2)
                fwd, hf, cf = layer["fwd"].run(x, zero, zero)
                bwd, hb, cb = layer["bwd"].run(torch.flip(x, [0]), zero, zero)
                x = torch.cat([fwd, torch.flip(bwd, [0])], dim=1)
                finals.append((torch.cat([hf, hb]), torch.cat([cf, cb])))
            else:
                zero = torch.zeros(H)
                x, h, c = layer.run(x, zero, zero)
                finals.append((h, c))
        return x, finals

    def initial_state(self, outputs, finals):
        cfg, H = self.cfg, self.cfg["hidden_size"]
        if cfg["decoder_init"] == "final":
            return [(h.clone(), c.clone()) for h, c in finals]
        mean = outputs.mean(dim=0)
        return [(torch.tanh(self.decoder.bridge["l%d" % l](mean)), torch.zeros(H))
                for l in range(cfg["decoder_layers"])]

    def context(self, query, keys, top_final):
        kind = self.cfg["attention"]
        if kind == "none":
            return top_final
        if kind == "dot":
            scores = keys @ query
        elif kind == "general":
            scores = (keys @ self.decoder.attention.w_a.T) @ query
        else:
            a = self.decoder.attention
            scores = torch.tanh(keys @ a.w_keys.T + a.w_query @ query) @ a.v
        return torch.softmax(scores, dim=0) @ keys

    @torch.no_grad()
    def greedy(self, ids, max_length_factor=2.0, max_length_extra=10):
        """Source ids -> target ids, as tandem-translate --beam 1: <pad> and <bos> are never
        chosen, <eos> ends, at most ceil(factor x source length) + extra tokens."""
        outputs, finals = self.encode(torch.tensor(ids))
        states = self.initial_state(outputs, finals)
        feed = torch.zeros(self.cfg["hidden_size"])
        previous, result = BOS, []
        for _ in range(math.ceil(max_length_factor * len(ids)) + max_length_extra):
            x = self.decoder.embedding[previous]
            if self.cfg["input_feeding"]:
                x = torch.cat([x, feed])
            for l, (h, c) in enumerate(states):
                h, c = getattr(self.decoder, "l%d" % l).step(x, h, c)
                states[l] = (h, c)
                x = h
            context = self.context(x, outputs, finals[-1][0])
            feed = torch.tanh(self.decoder.w_c(torch.cat([context, x])))
            logits = self.output(feed)
            logits[PAD] = logits[BOS] = -math.inf
            previous = int(torch.argmax(logits))
            if previous == EOS:
                break
            result.append(previous)
        return result


def read_vocabulary(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t")[0] for line in f]


def load(directory):
    """The exported model (OUT of export_torch.py): module, config, vocabularies."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    model = Seq2Seq(cfg["model"])
    model.load_state_dict(torch.load(os.path.join(directory, "state_dict.pt")))
    model.eval()
    return model, cfg, read_vocabulary(os.path.join(directory, "src.vocab")), read_vocabulary(os.path.join(directory, "tgt.vocab"))


SPACES = " \t\n\r\v\f"  # tandem's trim and word split


def split(text, kind):
    return list(text) if kind == "char" else text.split()


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    model, cfg, src, tgt = load(directory)
    ids = {token: i for i, token in enumerate(src)}
    for line in sys.stdin:
        tokens = split(line.strip(SPACES), cfg["source_tokenizer"])
        out = [tgt[i] for i in model.greedy([ids.get(t, UNK) for t in tokens])] if tokens else []
        print(("" if cfg["target_tokenizer"] == "char" else " ").join(out))


if __name__ == "__main__":
    main()
