"""Per-phase CPU time of the fast simulator's batch path (float unless FIXED=1): engine.pre_inputs (of it blas.add_block,
K.pre_block), engine._interpret, and per-unit structure. Usage: prof.py spiking_lstm,spiking_gru,spiking_rnn [save_prefix]"""
import sys, time, warnings, os, numpy as np, torch
sys.path.insert(0, "benchmarks")
import bench_batch_vs_torch as bb
from spikernn import converters
from spikernn.hardware.fast import compile_network
from spikernn.hardware.backends import get_backend
from spikernn.hardware.compiled import engine as EN, kernels as K, blas
torch.set_num_threads(1)
fast = get_backend("fast")
torch.manual_seed(0)
x = torch.randn(100, 256, 40); xn = x.numpy().astype(np.float64)
T = {}
def wrap(mod, name, key=None):
    f = getattr(mod, name); key = key or name
    def g(*a, **k):
        t = time.process_time(); r = f(*a, **k); T[key] = T.get(key, 0) + time.process_time() - t; return r
    setattr(mod, name, g)
for n in ("pre_inputs", "_interpret", "messages", "build_unit", "_run_stepped"):
    wrap(EN, n)
wrap(blas, "add_block", "blas.add_block"); wrap(blas, "product", "blas.product"); wrap(K, "pre_block", "K.pre_block")
prec = "fixed" if os.environ.get("FIXED") else "float"
for name in sys.argv[1].split(","):
    torch.manual_seed(1)
    gated = name in ("spiking_lstm", "spiking_gru")
    model = bb.build(name, 40, 128, **({"neuron": "lif", "threshold": bb.GATED_THRESHOLD} if gated else {})).eval()
    bb.calibrate(model, x[:, :32], 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = converters.to_lava(model, precision="fixed", calibration_x=x[:, :64]) if prec == "fixed" else converters.to_lava(model)
    plan = compile_network(net)
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
