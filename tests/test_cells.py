"""Cells: one step, explicit state; a cell loop equals the layer."""
import pytest
import torch

import spikernn as snr

PAIRS = [(snr.SpikingRNNCell, snr.SpikingRNN), (snr.SpikingLSTMCell, snr.SpikingLSTM), (snr.SpikingGRUCell, snr.SpikingGRU)]


def _copy(cell, layer, sfx="_l0"):
    with torch.no_grad():
        for n, _ in cell.named_parameters():
            getattr(cell, n).copy_(getattr(layer, n + sfx))


SOMAS = [dict(neuron="lif", adapt_scale=0.3, adapt_decay=0.9), dict(neuron="adlif"), dict(neuron="adlif", discretisation="se")]


@pytest.mark.parametrize("cell_cls,layer_cls", PAIRS)
@pytest.mark.parametrize("soma", SOMAS)
def test_cell_loop_equals_layer(cell_cls, layer_cls, soma):
    torch.manual_seed(0)
    th = 0.2 if "neuron" not in soma else 0.05  # the adLIF membrane follows d slowly: (1 - α) d per step
    layer = layer_cls(4, 6, threshold=th, **soma).double()
    cell = cell_cls(4, 6, threshold=th, **soma).double()
    _copy(cell, layer)
    x = torch.randn(12, 3, 4, dtype=torch.float64)
    out, st = layer(x, layer.initial_state(3))
    state, outs = None, []
    for t in range(12):
        s, state = cell(x[t], state)
        outs.append(s)
    assert out.sum() > 0
    torch.testing.assert_close(torch.stack(outs), out, rtol=0, atol=0)
    for a, b in zip(state, st):
        torch.testing.assert_close(a, b[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell_cls,layer_cls", PAIRS)
def test_cell_step_equals_layer_step(cell_cls, layer_cls):
    torch.manual_seed(3)
    layer = layer_cls(4, 5, threshold=0.1).double()
    cell = cell_cls(4, 5, threshold=0.1).double()
    _copy(cell, layer)
    x = torch.randn(1, 2, 4, dtype=torch.float64)
    init = type(layer.initial_state(2))(*(torch.rand(1, 2, 5, dtype=torch.float64) for _ in layer.initial_state(2)))
    out, st = layer(x, init)
    s, st_c = cell(x[0], type(init)(*(t[0] for t in init)))
    torch.testing.assert_close(s, out[0], rtol=0, atol=0)
    for a, b in zip(st_c, st):
        torch.testing.assert_close(a, b[0])


def test_cell_unbatched_and_errors():
    cell = snr.SpikingLSTMCell(3, 4)
    s, st = cell(torch.randn(3))
    assert s.shape == (4,) and st.c.shape == (4,)
    with pytest.raises(ValueError, match="feature size"):
        cell(torch.randn(2, 5))
    with pytest.raises(TypeError, match="floating"):
        cell(torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="NaN"):
        cell(torch.full((2, 3), float("nan")))
    with pytest.raises(ValueError, match="state.v"):
        cell(torch.randn(2, 3), snr.LSTMState(*(torch.zeros(2, 4),) * 1, torch.zeros(3, 4), torch.zeros(2, 4), torch.zeros(2, 4)))


def test_cell_weights_like_torch():
    for cell, ref in ((snr.SpikingLSTMCell(3, 4), torch.nn.LSTMCell(3, 4)), (snr.SpikingGRUCell(3, 4), torch.nn.GRUCell(3, 4)),
                      (snr.SpikingRNNCell(3, 4), torch.nn.RNNCell(3, 4))):
        for n, p in ref.named_parameters():
            assert getattr(cell, n).shape == p.shape


def test_cell_dtype_mismatch_is_a_clear_value_error():
    c = snr.SpikingLSTMCell(3, 4)
    with pytest.raises(ValueError, match="dtype"):
        c(torch.ones(2, 3, dtype=torch.float64))
    st = tuple(torch.zeros(2, 4, dtype=torch.float64) for _ in range(4))
    with pytest.raises(ValueError, match="state.s dtype"):
        c(torch.ones(2, 3), st)
    import numpy as np

    assert snr.SpikingRNNCell(np.int64(3), 4).input_size == 3  # numpy integers are integers
