"""Round 7 diagnostic of the plain-recipe SpikingGRU on the spoken words (issue 17): the harness's own training
(``bench_accuracy.run_one`` + ``train_plain``: same seeding, same batches), on the TRAINING split only (the test
split is never read), with per-epoch logging: mean and max batch loss, the largest gradient norm, train
accuracy and firing rate every 5 epochs, and at the end the trained α / b / a of the layer.

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/results/round7/diag_tts_gru.py SEED [val] [KEY=VAL ...]

``val``: train on the harness's val split (80 % of the training split) instead of the whole training split.
"""
import math
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import bench_accuracy as B  # noqa: E402
import spikernn as snr  # noqa: E402
from spikernn.neurons import soma_params  # noqa: E402

torch.set_num_threads(1)
seed = int(sys.argv[1])
use_val = "val" in sys.argv[2:]
neuron = B.parse_kv([a for a in sys.argv[2:] if "=" in a])
name = "tts_words"
setting = B.DATASETS[name]
train, _test = snr.datasets.load(name, **dict(setting.options))
del _test  # never read
if use_val:
    train, _ = train.holdout(0.2, seed=0)
print(f"seed {seed}, neuron {neuron}, train {tuple(train.x.shape)}", flush=True)
torch.manual_seed(seed)  # as run_one
net = B.build("snn_gru", "plain", train, 128, neuron)
opt = torch.optim.Adam(net.parameters(), lr=3e-3)
g = torch.Generator().manual_seed(seed)  # as train_plain
bs = 32
for epoch in range(setting.epochs):
    net.train()
    perm = torch.randperm(len(train), generator=g)
    losses, gmax = [], 0.0
    for i in range(0, len(perm), bs):
        j = perm[i:i + bs]
        L = train.lengths[j]
        x = train.x[j, : int(L.max())]
        loss = nn.functional.cross_entropy(net(x, L), train.y[j])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in net.parameters() if p.grad is not None))
        gmax = max(gmax, gn)
        opt.step()
        losses.append(float(loss))
    line = (f"epoch {epoch + 1:2d} loss mean {sum(losses) / len(losses):.3f} max {max(losses):.3f} "
            f"grad-norm max {gmax:.3g}")
    if (epoch + 1) % 5 == 0 or epoch == 0:
        ev = B.evaluate(net, train)
        line += f"  train acc {100 * ev['accuracy']:.1f} rate {ev['firing_rate']:.3f}"
    print(line, flush=True)
rnn = net.rnn
sp = soma_params(rnn, rnn._suffix(0, False), rnn.neuron_options)
for k in ("alpha", "beta", "a", "b"):
    v = getattr(sp, k).detach().flatten()
    q = torch.quantile(v, torch.tensor([.1, .5, .9]))
    print(f"  {k}: mean {float(v.mean()):.3g} min {float(v.min()):.3g} max {float(v.max()):.3g} "
          f"q10/50/90 {' '.join(f'{float(t):.3g}' for t in q)}")
