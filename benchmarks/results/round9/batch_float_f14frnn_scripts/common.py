"""The benchmark's input and networks for this record's scripts (bench_batch_vs_torch's construction)."""
import os, sys, warnings
import numpy as np
import torch

sys.path.insert(0, "benchmarks")
import bench_batch_vs_torch as bb  # noqa: E402
from spikernn import converters  # noqa: E402
from spikernn.hardware.fast import compile_network  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
X = torch.randn(100, 256, 40)
XN = X.numpy().astype(np.float64)
PREC = "fixed" if os.environ.get("FIXED") else "float"


def network(name: str, prec: str = PREC):
    """(torch model calibrated to output rate 0.1, converted network, its fast plan)."""
    torch.manual_seed(1)
    gated = name in ("spiking_lstm", "spiking_gru")
    model = bb.build(name, 40, 128, **({"neuron": "lif", "threshold": bb.GATED_THRESHOLD} if gated else {})).eval()
    bb.calibrate(model, X[:, :32], 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = converters.to_lava(model, precision="fixed", calibration_x=X[:, :64]) if prec == "fixed" \
            else converters.to_lava(model)
    return model, net, compile_network(net)
