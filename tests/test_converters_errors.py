"""Unsupported inputs give errors naming them; fixed-point saturation warns; convert_file round trip."""
import json
import warnings

import numpy as np
import pytest
import torch

from spikernn.converters import convert_file, to_lava, verify
from spikernn.converters.files import load_model, save_dense
from spikernn.hardware.network import Network
from spikernn.layers import SpikingLSTM, SpikingRNN


def test_proj_size_refused():
    with pytest.raises(ValueError, match="proj_size"):
        to_lava(torch.nn.LSTM(3, 6, proj_size=2))


def test_unknown_modules_refused():
    with pytest.raises(TypeError, match="Conv1d"):
        to_lava(torch.nn.Conv1d(3, 4, 2))
    with pytest.raises(TypeError, match="RNNCell"):
        to_lava(torch.nn.RNNCell(3, 4))

    class Odd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(3, 4)
            self.head = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.LayerNorm(2))

        def forward(self, x):
            return self.head(self.rnn(x)[0])

    # the error names the module type, its path and the user's source line
    with pytest.raises(TypeError, match=r"LayerNorm \(module 'head.1'\).*test_converters_errors.py.*self.head"):
        to_lava(Odd())


def test_bad_options_refused():
    with pytest.raises(ValueError, match="precision"):
        to_lava(torch.nn.GRU(2, 3), precision="int4")
    with pytest.raises(ValueError, match="threshold"):
        to_lava(torch.nn.GRU(2, 3), threshold=-0.1)
    with pytest.raises(ValueError, match="dense models"):
        to_lava(SpikingRNN(2, 3), threshold=0.1)
    # NaN / inf thresholds would make the network silently never send (or never stop sending) events
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            to_lava(torch.nn.GRU(2, 3), threshold=bad)
        with pytest.raises(ValueError, match="finite"):
            to_lava(torch.nn.GRU(2, 3), input_threshold=bad)


class _RateEncoder(torch.nn.Module):
    def forward(self, x):
        return torch.bernoulli(x.clamp(0, 1))


class _Clf(torch.nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.rnn = SpikingLSTM(3, 4, batch_first=True)
        self.readout = torch.nn.Linear(4, 2)

    def forward(self, x):
        s, _ = self.rnn(x if self.encoder is None else self.encoder(x))
        return self.readout(s[:, -1])


def test_spike_generating_encoder_refused():
    with pytest.raises(ValueError, match="_RateEncoder"):
        to_lava(_Clf(_RateEncoder()))
    net = to_lava(_Clf(None))  # direct current: accepted
    assert net.population("input").attrs["encoding"] == "value"


def test_fixed_point_saturation_warns_with_error():
    m = SpikingRNN(2, 3, threshold=0.5).eval()
    with torch.no_grad():
        m.weight_hh_l0[0, 1] = 3e4
    with pytest.warns(RuntimeWarning, match=r"saturated.*max abs error"):
        net = to_lava(m, "fixed", input_range=1.0)
    assert net.precision == "fixed"
    assert net.meta["quantization"]["weights"]["l0->l0"]["saturated"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a normal model quantises without warnings
        to_lava(SpikingRNN(2, 3).eval(), "fixed", input_range=1.0)


def test_fixed_point_spiking_and_dense_close():
    torch.manual_seed(0)
    s = SpikingLSTM(3, 6, threshold=0.3).eval()
    x = torch.randn(8, 4, 3) * 2
    r = verify(s, to_lava(s, "fixed", calibration_x=x), x)
    assert r.precision == "fixed" and r.agreement > 0.97
    d = torch.nn.GRU(3, 5).eval()
    r = verify(d, to_lava(d, "fixed", calibration_x=x), x)
    assert r.max_abs_error < 0.02


def test_convert_file_dense_and_spiking(tmp_path):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True).eval()
    save_dense(lstm, tmp_path / "lstm.safetensors")
    x = torch.randn(4, 6, 3)
    summary = convert_file(tmp_path / "lstm.safetensors", tmp_path / "lstm.net", precision="float",
                           check_data=(x, None))
    json.dumps(summary)
    assert summary["verification"]["max_abs_error"] < 1e-5
    net = Network.load(tmp_path / "lstm.net")
    assert (net.run(x) - lstm(x)[0]).abs().max() < 1e-5
    # pickles are refused, never loaded
    torch.save(lstm, tmp_path / "m.pt")
    with pytest.raises(ValueError, match="pickle"):
        load_model(tmp_path / "m.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(Exception):
        load_model(tmp_path / "junk.safetensors")


def test_convert_file_spikernn_model(tmp_path):
    import spikernn as snr

    save = getattr(snr, "save", None) or pytest.importorskip("spikernn.io").save
    torch.manual_seed(0)
    m = SpikingRNN(3, 5, threshold=0.4).eval()
    save(m, tmp_path / "m.safetensors")
    x = torch.randn(7, 2, 3) * 2
    s = convert_file(tmp_path / "m.safetensors", tmp_path / "m.net", precision="fixed", check_data=(x, None))
    assert s["precision"] == "fixed" and s["verification"]["agreement"] > 0.95
    assert np.isfinite(s["verification"]["events_per_inference"])


def test_convert_file_spikernn_classifier_with_dataset_check(tmp_path):
    from spikernn.io import save
    from spikernn.models import DenseSequenceClassifier

    torch.manual_seed(0)
    m = DenseSequenceClassifier("gru", 12, 6, 9).eval()
    save(m, tmp_path / "clf.safetensors")
    s = convert_file(tmp_path / "clf.safetensors", tmp_path / "clf.net", threshold=0.0, check_data="japanese_vowels")
    v = s["verification"]
    assert v["batch"] == 370 and v["agreement"] == 1.0 and v["max_abs_error"] < 1e-5
    assert Network.load(tmp_path / "clf.net").meta["output"] == "last_step"
