"""The interpreter's two parts for one layer's unit, called directly (B=256, spikes at 0.1 in HIST, normal E):
recurrent port inputs (_port_inputs: binary column sums) and the gate kernel, ms per 100 steps.
Usage: micro.py spiking_lstm|spiking_gru|spiking_rnn float|fixed"""
import os, sys, time, numpy as np
sys.path.insert(0, os.path.join("benchmarks", "results", "round8", "batch_float_f14float_scripts"))
from common import network
from spikernn.hardware.compiled import engine as EN, kernels as K
name = sys.argv[1]; prec = sys.argv[2]
model, net, plan = network(name, prec)
u = EN.build_unit(plan, EN.units_of(plan, 256)[0], stepped=True)  # layer 0's unit
st, rng = EN.UnitState(u, 256), np.random.default_rng(0)
st.HIST[:] = rng.random(st.HIST.shape) < 0.1  # spikes at rate 0.1 from every source
E = rng.standard_normal((1, 256, u.n_acc)).astype(u.dtype) if prec == "float" else \
    (rng.standard_normal((1, 256, u.n_acc)) * 4096).astype(u.dtype)
MK = np.zeros((256, u.n_out), bool)
KIND = {"spiking_lstm": "_slstm", "spiking_gru": "_sgru", "spiking_rnn": "_lif"}
kern = getattr(K, f"{KIND[name]}_{prec}")
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
