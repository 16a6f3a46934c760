"""Build one model of bench_batch_vs_torch exactly as it does (calibrated, converted) for profiling probes."""
import sys, os, warnings
import numpy as np
import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
import bench_batch_vs_torch as bb  # noqa: E402


def make(name="spiking_rnn", precision="float", rate=0.1, B=256, T=100):
    from spikernn import converters
    from spikernn.hardware.fast import compile_network
    from spikernn.hardware.backends import get_backend
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(T, B, 40)
    xn = x.numpy().astype(np.float64)
    torch.manual_seed(1)
    gated = rate > 0 and name in ("spiking_lstm", "spiking_gru")
    neuron = {"neuron": "lif", "threshold": bb.GATED_THRESHOLD} if gated else {}
    model = bb.build(name, 40, 128, **neuron).eval()
    if name.startswith("spiking") and rate > 0:
        bb.calibrate(model, x[:, :32], rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = converters.to_lava(model, precision=precision, calibration_x=x[:, :64]) \
            if precision == "fixed" else converters.to_lava(model)
    plan = compile_network(net)
    fast = get_backend("fast")
    run = lambda engine="auto": fast.simulate(net, xn, plan=plan, engine=engine, workers=1)  # noqa: E731
    return model, x, xn, net, plan, run
