"""Round 5 diagnostic of the plain-recipe SpikingGRU (issue 17): train on the val split of one data set and
print, every few epochs, train/val accuracy, and at the end per-neuron statistics of the trained layer:
firing rate, silent fraction, |h|, the update gate z, the membrane u relative to θ0, the adaptation current w,
and the gradient norms seen in training.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/results/round5/diag_gru.py basic_motions [KEY=VAL ...]
"""
import json
import math
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import bench_accuracy as B  # noqa: E402
import spikernn as snr  # noqa: E402
from spikernn import functional as SF  # noqa: E402
from spikernn.neurons import soma_params  # noqa: E402

torch.set_num_threads(1)
name = sys.argv[1]
model = sys.argv[2] if len(sys.argv) > 2 and "=" not in sys.argv[2] else "snn_gru"
neuron = B.parse_kv([a for a in sys.argv[2:] if "=" in a])
setting = B.DATASETS[name]
train, val = snr.datasets.load(name, **dict(setting.options))
train, val = train.holdout(0.2, seed=0)
torch.manual_seed(0)
net = B.build(model, "plain", train, 128, neuron)
grads = {}


def acc(d):
    return B.evaluate(net, d)


opt = torch.optim.Adam(net.parameters(), lr=3e-3)
g = torch.Generator().manual_seed(0)
for epoch in range(setting.epochs):
    net.train()
    perm = torch.randperm(len(train), generator=g)
    for i in range(0, len(perm), 32):
        j = perm[i:i + 32]
        L = train.lengths[j]
        loss = nn.functional.cross_entropy(net(train.x[j, : int(L.max())], L), train.y[j])
        opt.zero_grad()
        loss.backward()
        for n, p in net.named_parameters():
            if p.grad is not None:
                grads.setdefault(n, []).append(float(p.grad.norm()))
        opt.step()
    if (epoch + 1) % max(1, setting.epochs // 6) == 0:
        a_tr, a_va = acc(train), acc(val)
        print(f"epoch {epoch + 1} loss {float(loss):.3f} train {100 * a_tr['accuracy']:.1f} val {100 * a_va['accuracy']:.1f}"
              f" rate {a_tr['firing_rate'] or 0:.3f}", flush=True)
print("grad norm (median over steps, first/last quarter):")
for n, v in grads.items():
    q = max(1, len(v) // 4)
    print(f"  {n}: {sorted(v[:q])[q // 2]:.3g} -> {sorted(v[-q:])[q // 2]:.3g}")
if model != "snn_gru":
    raise SystemExit
# step-by-step on the val set with the trained weights: internal statistics
rnn = net.rnn
sp = soma_params(rnn, rnn._suffix(0, False), rnn.neuron_options)
W = rnn.weights(0)
with torch.no_grad():
    x = val.x
    Bn, T, _ = x.shape
    m = B.valid_mask(val.lengths, T).squeeze(-1)
    st = SF.zero_state("gru", (Bn,), 128)
    xp = x @ W["weight_ih"].t() + W["bias_ih"]
    S, Hs, Zs, Us, Ws = [], [], [], [], []
    for t in range(T):
        hp = st.s @ W["weight_hh"].t() + W["bias_hh"]
        z = torch.sigmoid(xp[:, t, 128:256] + hp[:, 128:256])
        v0, w0 = st.v, st.a
        s, st = SF.cell_step("gru", xp[:, t], st, W["weight_hh"], W["bias_hh"], sp, None)
        S.append(s), Hs.append(st.h), Zs.append(z), Ws.append(st.a)
        Us.append(torch.lerp(st.h - w0, v0, sp.alpha))
    S, Hs, Zs, Ws, Us = (torch.stack(v, 1) for v in (S, Hs, Zs, Ws, Us))
    mm = m.unsqueeze(-1)
    n = mm.sum((0, 1))
    rate = (S * mm).sum((0, 1)) / n
    print(f"val: rate {float(rate.mean()):.3f}, silent neurons {int((rate == 0).sum())}/128, rate>0.5 "
          f"{int((rate > 0.5).sum())}; |h| mean {float((Hs.abs() * mm).sum() / mm.sum() / 128):.3f}, "
          f"|h|>0.9 frac {float(((Hs.abs() > 0.9) * mm).sum() / mm.sum() / 128):.3f}; z mean "
          f"{float((Zs * mm).sum() / mm.sum() / 128):.3f}, z>0.9 frac {float(((Zs > 0.9) * mm).sum() / mm.sum() / 128):.3f}; "
          f"|w| mean {float((Ws.abs() * mm).sum() / mm.sum() / 128):.3f}")
    th = sp.threshold
    near = ((Us - th).abs() < th) * mm
    print(f"  u: mean {float((Us * mm).sum() / mm.sum() / 128):.3f}; |u-θ|<θ (surrogate > ~1/(1+(π)^2)) frac "
          f"{float(near.sum() / mm.sum() / 128):.3f}; u<-θ frac {float(((Us < -th) * mm).sum() / mm.sum() / 128):.3f}")
    print(f"  per-neuron rate quantiles 10/50/90 %: " + " ".join(f"{float(q):.3f}" for q in torch.quantile(rate, torch.tensor([.1, .5, .9]))))
    for k in ("alpha", "beta", "a", "b", "threshold"):
        v = getattr(sp, k)
        print(f"  {k}: mean {float(v.mean()):.3g} min {float(v.min()):.3g} max {float(v.max()):.3g}")
