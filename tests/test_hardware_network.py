"""Network description: save/load round trip, simulate() dispatch through io, lazy package imports."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from spikernn.hardware import fixed_point as fp
from spikernn.hardware.network import Network, Population, SynapseBlock

RNG = np.random.default_rng(11)


def gru_net(I=4, H=8, O=3):
    pops = [Population("x", "input", I),
            Population("g", "spiking_gru", H, {"bias_in": RNG.normal(0, .2, 3 * H), "bias_rec": RNG.normal(0, .2, 3 * H),
                                               "decay": np.full(H, .8), "threshold": np.full(H, .3)},
                       {"reset": "subtract"}),
            Population("ro", "readout", O, {"bias": RNG.normal(0, .1, O), "decay": np.full(O, .7)})]
    syn = [SynapseBlock("xg", "x", "g", "in", RNG.normal(0, 1, (3 * H, I))),
           SynapseBlock("gg", "g", "g", "rec", RNG.normal(0, .5, (3 * H, H))),
           SynapseBlock("gr", "g", "ro", "in", RNG.normal(0, .5, (O, H)))]
    return Network(pops, syn, "x", ["ro"], meta={"batch_first": True, "output": "sequence"})


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_save_load_round_trip_same_output(tmp_path, precision):
    net = gru_net()
    if precision == "fixed":
        net, _ = fp.quantize(net, input_range=3)
    x = torch.randn(2, 15, 4)  # batch_first
    y, st = net.simulate(x, backend="fast")
    assert y.shape == (2, 15, 3) and y.dtype == torch.float32
    path = net.save(tmp_path / "n.safetensors")
    net2 = Network.load(path)
    assert net2.precision == precision and net2.meta == net.meta
    y2, st2 = net2.simulate(x, backend="fast")
    assert torch.equal(y, y2)
    assert st.to_dict() == st2.to_dict()
    for p, q in zip(net.populations, net2.populations):
        assert p.attrs == q.attrs and sorted(p.params) == sorted(q.params)


def test_simulate_layouts_and_last_step():
    net = gru_net()
    x = torch.randn(15, 4, dtype=torch.float64)  # unbatched (T, I)
    y = net.run(x)
    assert y.shape == (15, 3) and y.dtype == torch.float64
    net.meta["output"] = "last_step"
    xb = torch.randn(3, 15, 4)
    y_last = net.run(xb, lengths=torch.tensor([15, 7, 3]))
    full = Network(net.populations, net.synapses, net.input, net.outputs, meta={"batch_first": True}).run(xb)
    assert torch.allclose(y_last[1], full[1, 6]) and torch.allclose(y_last[2], full[2, 2])


def test_hardware_import_is_lazy_and_lava_free():
    code = ("import sys, spikernn, spikernn.hardware as h; assert 'lava' not in sys.modules; "
            "h.Network; h.simulate_fast; h.quantize; h.place; h.annotate_hops; h.ActivityStats; "
            "import spikernn.hardware.neurons, spikernn.hardware.fast, spikernn.hardware.fixed_point, "
            "spikernn.hardware.placement, spikernn.hardware.synapses; "
            "assert 'lava' not in sys.modules and not any(m.startswith('lava.') for m in sys.modules); print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr


def test_params_of_the_wrong_shape_or_nan_are_a_clear_value_error():
    """A per-neuron param of the wrong length used to run silently when its values were uniform (the fused
    LIF path folds them into a scalar) and NaN params gave silent garbage; both now fail at construction."""
    H = 5
    syn = [SynapseBlock("xh", "x", "h", "in", RNG.normal(0, 1, (H, 3)))]

    def lif(**params):
        return Network([Population("x", "input", 3), Population("h", "lif", H, params, {"reset": "subtract"})],
                       syn, "x", ["h"])

    with pytest.raises(ValueError, match=r"param 'bias' has shape \(3,\); expected a scalar or shape \(5,\)"):
        lif(bias=np.zeros(3), decay=np.full(H, .9))
    with pytest.raises(ValueError, match="param 'decay' contains NaN"):
        lif(decay=np.full(H, np.nan))
    lif(bias=0.1, decay=np.full(H, .9), threshold=np.full(H, np.inf))  # scalars and inf are fine
    lstm = [SynapseBlock("xh", "x", "h", "in", RNG.normal(0, 1, (4 * H, 3)))]
    Network([Population("x", "input", 3), Population("h", "spiking_lstm", H, {"bias": np.zeros(4 * H)})],
            lstm, "x", ["h"])
    with pytest.raises(ValueError, match=r"expected a scalar or shape \(20,\)"):
        Network([Population("x", "input", 3), Population("h", "spiking_lstm", H, {"bias": np.zeros(H)})],
                lstm, "x", ["h"])


def test_load_of_a_file_that_is_not_safetensors_is_a_value_error(tmp_path):
    bad = tmp_path / "n.safetensors"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="not a safetensors file"):  # was safetensors' own SafetensorError
        Network.load(bad)
    with pytest.raises(FileNotFoundError):
        Network.load(tmp_path / "missing.safetensors")


def test_fractional_lengths_are_a_value_error():
    """lengths 2.7 used to be truncated to 2 silently (a wrong last step for last_step outputs)."""
    net = gru_net()
    net.meta["output"] = "last_step"
    x = torch.randn(2, 15, 4)
    with pytest.raises(ValueError, match="whole numbers"):
        net.run(x, lengths=[2.7, 15])
    assert net.run(x, lengths=torch.tensor([3.0, 15.0])).shape == (2, 3)
