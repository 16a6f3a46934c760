"""Layers: torch.nn.RNN/LSTM/GRU interface (names, shapes, layouts, PackedSequence, state), errors, activity."""
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import spikernn as snr

KINDS = [(snr.SpikingRNN, torch.nn.RNN), (snr.SpikingLSTM, torch.nn.LSTM), (snr.SpikingGRU, torch.nn.GRU)]


@pytest.mark.parametrize("cls,ref", KINDS)
def test_parameter_names_and_shapes_like_torch(cls, ref):
    m = cls(5, 8, num_layers=2, bidirectional=True)
    r = ref(5, 8, num_layers=2, bidirectional=True)
    ours = dict(m.named_parameters())
    for n, p in r.named_parameters():
        assert n in ours and ours[n].shape == p.shape, n
    missing, unexpected = m.load_state_dict(r.state_dict(), strict=False)
    assert not unexpected and all(k.startswith(("decay", "threshold", "adapt")) for k in missing)
    assert torch.equal(m.weight_hh_l1_reverse, r.weight_hh_l1_reverse)


@pytest.mark.parametrize("cls,ref", KINDS)
def test_shapes_layouts(cls, ref):
    m = cls(3, 4, num_layers=2, bidirectional=True, threshold=0.1)
    x = torch.randn(7, 2, 3)
    out, st = m(x)
    assert out.shape == (7, 2, 8) and st.s.shape == (4, 2, 4) and st.v.shape == (4, 2, 4)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    mb = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True, threshold=0.1)
    mb.load_state_dict(m.state_dict())
    out_b, st_b = mb(x.transpose(0, 1))
    assert torch.equal(out_b.transpose(0, 1), out)
    assert all(torch.equal(a, b) for a, b in zip(st, st_b))
    out_u, st_u = m(x[:, 0])
    assert out_u.shape == (7, 8) and st_u.s.shape == (4, 4)
    assert torch.equal(out_u, out[:, 0])
    # state in: continuing from the final state equals one long run (unidirectional)
    u = cls(3, 4, num_layers=2, threshold=0.1)
    full, s_full = u(x)
    o1, s1 = u(x[:4])
    o2, s2 = u(x[4:], s1)
    assert torch.equal(torch.cat([o1, o2]), full)
    assert all(torch.equal(a, b) for a, b in zip(s2, s_full))


@pytest.mark.parametrize("cls,ref", KINDS)
@pytest.mark.parametrize("fused", [True, False])
def test_packed_sequence_equals_single_runs(cls, ref, fused):
    torch.manual_seed(0)
    m = cls(3, 5, num_layers=2, bidirectional=True, threshold=0.1, fused=fused).double()
    lengths = torch.tensor([4, 7, 2])
    x = torch.randn(7, 3, 3, dtype=torch.float64)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out_p, st = m(packed)
    assert isinstance(out_p, torch.nn.utils.rnn.PackedSequence)
    assert torch.equal(out_p.sorted_indices, packed.sorted_indices)
    out, out_len = pad_packed_sequence(out_p)
    assert out_len.tolist() == lengths.tolist()
    for b in range(3):
        L = int(lengths[b])
        o_b, s_b = m(x[:L, b : b + 1])
        torch.testing.assert_close(out[:L, b : b + 1], o_b, rtol=0, atol=0)
        assert out[L:, b].abs().sum() == 0
        for f, g in zip(st, s_b):
            torch.testing.assert_close(f[:, b : b + 1], g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls,ref", KINDS)
def test_surrogate_gradients_reach_every_parameter(cls, ref):
    torch.manual_seed(0)
    m = cls(3, 6, num_layers=2, bidirectional=True, threshold=0.2, learn_threshold=True)
    out, _ = m(torch.randn(10, 4, 3))
    out.sum().backward()
    for n, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, n


def test_bad_inputs():
    m = snr.SpikingLSTM(3, 4)
    with pytest.raises(ValueError, match="feature size 5"):
        m(torch.randn(6, 2, 5))
    with pytest.raises(ValueError, match="rank"):
        m(torch.randn(6, 2, 3, 1))
    with pytest.raises(ValueError, match="NaN or inf"):
        m(torch.tensor([[[float("inf"), 0.0, 0.0]]]))
    with pytest.raises(TypeError, match="floating-point dtype"):
        m(torch.ones(6, 2, 3, dtype=torch.int32))
    with pytest.raises(ValueError, match="state.s must have shape"):
        m(torch.randn(6, 2, 3), snr.LSTMState(*(torch.zeros(1, 3, 4),) * 4))
    with pytest.raises(TypeError, match="unknown neuron option"):
        snr.SpikingGRU(3, 4, tau=3)
    with pytest.raises(ValueError, match="decay"):
        snr.SpikingRNN(3, 4, decay=1.5)
    with pytest.raises(ValueError, match="reset"):
        snr.SpikingRNN(3, 4, reset="soft")
    with pytest.raises(ValueError, match="threshold"):
        snr.SpikingRNN(3, 4, threshold=0.0)


def test_neuron_parameters_and_config():
    m = snr.SpikingGRU(3, 4, num_layers=2, bidirectional=True, decay=0.8, threshold=0.5, adapt_decay=0.9,
                       adapt_scale=0.2, reset="zero")
    with torch.no_grad():
        m.decay_l1_reverse.fill_(1.7)  # learnable decay is clamped to [0, 1]
    p = m.neuron_parameters(1, reverse=True)
    assert p["reset"] == "zero"
    for k in ("decay", "threshold", "adapt_decay", "adapt_scale"):
        assert p[k].shape == (4,) and p[k].dtype == torch.float32
    assert torch.all(p["decay"] == 1.0) and torch.allclose(p["threshold"], torch.full((4,), 0.5))
    assert torch.allclose(p["adapt_scale"], torch.full((4,), 0.2))
    import json

    cfg = json.loads(json.dumps(m.config))
    assert cfg["class"] == "SpikingGRU" and cfg["args"]["hidden_size"] == 4 and cfg["args"]["reset"] == "zero"
    with pytest.raises(ValueError):
        m.neuron_parameters(2)


def test_activity_statistics():
    torch.manual_seed(0)
    m = snr.SpikingLSTM(3, 4, num_layers=2, bidirectional=True, threshold=0.1)
    m.readout_fan_out = 9
    x = torch.randn(5, 2, 3)
    lengths = torch.tensor([5, 3])
    out, _ = m.forward_padded(x, lengths)
    acts = m.activity
    assert [(a.layer, a.direction) for a in acts] == [(0, "forward"), (0, "reverse"), (1, "forward"), (1, "reverse")]
    a0 = acts[0]
    assert a0.spikes_per_step.shape == (5,)
    assert acts[2].total_spikes == out[:, :, :4].sum().item() and acts[3].total_spikes == out[:, :, 4:].sum().item()
    torch.testing.assert_close(acts[2].spikes_per_step, out[:, :, :4].detach().sum((1, 2)))
    assert a0.neuron_steps == 4 * 8
    assert abs(a0.firing_rate - a0.total_spikes / 32) < 1e-9
    assert a0.fan_out == 16 + 16 * 2 and acts[3].fan_out == 16 + 9
    assert a0.synaptic_events == a0.total_spikes * 48


def test_tbptt_keeps_forward_and_truncates_gradient():
    torch.manual_seed(0)
    m = snr.SpikingRNN(2, 5, threshold=0.2)
    x = torch.randn(12, 3, 2, requires_grad=True)
    out_full, _ = m(x)
    out_full[-1].sum().backward()
    g_full = x.grad.clone()
    x.grad = None
    m.tbptt = 4
    out_tb, _ = m(x)
    assert torch.equal(out_tb, out_full)
    out_tb[-1].sum().backward()
    assert x.grad[:8].abs().sum() == 0 and g_full[:8].abs().sum() > 0


@pytest.mark.parametrize("cls", [snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU])
def test_dtype_mismatch_is_a_clear_value_error(cls):
    # torch.nn.RNN/LSTM/GRU raise ValueError for an input whose dtype differs from the weights'
    m = cls(3, 4, num_layers=2)
    with pytest.raises(ValueError, match="dtype"):
        m(torch.ones(5, 2, 3, dtype=torch.float64))
    state = tuple(torch.zeros(2, 2, 4, dtype=torch.float64) for _ in m(torch.ones(5, 2, 3))[1])
    with pytest.raises(ValueError, match="state.s dtype"):
        m(torch.ones(5, 2, 3), state)
    out, _ = m.double()(torch.ones(5, 2, 3, dtype=torch.float64))  # matching dtypes still run
    assert out.dtype == torch.float64


@pytest.mark.parametrize("bad", [3.5, 3.0, True, "3", 0, -1])
def test_sizes_must_be_positive_ints(bad):
    with pytest.raises(ValueError, match="positive int"):
        snr.SpikingLSTM(bad, 4)
    with pytest.raises(ValueError, match="positive int"):
        snr.SpikingLSTMCell(bad, 4)
    with pytest.raises(ValueError, match="positive int"):
        snr.SpikingGRUCell(4, bad)


@pytest.mark.parametrize("cls", [snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU])
@pytest.mark.parametrize("fused", [True, False])
def test_empty_batch_gives_empty_outputs_like_torch(cls, fused):
    m = cls(3, 4, num_layers=2, bidirectional=True, fused=fused)
    out, state = m(torch.ones(5, 0, 3))
    ref_out, _ = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True)(torch.ones(5, 0, 3))
    assert out.shape == ref_out.shape == (5, 0, 8)
    assert all(t.shape == (4, 0, 4) for t in state)


@pytest.mark.parametrize("cls", [snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU])
@pytest.mark.parametrize("disc", ["ef", "se"])
def test_adlif_soma_gradients_reach_alpha_beta_a_b(cls, disc):
    torch.manual_seed(0)
    m = cls(3, 6, num_layers=2, neuron="adlif", discretisation=disc, threshold=0.05)
    names = {n for n, _ in m.named_parameters()}
    assert {"alpha_l1", "beta_l1", "a_l1", "b_l1"} <= names and not any(n.startswith(("decay", "adapt")) for n in names)
    out, st = m(torch.randn(30, 4, 3) * 2)
    assert 0 < out.mean() < 0.5
    (out.sum() + st.a.sum()).backward()
    for n, p in m.named_parameters():
        if n.startswith("threshold"):
            continue  # fixed unless learn_threshold
        assert p.grad is not None and p.grad.abs().sum() > 0, n


def test_adlif_options_ranges_and_errors():
    from spikernn.neurons import ADLIF_RANGES

    m = snr.SpikingRNN(3, 50, neuron="adlif")
    for n, (lo, hi) in ADLIF_RANGES.items():
        t = getattr(m, n + "_l0")
        assert t.min() >= lo and t.max() <= hi and t.std() > 0, n  # uniform in sparch's range
    with torch.no_grad():
        m.alpha_l0.fill_(2.0)
        m.b_l0.fill_(-1.0)
    p = m.neuron_parameters(0)
    assert p["neuron"] == "adlif" and torch.allclose(p["alpha"], torch.full((50,), ADLIF_RANGES["alpha"][1]))
    assert torch.all(p["b"] == 0.0)  # clamped to the range
    fixed = snr.SpikingGRU(3, 4, neuron="adlif", learn_adlif=False, a_range=(0.5, 0.5), discretisation="se")
    assert "a_l0" in dict(fixed.named_buffers()) and torch.all(fixed.a_l0 == 0.5)
    with pytest.raises(ValueError, match="do not apply"):
        snr.SpikingRNN(3, 4, neuron="adlif", decay=0.5)
    with pytest.raises(ValueError, match="do not apply"):
        snr.SpikingRNN(3, 4, alpha_range=(0.5, 0.9))
    with pytest.raises(ValueError, match="neuron must be"):
        snr.SpikingRNN(3, 4, neuron="izhikevich")
    with pytest.raises(ValueError, match="discretisation"):
        snr.SpikingRNN(3, 4, neuron="adlif", discretisation="rk4")
    with pytest.raises(ValueError, match="low <= high"):
        snr.SpikingRNN(3, 4, neuron="adlif", beta_range=(0.9, 0.8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        snr.SpikingRNN(3, 4, neuron="adlif", alpha_range=(0.5, 1.5))
    with pytest.raises(ValueError, match="adapt_scale"):
        snr.NeuronOptions(neuron="adlif", adapt_scale=0.5)
    with pytest.raises(NotImplementedError, match="adlif"):  # the hardware's adlif kind is the RNN soma only
        from spikernn import converters

        converters.to_lava(snr.SpikingLSTM(3, 4, neuron="adlif"))
