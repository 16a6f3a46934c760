"""Round 8 diagnostic (helper f17rnn, issue 17): which SpikingRNN neurons carry the firing rate in the plain recipe.
Trains with the harness's own ``run_one`` path (``build`` + ``train_plain``, same seeding) on the val split (80 % of
the training split; the test split is never read), then prints per-neuron rate on the 20 % hold-out against the
trained b, α (as τ_u), a and θ0, and the rate carried by each b / θ0 quantile.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/results/round8/screen/f17rnn_diag.py DATA SEED [KEY=VAL ...]
"""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
import bench_accuracy as B  # noqa: E402
import spikernn as snr  # noqa: E402
from spikernn.neurons import soma_params  # noqa: E402

torch.set_num_threads(1)
name, seed = sys.argv[1], int(sys.argv[2])
neuron = B.parse_kv(sys.argv[3:])
setting = B.DATASETS[name]
train, _test = snr.datasets.load(name, **dict(setting.options))
del _test  # never read
train, val = train.holdout(0.2, seed=0)
torch.manual_seed(seed)
net = B.build("snn_rnn", "plain", train, 128, neuron)
rnn = net.rnn
sp0 = soma_params(rnn, rnn._suffix(0, False), rnn.neuron_options)
b0 = sp0.b.detach().clone()
B.train_plain(net, train, setting.epochs, seed)
ev = B.evaluate(net, val)
net.eval()
with torch.no_grad():
    tot = torch.zeros(128)
    steps = 0.0
    for i in range(0, len(val), 256):
        L = val.lengths[i:i + 256]
        x = val.x[i:i + 256, : int(L.max())]
        out, _ = rnn(x)
        m = B.valid_mask(L, x.shape[1])
        tot += (out * m).sum((0, 1))
        steps += float(m.sum())
    r = tot / steps
sp = soma_params(rnn, rnn._suffix(0, False), rnn.neuron_options)
q = float(rnn.neuron_options.adapt_gain)
b, a, th = sp.b / q, sp.a / q, sp.threshold
tau = -1.0 / torch.log(sp.alpha)
print(f"{name} seed {seed} neuron {neuron}: val acc {100 * ev['accuracy']:.2f} rate {ev['firing_rate']:.3f}")
print(f"b moved: mean |b - b_init| {float((b - b0 / q).detach().abs().mean()):.3f}, max {float((b - b0 / q).detach().abs().max()):.3f}")
print(f"theta0: min {float(th.min()):.3f} median {float(th.median()):.3f} max {float(th.max()):.3f}")
print(f"silent neurons (rate < 1e-3): {int((r < 1e-3).sum())}/128; rate > 0.5: {int((r > 0.5).sum())}")
o = torch.argsort(r, descending=True)
share = torch.cumsum(r[o], 0) / r.sum()
print(f"top 10 / 25 / 50 neurons carry {float(share[9]):.2f} / {float(share[24]):.2f} / {float(share[49]):.2f} of the spikes")
for lo, hi in ((0, .25), (.25, .5), (.5, 1), (1, 1.5), (1.5, 2), (2, 4), (4, 8), (8, 100)):
    s = (b >= lo) & (b < hi)
    if s.any():
        print(f"  b in [{lo}, {hi}): {int(s.sum()):3d} neurons, mean rate {float(r[s].mean()):.3f}")
for lo, hi in ((0, 10), (10, 25), (25, 50), (50, 101)):
    s = (tau >= lo) & (tau < hi)
    if s.any():
        print(f"  tau_u in [{lo}, {hi}): {int(s.sum()):3d} neurons, mean rate {float(r[s].mean()):.3f}")
print("top 12 neurons: rate b a theta0 tau_u")
for k in o[:12]:
    print(f"  {float(r[k]):.3f} {float(b[k]):.2f} {float(a[k]):.2f} {float(th[k]):.2f} {float(tau[k]):.1f}")
