"""Per-phase CPU time of one fast run (compiled engine): wraps the kernels the engine calls with timers.
python phases.py [name] [precision] [runs]"""
import sys, os, time, collections
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from setup_model import make
import torch
import numpy as np

name = sys.argv[1] if len(sys.argv) > 1 else "spiking_rnn"
prec = sys.argv[2] if len(sys.argv) > 2 else "float"
n = int(sys.argv[3]) if len(sys.argv) > 3 else 10
engine = sys.argv[4] if len(sys.argv) > 4 else "auto"
if os.environ.get("F14F_MALLOPT"):
    from spikernn.fused import _tune_malloc
    print("mallopt", _tune_malloc())
model, x, xn, net, plan, run0 = make(name, prec)
run = lambda: run0(engine)  # noqa: E731
run(); run()
from spikernn.hardware.compiled import kernels as K, engine as EN, blas, intmm
acc = collections.Counter(); cnt = collections.Counter()
def wrap(mod, attr, label=None):
    f = getattr(mod, attr)
    lab = label or f"{mod.__name__.split('.')[-1]}.{attr}"
    def g(*a, **k):
        t = time.process_time()
        try:
            return f(*a, **k)
        finally:
            acc[lab] += time.process_time() - t; cnt[lab] += 1
    setattr(mod, attr, g)
for attr in ("run_float", "run_fixed", "graded_rows", "pre_spikes_set", "pre_block", "pre_block8"):
    if hasattr(K, attr): wrap(K, attr)
wrap(EN, "pre_inputs"); wrap(EN, "messages"); wrap(blas, "product"); wrap(intmm, "product"); wrap(intmm, "add_block")
wrap(EN, "execute")
from spikernn.hardware.backends import base as BB
from spikernn.hardware.fast import backend as FB
wrap(FB.FastBackend, "encode", "FastBackend.encode")
from spikernn.hardware import stats as S
if hasattr(S, "count_activity"): wrap(S, "count_activity")
tot = 0.0; tt = 0.0
for _ in range(n):
    t = time.process_time(); run(); tot += time.process_time() - t
    t = time.process_time()
    with torch.no_grad(): model(x)
    tt += time.process_time() - t
print(f"{name} {prec} engine {engine}: whole run {tot/n*1e3:.1f} ms, torch {tt/n*1e3:.1f} ms, ratio {tot/tt:.2f}; load {os.getloadavg()[0]:.2f}")
for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
    print(f"  {k:28s} {v/n*1e3:8.2f} ms/run  calls/run {cnt[k]/n:.0f}")
