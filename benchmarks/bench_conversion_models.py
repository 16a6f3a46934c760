"""Convert the models people have (issue 11's table): each model, its float conversion's max abs error vs torch
at threshold 0, fixed-point agreement with torch, and events per inference.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_conversion_models.py [--batch 16] [--steps 20]

The models are untrained (seeded random weights, inputs ~N(0, 1)): the figures are about the conversion, not
about a task. Float: ``converters.verify(model, to_lava(model), x)`` on the fast backend (float64 network vs the
float32 torch model). Fixed: ``to_lava(model, "fixed", calibration_x=x)``; "agreement" is class agreement for
models that return (B, C) logits, and for per-step value models the fraction of outputs within 5 % of the
outputs' range. Events: graded/binary events per sequence of the float network (input population included).
Models the converter refuses print the first line of the error instead.
"""
from __future__ import annotations

import argparse
import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from spikernn.converters import to_lava, verify
from spikernn.converters.graph import UnsupportedModelError

FEATURES, VOCAB = 4, 30


class MeanPooled(nn.Module):
    """The issue's silent case: .rnn + .head, but forward mean-pools the outputs over time."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(FEATURES, 16, batch_first=True)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out.mean(dim=1))


class TextLSTM(nn.Module):
    """nn.Embedding + LSTM + Linear on h_n[-1] (text classification); input: token ids (B, T)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, 8, padding_idx=0)
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 2)

    def forward(self, ids):
        out, (h, c) = self.lstm(self.emb(ids))
        return self.fc(h[-1])


class KeywordConvGRU(nn.Module):
    """Conv1d front end + ReLU + GRU + Linear on the mean over time (keyword spotting)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(FEATURES, 12, 3, padding=1)
        self.gru = nn.GRU(12, 16, batch_first=True)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        z = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        out, _ = self.gru(z)
        return self.fc(out.mean(1))


class LstmFcNames(nn.Module):
    """Attributes named .lstm / .fc, last valid step by gather with lengths."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(FEATURES, 16, batch_first=True)
        self.fc = nn.Linear(16, 5)

    def forward(self, x, lengths):
        out, _ = self.lstm(x)
        return self.fc(out[torch.arange(x.size(0)), lengths - 1])


class MLPHead(nn.Module):
    """Linear before (folded into W_ih), RNN (time-first), MLP head Linear-ReLU-Dropout-Linear on the last step."""

    def __init__(self):
        super().__init__()
        self.pre = nn.Linear(FEATURES, 8)
        self.rnn = nn.RNN(8, 16)
        self.head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 5))

    def forward(self, x):
        out, _ = self.rnn(self.pre(x.transpose(0, 1)))
        return self.head(out[-1])


class PerStepPacked(nn.Module):
    """Per-step outputs of a packed GRU, padded back (sequence labelling with lengths)."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(FEATURES, 16, batch_first=True)
        self.out = nn.Linear(16, 3)

    def forward(self, x, lengths):
        p = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        y, _ = self.gru(p)
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
        return self.out(y)


class LSTMCellLoop(nn.Module):
    """An nn.LSTMCell loop over time: a Python loop, which torch.fx cannot trace (refused)."""

    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(FEATURES, 16)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        h = c = torch.zeros(x.shape[0], 16)
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
        return self.fc(h)


class BiTagger(nn.Module):
    """Bidirectional LSTM tagger with per-step outputs."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(FEATURES, 12, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(24, 6)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out)


class GRUForecaster(nn.Module):
    """2-layer GRU forecaster with a per-step Linear head (forecast every step)."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(FEATURES, 16, num_layers=2, batch_first=True)
        self.fc = nn.Linear(16, 1)

    def forward(self, x):
        return self.fc(self.gru(x)[0])


MODELS = [("mean-pooled .rnn+.head", MeanPooled), ("Embedding+LSTM+Linear", TextLSTM),
          ("Conv1d+GRU+Linear (keyword)", KeywordConvGRU), (".lstm/.fc names, last valid", LstmFcNames),
          ("MLP head (Linear before)", MLPHead), ("per-step outputs, packed", PerStepPacked),
          ("LSTMCell loop", LSTMCellLoop), ("bidirectional LSTM tagger", BiTagger),
          ("2-layer GRU forecaster", GRUForecaster)]


def inputs(model: nn.Module, batch: int, steps: int, seed: int = 0):
    """(x, lengths or None) for ``model``: token ids for the embedding model, lengths for forwards that take them."""
    g = torch.Generator().manual_seed(seed)
    if isinstance(model, TextLSTM):
        return torch.randint(0, VOCAB, (batch, steps), generator=g), None
    x = torch.randn(batch, steps, FEATURES, generator=g)
    if isinstance(model, (LstmFcNames, PerStepPacked)):
        return x, torch.randint(max(1, steps // 3), steps + 1, (batch,), generator=g)
    return x, None


def measure(model: nn.Module, x, lengths) -> dict:
    """Float error, fixed-point agreement and events per inference of one model (or its refusal)."""
    try:
        net = to_lava(model)
    except UnsupportedModelError as e:
        return {"refused": str(e).split(". Supported:")[0]}
    r = verify(model, net, x, lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fixed = to_lava(model, "fixed", calibration_x=x if x.is_floating_point() else None)
    rf = verify(model, fixed, x, lengths)
    if rf.output == "sequence":
        span = float(rf.model_output.max() - rf.model_output.min()) or 1.0
        agree, kind = float(((rf.network_output - rf.model_output).abs() <= 0.05 * span).double().mean()), "values"
    else:
        agree, kind = rf.agreement, "classes"
    return {"output": r.output, "float_max_abs_error": r.max_abs_error, "fixed_agreement": agree,
            "fixed_kind": kind, "fixed_max_abs_error": rf.max_abs_error, "events": r.events_per_inference}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(f"{'model':<30} {'output':<10} {'float max|err|':>14} {'fixed agreement':>18} {'fixed max|err|':>14} "
          f"{'events/inf':>10}")
    for i, (name, cls) in enumerate(MODELS):
        torch.manual_seed(i)
        m = cls().eval()
        x, lengths = inputs(m, args.batch, args.steps, seed=i)
        res = measure(m, x, lengths)
        if "refused" in res:
            print(f"{name:<30} refused: {res['refused'][:150]}")
            continue
        print(f"{name:<30} {res['output']:<10} {res['float_max_abs_error']:>14.2e} "
              f"{100 * res['fixed_agreement']:>9.1f}% {res['fixed_kind']:<8} {res['fixed_max_abs_error']:>14.3g} "
              f"{res['events']:>10.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
