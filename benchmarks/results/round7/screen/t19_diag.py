"""F (in_frac_bits) and the peak jump q·b of the converted SpikingRNN population: default vs θ0 0.6, b [0, 12]."""
import sys
sys.path.insert(0, "benchmarks")
import numpy as np, torch
torch.set_num_threads(1)
import spikernn.neurons as N
import bench_conversion_japanese_vowels as B
from spikernn.converters import to_lava
ds = B.load_jv()
base_r, base_t = dict(N.CELL_RANGES[("rnn", "adlif")]), dict(N.CELL_THRESHOLD)
for tag, b, th in (("default", None, None), ("b12_th06", (0.0, 12.0), 0.6)):
    N.CELL_RANGES[("rnn", "adlif")] = {**base_r, **({"b": b} if b else {})}
    N.CELL_THRESHOLD.clear(); N.CELL_THRESHOLD.update(base_t)
    if th: N.CELL_THRESHOLD[("rnn", "adlif")] = th
    m = B.build("rnn", False, ds, 64, seed=0, readout_decay=0.8)
    B.train(m, ds, 60, lr=5e-3, seed=0)
    for prec in ("float", "fixed"):
        net = to_lava(m, prec, calibration_x=ds.train.x)
        for p in net.populations:
            if p.spec.name == "adlif":
                pr = p.params
                print(tag, prec, p.name, "in_frac_bits", p.attrs.get("in_frac_bits"),
                      "peak b", float(np.max(np.abs(pr["b"]))), "peak a", float(np.max(np.abs(pr["a"]))),
                      "vth max", float(np.max(pr.get("vth", pr.get("threshold")))))
