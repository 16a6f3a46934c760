"""spikernn spiking layers/classifiers -> lif / spiking_lstm / spiking_gru networks: identical spikes."""
import math

import numpy as np
import pytest
import torch

from spikernn.converters import to_lava, verify
from spikernn.layers import SpikingGRU, SpikingLSTM, SpikingRNN
from spikernn.neurons import ADLIF_GAIN
from spikernn.readout import LeakyReadout

KINDS = {SpikingRNN: "lif", SpikingLSTM: "spiking_lstm", SpikingGRU: "spiking_gru"}


@pytest.mark.parametrize("cls", [SpikingRNN, SpikingLSTM, SpikingGRU], ids=lambda c: c.__name__)
@pytest.mark.parametrize("layers,bidir", [(1, False), (2, False), (1, True), (2, True)])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_spiking_identical_spikes_fast(cls, layers, bidir, reset):
    torch.manual_seed(layers + 2 * bidir)
    m = cls(3, 6, num_layers=layers, bidirectional=bidir, neuron="lif", reset=reset, threshold=0.5, decay=0.9,
            adapt_scale=0.2, adapt_decay=0.8).double().eval()
    x = torch.randn(9, 4, 3, dtype=torch.float64) * 2
    net = to_lava(m)
    assert {p.kind for p in net.populations} == {"input", KINDS[cls]}
    r = verify(m, net, x, backend="fast")
    assert r.agreement == 1.0, r.summary()
    assert r.model_output.mean() > 0.02  # the test means something: neurons do spike
    assert verify(m, net, x, backend="reference").agreement == 1.0


def test_spiking_params_copied_one_to_one():
    m = SpikingGRU(3, 4, num_layers=2, neuron="lif", decay=0.7, threshold=0.8, reset="zero")
    net = to_lava(m)
    p = net.population("l1")
    np.testing.assert_allclose(p.params["decay"], 0.7, rtol=1e-6)
    np.testing.assert_allclose(p.params["threshold"], 0.8, rtol=1e-6)
    assert p.attrs["reset"] == "zero"
    np.testing.assert_array_equal(p.params["bias_in"], m.bias_ih_l1.detach().double().numpy())
    np.testing.assert_array_equal(p.params["bias_rec"], m.bias_hh_l1.detach().double().numpy())
    w = {s.name: s for s in net.synapses}
    np.testing.assert_array_equal(w["l0->l1"].weights, m.weight_ih_l1.detach().double().numpy())
    assert w["l1->l1"].port == "rec"
    r = to_lava(SpikingRNN(3, 4))
    assert r.population("l0").params["bias"].shape == (4,)
    assert r.population("input").attrs["encoding"] == "value"


def test_batch_first_float32_layout():
    torch.manual_seed(0)
    m = SpikingLSTM(3, 5, batch_first=True, threshold=0.3).eval()
    x = torch.randn(2, 7, 3) * 2
    net = to_lava(m)
    out = net.run(x, backend="fast")
    ref = m(x)[0]
    assert out.shape == ref.shape == (2, 7, 5)
    assert (out != ref).sum() == 0


class _Classifier(torch.nn.Module):
    """A user's model: SpikingLSTM -> spikernn LeakyReadout (time first); logits at the last valid step."""

    def __init__(self):
        super().__init__()
        self.rnn = SpikingLSTM(3, 8, batch_first=True, threshold=0.3)
        self.readout = LeakyReadout(8, 4, decay=0.5)

    def forward(self, x, lengths):
        s, _ = self.rnn(x)
        y = self.readout(s.transpose(0, 1))
        return y[lengths - 1, torch.arange(x.shape[0])]


def test_spiking_classifier_readout():
    torch.manual_seed(2)
    m = _Classifier().eval()
    x = torch.randn(5, 9, 3) * 2
    lengths = torch.tensor([9, 4, 6, 9, 2])
    net = to_lava(m)
    ro = net.population("readout")
    assert ro.kind == "readout" and np.allclose(ro.params["decay"], 0.5)
    r = verify(m, net, x, lengths, backend="fast")
    assert r.output == "last_step" and r.agreement == 1.0 and r.max_abs_error < 1e-5, r.summary()


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidir,decay", [(False, 0.0), (False, 0.6), (True, 0.6)])
def test_spikernn_sequence_classifier(kind, bidir, decay):
    from spikernn.models import SpikingSequenceClassifier

    torch.manual_seed(0)
    m = SpikingSequenceClassifier(kind, 3, 8, 4, num_layers=2, bidirectional=bidir, readout_decay=decay,
                                  threshold=0.3).eval()
    x = torch.randn(5, 9, 3) * 2
    lengths = torch.tensor([9, 4, 6, 9, 2])
    net = to_lava(m)
    assert net.meta["batch_first"] is True and net.meta["output"] == "last_step"
    np.testing.assert_allclose(net.population("readout").params["decay"], decay, rtol=1e-6)
    r = verify(m, net, x, lengths, backend="fast")
    assert r.agreement == 1.0 and r.max_abs_error < 1e-4, r.summary()
    assert verify(m, net, x, lengths, backend="reference").max_abs_error < 1e-4


SPARCH = dict(adapt_gain=1.0, a_range=(-1.0, 1.0), beta_range=(math.exp(-1 / 30), math.exp(-1 / 120)))


def _adlif_model(layers, disc, reset, dtype=torch.float64, **opts):
    """A firing adLIF RNN; by default with sparch's parametrisation (unscaled a, b; beta 30-120 steps)."""
    torch.manual_seed(layers + 3)
    m = SpikingRNN(3, 6, num_layers=layers, neuron="adlif", discretisation=disc, reset=reset, threshold=0.1,
                   **(opts or SPARCH)).to(dtype)
    with torch.no_grad():  # adLIF's drive enters with the gain 1 - alpha (~0.1): stronger inputs to spike
        for name, p in m.named_parameters():
            if name.startswith("weight"):
                p.mul_(4)
    return m.eval()


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("disc", ["ef", "se"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_adlif_rnn_converts_with_identical_spikes(layers, disc, reset):
    """A SpikingRNN with the adLIF soma becomes ``adlif`` populations: torch == fast == reference in float
    (float64 model) over 100 steps, and the fixed-point network agrees with torch on most spikes."""
    m = _adlif_model(layers, disc, reset)
    x = torch.randn(100, 3, 3, dtype=torch.float64) * 2 + 0.5
    net = to_lava(m)
    assert [p.kind for p in net.populations] == ["input"] + ["adlif"] * layers
    assert net.population("l0").attrs == {"reset": reset, "discretisation": disc}
    np.testing.assert_allclose(net.population("l0").params["alpha"], m.neuron_parameters(0)["alpha"].double())
    for backend in ("fast", "reference"):
        r = verify(m, net, x, backend=backend)
        assert r.agreement == 1.0 and r.max_abs_error < 1e-6, r.summary()
    assert 0.02 < r.model_output.mean() < 0.9
    q = to_lava(m, "fixed", calibration_x=x)
    assert verify(m, q, x, backend="fast").agreement > 0.9


def test_se_adlif_rnn_with_its_defaults_converts():
    """SpikingRNN(neuron="adlif") with the adLIF defaults (SE-adLIF's ranges: a, b scaled by q, adaptation time
    constants up to 300 steps, zero reset) converts: identical spikes in float; in fixed point the 12-bit
    decays (1 - beta down to 1/300: up to 3.6 % relative error) and the q-scaled coupling move some spikes."""
    m = SpikingRNN(3, 6, num_layers=2, neuron="adlif", threshold=0.1).double()
    assert m.neuron_options.neuron == "adlif" and m.neuron_options.reset == "zero"
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("weight_ih"):
                p.mul_(4)
    m.eval()
    x = torch.randn(60, 3, 3, dtype=torch.float64) * 2 + 0.5
    net = to_lava(m)
    np.testing.assert_allclose(net.population("l0").params["b"], ADLIF_GAIN * m.b_l0.detach().double().numpy(), rtol=1e-6)
    r = verify(m, net, x, backend="fast")
    assert r.agreement == 1.0 and 0.02 < r.model_output.mean() < 0.9, r.summary()
    q = to_lava(m, "fixed", calibration_x=x)
    assert verify(m, q, x, backend="fast").agreement > 0.85


def test_adlif_float32_model_converts():
    m = _adlif_model(2, "ef", "subtract", torch.float32)
    x = torch.randn(60, 2, 3) * 2 + 0.5
    assert verify(m, to_lava(m), x, backend="fast").agreement > 0.99  # float32 torch vs float64 hardware


@pytest.mark.parametrize("cls,kind", [(SpikingLSTM, "adlif_lstm"), (SpikingGRU, "adlif_gru")],
                         ids=["lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("disc,reset", [("ef", "subtract"), ("se", "zero")])
def test_adlif_lstm_gru_convert_with_identical_spikes(cls, kind, layers, disc, reset):
    """Spiking LSTM/GRU layers with the adLIF soma become ``adlif_lstm``/``adlif_gru`` populations: torch ==
    fast == reference in float (float64 model) over 100 steps; fixed point agrees with torch on most spikes."""
    torch.manual_seed(layers)
    # adapt_gain 1: with the default q (60; SE-adLIF's 120) the second layer of this small untrained net barely fires ("se")
    m = cls(3, 6, num_layers=layers, neuron="adlif", discretisation=disc, reset=reset, threshold=0.05,
            adapt_gain=1.0).double().eval()
    x = torch.randn(100, 3, 3, dtype=torch.float64) * 2 + 0.5
    net = to_lava(m)
    assert [p.kind for p in net.populations] == ["input"] + [kind] * layers
    assert net.population("l0").attrs == {"reset": reset, "discretisation": disc}
    np.testing.assert_allclose(net.population(f"l{layers - 1}").params["b"],
                               m.neuron_parameters(layers - 1)["b"].double())
    for backend in ("fast", "reference"):
        r = verify(m, net, x, backend=backend)
        assert r.agreement == 1.0 and r.max_abs_error == 0.0, r.summary()
    assert 0.02 < r.model_output.mean() < 0.9
    q = to_lava(m, "fixed", calibration_x=x)
    assert verify(m, q, x, backend="fast").agreement > 0.9


@pytest.mark.parametrize("cls", [SpikingLSTM, SpikingGRU, SpikingRNN], ids=["lstm", "gru", "rnn"])
def test_learnt_threshold_below_its_floor_converts_as_the_floor(cls):
    """``min_threshold`` is the floor of the effective θ0 (spikernn.neurons.soma_params, one place): a learnt
    θ0 below it reaches the hardware as the floor, and torch == fast == reference spike for spike."""
    torch.manual_seed(5)
    m = cls(3, 6, learn_threshold=True, threshold=0.3, min_threshold=0.2, adapt_gain=1.0).double().eval()
    with torch.no_grad():
        m.threshold_l0.copy_(torch.tensor([0.05, 0.1, 0.19, 0.2, 0.3, 0.6], dtype=torch.float64))
    want = torch.tensor([0.2, 0.2, 0.2, 0.2, 0.3, 0.6], dtype=torch.float64)
    assert torch.equal(m.neuron_parameters(0)["threshold"], want.float())
    net = to_lava(m)
    np.testing.assert_allclose(net.population("l0").params["threshold"], want.numpy(), rtol=1e-7)
    x = torch.randn(80, 3, 3, dtype=torch.float64) * 2 + 0.5
    for backend in ("fast", "reference"):
        r = verify(m, net, x, backend=backend)
        assert r.agreement == 1.0 and r.max_abs_error == 0.0, r.summary()
    assert r.model_output[..., :4].sum() >= 10  # the floored neurons spike
    m.neuron_options.min_threshold = 1e-3  # without the floor the same parameters spike otherwise
    assert not torch.equal(m(x)[0], r.model_output)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_adlif_gated_classifier_logits_to_1e6(kind):
    """A classifier with an adLIF LSTM/GRU (float64): the fast simulator's logits equal torch's to 1e-6."""
    from spikernn.models import SpikingSequenceClassifier

    torch.manual_seed(4)
    m = SpikingSequenceClassifier(kind, 3, 8, 4, num_layers=2, readout_decay=0.6, neuron="adlif",
                                  threshold=0.05).double().eval()
    x = torch.randn(5, 100, 3, dtype=torch.float64) * 2
    lengths = torch.tensor([100, 40, 66, 100, 12])
    r = verify(m, to_lava(m), x, lengths, backend="fast")
    assert r.agreement == 1.0 and r.max_abs_error < 1e-6, r.summary()


@pytest.mark.parametrize("cls,kind", [(SpikingRNN, "sd_rnn"), (SpikingLSTM, "sd_lstm"), (SpikingGRU, "sd_gru")],
                         ids=lambda c: getattr(c, "__name__", c))
def test_graded_delta_layers_convert_to_sigma_delta_kinds(cls, kind):
    """neuron="delta" (graded spikes) maps to the sigma-delta kinds with the layer's event threshold; the host
    sends input changes, the readout accumulates: torch == fast == reference in float (values within 1e-6,
    events where torch has them), and the fixed-point fast simulator gives the reference backend's bits."""
    import warnings

    from spikernn import forecasting

    torch.manual_seed(4)
    m = cls(2, 6, num_layers=2, neuron="delta", threshold=0.05).double().eval()
    x = torch.randn(3, 20, 2, dtype=torch.float64)
    net = to_lava(forecasting.Forecaster(cls(2, 6, neuron="delta", threshold=0.05, batch_first=True), horizon=2,
                                         readout="leaky", readout_decay=0.0))
    assert [p.kind for p in net.populations] == ["input", kind, "readout"]
    assert net.population("readout").attrs["input_coding"] == "delta"
    net = to_lava(m)
    assert [p.kind for p in net.populations] == ["input", kind, kind]
    assert net.population("input").attrs["encoding"] == "delta"
    assert net.population("l1").attrs["delta_threshold"] == 0.05
    assert (net.population("l0").attrs.get("activation") == "tanh") == (cls is SpikingRNN)
    xs = x.transpose(0, 1)  # the layer is time-first
    with torch.no_grad():
        out = m(xs)[0].numpy()
    events = (out[1:] != out[:-1]).mean()
    assert 0.1 < events < 0.95, events  # some steps send, some do not
    for backend in ("fast", "reference"):
        np.testing.assert_allclose(np.asarray(net.run(xs.numpy(), backend=backend)), out, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = to_lava(m, "fixed", calibration_x=xs)
    np.testing.assert_array_equal(np.asarray(q.run(xs.numpy(), backend="fast")),
                                  np.asarray(q.run(xs.numpy(), backend="reference")))
    assert np.abs(np.asarray(q.run(xs.numpy(), backend="fast")) - out).max() < 0.15  # within a few ϑ


def test_graded_delta_options_and_errors():
    m = SpikingGRU(2, 3, neuron="delta")
    assert m.neuron_options.threshold == 0.05 and m.neuron_options.reset == "none"
    assert not any(n.startswith(("threshold", "decay")) for n, _ in m.named_parameters())
    p = m.neuron_parameters(0)
    assert p == {"neuron": "delta", "reset": "none", "threshold": 0.05, "activation": "identity"}
    with pytest.raises(ValueError, match="learn_threshold does not apply"):
        SpikingGRU(2, 3, neuron="delta", learn_threshold=True)
    with pytest.raises(ValueError, match="reset does not apply"):
        SpikingLSTM(2, 3, neuron="delta", reset="zero")
    with pytest.raises(ValueError, match="do not apply"):
        SpikingLSTM(2, 3, neuron="delta", decay=0.5)
    with pytest.raises(ValueError, match=">= 0"):
        SpikingLSTM(2, 3, neuron="delta", threshold=-0.1)
    with pytest.raises(ValueError, match="do not apply"):  # the straight-through gradient is the delta soma's
        SpikingLSTM(2, 3, neuron="lif", straight_through=True)
    with pytest.raises(TypeError, match="must be a bool"):
        SpikingLSTM(2, 3, neuron="delta", straight_through=1)
    # threshold 0 (every change is an event, docs/equations.md) is allowed: no spike surrogate to scale by it
    z = SpikingGRU(2, 3, neuron="delta", threshold=0.0)
    assert z.neuron_parameters(0)["threshold"] == 0.0
    y, _ = z(torch.randn(4, 1, 2))
    assert torch.isfinite(y).all()


def test_adlif_gru_with_its_default_ranges_converts():
    """SpikingGRU's own adLIF ranges (spikernn.neurons, "Round 7": α down to e^-1, τ_u 1 step; b up to 3, q·b up
    to 180) convert: every value at its range's ends quantises without a warning (16-bit decrement
    round(65536 (1 - α)) <= 65536, q·b within the 24-bit registers), float spikes are torch's, fixed point agrees."""
    import warnings

    from spikernn.hardware.kinds.soma import DECAY_ONE
    from spikernn.neurons import default_ranges

    torch.manual_seed(0)
    rng = default_ranges("adlif", "gru")
    m = SpikingGRU(3, 8).double().eval()
    with torch.no_grad():
        m.alpha_l0.copy_(torch.tensor(rng["alpha"]).repeat(4))
        m.b_l0.copy_(torch.tensor(rng["b"]).repeat_interleave(4))
    x = torch.randn(100, 3, 3, dtype=torch.float64) * 2 + 0.5
    r = verify(m, to_lava(m), x, backend="fast")
    assert r.agreement == 1.0 and r.max_abs_error == 0.0 and r.model_output.mean() > 0.02, r.summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = to_lava(m, "fixed", calibration_x=x)
    p = q.population("l0").params
    want = np.round(DECAY_ONE * (1 - np.array(rng["alpha"] * 4)))  # 16-bit decays (hardware.kinds.soma)
    np.testing.assert_array_equal(p["dalpha"], want)
    assert int(np.max(p["b"])) > 0 and verify(m, q, x, backend="fast").agreement > 0.9
