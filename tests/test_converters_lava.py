"""Converted networks on real Lava processes (few, tiny runs: Lava is slow to start)."""
import pytest
import torch

pytest.importorskip("lava")
pytestmark = pytest.mark.lava  # real Lava processes (deselect with -m "not lava")

from spikernn.converters import to_lava, verify  # noqa: E402
from spikernn.layers import SpikingGRU, SpikingLSTM  # noqa: E402


@pytest.mark.parametrize("cls", [torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU], ids=lambda c: c.__name__)
def test_dense_two_layer_bidirectional_on_lava(cls):
    torch.manual_seed(0)
    m = cls(3, 4, num_layers=2, bidirectional=True).eval()
    x = torch.randn(5, 2, 3)
    net = to_lava(m)
    y = net.run(x, backend="lava")
    with torch.no_grad():
        ref = m(x)[0]
    assert y.shape == ref.shape
    assert (y - ref).abs().max() < 1e-5
    assert (y - net.run(x, backend="fast")).abs().max() < 1e-6


def test_dense_classifier_on_lava_last_step():
    from spikernn.models import DenseSequenceClassifier

    torch.manual_seed(1)
    m = DenseSequenceClassifier("lstm", 3, 5, 4).eval()
    x = torch.randn(3, 6, 3)
    lengths = torch.tensor([6, 2, 4])
    r = verify(m, to_lava(m), x, lengths, backend="lava")
    assert r.max_abs_error < 1e-5 and r.agreement == 1.0, r.summary()


@pytest.mark.parametrize("cls", [SpikingLSTM, SpikingGRU], ids=lambda c: c.__name__)
def test_spiking_identical_spikes_on_lava(cls):
    torch.manual_seed(2)
    m = cls(3, 5, num_layers=2, neuron="lif", threshold=0.3, decay=0.9).eval()
    x = torch.randn(6, 2, 3) * 2
    r = verify(m, to_lava(m), x, backend="lava")
    assert r.agreement == 1.0, r.summary()
    assert r.model_output.mean() > 0.05


def test_fixed_point_lava_equals_fast_bitwise():
    torch.manual_seed(3)
    m = SpikingLSTM(3, 5, threshold=0.3).eval()
    x = torch.randn(6, 2, 3) * 2
    net = to_lava(m, "fixed", calibration_x=x)
    assert (net.run(x, backend="lava") == net.run(x, backend="fast")).all()
    d = torch.nn.GRU(3, 4).eval()
    net = to_lava(d, "fixed", calibration_x=x)
    assert (net.run(x, backend="lava") == net.run(x, backend="fast")).all()


def test_spiking_bidirectional_on_lava():
    from spikernn.layers import SpikingRNN

    torch.manual_seed(4)
    m = SpikingRNN(3, 5, num_layers=2, bidirectional=True, threshold=0.3).eval()
    x = torch.randn(6, 2, 3) * 2
    r = verify(m, to_lava(m), x, backend="lava")
    assert r.agreement == 1.0, r.summary()


def test_snntorch_graph_runs_on_lava():
    """snntorch RLeaky -> NIR (snntorch's exporter) -> from_nir -> Lava processes: same spikes as snntorch."""
    snn = pytest.importorskip("snntorch")
    pytest.importorskip("nirtorch")
    import warnings

    from snntorch.export_nir import export_to_nir

    from spikernn.converters import from_nir

    torch.manual_seed(5)
    I, H = 3, 6
    seq = torch.nn.Sequential(torch.nn.Linear(I, H), snn.RLeaky(beta=0.8, linear_features=H, threshold=0.5,
                                                                 reset_mechanism="zero", reset_delay=False,
                                                                 init_hidden=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        g = export_to_nir(seq, torch.randn(1, I), ignore_dims=[0])
    x = torch.rand(8, 2, I) * 2
    seq[1].reset_mem()
    with torch.no_grad():
        ref = torch.stack([seq(x[t]).clone() for t in range(x.shape[0])])
    out = from_nir(g).run(x, backend="lava")
    assert ref.mean() > 0.05
    assert (out != ref).sum() == 0


def test_traced_graph_models_on_lava():
    """Models converted from their traced graph (an MLP head with a ReLU population, a Conv1d window input,
    an embedding's one-hot input, mean pooling) run on Lava as on the fast simulator."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_conversion_models import KeywordConvGRU, MLPHead, TextLSTM, inputs

    for cls in (MLPHead, KeywordConvGRU, TextLSTM):
        torch.manual_seed(0)
        m = cls().eval()
        x, lengths = inputs(m, 2, 5)
        for precision in ("float", "fixed"):
            net = to_lava(m, precision, **({"calibration_x": x} if precision == "fixed" else {}))
            fast, lava = net.run(x, backend="fast"), net.run(x, backend="lava")
            assert torch.equal(fast, lava) if precision == "fixed" else (fast - lava).abs().max() < 1e-9, cls
        assert verify(m, to_lava(m), x, backend="lava").max_abs_error <= 1e-5


def test_graded_delta_forecaster_fixed_point_lava_equals_fast():
    """The graded (sigma-delta) regression path: a Forecaster over SpikingGRU(neuron="delta") with its linear
    readout runs on real Lava processes in fixed point with the fast simulator's bits."""
    from spikernn import forecasting

    torch.manual_seed(5)
    m = forecasting.Forecaster(SpikingGRU(1, 6, batch_first=True, neuron="delta", threshold=0.02), horizon=2,
                               readout="leaky", readout_decay=0.0).eval()
    x = torch.randn(2, 8, 1)
    net = to_lava(m, "fixed", calibration_x=x)
    a, _ = net.simulate(x, backend="fast")
    b, _ = net.simulate(x, backend="lava")
    assert (torch.as_tensor(a) == torch.as_tensor(b)).all()
    with torch.no_grad():
        ref = m(x) - x[:, -1, :1]  # the network computes the readout; the residual skip is the host's
    assert (torch.as_tensor(a).float() - ref).abs().max() < 0.05
