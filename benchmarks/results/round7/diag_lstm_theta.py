"""Round 7 diagnostic of the plain-recipe SpikingLSTM (issue 17): runs ``round6/diag_lstm.py`` (training curve,
gradient norms, per-neuron statistics on the val split) and adds the θ0 distribution and θ0 against the
per-neuron firing rate (where a learnt θ0 goes).

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/results/round7/diag_lstm_theta.py plaid snn_lstm learn_threshold=true
"""
import runpy
from pathlib import Path

import torch

g = runpy.run_path(str(Path(__file__).resolve().parents[1] / "round6" / "diag_lstm.py"), run_name="__main__")
th, rate = torch.as_tensor(g["sp"].threshold).flatten(), g["rate"]
qs = torch.tensor([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
print("  θ0 quantiles 0/10/25/50/75/90/100 %: " + " ".join(f"{float(v):.3f}" for v in torch.quantile(th, qs)))
for lo, hi in ((0, 0.1), (0.1, 0.2), (0.2, 0.25), (0.25, 0.3), (0.3, 0.35), (0.35, 0.5), (0.5, 10)):
    sel = (th >= lo) & (th < hi)
    if sel.any():
        print(f"  θ0 in [{lo}, {hi}): {int(sel.sum())} neurons, mean rate {float(rate[sel].mean()):.3f}, "
              f"silent {int((rate[sel] == 0).sum())}")
top = torch.argsort(rate, descending=True)[: max(1, rate.numel() // 10)]
print(f"  top-10 % neurons by rate: mean rate {float(rate[top].mean()):.3f}, mean θ0 {float(th[top].mean()):.3f}; "
      f"share of all spikes {float(rate[top].sum() / rate.sum().clamp(min=1e-9)):.2f}")
print(f"  corr(θ0, rate) {float(torch.corrcoef(torch.stack([th, rate]))[0, 1]):.3f}")
