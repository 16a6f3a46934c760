"""Fast-simulator CPU time (ms, median of N) of the benchmark's networks, float; optional saving of outputs for
bit comparison.  Usage: ftime.py models [N] [save_prefix] [compare_prefix]"""
import os, sys, time, statistics, numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PREC as prec, X as x, XN as xn, network
from spikernn.hardware.backends import get_backend
fast = get_backend("fast")
N = int(sys.argv[2]) if len(sys.argv) > 2 else 5
print("load", os.getloadavg()[0])
for name in sys.argv[1].split(","):
    model, net, plan = network(name)
    run = lambda: fast.simulate(net, xn, plan=plan, engine="numba", workers=1)
    out, st = run()
    ts, tt = [], []
    for _ in range(N):
        t = time.process_time(); out, st = run(); ts.append(time.process_time() - t)
        with torch.no_grad():
            t = time.process_time(); model(x); tt.append(time.process_time() - t)
    out = np.asarray(out, np.float64)
    msg = ""
    if len(sys.argv) > 4 and sys.argv[4] != "-":
        ref = np.load(f"{sys.argv[4]}_{name}_{prec}.npy")
        msg = f" bit-equal to {sys.argv[4]}: {np.array_equal(ref, out)} (max diff {np.abs(ref - out).max():.3g})"
    print(f"{name} {prec}: fast {statistics.median(ts)*1e3:.1f} ms {[round(v*1e3,1) for v in ts]}  torch {statistics.median(tt)*1e3:.1f} ms ratio {statistics.median(ts)/statistics.median(tt):.2f}{msg}", flush=True)
    if len(sys.argv) > 3 and sys.argv[3] != "-":
        np.save(f"{sys.argv[3]}_{name}_{prec}.npy", out)
