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
            "h.KINDS; h.BACKENDS; h.get_backend('fast'); h.get_backend('reference'); h.get_backend('lava'); "
            "import spikernn.hardware.kinds, spikernn.hardware.fast, spikernn.hardware.fixed_point, "
            "spikernn.hardware.placement, spikernn.hardware.synapses, spikernn.hardware.lava_runner; "
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


def _v1(name):
    from pathlib import Path

    return Path(__file__).parent / "data" / f"network_v1_{name}.safetensors"


def test_version_1_files_load_and_run_as_they_did():
    """Files written by format version 1 (tests/data, written by the code before the kinds redesign): every
    kind, one lif without a reset attribute (version 1's backends reset it to zero). They load, run to the
    outputs version 1 gave (fixed point bit for bit), and quantising the version-1 float network gives the
    version-1 fixed network again."""
    from safetensors.numpy import load_file

    from spikernn.hardware.fast import simulate_fast

    ref = load_file(str(_v1("expected")))
    net_f, net_q = Network.load(_v1("float")), Network.load(_v1("fixed"))
    assert net_f.population("b0_lif").attrs == {"reset": "zero"}  # filled in: what version 1 did
    assert net_f.population("b1_lif").attrs == {"reset": "subtract"}
    yf, _ = simulate_fast(net_f, ref["x"])
    yq, _ = simulate_fast(net_q, ref["x"])
    np.testing.assert_allclose(yf, ref["y_float"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(yq, ref["y_fixed"])
    assert (ref["y_fixed"] != 0).mean() > 0.3  # the fixture means something
    q, _ = fp.quantize(net_f, calibration_x=ref["x"])
    for p in q.populations:
        p1 = net_q.population(p.name)
        assert p.attrs == p1.attrs, p.name
        for k, v in p1.params.items():
            np.testing.assert_array_equal(p.params[k], v, err_msg=f"{p.name}.{k}")
    assert [(b.weight_exp, b.weights.tolist()) for b in q.synapses] == \
        [(b.weight_exp, b.weights.tolist()) for b in net_q.synapses]


def test_saved_files_are_version_3_and_keep_the_one_reset_default(tmp_path):
    """A population without "reset" resets by the one default (the core's) on every backend, and a version-3
    file keeps that meaning (it is not upgraded as a version-1 file would be)."""
    import json

    from safetensors import safe_open

    from spikernn.hardware.kinds import DEFAULT_RESET
    from spikernn.hardware.network import FORMAT_VERSION

    pops = [Population("x", "input", 2), Population("h", "lif", 3, {"threshold": 0.5})]
    net = Network(pops, [SynapseBlock("xh", "x", "h", "in", np.ones((3, 2)))], "x", ["h"])
    path = net.save(tmp_path / "n.safetensors")
    with safe_open(str(path), framework="numpy") as f:
        assert json.loads(f.metadata()["spikernn_network"])["version"] == FORMAT_VERSION == 3
    back = Network.load(path)
    assert back.population("h").attrs == {} and back.population("h").prepare("float").soma.reset == DEFAULT_RESET


def test_version_2_adlif_files_hold_12_bit_decays_and_load_to_the_same_bits(tmp_path):
    """Format version 2 wrote the adLIF soma's decay registers (dalpha, dbeta) with 12 fractional bits; version 3
    has 16 (kinds.soma.DECAY_Q). A version-2 file loads with them shifted and runs bit for bit as the 12-bit
    registers did: the same network with 16-bit registers that are multiples of 16 gives the same output."""
    import json

    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    from spikernn.filecheck import CHECKSUM_KEY, tensor_digest
    from spikernn.hardware.fast import simulate_fast
    from spikernn.hardware.kinds.soma import DECAY_Q, V2_DECAY_Q

    rng = np.random.default_rng(0)
    d12 = {"dalpha": rng.integers(1, 4096, 5), "dbeta": rng.integers(1, 4096, 5)}
    shift = DECAY_Q - V2_DECAY_Q
    params = {"bias": rng.integers(-2000, 2000, 5), "a": rng.integers(0, 8192, 5), "b": rng.integers(0, 9000, 5),
              "vth": rng.integers(1000, 5000, 5), **{k: v << shift for k, v in d12.items()}}
    pops = [Population("x", "input", 2, attrs={"out_frac_bits": 12}),
            Population("h", "adlif", 5, params, {"in_frac_bits": 12})]
    net = Network(pops, [SynapseBlock("xh", "x", "h", "in", rng.integers(-100, 100, (5, 2)), 0)], "x", ["h"],
                  "fixed")
    x = rng.uniform(-2, 2, (30, 3, 2))
    want, _ = simulate_fast(net, x)
    assert 0 < want.mean() < 1
    path = net.save(tmp_path / "n.safetensors")
    with safe_open(str(path), framework="numpy") as g:  # rewrite it as version 2 wrote it: 12-bit registers
        meta = dict(g.metadata())
    tensors = load_file(str(path))
    for k, v in d12.items():
        tensors[f"pop/h/{k}"] = v
    header = json.loads(meta["spikernn_network"])
    header["version"] = 2
    meta["spikernn_network"] = json.dumps(header)
    meta[CHECKSUM_KEY] = tensor_digest(tensors)
    save_file(tensors, str(tmp_path / "v2.safetensors"), metadata=meta)
    back = Network.load(tmp_path / "v2.safetensors")
    for k, v in d12.items():
        np.testing.assert_array_equal(back.population("h").params[k], v << shift)
    got, _ = simulate_fast(back, x)
    np.testing.assert_array_equal(got, want)
