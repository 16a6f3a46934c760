"""Dense torch.nn.RNN/LSTM/GRU -> sigma-delta networks: float equality at threshold 0, layouts, heads."""
import numpy as np
import pytest
import torch

from spikernn.converters import to_lava, verify

CASES = [(torch.nn.RNN, {}), (torch.nn.RNN, {"nonlinearity": "relu"}), (torch.nn.LSTM, {}), (torch.nn.GRU, {})]


def _ids(c):
    cls, kw = c
    return cls.__name__ + ("-" + kw["nonlinearity"] if kw else "")


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("layers,bidir", [(1, False), (2, False), (2, True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_dense_equals_torch_fast(case, layers, bidir, batch_first):
    cls, kw = case
    torch.manual_seed(layers * 7 + bidir)
    m = cls(3, 5, num_layers=layers, bidirectional=bidir, batch_first=batch_first, **kw).eval()
    x = torch.randn(2, 6, 3) if batch_first else torch.randn(6, 2, 3)
    net = to_lava(m)
    out = net.run(x, backend="fast")
    ref = m(x)[0]
    assert out.shape == ref.shape and out.dtype == torch.float32
    assert (out - ref).abs().max() < 1e-5
    # the converters' own reading of the contract gives the same
    r = verify(m, net, x, backend="reference")
    assert r.max_abs_error < 1e-5


@pytest.mark.parametrize("cls", [torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU])
def test_no_bias_and_unbatched(cls):
    torch.manual_seed(1)
    m = cls(4, 3, bias=False).eval()
    x = torch.randn(5, 4)
    net = to_lava(m)
    out = net.run(x, backend="fast")
    assert out.shape == (5, 3)
    assert (out - m(x)[0]).abs().max() < 1e-5


def test_network_structure_and_meta():
    m = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    net = to_lava(m, threshold=0.05)
    kinds = {p.name: (p.kind, p.stage, p.reverse) for p in net.populations}
    assert kinds == {"input": ("input", 0, False), "l0": ("sd_gru", 0, False), "l0_reverse": ("sd_gru", 0, True),
                     "l1": ("sd_gru", 1, False), "l1_reverse": ("sd_gru", 1, True)}
    assert net.population("input").attrs["encoding"] == "delta"
    assert net.population("l1").attrs["delta_threshold"] == 0.05
    # GRU keeps input and recurrent contributions apart
    ports = {s.name: s.port for s in net.synapses}
    assert ports["l0->l0"] == "rec" and ports["input->l0"] == "in" and ports["l0_reverse->l1"] == "in"
    np.testing.assert_allclose(net.population("l0").params["bias_rec"], m.bias_hh_l0.detach().numpy(), rtol=0, atol=0)
    assert net.meta["batch_first"] is True and net.meta["output"] == "sequence"
    lstm = torch.nn.LSTM(3, 4)
    net = to_lava(lstm)
    np.testing.assert_allclose(net.population("l0").params["bias"],
                               (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().double().numpy(), atol=1e-7)


class DenseClassifier(torch.nn.Module):
    """The DenseSequenceClassifier shape: .rnn + .head, logits at each sequence's last valid step."""

    def __init__(self, kind="lstm", bidirectional=False, num_layers=1):
        super().__init__()
        cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
        self.rnn = cls(3, 6, num_layers=num_layers, batch_first=True, bidirectional=bidirectional)
        self.head = torch.nn.Linear(6 * (2 if bidirectional else 1), 4)

    def forward(self, x, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return self.head(out[torch.arange(x.shape[0]), lengths - 1])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidir", [False, True])
def test_classifier_last_step_logits(kind, bidir):
    torch.manual_seed(3)
    m = DenseClassifier(kind, bidir, num_layers=2).eval()
    x = torch.randn(5, 8, 3)
    lengths = torch.tensor([8, 3, 5, 8, 1])
    net = to_lava(m)
    head = net.population("head")
    assert head.kind == "readout" and head.attrs["input_coding"] == "delta" and not np.any(head.params["decay"])
    assert net.meta["output"] == "last_step"
    r = verify(m, net, x, lengths, backend="fast")
    assert r.max_abs_error < 1e-5 and r.agreement == 1.0, r.summary()
    assert r.events_per_inference > 0
    if not bidir:
        logits = net.run(x, backend="fast", lengths=lengths)
        assert logits.shape == (5, 4)
        assert (logits - m(x, lengths)).abs().max() < 1e-5


def test_threshold_trades_accuracy_for_events():
    torch.manual_seed(0)
    m = torch.nn.GRU(3, 16).eval()
    x = torch.cumsum(torch.randn(30, 4, 3) * 0.1, 0)  # slowly varying input
    errs, events = [], []
    for thr in (0.0, 0.02, 0.1):
        net = to_lava(m, threshold=thr)
        r = verify(m, net, x, backend="fast")
        errs.append(r.max_abs_error)
        events.append(r.events_per_inference)
    assert errs[0] < 1e-5
    assert events[0] > events[1] > events[2]
    assert errs[2] > errs[0]
    # the reference backend counts the same events
    y, st = to_lava(m, threshold=0.02).simulate(x.double(), backend="reference")
    assert st.total_events() / 4 == pytest.approx(events[1])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_spikernn_dense_sequence_classifier(kind):
    from spikernn.models import DenseSequenceClassifier

    torch.manual_seed(0)
    m = DenseSequenceClassifier(kind, 3, 8, 4, num_layers=2).eval()
    x = torch.randn(5, 9, 3)
    lengths = torch.tensor([9, 4, 6, 9, 2])
    net = to_lava(m)
    assert net.meta["batch_first"] is True  # the classifier takes (B, T, F) though its rnn is time-first
    r = verify(m, net, x, lengths, backend="fast")
    assert r.max_abs_error < 1e-5 and r.agreement == 1.0, r.summary()


def test_bidirectional_h_n_classifier_refused():
    from spikernn.models import DenseSequenceClassifier

    with pytest.raises(ValueError, match="h_n"):
        to_lava(DenseSequenceClassifier("gru", 3, 8, 4, bidirectional=True))
