"""Per-phase CPU time of the fast simulator's batch path (float unless FIXED=1): engine.pre_inputs (of it blas.add_block,
K.pre_block), engine._interpret, and per-unit structure. Usage: prof.py spiking_lstm,spiking_gru,spiking_rnn [save_prefix]"""
import os, sys, time, numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PREC as prec, XN as xn, network
from spikernn.hardware.backends import get_backend
from spikernn.hardware.compiled import engine as EN, kernels as K, blas
fast = get_backend("fast")
T = {}
def wrap(mod, name, key=None):
    f = getattr(mod, name); key = key or name
    def g(*a, **k):
        t = time.process_time(); r = f(*a, **k); T[key] = T.get(key, 0) + time.process_time() - t; return r
    setattr(mod, name, g)
for n in ("pre_inputs", "_interpret", "messages", "build_unit", "_run_stepped"):
    wrap(EN, n)
wrap(blas, "add_block", "blas.add_block"); wrap(blas, "product", "blas.product"); wrap(K, "pre_block", "K.pre_block")
for name in sys.argv[1].split(","):
    model, net, plan = network(name)
    run = lambda: fast.simulate(net, xn, plan=plan, engine="numba", workers=1)
    out, st = run()
    for g in EN.units_of(plan, 256):
        u = EN.build_unit(plan, g, stepped=True)
        print(" unit", g, "pre", [(pb.blk.name, pb.blk.graded) for pb in u.pre], "stepped", [(sb.blk.name, sb.blk.graded) for sb in u.stepped], "live", u.BLK.shape[0])
    T.clear()
    ts = []
    for _ in range(3):
        t = time.process_time(); out, st = run(); ts.append(time.process_time() - t)
    print(name, prec, "total ms", [round(v*1e3,1) for v in ts], {k: round(v/3*1e3,1) for k, v in T.items()}, flush=True)
    if len(sys.argv) > 2:
        np.save(f"{sys.argv[2]}_{name}_{prec}.npy", np.asarray(out, np.float64))
