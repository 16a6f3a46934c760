"""Wrote the version-1 network fixtures in this folder, run once with the code of commit 2389455 (network
format version 1, before issue 10): `.venv/bin/python tests/data/make_network_v1_fixtures.py`. Kept for the
record; rerunning it with newer code would write newer files."""
import warnings
import numpy as np
from safetensors.numpy import save_file
from spikernn.hardware.network import Network, Population, SynapseBlock
from spikernn.hardware.fixed_point import quantize
from spikernn.hardware.fast import simulate_fast

rng = np.random.default_rng(2024)
I, H, O = 3, 3, 2
G = {"lif": 1, "spiking_lstm": 4, "spiking_gru": 3, "sd_rnn": 1, "sd_lstm": 4, "sd_gru": 3}
pops = [Population("x", "input", I)]
syn, outs = [], []
branches = [("lif", {}), ("lif", {"reset": "subtract"}), ("spiking_lstm", {"reset": "none"}),
            ("spiking_gru", {"reset": "zero"}), ("sd_rnn", {"activation": "tanh", "delta_threshold": 0.02}),
            ("sd_lstm", {}), ("sd_gru", {"delta_threshold": 0.05})]
for bi, (kind, attrs) in enumerate(branches):
    g = G[kind]
    name = f"b{bi}_{kind}"
    if kind in ("lif", "spiking_lstm", "spiking_gru"):
        p = {"decay": rng.uniform(0.6, 0.95, H), "threshold": rng.uniform(0.3, 0.8, H)}
        if bi == 1:
            p.update(adapt_decay=np.full(H, 0.9), adapt_scale=np.full(H, 0.2))
    else:
        p = {}
    if kind.endswith("gru"):
        p.update(bias_in=rng.normal(0, .3, 3 * H), bias_rec=rng.normal(0, .3, 3 * H))
    else:
        p["bias"] = rng.normal(0.05, .2, g * H)
    pops.append(Population(name, kind, H, p, dict(attrs)))
    syn.append(SynapseBlock(f"x>{name}", "x", name, "in", rng.normal(0.2, 1.0, (g * H, I))))
    syn.append(SynapseBlock(f"{name}>{name}", name, name, "rec" if kind.endswith("gru") else "in",
                            rng.normal(0, 0.5, (g * H, H))))
    ro = f"b{bi}_ro"
    pops.append(Population(ro, "readout", O, {"bias": rng.normal(0, .1, O), "decay": np.full(O, 0.7)},
                           {"input_coding": "delta"} if kind.startswith("sd_") else {}))
    syn.append(SynapseBlock(f"{name}>{ro}", name, ro, "in", rng.normal(0, .5, (O, H))))
    outs += [name, ro]
net = Network(pops, syn, "x", outs, meta={"note": "issue-10 v1 fixture"})
x = rng.normal(0.3, 1.0, (12, 2, I))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    q = quantize(net, calibration_x=x)[0]
yf, _ = simulate_fast(net, x)
yq, _ = simulate_fast(q, x)
net.save("tests/data/network_v1_float.safetensors")
q.save("tests/data/network_v1_fixed.safetensors")
save_file({"x": x, "y_float": yf, "y_fixed": yq}, "tests/data/network_v1_expected.safetensors",
          metadata={"written_by": "spikernn commit 2389455 (network format version 1), fast backend"})
print(yf.shape, yq.shape, (yq != 0).mean(), np.abs(yf).max())
