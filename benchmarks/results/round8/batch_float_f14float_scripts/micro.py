"""The interpreter's two parts for one layer's unit, called directly (B=256, spikes at 0.1 in HIST, normal E):
recurrent port inputs (_port_inputs: binary column sums) and the gate kernel, ms per 100 steps.
Usage: micro.py spiking_lstm|spiking_gru|spiking_rnn float|fixed"""
import sys, time, warnings, numpy as np, torch
sys.path.insert(0, "benchmarks")
import bench_batch_vs_torch as bb
from spikernn import converters
from spikernn.hardware.fast import compile_network
from spikernn.hardware.compiled import engine as EN, kernels as K
torch.set_num_threads(1)
torch.manual_seed(0); x = torch.randn(100, 256, 40)
name = sys.argv[1]; prec = sys.argv[2]
torch.manual_seed(1)
gated = name in ("spiking_lstm", "spiking_gru")
model = bb.build(name, 40, 128, **({"neuron": "lif", "threshold": bb.GATED_THRESHOLD} if gated else {})).eval()
bb.calibrate(model, x[:, :32], 0.1)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    net = converters.to_lava(model, precision="fixed", calibration_x=x[:, :64]) if prec == "fixed" else converters.to_lava(model)
plan = compile_network(net)
u = EN.build_unit(plan, EN.units_of(plan, 256)[0], stepped=True)
st = EN.UnitState(u, 256)
rng = np.random.default_rng(0)
st.HIST[:] = (rng.random(st.HIST.shape) < 0.1)
E = np.zeros((1, 256, u.n_acc), u.dtype); E[:] = rng.standard_normal(E.shape) * (4096 if prec=="fixed" else 1)
MK = np.zeros((256, u.n_out), bool)
kern = {("spiking_lstm","float"): K._slstm_float, ("spiking_lstm","fixed"): K._slstm_fixed,
        ("spiking_gru","float"): K._sgru_float, ("spiking_gru","fixed"): K._sgru_fixed,
        ("spiking_rnn","float"): K._lif_float, ("spiking_rnn","fixed"): K._lif_fixed}[(name, prec)]
j = 0 if u.POP[0, K.K_KIND] != K.INPUT else 1
print("pops", u.POP.shape[0], "j", j, "blocks", u.BLK.shape[0], "W8", u.W8.dtype, u.W8.size, "W", u.W.size)
OUT = st.HIST[0].copy()
for f, lab in ((lambda: K._port_inputs(j, 1, 0, u.POP, u.BLK, u.W, u.W8, st.ACC, st.TMP, st.T32, st.IDX, st.HIST, E), "port_inputs"),
               (lambda: kern(j, u.POP, u.P, st.ST, st.ACC, OUT, MK), "kind kernel")):
    f()
    ts = []
    for _ in range(3):
        t = time.process_time()
        for _ in range(100): f()
        ts.append(time.process_time() - t)
    print(name, prec, lab, "ms per 100 steps", round(min(ts) * 1e3, 1), [round(v*1e3,1) for v in ts])
