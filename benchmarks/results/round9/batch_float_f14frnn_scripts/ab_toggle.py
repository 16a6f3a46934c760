"""A/B of two settings of the float batch path in ONE process, runs interleaved (robust to the shared machine's
load): variant "off" / "on" set by VARIANTS below. Fast-simulator CPU time (ms) per run of the benchmark's networks
(batch 256, T=100, 1 thread) and torch's no-grad forward in the same loop; outputs compared (spikes equal, max
analog difference). Usage: ab_toggle.py VARIANT models [pairs]"""
import sys, time, os, statistics, numpy as np, torch
sys.path.insert(0, os.path.join("benchmarks", "results", "round8", "batch_float_f14float_scripts"))  # its common.py
from common import X as x, XN as xn, network
from spikernn.hardware.backends import get_backend
from spikernn.hardware.compiled import blas, engine as EN

def tiles(on):
    blas.TILE_SOURCES = 64 if on else 0

def direct(on):
    EN.DIRECT_SPIKES = on

from spikernn.hardware.compiled import layout as LA
_twin = LA.f32_twin

def f64w(on):  # on: no float32 twin (column sums read the float64 weights)
    f = (lambda w: np.zeros(0, np.float32)) if on else _twin
    LA.f32_twin = EN.f32_twin = f

VARIANTS = {"tiles": tiles, "direct": direct, "f64w": f64w}
fast = get_backend("fast")
setv = VARIANTS[sys.argv[1]]
pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
print("load", os.getloadavg()[0])
for name in sys.argv[2].split(","):
    model, net, plan = network(name, "float")
    def run(on):
        setv(on)
        return np.asarray(fast.simulate(net, xn, plan=plan, engine="numba", workers=1)[0], np.float64)
    outs = {"off": run(False), "on": run(True)}
    ts = {"off": [], "on": [], "torch": []}
    for p in range(pairs):
        for v in (("off", "on") if p % 2 == 0 else ("on", "off")):
            t = time.process_time(); run(v == "on"); ts[v].append(time.process_time() - t)
        with torch.no_grad():
            t = time.process_time(); model(x); ts["torch"].append(time.process_time() - t)
    med = {k: statistics.median(v) * 1e3 for k, v in ts.items()}
    ratio = statistics.median([n / b for n, b in zip(ts["on"], ts["off"])])
    a, b = outs["off"], outs["on"]
    print(f"{name} float: off {med['off']:.1f} ms, on {med['on']:.1f} ms (median per-pair on/off {ratio:.3f}); "
          f"torch {med['torch']:.1f} ms -> fast/torch off {med['off']/med['torch']:.2f}, on {med['on']/med['torch']:.2f}; "
          f"outputs equal {np.array_equal(a, b)}, max |diff| {np.abs(a - b).max():.2e}; load {os.getloadavg()[0]:.1f}",
          flush=True)
