"""Float conversion exactness: dense RNN (tanh, relu) / LSTM / GRU, 2 layers, bidirectional, threshold 0,
and spikernn SpikingRNN/LSTM/GRU, run on real Lava processes and on the fast simulator, compared with torch.

Prints the max abs error of each converted network against the torch model (target <= 1e-5 for dense
models) and the spike agreement of spiking models (target: identical).

    .venv/bin/python benchmarks/bench_conversion_float.py [--T 20] [--batch 2] [--hidden 16]
"""
from __future__ import annotations

import argparse

import torch

import spikernn as snr
from spikernn.converters import to_lava


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=20, help="time steps")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=16)
    a = ap.parse_args()
    torch.manual_seed(0)
    x = torch.randn(a.T, a.batch, 8)
    dense = {
        "nn.RNN (tanh)": torch.nn.RNN(8, a.hidden, num_layers=2, bidirectional=True),
        "nn.RNN (relu)": torch.nn.RNN(8, a.hidden, num_layers=2, bidirectional=True, nonlinearity="relu"),
        "nn.LSTM": torch.nn.LSTM(8, a.hidden, num_layers=2, bidirectional=True),
        "nn.GRU": torch.nn.GRU(8, a.hidden, num_layers=2, bidirectional=True),
    }
    print(f"float precision, 2 layers, bidirectional, hidden {a.hidden}, T={a.T}, batch {a.batch}")
    worst = 0.0
    for name, m in dense.items():
        m.eval()
        with torch.no_grad():
            ref = m(x)[0]
        net = to_lava(m, precision="float", threshold=0.0)
        errs = {b: float((net.run(x, backend=b) - ref).abs().max()) for b in ("lava", "fast")}
        worst = max(worst, *errs.values())
        print(f"  {name:15s} output {tuple(ref.shape)}  max|lava - torch| {errs['lava']:.2e}  max|fast - torch| {errs['fast']:.2e}")
    spiking = {"SpikingRNN": snr.SpikingRNN, "SpikingLSTM": snr.SpikingLSTM, "SpikingGRU": snr.SpikingGRU}
    all_same = True
    for name, cls in spiking.items():
        m = cls(8, a.hidden, num_layers=2, bidirectional=True, threshold=0.3).eval()
        with torch.no_grad():
            ref = m(x * 2)[0]
        net = to_lava(m, precision="float")
        for b in ("lava", "fast"):
            y = net.run(x * 2, backend=b)
            same = bool(torch.equal(y, ref))
            all_same &= same
            print(f"  {name:15s} backend {b:4s} spikes identical to torch: {same}  (firing rate {ref.mean():.3f})")
    print(f"dense max abs error {worst:.2e} (target <= 1e-5: {'PASS' if worst <= 1e-5 else 'FAIL'}); "
          f"spiking identical: {'PASS' if all_same else 'FAIL'}")


if __name__ == "__main__":
    main()
