"""CPU time of the parts of one float run (batch 256, T=100) in ONE process, interleaved: per unit, pre_inputs over
the run's chunks and the interpreter over all steps (engine.execute's own loop, re-created), and inside the
interpreter the recurrent port inputs and the kind kernel called alone (100 calls on the unit's state).
Usage: parts.py model [reps]"""
import sys, os, time, statistics, numpy as np
sys.path.insert(0, os.path.join("benchmarks", "results", "round8", "batch_float_f14float_scripts"))  # its common.py
from common import XN as xn, network
from spikernn.hardware.backends import get_backend
from spikernn.hardware.backends.base import Encoded
from spikernn.hardware.compiled import engine as EN, kernels as K
name = sys.argv[1]; reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
model, net, plan = network(name, "float")
fast = get_backend("fast")
rec = {}
orig_pre, orig_int = EN.pre_inputs, EN._interpret
def timed(key, f):
    def g(unit, *a, **k):
        t = time.process_time(); r = f(unit, *a, **k)
        rec.setdefault((key, tuple(unit.names)), []).append(time.process_time() - t); return r
    return g
EN.pre_inputs = timed("pre", orig_pre); EN._interpret = timed("interp", orig_int)
tot = []
for _ in range(reps):
    rec_run = {}
    t = time.process_time(); fast.simulate(net, xn, plan=plan, engine="numba", workers=1); tot.append(time.process_time() - t)
print(name, "total", round(statistics.median(tot) * 1e3, 1), "ms; load", os.getloadavg()[0])
for k, v in rec.items():
    print("  ", k[0], "unit", k[1], round(sum(v) / reps * 1e3, 2), "ms per run")
# the interpreter's parts for each layer's unit, 100 calls on a unit state with HIST from the real spikes' rate
for g in EN.units_of(plan, 256):
    u = EN.build_unit(plan, g, stepped=True)
    st, rng = EN.UnitState(u, 256), np.random.default_rng(0)
    st.HIST[:] = rng.random(st.HIST.shape) < 0.15
    E = rng.standard_normal((1, 256, u.n_acc))
    MK = np.zeros((256, u.n_out), bool)
    kind = {K.LIF: "_lif", K.SLSTM: "_slstm", K.SGRU: "_sgru", K.ADLIF: "_adlif"}[int(u.POP[0, K.K_KIND])]
    kern = getattr(K, f"{kind}_float")
    OUT = st.HIST[0].copy()
    for f, lab in ((lambda: K._port_inputs(0, 1, 0, u.POP, u.BLK, u.W, u.W8, st.ACC, st.TMP, st.T32, st.IDX, st.HIST, E), "port_inputs"),
                   (lambda: kern(0, u.POP, u.P, st.ST, st.ACC, OUT, MK), "kind kernel")):
        f(); ts = []
        for _ in range(reps):
            t = time.process_time()
            for _ in range(100): f()
            ts.append(time.process_time() - t)
        print("  ", g, lab, round(min(ts) * 1e3, 2), "ms per 100 steps")
