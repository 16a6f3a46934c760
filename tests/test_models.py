"""Classifiers, readout and encoders."""
import pytest
import torch

import spikernn as snr


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_spiking_classifier_ignores_padding(kind, bidirectional):
    torch.manual_seed(0)
    m = snr.SpikingSequenceClassifier(kind, 3, 6, 4, bidirectional=bidirectional, readout_decay=0.8, threshold=0.2)
    x = torch.randn(2, 5, 3)
    lengths = torch.tensor([5, 3])
    y1 = m(x, lengths)
    x2 = torch.cat([x, 10 * torch.randn(2, 4, 3)], 1)
    x2[1, 3:] = 7.0
    y2 = m(x2, lengths)
    torch.testing.assert_close(y1, y2)
    assert y1.shape == (2, 4)
    assert m.forward_steps(x, lengths).shape == (2, 5, 4)
    assert m.activity[-1].fan_out == {"rnn": 1, "lstm": 4, "gru": 3}[kind] * 6 + 4
    assert 0 <= m.firing_rate() <= 1


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_dense_classifier_ignores_padding(kind):
    torch.manual_seed(0)
    m = snr.DenseSequenceClassifier(kind, 3, 6, 4, bidirectional=True)
    x = torch.randn(2, 5, 3)
    lengths = torch.tensor([5, 3])
    x2 = x.clone()
    x2[1, 3:] = 5.0
    torch.testing.assert_close(m(x, lengths), m(x2, lengths))
    # unidirectional: the feature is the hidden at the last valid step
    m1 = snr.DenseSequenceClassifier(kind, 3, 6, 4)
    out, _ = m1.rnn(x[1:2, :3].transpose(0, 1))
    torch.testing.assert_close(m1.features(x, lengths)[1], out[-1, 0])


def test_leaky_readout_equation():
    r = snr.LeakyReadout(3, 2, decay=0.5)
    s = torch.rand(4, 1, 3)
    y = r(s)
    ref, prev = [], torch.zeros(1, 2)
    for t in range(4):
        prev = 0.5 * prev + s[t] @ r.weight.t() + r.bias
        ref.append(prev)
    torch.testing.assert_close(y, torch.stack(ref))
    lin = snr.LeakyReadout(3, 2)
    torch.testing.assert_close(lin(s), torch.nn.functional.linear(s, lin.weight, lin.bias))
    y0 = torch.randn(1, 2)
    torch.testing.assert_close(r(s, y0)[0, 0], 0.5 * y0[0] + s[0, 0] @ r.weight.t() + r.bias)
    with pytest.raises(ValueError, match="y0 must have shape"):
        r(s, torch.zeros(2))


def test_encoders():
    x = torch.tensor([[[0.0]], [[0.25]], [[0.3]], [[0.05]]])  # (T=4,B=1,F=1)
    d = snr.DeltaEncoder(1, threshold=0.1)(x)
    assert d.shape == (4, 1, 2)
    assert d[:, 0, 0].tolist() == [0.0, 1.0, 1.0, 0.0] and d[:, 0, 1].tolist() == [0.0, 0.0, 0.0, 1.0]
    r = snr.RateEncoder(1)(torch.full((1000, 1, 1), 0.3))
    assert set(r.unique().tolist()) <= {0.0, 1.0} and abs(r.mean().item() - 0.3) < 0.05
    assert torch.equal(snr.DirectEncoder(1)(x), x)
    m = snr.SpikingSequenceClassifier("gru", 3, 4, 2, encoder="delta", encoder_options={"threshold": 0.2})
    assert m.rnn.input_size == 6 and m(torch.randn(2, 5, 3)).shape == (2, 2)
