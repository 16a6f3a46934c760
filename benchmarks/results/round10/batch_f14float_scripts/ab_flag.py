"""In-process A/B of a module flag of the compiled engine: python ab_flag.py MODULE.FLAG model precision pairs.
Alternates the flag off/on (order swapped every pair), CPU time of whole fast runs (engine numba), torch beside;
asserts the outputs equal (==: -0.0 equals 0.0) and reports the per-pair ratio on/off."""
import sys, os, time, statistics, importlib
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from setup_model import make
import numpy as np
import torch

modflag, name, prec, pairs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if os.environ.get("F14F_MALLOPT", "1") != "0":
    from spikernn.fused import _tune_malloc
    _tune_malloc()
mod, flag = modflag.rsplit(".", 1)
mod = importlib.import_module(mod)
model, x, xn, net, plan, run0 = make(name, prec)
engine = os.environ.get("F14F_ENGINE", "numba")
outs = {}
for v in (False, True):
    setattr(mod, flag, v)
    outs[v] = run0(engine)[0]
    run0(engine)
assert np.array_equal(outs[False], outs[True]), "outputs differ"
print("outputs equal (==)", "bitwise" if np.array_equal(outs[False].view(np.int64), outs[True].view(np.int64)) else "not bitwise (signs of zero)")
ts = {False: [], True: []}
tt = []
for p in range(pairs):
    for v in ((False, True) if p % 2 == 0 else (True, False)):
        setattr(mod, flag, v)
        t = time.process_time(); run0(engine); ts[v].append(time.process_time() - t)
    t = time.process_time()
    with torch.no_grad():
        model(x)
    tt.append(time.process_time() - t)
r = [b / a for a, b in zip(ts[False], ts[True])]
print(f"{modflag} {name} {prec}: off {statistics.median(ts[False]) * 1e3:.1f} ms, on {statistics.median(ts[True]) * 1e3:.1f} ms,"
      f" per-pair on/off median {statistics.median(r):.3f} (min {min(r):.3f}, max {max(r):.3f}); torch {statistics.median(tt) * 1e3:.1f} ms;"
      f" load {os.getloadavg()[0]:.2f}")
