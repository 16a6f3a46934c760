"""Forecasting path: Forecaster readouts, residual skip, training, free-running forecasts, metrics, conversion."""
import numpy as np
import pytest
import torch
from torch import nn

import spikernn as snr
from spikernn import forecasting
from spikernn.datasets import windows


def sine_windows(horizon: int = 1):
    t = np.arange(400)
    return windows(np.sin(2 * np.pi * t / 25) + 0.3 * np.sin(2 * np.pi * t / 7), window=16, horizon=horizon)


@pytest.mark.parametrize("layer", [snr.SpikingGRU, snr.SpikingLSTM, nn.GRU])
@pytest.mark.parametrize("readout", ["mean", "leaky", "state"])
def test_forecaster_shapes_and_residual(layer, readout):
    torch.manual_seed(0)
    m = forecasting.Forecaster(layer(1, 8, batch_first=True), horizon=3, readout=readout, last_steps=4)
    x = torch.randn(5, 12, 1)
    y = m(x)
    assert y.shape == (5, 3)
    m.residual = False
    assert torch.allclose(y - m(x), x[:, -1, :1].expand(5, 3), atol=1e-6)  # the skip adds the last value
    assert (m.last_firing_rate is not None) == (layer is not nn.GRU)


def test_forecaster_rejects_bad_layers_and_inputs():
    with pytest.raises(ValueError, match="batch-first"):
        forecasting.Forecaster(snr.SpikingGRU(1, 4))
    with pytest.raises(ValueError, match="unidirectional"):
        forecasting.Forecaster(nn.GRU(1, 4, batch_first=True, bidirectional=True))
    with pytest.raises(ValueError, match="readout"):
        forecasting.Forecaster(nn.GRU(1, 4, batch_first=True), readout="max")
    m = forecasting.Forecaster(nn.GRU(1, 4, batch_first=True))
    with pytest.raises(ValueError, match=r"\(B, T, 1\)"):
        m(torch.zeros(3, 5))


@pytest.mark.parametrize("options, bound", [
    ({}, 0.9),  # the default binary-spiking layer (adLIF soma, θ0 0.3): 0.76 of naive measured (LIF: 0.68)
    ({"neuron": "delta", "threshold": forecasting.GRADED_THRESHOLD}, 0.6),  # graded: 0.42 measured (ϑ 0.01: 0.43)
])
def test_spiking_forecaster_learns_and_beats_naive(options, bound):
    tr, te = sine_windows()
    m = forecasting.Forecaster(snr.SpikingGRU(1, 32, batch_first=True, **options), readout="mean", last_steps=4)
    before = te.rmse(forecasting.predict(m, te))
    hist = forecasting.fit(m, tr, epochs=15, seed=0)
    after = forecasting.metrics(forecasting.predict(m, te), te)
    assert hist[-1] < hist[0] and after["rmse"] < before
    assert after["rmse"] < bound * after["naive_rmse"], after


def test_free_run_feeds_forecasts_back():
    tr, te = sine_windows()

    class Last(nn.Module):  # forecasts the last value: free-running it repeats the first window's last value
        horizon = 1

        def forward(self, x):
            return x[:, -1, :1]

    out = forecasting.free_run(Last(), te, steps=5)
    assert torch.allclose(out, te.x[0, -1, 0].expand(5))
    with pytest.raises(ValueError, match="one-step"):
        forecasting.free_run(forecasting.Forecaster(nn.GRU(1, 4, batch_first=True), horizon=2), te)


def _leaky_forecaster():
    tr, te = sine_windows(horizon=2)
    torch.manual_seed(0)
    m = forecasting.Forecaster(snr.SpikingGRU(1, 8, batch_first=True), horizon=2, readout="leaky")
    forecasting.fit(m, tr, epochs=2, seed=0)
    return m, tr, te


def test_leaky_forecaster_converts_whole():
    """The leaky-readout forecaster has the SpikingSequenceClassifier shape: it converts whole (readout
    included) and the float network on the fast simulator computes the model's readout."""
    from spikernn import converters

    m, tr, te = _leaky_forecaster()
    net = converters.to_lava(m, precision="float")
    x = te.x[:6]
    y_fast = np.asarray(net.simulate(x, backend="fast")[0])
    with torch.no_grad():
        ref = m(x) - x[:, -1, :1]  # the network computes the readout; the residual skip is the host's
    assert np.abs(y_fast - ref.numpy()).max() < 1e-4
    fixed = converters.to_lava(m, precision="fixed", calibration_x=tr.x)
    assert np.isfinite(np.asarray(fixed.simulate(x[:2], backend="fast")[0])).all()


@pytest.mark.lava
def test_leaky_forecaster_fixed_point_is_bit_exact_on_lava():
    """The fixed-point forecaster gives the same bits on the fast simulator and on Lava."""
    from spikernn import converters

    m, tr, te = _leaky_forecaster()
    fixed = converters.to_lava(m, precision="fixed", calibration_x=tr.x)
    x = te.x[:2]
    a = np.asarray(fixed.simulate(x, backend="fast")[0])
    b = np.asarray(fixed.simulate(x, backend="lava")[0])
    assert np.array_equal(a, b)


@pytest.mark.parametrize("layer,field", [(snr.SpikingGRU, "h"), (snr.SpikingLSTM, "c"), (snr.SpikingRNN, "v")])
def test_state_readout_reads_the_last_layers_analog_state(layer, field):
    torch.manual_seed(0)
    rnn = layer(1, 6, num_layers=2, batch_first=True)
    m = forecasting.Forecaster(rnn, horizon=2, readout="state", residual=False)
    x = torch.randn(4, 9, 1)
    _, state = rnn(x, rnn.initial_state(4))  # the full spiking state
    assert torch.allclose(m(x), m.head(getattr(state, field)[-1]))
    dense = forecasting.Forecaster(nn.LSTM(1, 5, batch_first=True), readout="state", residual=False)
    _, (h, _) = dense.rnn(x)
    assert torch.allclose(dense(x), dense.head(h[-1]))


@pytest.mark.parametrize("layer", [snr.SpikingGRU, snr.SpikingLSTM])
def test_torch_input_init_draws_input_weights_at_torchs_scale(layer):
    torch.manual_seed(0)
    rnn = layer(1, 16, num_layers=2, batch_first=True, neuron="delta")
    before = {n: p.detach().clone() for n, p in rnn.named_parameters()}
    assert forecasting.torch_input_init(rnn) is rnn
    for n, p in rnn.named_parameters():
        if n.startswith("weight_ih"):
            assert p.abs().max() <= 0.25 and not torch.equal(p, before[n])  # U(±1/sqrt(16)), re-drawn
        else:
            assert torch.equal(p, before[n])  # recurrent weights, biases and neuron tensors untouched
    with pytest.raises(TypeError, match="spikernn spiking layers"):
        forecasting.torch_input_init(nn.GRU(1, 4, batch_first=True))


def _graded_forecaster(layer=snr.SpikingGRU):
    """The harness's and the example's graded recipe, trained briefly."""
    tr, te = sine_windows()
    torch.manual_seed(0)
    m = forecasting.graded(layer, 8)
    forecasting.fit(m, tr, epochs=2, seed=0, **forecasting.GRADED_FIT)
    return m, tr, te


@pytest.mark.parametrize("layer", [snr.SpikingGRU, snr.SpikingLSTM])
def test_graded_recipe_converts_whole(layer):
    from spikernn import converters

    m, tr, te = _graded_forecaster(layer)
    assert m.rnn.neuron_options.threshold == forecasting.GRADED_THRESHOLD and m.rnn.neuron_options.delta
    assert torch.all(m.readout.decay == forecasting.GRADED_READOUT_DECAY)
    x = te.x[:6]
    with torch.no_grad():
        ref = (m(x) - x[:, -1, :1]).numpy()  # the residual skip is the host's
    y = np.asarray(converters.to_lava(m, precision="float").simulate(x, backend="fast")[0])
    assert np.abs(y - ref).max() < 1e-4
    fixed = np.asarray(converters.to_lava(m, precision="fixed", calibration_x=tr.x).simulate(x, backend="fast")[0])
    assert np.abs(fixed - ref).max() < 0.05


@pytest.mark.lava
@pytest.mark.parametrize("layer", [snr.SpikingGRU, snr.SpikingLSTM])
def test_graded_recipe_fixed_point_is_bit_exact_on_lava(layer):
    from spikernn import converters

    m, tr, te = _graded_forecaster(layer)
    fixed = converters.to_lava(m, precision="fixed", calibration_x=tr.x)
    x = te.x[:2]
    assert np.array_equal(np.asarray(fixed.simulate(x, backend="fast")[0]),
                          np.asarray(fixed.simulate(x, backend="lava")[0]))


def test_graded_forget_bias_adds_to_the_lstm_forget_gate_only():
    torch.manual_seed(0)
    base = forecasting.graded(snr.SpikingLSTM, 8, forget_bias=0.0)
    torch.manual_seed(0)
    m = forecasting.graded(snr.SpikingLSTM, 8, forget_bias=1.0)
    d = (m.rnn.bias_ih_l0 - base.rnn.bias_ih_l0).detach()
    assert torch.allclose(d[8:16], torch.ones(8)) and torch.all(d[:8] == 0) and torch.all(d[16:] == 0)
    assert torch.equal(m.rnn.bias_hh_l0, base.rnn.bias_hh_l0)
    with pytest.raises(ValueError, match="SpikingLSTM only"):
        forecasting.graded(snr.SpikingGRU, 8, forget_bias=1.0)


@pytest.mark.parametrize("swa_lr", [None, 1e-3])
def test_fit_swa_replaces_the_parameters_by_their_average_over_the_last_epochs(swa_lr):
    tr, _ = sine_windows()
    torch.manual_seed(0)
    m = forecasting.graded(snr.SpikingGRU, 8)
    snaps = []

    def keep(epoch, loss):  # called after each epoch, before the average replaces anything
        snaps.append([p.detach().clone() for p in m.parameters()])
    forecasting.fit(m, tr, epochs=4, lr=1e-2, seed=0, on_epoch=keep,
                    **{**forecasting.GRADED_FIT, "swa": 0.5, "swa_lr": swa_lr})
    for p, *per_epoch in zip(m.parameters(), *snaps):
        want = (per_epoch[2] + per_epoch[3]) / 2  # the last 2 of 4 epochs
        assert torch.allclose(p.detach(), want, atol=1e-6)
        assert not torch.allclose(p.detach(), per_epoch[3]) or torch.equal(per_epoch[2], per_epoch[3])
    with pytest.raises(ValueError, match="swa"):
        forecasting.fit(m, tr, epochs=1, swa=1.5)


def test_graded_recipe_trains_lstm_and_gru_with_the_straight_through_gradient():
    """forecasting.GRADED_STRAIGHT_THROUGH: the SpikingLSTM's and SpikingGRU's sigma-delta somas take the
    straight-through gradient in the graded recipe, the SpikingRNN the exact one; ``straight_through=`` overrides."""
    assert forecasting.graded(snr.SpikingLSTM, 4).rnn.neuron_options.straight_through
    assert forecasting.graded(snr.SpikingGRU, 4).rnn.neuron_options.straight_through
    assert not forecasting.graded(snr.SpikingRNN, 4).rnn.neuron_options.straight_through
    assert not forecasting.graded(snr.SpikingLSTM, 4, straight_through=False).rnn.neuron_options.straight_through
