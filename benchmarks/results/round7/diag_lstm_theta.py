"""Round 7 diagnostic (from round7/diag_lstm_theta.py; adds the θ0 distribution and θ0 against the per-neuron rate) of the plain-recipe SpikingLSTM (issue 17), adapted from ``round5/diag_gru.py``: train the
plain recipe on the val split of one data set (seed from SEED=, default 0) and print, every few epochs, loss,
train/val accuracy and firing rate, then gradient norms and the trained layer's per-neuron statistics.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/results/round7/diag_lstm_theta.py plaid [snn_lstm|lstm] [KEY=VAL ...]
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import bench_accuracy as B  # noqa: E402
import spikernn as snr  # noqa: E402
from spikernn.neurons import soma_params  # noqa: E402

torch.set_num_threads(1)
name = sys.argv[1]
model = sys.argv[2] if len(sys.argv) > 2 and "=" not in sys.argv[2] else "snn_lstm"
kv = B.parse_kv([a for a in sys.argv[2:] if "=" in a])
seed = int(kv.pop("SEED", 0))
epochs_override = kv.pop("EPOCHS", None)
setting = B.DATASETS[name]
epochs = int(epochs_override or setting.epochs)
train, val = snr.datasets.load(name, **dict(setting.options))
train, val = train.holdout(0.2, seed=0)
torch.manual_seed(seed)
net = B.build(model, "plain", train, 128, kv)
grads = {}
for n, p in net.named_parameters():  # gradient norms of every step, read in backward (the plain recipe has no clipping)
    p.register_hook(lambda gr, n=n: grads.setdefault(n, []).append(float(gr.norm())))
print(f"{name} {model} {kv} seed {seed}: train {len(train)} val {len(val)}; init val rate "
      f"{B.evaluate(net, val)['firing_rate'] or 0:.3f}", flush=True)


def progress(epoch: int, loss: float) -> None:
    if epoch % max(1, epochs // 10) == 0:
        a_tr, a_va = B.evaluate(net, train), B.evaluate(net, val)
        net.train()
        print(f"epoch {epoch} loss {loss:.3f} train {100 * a_tr['accuracy']:.1f} val {100 * a_va['accuracy']:.1f}"
              f" rate {a_tr['firing_rate'] or 0:.3f}", flush=True)


net.train()
B.train_plain(net, train, epochs, seed, progress=progress)  # the harness's own plain loop (Adam 3e-3, batch 32)
print("grad norm (median over steps, first -> last quarter):")
for n, v in grads.items():
    q = max(1, len(v) // 4)
    print(f"  {n}: {sorted(v[:q])[q // 2]:.3g} -> {sorted(v[-q:])[q // 2]:.3g}")
if model not in B.SPIKING:
    raise SystemExit
rnn = net.rnn
with torch.no_grad():
    net.eval()
    out, _ = rnn(val.x)
    m = B.valid_mask(val.lengths, val.x.shape[1])
    rate = (out * m).sum((0, 1)) / m.sum()
    print(f"val: rate {float(rate.mean()):.3f}, silent neurons {int((rate == 0).sum())}/{rate.numel()}; per-neuron rate "
          f"quantiles 10/50/90 %: " + " ".join(f"{float(q):.3f}" for q in torch.quantile(rate, torch.tensor([.1, .5, .9]))))
    sp = soma_params(rnn, rnn._suffix(0, False), rnn.neuron_options)
    for k in ("alpha", "beta", "a", "b", "threshold"):
        v = getattr(sp, k, None)
        if v is not None:
            v = torch.as_tensor(v).flatten()
            extra = f" (τ_u steps: median {float((-1 / torch.log(v.clamp(1e-6, 1 - 1e-6))).median()):.2f})" if k == "alpha" else ""
            print(f"  {k}: mean {float(v.mean()):.3g} min {float(v.min()):.3g} max {float(v.max()):.3g}{extra}")
    th = torch.as_tensor(sp.threshold).flatten()
    qs = torch.tensor([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
    print("  θ0 quantiles 0/10/25/50/75/90/100 %: " + " ".join(f"{float(v):.3f}" for v in torch.quantile(th, qs)))
    for lo, hi in ((0, 0.1), (0.1, 0.2), (0.2, 0.25), (0.25, 0.3), (0.3, 0.35), (0.35, 0.5), (0.5, 10)):
        sel = (th >= lo) & (th < hi)
        if sel.any():
            print(f"  θ0 in [{lo}, {hi}): {int(sel.sum())} neurons, mean rate {float(rate[sel].mean()):.3f}, "
                  f"silent {int((rate[sel] == 0).sum())}")
    order = torch.argsort(rate, descending=True)
    top = order[: max(1, len(order) // 10)]
    print(f"  top-10 % neurons by rate: mean rate {float(rate[top].mean()):.3f}, mean θ0 {float(th[top].mean()):.3f}; "
          f"share of all spikes {float(rate[top].sum() / rate.sum().clamp(min=1e-9)):.2f}")
    print(f"  corr(θ0, rate) {float(torch.corrcoef(torch.stack([th, rate]))[0, 1]):.3f}")
