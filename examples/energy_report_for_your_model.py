"""An energy report for your own model: measured CPU (and GPU) energy per inference next to the estimated
energy of the same work on Loihi-class hardware, saved as HTML (also Markdown and JSON).

    .venv/bin/python examples/energy_report_for_your_model.py --out my-report

Bring any dense ``torch.nn.RNN/LSTM/GRU`` with a ``.head`` Linear (as here) or a spikernn spiking model.
Every figure in the report says whether it is measured or estimated and how. Took 71 s with its defaults on a loaded 2-core machine (load average ~14).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

import spikernn as snr
from spikernn import energy
from spikernn.app.data import load_dataset


class GRUClassifier(nn.Module):
    """Your model: a GRU and a linear head read at each sequence's last valid step."""

    def __init__(self, input_size: int, hidden_size: int, num_classes: int):
        super().__init__()
        self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[torch.arange(out.shape[0]), lengths.to(out.device) - 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="energy-report", help="folder for report.html/.md/.json")
    ap.add_argument("--hidden-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--inferences", type=int, default=64, help="test sequences per measured call")
    ap.add_argument("--threshold", type=float, default=0.05, help="sigma-delta threshold for the Loihi row")
    ap.add_argument("--quick", action="store_true", help="short measurement windows (a first look)")
    args = ap.parse_args()

    ds = load_dataset("japanese_vowels")
    model = GRUClassifier(ds.input_size, args.hidden_size, ds.num_classes)
    snr.train(model, ds.train, epochs=args.epochs, lr=1e-2, progress=False)
    model.eval()

    test = ds.test.subset(args.inferences)
    # The Loihi row comes from the simulated activity of the model converted to fixed point, with the training
    # inputs setting the input range, and the sigma-delta threshold trading accuracy for fewer events.
    report = energy.compare(
        model, test.x, test.y, lengths=test.lengths,
        platforms=("cpu", "gpu", "loihi"),     # gpu gives an "unavailable" row (with the reason) without CUDA
        threshold=args.threshold, precision="fixed", convert_options={"calibration_x": ds.train.x},
        # accuracy vs estimated Loihi energy over thresholds (converted the same way)
        sweep_thresholds=[0.0, 0.02, 0.05, 0.1, 0.2],
        title="energy report: GRU classifier on JapaneseVowels",
        **({"repeats": 2, "min_window_s": 0.2} if args.quick else {}),
    )
    out = Path(args.out)
    for ext in ("html", "md", "json"):
        print("wrote", report.save(out / f"report.{ext}"))
    for r in report.rows:
        j = "n/a" if r.energy_per_inference_j is None else f"{r.energy_per_inference_j * 1e6:.2f} µJ"
        acc = "" if r.accuracy is None else f", accuracy {r.accuracy:.3f}"
        print(f"{r.platform:>6}: {j:>12} per inference  [{r.kind}, {r.method}]{acc}")


if __name__ == "__main__":
    main()
