import sys, time, warnings, numpy as np, torch, os
sys.path.insert(0, "benchmarks")
import bench_batch_vs_torch as bb
from spikernn import converters
from spikernn.hardware.fast import compile_network
from spikernn.hardware.backends import get_backend
from spikernn.hardware.compiled import engine as EN, kernels as K
torch.set_num_threads(1)
fast = get_backend("fast")
torch.manual_seed(0)
x = torch.randn(100, 256, 40); xn = x.numpy().astype(np.float64)
T = {}
exec(open("/tmp/t20/pb.py").read()); T = PB
def wrap(mod, name):
    f = getattr(mod, name)
    def g(*a, **k):
        t = time.process_time(); r = f(*a, **k); T[name] = T.get(name, 0) + time.process_time() - t; return r
    setattr(mod, name, g)
for n in ("pre_inputs", "_interpret", "messages", "build_unit"):
    wrap(EN, n)
save = len(sys.argv) > 2
for name in sys.argv[1].split(","):
    torch.manual_seed(1)
    model = bb.build(name, 40, 128, neuron="lif", threshold=bb.GATED_THRESHOLD).eval()
    bb.calibrate(model, x[:, :32], 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = converters.to_lava(model)
    plan = compile_network(net)
    run = lambda: fast.simulate(net, xn, plan=plan, engine="numba", workers=1)
    out, st = run()
    units = [EN.build_unit(plan, g, stepped=True) for g in EN.units_of(plan, 256)]
    for u in units:
        print(" unit", [p for p in u.names] if hasattr(u,'names') else '', "pre", [(pb.blk.name, pb.blk.graded) for pb in u.pre], "stepped", [(sb.blk.name, sb.blk.graded) for sb in u.stepped])
    T.clear()
    ts = []
    for _ in range(3):
        t = time.process_time(); out, st = run(); ts.append(time.process_time() - t)
    print(name, "float total ms", [round(v*1e3,1) for v in ts], {k: round(v/3*1e3,1) for k, v in T.items()})
    if save:
        np.save(f"{sys.argv[2]}_{name}.npy", np.concatenate([np.asarray(v, np.float64).ravel() for k, v in sorted(out.items())]) if isinstance(out, dict) else np.asarray(out, np.float64))
    if os.environ.get("FIXED"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = converters.to_lava(model, precision="fixed", calibration_x=x[:, :64])
        plan = compile_network(net)
        run = lambda: fast.simulate(net, xn, plan=plan, engine="numba", workers=1)
        run(); T.clear(); ts = []
        for _ in range(3):
            t = time.process_time(); run(); ts.append(time.process_time() - t)
        print(name, "fixed total ms", [round(v*1e3,1) for v in ts], {k: round(v/3*1e3,1) for k, v in T.items()})
