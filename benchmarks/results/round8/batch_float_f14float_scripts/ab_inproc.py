"""A/B of two versions of hardware/compiled/kernels.py in ONE process, runs interleaved (robust to the shared
machine's load): engine.K is switched between this checkout's kernels and a base file loaded under another module
name. Float fast-simulator CPU time (ms) per run of the benchmark's networks; outputs compared bit for bit.
Usage: ab_inproc.py BASE_KERNELS_PY models [pairs]"""
import importlib.util, sys, time, os, statistics, numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import X as x, XN as xn, network
from spikernn.hardware.backends import get_backend
from spikernn.hardware.compiled import engine as EN, kernels as KNEW
spec = importlib.util.spec_from_file_location("kernels_base", sys.argv[1])
KBASE = importlib.util.module_from_spec(spec); spec.loader.exec_module(KBASE)
fast = get_backend("fast")
pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
print("load", os.getloadavg()[0])
for name in sys.argv[2].split(","):
    model, net, plan = network(name, "float")
    def run(K):
        EN.K = K
        return np.asarray(fast.simulate(net, xn, plan=plan, engine="numba", workers=1)[0], np.float64)
    outs = {"base": run(KBASE), "new": run(KNEW)}
    ts = {"base": [], "new": [], "torch": []}
    for p in range(pairs):
        for v, K in (("base", KBASE), ("new", KNEW)) if p % 2 == 0 else (("new", KNEW), ("base", KBASE)):
            t = time.process_time(); run(K); ts[v].append(time.process_time() - t)
        with torch.no_grad():
            t = time.process_time(); model(x); ts["torch"].append(time.process_time() - t)
    med = {k: statistics.median(v) * 1e3 for k, v in ts.items()}
    ratio = statistics.median([n / b for n, b in zip(ts["new"], ts["base"])])
    print(f"{name} float: base {med['base']:.1f} ms, new {med['new']:.1f} ms (median of per-pair new/base {ratio:.3f}); "
          f"torch {med['torch']:.1f} ms -> fast/torch base {med['base']/med['torch']:.2f}, new {med['new']/med['torch']:.2f}; "
          f"outputs bit-equal: {np.array_equal(outs['base'], outs['new'])}; load {os.getloadavg()[0]:.1f}", flush=True)
