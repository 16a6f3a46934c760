"""End-to-end energy report on real data: a dense LSTM classifier trained briefly on JapaneseVowels (packaged
in sktime, no download), measured on CPU (and GPU when present), converted with ``converters.to_lava`` and
simulated for the Loihi-class row, plus a sigma-delta threshold sweep. Writes report.{html,md,json}.

    .venv/bin/python benchmarks/bench_energy_report.py [--out DIR] [--epochs 40] [--quick]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from spikernn import energy
from spikernn.energy.fmt import fmt_j, fmt_j_range, fmt_js, fmt_ratio, fmt_s


class LSTMClassifier(torch.nn.Module):
    """``.rnn`` + ``.head``: logits from the last valid step of each (padded) sequence."""

    def __init__(self, inputs: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.batch_first = True
        self.rnn = torch.nn.LSTM(inputs, hidden, batch_first=True)
        self.head = torch.nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        out = self.rnn(x)[0]
        idx = (torch.full((x.shape[0],), x.shape[1]) if lengths is None else torch.as_tensor(lengths)) - 1
        return self.head(out[torch.arange(x.shape[0]), idx.long()])


def japanese_vowels() -> tuple:
    """(x_train, len_train, y_train, x_test, len_test, y_test): padded (B, 29, 12) float32, standardised
    with the training split's per-feature statistics."""
    from sktime.datasets import load_japanese_vowels

    parts = {}
    for split in ("train", "test"):
        X, y = load_japanese_vowels(split=split, return_X_y=True)
        seqs = [np.stack([np.asarray(X.iloc[i, j], dtype=np.float32) for j in range(X.shape[1])], axis=1)
                for i in range(len(X))]
        parts[split] = (seqs, np.asarray(y))
    classes = sorted(set(parts["train"][1]))
    cat = np.concatenate(parts["train"][0])
    mu, sd = cat.mean(0), cat.std(0) + 1e-6
    T = max(len(s) for p in parts.values() for s in p[0])
    out = []
    for split in ("train", "test"):
        seqs, y = parts[split]
        x = np.zeros((len(seqs), T, 12), np.float32)
        for i, s in enumerate(seqs):
            x[i, :len(s)] = (s - mu) / sd
        out += [torch.from_numpy(x), torch.tensor([len(s) for s in seqs]),
                torch.tensor([classes.index(c) for c in y])]
    return tuple(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/spikernn-energy-report", help="output directory")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--quick", action="store_true", help="short measurement windows (for a smoke run)")
    args = ap.parse_args()
    torch.manual_seed(0)
    xtr, ltr, ytr, xte, lte, yte = japanese_vowels()
    model = LSTMClassifier(12, args.hidden, int(ytr.max()) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        for idx in torch.randperm(len(xtr)).split(64):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xtr[idx], ltr[idx]), ytr[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xte, lte).argmax(-1) == yte).float().mean().item()
    print(f"trained {args.epochs} epochs in {time.perf_counter() - t0:.1f} s; torch test accuracy {acc:.3f}")

    t0 = time.perf_counter()
    rep = energy.compare(model, xte, yte, lengths=lte, platforms=("cpu", "gpu", "loihi"), threshold=0.0,
                         sweep_thresholds=[0.0, 0.05, 0.1, 0.2, 0.4, 0.8],
                         repeats=2 if args.quick else 5, min_window_s=0.3 if args.quick else 1.0,
                         title="spikernn energy report: dense LSTM on JapaneseVowels (test set, 370 sequences)")
    print(f"compare took {time.perf_counter() - t0:.1f} s")
    for r in rep.rows:
        e = fmt_j_range(r.energy_per_inference_j, *(r.interval_j or (None, None)))
        acc_s = "n/a" if r.accuracy is None else f"{100 * r.accuracy:.1f} % (n = {r.accuracy_n})"
        extra = " DISTURBED" if r.figure is not None and r.figure.disturbed else ""
        print(f"{r.platform:14s} {e:>28s}  {r.kind:11s} {r.method:28s} time {fmt_s(r.seconds_per_inference):>9s} "
              f"EDP {fmt_js(r.edp_js):>11s}  accuracy {acc_s}{extra}")
    for t in rep.ratio_table():
        print(f"ratio {t['a']}/{t['b']}: {fmt_ratio(t['value'], t['low'], t['high'])}")
    for p in rep.threshold_sweep:
        print(f"threshold {p.threshold:<5g} accuracy {100 * p.accuracy:.1f} % (n = {p.n}) events/inf "
              f"{p.events_per_inference:9.1f} Loihi {fmt_j(p.energy_per_inference_j)}")
    out = Path(args.out)
    for ext in ("html", "md", "json"):
        print("wrote", rep.save(out / f"report.{ext}"))


if __name__ == "__main__":
    main()
