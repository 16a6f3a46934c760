"""Float converted dense LSTM/GRU (batch 256, T=100, 1 thread): whole-run CPU time of the compiled and the numpy
engine, interleaved in ONE process, the probe's choice and costs at several PROBE_STEPS, the float64 GEMMs alone
(the run's products: input 40 -> 4H and layer 1's 128 -> 4H over all steps, the recurrent 128 -> 4H per step) and
torch's float32 forward. Usage: dense_engines.py dense_lstm,dense_gru [pairs]"""
import sys, os, time, statistics, warnings, numpy as np, torch
sys.path.insert(0, "benchmarks")
import bench_batch_vs_torch as bb
from spikernn import converters
from spikernn.hardware.backends import get_backend
from spikernn.hardware.fast import compile_network, backend as fb
torch.set_num_threads(1)
fast = get_backend("fast")
pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
torch.manual_seed(0)
x = torch.randn(100, 256, 40); xn = x.numpy().astype(np.float64)
pt = time.process_time
print("load", os.getloadavg()[0])
for name in sys.argv[1].split(","):
    torch.manual_seed(1)
    model = bb.build(name, 40, 128).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = converters.to_lava(model)
    plan = compile_network(net)
    run = lambda e: fast.simulate(net, xn, plan=plan, engine=e, workers=1)
    run("numba"); run("numpy")
    ts = {"numba": [], "numpy": [], "torch": []}
    for p in range(pairs):
        for e in (("numba", "numpy") if p % 2 == 0 else ("numpy", "numba")):
            t = pt(); run(e); ts[e].append(pt() - t)
        with torch.no_grad():
            t = pt(); model(x); ts["torch"].append(pt() - t)
    med = {k: statistics.median(v) * 1e3 for k, v in ts.items()}
    print(f"{name} float whole runs: compiled {med['numba']:.1f} ms, numpy {med['numpy']:.1f} ms, torch {med['torch']:.1f} ms"
          f" (compiled/torch {med['numba']/med['torch']:.2f}, numpy/torch {med['numpy']/med['torch']:.2f}); load {os.getloadavg()[0]:.1f}", flush=True)
    for steps in (12, 25, 40):
        fb.PROBE_STEPS = steps
        fb.ENGINE_CHOICE.clear()
        run("auto")
        (eng, cn, cp), = fb.ENGINE_CHOICE.values()
        print(f"   probe {steps:3d} steps: picks {'compiled' if eng == 'auto' else 'numpy'} (compiled {cn*1e3:.1f} ms, numpy {cp*1e3:.1f} ms; ratio {cn/cp:.3f})", flush=True)
    fb.PROBE_STEPS = 12
    # the float64 GEMMs alone, as the run makes them (G gates x 128)
    G = 4 if "lstm" in name else 3
    H = 128
    A = torch.randn(25600, 40, dtype=torch.float64); W0 = torch.randn(40, G * H, dtype=torch.float64)
    A1 = torch.randn(25600, H, dtype=torch.float64); W1 = torch.randn(H, G * H, dtype=torch.float64)
    R = torch.randn(256, H, dtype=torch.float64); WR = torch.randn(H, G * H, dtype=torch.float64)
    out0 = torch.empty(25600, G * H, dtype=torch.float64); outR = torch.empty(256, G * H, dtype=torch.float64)
    def gemms():
        for c in range(0, 25600, 2048):
            torch.mm(A[c:c + 2048], W0, out=out0[c:c + 2048]); torch.mm(A1[c:c + 2048], W1, out=out0[c:c + 2048])
        for _ in range(200):
            torch.mm(R, WR, out=outR)
    g = []
    for _ in range(3):
        t = pt(); gemms(); g.append(pt() - t)
    print(f"   float64 GEMMs alone (input + layer-1 input over all steps, 2 x 100 recurrent): {min(g)*1e3:.1f} ms = "
          f"{min(g)*1e3/med['torch']:.2f} x torch's float32 forward", flush=True)
