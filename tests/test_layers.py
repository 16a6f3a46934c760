"""Layers: torch.nn.RNN/LSTM/GRU interface (names, shapes, layouts, PackedSequence, state), errors, activity."""
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import spikernn as snr
from spikernn.neurons import DEFAULT_NEURON

KINDS = [(snr.SpikingRNN, torch.nn.RNN), (snr.SpikingLSTM, torch.nn.LSTM), (snr.SpikingGRU, torch.nn.GRU)]


@pytest.mark.parametrize("cls,ref", KINDS)
def test_parameter_names_and_shapes_like_torch(cls, ref):
    m = cls(5, 8, num_layers=2, bidirectional=True)
    r = ref(5, 8, num_layers=2, bidirectional=True)
    ours = dict(m.named_parameters())
    for n, p in r.named_parameters():
        assert n in ours and ours[n].shape == p.shape, n
    missing, unexpected = m.load_state_dict(r.state_dict(), strict=False)
    assert not unexpected and all(k.startswith(("decay", "threshold", "adapt", "alpha", "beta", "a_", "b_"))
                                   for k in missing)
    assert torch.equal(m.weight_hh_l1_reverse, r.weight_hh_l1_reverse)


@pytest.mark.parametrize("cls,ref", KINDS)
def test_shapes_layouts(cls, ref):
    m = cls(3, 4, num_layers=2, bidirectional=True, threshold=0.1)
    x = torch.randn(7, 2, 3)
    out, st = m(x, m.initial_state(2))
    assert out.shape == (7, 2, 8) and st.s.shape == (4, 2, 4) and st.v.shape == (4, 2, 4)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    out_t, h = m(x)  # torch form: h_n = the final spikes (and c_n for the LSTM)
    assert torch.equal(out_t, out)
    h_n = h[0] if cls is snr.SpikingLSTM else h
    assert torch.equal(h_n, st.s) and (cls is not snr.SpikingLSTM or torch.equal(h[1], st.c))
    assert torch.equal(h_n[-2], out[-1, :, :4])  # last layer, forward direction: as torch's h_n
    mb = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True, threshold=0.1)
    mb.load_state_dict(m.state_dict())
    out_b, st_b = mb(x.transpose(0, 1), mb.initial_state(2))
    assert torch.equal(out_b.transpose(0, 1), out)
    assert all(torch.equal(a, b) for a, b in zip(st, st_b))
    out_u, st_u = m(x[:, 0], m.initial_state())
    assert out_u.shape == (7, 8) and st_u.s.shape == (4, 4)
    assert torch.equal(out_u, out[:, 0])
    # state in: continuing from the final spiking state equals one long run (unidirectional)
    u = cls(3, 4, num_layers=2, threshold=0.1)
    full, s_full = u(x, u.initial_state(2))
    o1, s1 = u(x[:4], u.initial_state(2))
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
    out_p, st = m(packed, m.initial_state(3))
    assert isinstance(out_p, torch.nn.utils.rnn.PackedSequence)
    assert torch.equal(out_p.sorted_indices, packed.sorted_indices)
    out, out_len = pad_packed_sequence(out_p)
    assert out_len.tolist() == lengths.tolist()
    for b in range(3):
        L = int(lengths[b])
        o_b, s_b = m(x[:L, b : b + 1], m.initial_state(1))
        torch.testing.assert_close(out[:L, b : b + 1], o_b, rtol=0, atol=0)
        assert out[L:, b].abs().sum() == 0
        for f, g in zip(st, s_b):
            torch.testing.assert_close(f[:, b : b + 1], g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls,ref", KINDS)
def test_surrogate_gradients_reach_every_parameter(cls, ref):
    torch.manual_seed(0)
    # the adLIF soma (zero reset, adaptation; the default of all three) needs a low threshold for the second layer
    # to fire on this short input
    threshold = 0.02 if DEFAULT_NEURON[cls.kind] == "adlif" else 0.2
    m = cls(3, 6, num_layers=2, bidirectional=True, threshold=threshold, learn_threshold=True)
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
    m = snr.SpikingGRU(3, 4, num_layers=2, bidirectional=True, neuron="lif", decay=0.8, threshold=0.5, adapt_decay=0.9,
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
    x = torch.randn(5, 2, 3)
    lengths = torch.tensor([5, 3])
    with snr.run_context() as ctx:
        out, _ = m.forward_padded(x, lengths)
    assert ctx.activity == m.activity and acts_fan(m.activity) == [48, 48, 16, 16]  # no readout counted
    acts = snr.activity.with_readout_fan_out(m.activity, 1, 9)
    assert [(a.layer, a.direction) for a in acts] == [(0, "forward"), (0, "reverse"), (1, "forward"), (1, "reverse")]
    a0 = acts[0]
    assert a0.spikes_per_step.shape == (5,)
    assert acts[2].total_spikes == out[:, :, :4].sum().item() and acts[3].total_spikes == out[:, :, 4:].sum().item()
    torch.testing.assert_close(acts[2].spikes_per_step, out[:, :, :4].detach().sum((1, 2)))
    assert a0.neuron_steps == 4 * 8
    assert abs(a0.firing_rate - a0.total_spikes / 32) < 1e-9
    assert a0.fan_out == 16 + 16 * 2 and acts[3].fan_out == 16 + 9
    assert a0.synaptic_events == a0.total_spikes * 48


def acts_fan(acts):
    return [a.fan_out for a in acts]


def test_tbptt_keeps_forward_and_truncates_gradient():
    torch.manual_seed(0)
    m = snr.SpikingRNN(2, 5, threshold=0.2)
    x = torch.randn(12, 3, 2, requires_grad=True)
    out_full, _ = m(x)
    out_full[-1].sum().backward()
    g_full = x.grad.clone()
    x.grad = None
    with snr.run_context(tbptt=4, keep_rates=True) as ctx:
        out_tb, _ = m(x)
    torch.testing.assert_close(ctx.rates[0], out_tb.sum() / (5 * 36))
    assert torch.equal(out_tb, out_full)
    out_tb[-1].sum().backward()
    assert x.grad[:8].abs().sum() == 0 and g_full[:8].abs().sum() > 0


@pytest.mark.parametrize("cls", [snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU])
def test_dtype_mismatch_is_a_clear_value_error(cls):
    # torch.nn.RNN/LSTM/GRU raise ValueError for an input whose dtype differs from the weights'
    m = cls(3, 4, num_layers=2)
    with pytest.raises(ValueError, match="dtype"):
        m(torch.ones(5, 2, 3, dtype=torch.float64))
    state = tuple(torch.zeros(2, 2, 4, dtype=torch.float64) for _ in m.initial_state(2))
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
    out, state = m(torch.ones(5, 0, 3), m.initial_state(0))
    ref_out, ref_h = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True)(torch.ones(5, 0, 3))
    assert out.shape == ref_out.shape == (5, 0, 8)
    assert all(t.shape == (4, 0, 4) for t in state)
    _, h = m(torch.ones(5, 0, 3))
    assert (h[0] if cls is snr.SpikingLSTM else h).shape == ref_h.shape


@pytest.mark.parametrize("cls", [snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU])
@pytest.mark.parametrize("disc", ["ef", "se"])
def test_adlif_soma_gradients_reach_alpha_beta_a_b(cls, disc):
    torch.manual_seed(0)
    m = cls(3, 6, num_layers=2, neuron="adlif", discretisation=disc, threshold=0.05)
    names = {n for n, _ in m.named_parameters()}
    assert {"alpha_l1", "beta_l1", "a_l1", "b_l1"} <= names and not any(n.startswith(("decay", "adapt")) for n in names)
    out, st = m(torch.randn(30, 4, 3) * 2, m.initial_state(4))
    assert 0 < out.mean() < 0.5
    (out.sum() + st.a.sum()).backward()
    for n, p in m.named_parameters():
        if n.startswith("threshold"):
            continue  # fixed unless learn_threshold
        assert p.grad is not None and p.grad.abs().sum() > 0, n


def test_adlif_options_ranges_and_errors():
    from spikernn.neurons import default_ranges

    m = snr.SpikingRNN(3, 50, neuron="adlif")
    rnn_ranges = default_ranges("adlif", "rnn")
    for n, (lo, hi) in rnn_ranges.items():
        t = getattr(m, n + "_l0")
        assert t.min() >= lo and t.max() <= hi and t.std() > 0, n  # uniform in the RNN's default range
    with torch.no_grad():
        m.alpha_l0.fill_(2.0)
        m.b_l0.fill_(-1.0)
    p = m.neuron_parameters(0)
    assert p["neuron"] == "adlif" and torch.allclose(p["alpha"], torch.full((50,), rnn_ranges["alpha"][1]))
    assert torch.all(p["b"] == 0.0)  # clamped to the range
    fixed = snr.SpikingGRU(3, 4, neuron="adlif", learn_adlif=False, a_range=(0.5, 0.5), discretisation="se")
    assert "a_l0" in dict(fixed.named_buffers()) and torch.all(fixed.a_l0 == 0.5)
    part = snr.SpikingRNN(3, 4, learn_adlif=["beta", "alpha", "a"])  # b fixed at its draw, the rest learn
    assert part.neuron_options.learn_adlif == ("alpha", "beta", "a")  # stored in ADLIF_TENSORS order
    assert set(dict(part.named_buffers())) == {"b_l0"} and {"alpha_l0", "beta_l0", "a_l0"} <= set(dict(part.named_parameters()))
    assert snr.SpikingRNN(3, 4, learn_adlif=("alpha", "beta", "a", "b")).neuron_options.learn_adlif is True
    assert snr.SpikingRNN(3, 4, learn_adlif=()).neuron_options.learn_adlif is False
    with pytest.raises(ValueError, match="not adLIF tensors"):
        snr.SpikingRNN(3, 4, learn_adlif=("alpha", "theta"))
    with pytest.raises(TypeError, match="learn_adlif"):
        snr.SpikingRNN(3, 4, learn_adlif="b")
    with pytest.raises(ValueError, match="do not apply"):
        snr.SpikingRNN(3, 4, neuron="adlif", decay=0.5)
    with pytest.raises(ValueError, match="do not apply"):
        snr.SpikingLSTM(3, 4, neuron="lif", alpha_range=(0.5, 0.9))
    with pytest.raises(ValueError, match="pass neuron='lif'"):  # LIF options on the adLIF default say how
        snr.SpikingGRU(3, 4, decay=0.5)
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
    from spikernn import converters  # the hardware has the adLIF soma in every cell

    assert converters.to_lava(snr.SpikingLSTM(3, 4, neuron="adlif")).population("l0").kind == "adlif_lstm"



def test_neuron_defaults_chosen_for_the_drop_in_recipe():
    """The measured defaults (spikernn.neurons docstring): β 0.5, θ 1.5 (LIF), subtract reset, and the
    arctan surrogate's α = 2/θ, so its width follows the threshold."""
    from spikernn.neurons import NeuronOptions

    o = NeuronOptions()
    assert (o.decay, o.threshold, o.reset, o.surrogate) == (0.5, 1.5, "subtract", "atan")
    assert o.surrogate_options == {"alpha": 2.0 / 1.5}
    assert NeuronOptions(threshold=0.5).surrogate_options == {"alpha": 4.0}
    assert NeuronOptions(surrogate_options={"alpha": 3.0}).surrogate_options == {"alpha": 3.0}
    assert NeuronOptions(neuron="adlif").threshold == 1.0
    # the surrogate is a function of (v - θ)/θ: derivative at v = θ is 1/θ, width proportional to θ
    for th in (0.5, 1.5, 3.0):
        fn = NeuronOptions(threshold=th).surrogate_fn()
        x = torch.tensor([0.0, 0.1 * th], requires_grad=True)
        fn(x).sum().backward()
        ref = 1 / th / (1 + (torch.pi * torch.tensor([0.0, 0.1])) ** 2)
        assert torch.allclose(x.grad, ref, rtol=1e-5)
    m = snr.SpikingGRU(2, 3, neuron="lif")
    assert m.neuron_options.to_config()["surrogate_options"] == {"alpha": 2.0 / 1.5}
    assert float(m.neuron_parameters(0)["threshold"][0]) == 1.5
    # the cells' default somas and their θ0 per cell type (spikernn.neurons, "Round 3" and "Round 4"): adLIF
    # everywhere, θ0 1.0 in the RNN, 0.3 in the LSTM/GRU (whose drive is bounded in (-1, 1))
    from spikernn.neurons import CELL_THRESHOLD, DEFAULT_NEURON, default_threshold

    assert DEFAULT_NEURON == {"rnn": "adlif", "lstm": "adlif", "gru": "adlif"}
    for cls, th in ((snr.SpikingRNN, 1.0), (snr.SpikingLSTM, 0.3), (snr.SpikingGRU, 0.3), (snr.SpikingLSTMCell, 0.3),
                    (snr.SpikingGRUCell, 0.3), (snr.SpikingRNNCell, 1.0)):
        o = cls(2, 3).neuron_options
        assert (o.neuron, o.threshold, o.reset) == ("adlif", th, "zero"), cls
        assert o.surrogate_options == {"alpha": 2.0 / th}
        assert o.threshold == default_threshold("adlif", cls.kind)
        assert cls(2, 3, neuron="lif").neuron_options.threshold == 1.5
        assert cls(2, 3, threshold=0.7).neuron_options.threshold == 0.7
    assert set(CELL_THRESHOLD) == {("lstm", "adlif"), ("gru", "adlif")}


def test_adlif_default_ranges_per_cell_type():
    """SpikingRNN's adLIF soma draws α from its own range and learns θ0 (spikernn.neurons, "Round 5"), the GRU's
    draws α and b from its own ranges ("Round 7"; CELL_RANGES, CELL_OPTIONS), the LSTM keeps SE-adLIF's ranges
    (ADLIF_RANGES); the LSTM/GRU keep a fixed θ0; an explicit option wins; saved configs keep the values they had."""
    import math

    from spikernn.neurons import ADLIF_RANGES, CELL_RANGES, default_ranges

    assert set(CELL_RANGES) == {("rnn", "adlif"), ("gru", "adlif")}
    rnn, gru = default_ranges("adlif", "rnn"), default_ranges("adlif", "gru")
    assert rnn == {**ADLIF_RANGES, **CELL_RANGES[("rnn", "adlif")]} and rnn["alpha"] != ADLIF_RANGES["alpha"]
    assert rnn["alpha"] == (math.exp(-1 / 5), math.exp(-1 / 100))  # τ_u 5-100 steps
    assert gru == {**ADLIF_RANGES, "alpha": (math.exp(-1), math.exp(-1 / 25)), "b": (0.0, 3.0)}  # τ_u 1-25 steps
    assert default_ranges("lif", "rnn") == {} and default_ranges("adlif") == ADLIF_RANGES
    assert default_ranges("adlif", "lstm") == ADLIF_RANGES
    for cls in (snr.SpikingRNN, snr.SpikingRNNCell, snr.SpikingLSTM, snr.SpikingLSTMCell, snr.SpikingGRU,
                snr.SpikingGRUCell):
        want = default_ranges("adlif", cls.kind)
        assert want == {"rnn": rnn, "gru": gru}.get(cls.kind, ADLIF_RANGES), cls
        m = cls(2, 200)
        o = m.neuron_options
        suffix = "_l0" if hasattr(m, "alpha_l0") else ""
        for n, (lo, hi) in want.items():
            assert getattr(o, n + "_range") == (lo, hi), (cls, n)
            t = getattr(m, n + suffix)
            assert t.min() >= lo and t.max() <= hi, (cls, n)
        # the RNN's α spreads above SE-adLIF's high end (τ_u > 25 steps), the GRU's below its low end (τ_u < 5)
        alpha = getattr(m, "alpha" + suffix)
        assert (alpha.max() > ADLIF_RANGES["alpha"][1]) == (cls.kind == "rnn"), cls
        assert (alpha.min() < ADLIF_RANGES["alpha"][0]) == (cls.kind == "gru"), cls
        assert (getattr(m, "b" + suffix).max() > ADLIF_RANGES["b"][1]) == (cls.kind == "gru"), cls
        assert cls(2, 3, alpha_range=(0.5, 0.6)).neuron_options.alpha_range == (0.5, 0.6)
        assert cls(2, 3, alpha_range=None).neuron_options.alpha_range == want["alpha"]
        assert cls(2, 3, neuron="lif").neuron_options.alpha_range == ADLIF_RANGES["alpha"]  # unused by LIF
    # SpikingRNN's adLIF θ0 is learnable by default (CELL_OPTIONS); the LSTM/GRU's and every LIF soma's is not.
    # SpikingLSTM's adLIF θ0 starts spread over [0.1, 0.5] per neuron ("Round 7"), SpikingGRU's over [0.15, 0.6]
    # ("Round 8"), unless a threshold is given
    from spikernn.neurons import CELL_OPTIONS, CELL_THRESHOLD_RANGE

    assert CELL_THRESHOLD_RANGE == {("lstm", "adlif"): (0.1, 0.5), ("gru", "adlif"): (0.15, 0.6)}
    # ("Round 10": SpikingRNN's adLIF soma bounds its rate to 0.12 in training, the layer only)
    assert CELL_OPTIONS == {("rnn", "adlif"): {"learn_threshold": True, "rate_target": 0.12, "rate_strength": 1.0},
                            ("lstm", "adlif"): {"threshold_range": (0.1, 0.5)},
                            ("gru", "adlif"): {"threshold_range": (0.15, 0.6)}}
    for cls in (snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingLSTMCell, snr.SpikingGRU, snr.SpikingGRUCell):
        m = cls(2, 200)
        t = getattr(m, "threshold_l0" if hasattr(m, "threshold_l0") else "threshold")
        if cls.kind == "lstm":
            assert m.neuron_options.threshold_range == (0.1, 0.5) and m.neuron_options.threshold == 0.3
            assert 0.1 <= float(t.min()) < 0.12 and 0.48 < float(t.max()) <= 0.5 and not t.requires_grad
        elif cls.kind == "gru":
            assert m.neuron_options.threshold_range == (0.15, 0.6) and m.neuron_options.threshold == 0.3
            assert 0.15 <= float(t.min()) < 0.18 and 0.57 < float(t.max()) <= 0.6 and not t.requires_grad
        else:
            assert m.neuron_options.threshold_range is None and bool((t == t[0]).all()), cls
        assert cls(2, 3, threshold=0.7).neuron_options.threshold_range is None  # the caller's θ0 in every neuron
        if cls.kind == "lstm":  # a caller's floor above the spread's low end: the spread starts at the floor
            assert cls(2, 3, min_threshold=0.2).neuron_options.threshold_range == (0.2, 0.5)
        if cls.kind == "gru":
            assert cls(2, 3, min_threshold=0.2).neuron_options.threshold_range == (0.2, 0.6)
        assert cls(2, 3, neuron="lif").neuron_options.threshold_range is None
    for cls in (snr.SpikingRNN, snr.SpikingRNNCell, snr.SpikingLSTM, snr.SpikingGRU):
        m = cls(2, 3)
        assert m.neuron_options.learn_threshold == (cls.kind == "rnn"), cls
        assert any(n.startswith("threshold") for n, _ in m.named_parameters()) == (cls.kind == "rnn"), cls
        assert not cls(2, 3, neuron="lif").neuron_options.learn_threshold
        assert not cls(2, 3, learn_threshold=False).neuron_options.learn_threshold
    # a saved config records the ranges, so a model saved with other defaults loads with its own
    cfg = snr.SpikingRNN(2, 3, alpha_range=list(ADLIF_RANGES["alpha"])).neuron_options.to_config()
    assert snr.SpikingRNN(2, 3, **cfg).neuron_options.alpha_range == ADLIF_RANGES["alpha"]
    assert snr.SpikingRNN(2, 3).neuron_options.to_config()["alpha_range"] == list(rnn["alpha"])
    old = snr.SpikingGRU(2, 3, alpha_range=list(ADLIF_RANGES["alpha"]), b_range=list(ADLIF_RANGES["b"]))
    back = snr.SpikingGRU(2, 3, **old.neuron_options.to_config()).neuron_options
    assert (back.alpha_range, back.b_range) == (ADLIF_RANGES["alpha"], ADLIF_RANGES["b"])  # a round-5 GRU
    cfg = snr.SpikingGRU(2, 3).neuron_options.to_config()
    assert (cfg["alpha_range"], cfg["b_range"]) == (list(gru["alpha"]), list(gru["b"]))


def test_min_threshold_floors_the_effective_threshold(tmp_path):
    """``min_threshold`` (default MIN_THRESHOLD) is the floor of the effective θ0, applied in soma_params (the
    forward pass, neuron_parameters and the converters read it there); a θ0 below it or a floor below
    MIN_THRESHOLD raise; the sigma-delta soma has no such option; saved configs keep it. ``threshold_range``
    draws the initial θ0 per neuron."""
    from spikernn.neurons import MIN_THRESHOLD

    for cls in (snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU, snr.SpikingLSTMCell):
        assert cls(2, 3).neuron_options.min_threshold == MIN_THRESHOLD
        m = cls(2, 3, learn_threshold=True, min_threshold=0.25)
        suffix = "_l0" if hasattr(m, "threshold_l0") else ""
        with torch.no_grad():
            getattr(m, "threshold" + suffix).copy_(torch.tensor([0.1, 0.25, 0.4]))
        vals = m.neuron_parameters(0)["threshold"] if suffix else None
        if vals is not None:
            assert torch.equal(vals, torch.tensor([0.25, 0.25, 0.4]))
        cfg = m.neuron_options.to_config()
        assert cfg["min_threshold"] == 0.25 and cls(2, 3, **cfg).neuron_options.min_threshold == 0.25
        with pytest.raises(ValueError, match="below min_threshold"):
            cls(2, 3, threshold=0.2, min_threshold=0.25)
        with pytest.raises(ValueError, match="min_threshold must be >="):
            cls(2, 3, min_threshold=0.0)
    with pytest.raises(ValueError, match="do not apply"):
        snr.SpikingGRU(2, 3, neuron="delta", min_threshold=0.1)
    assert "min_threshold" not in snr.SpikingGRU(2, 3, neuron="delta").neuron_options.to_config()
    # the floor acts in the forward pass: a θ0 pushed below it spikes as at the floor
    torch.manual_seed(0)
    a = snr.SpikingLSTM(2, 4, learn_threshold=True, min_threshold=0.2)
    b = snr.SpikingLSTM(2, 4, learn_threshold=True, min_threshold=0.2)
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        a.threshold_l0.fill_(0.05)
        b.threshold_l0.fill_(0.2)
    x = torch.randn(30, 2, 2) * 3
    assert torch.equal(a(x)[0], b(x)[0])
    back = snr.io.load(snr.io.save(a, tmp_path / "floor.spikernn"))
    assert back.neuron_options.min_threshold == 0.2 and torch.equal(back(x)[0], a(x)[0])
    # threshold_range: per-neuron initial θ0 uniform in (low, high) (reset_parameters), not below the floor
    m = snr.SpikingLSTM(2, 200, threshold_range=(0.1, 0.5))
    assert 0.1 <= float(m.threshold_l0.min()) < 0.15 and 0.45 < float(m.threshold_l0.max()) <= 0.5
    assert m.neuron_options.to_config()["threshold_range"] == [0.1, 0.5]
    assert snr.SpikingGRU(2, 3, threshold=0.3).neuron_options.threshold_range is None
    assert torch.equal(snr.SpikingGRU(2, 3, threshold=0.3).threshold_l0, torch.full((3,), 0.3))
    with pytest.raises(ValueError, match="starts below min_threshold"):
        snr.SpikingLSTM(2, 3, threshold_range=(0.1, 0.5), min_threshold=0.2)
    with pytest.raises(ValueError, match="do not apply"):
        snr.SpikingGRU(2, 3, neuron="delta", threshold_range=(0.1, 0.5))


class _HostReads(torch.utils._python_dispatch.TorchDispatchMode):
    """Counts the ops that read a tensor's value on the host (``.item()``, ``bool()``, ``int()``, ``.tolist()``:
    all dispatch to ``_local_scalar_dense``; on a GPU each is a device synchronisation) and copies to the CPU."""

    def __init__(self):
        super().__init__()
        self.reads = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func.overloadpacket.__name__
        if name in ("_local_scalar_dense", "is_nonzero", "equal"):
            self.reads.append(name)
        elif name in ("_to_copy", "copy_") and any(isinstance(a, torch.Tensor) and a.device.type != "cpu" for a in args) \
                and getattr(out, "device", torch.device("meta")).type == "cpu":
            self.reads.append(name)
        return out


@pytest.mark.parametrize("cls", [snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU])
@pytest.mark.parametrize("opts", [{}, {"neuron": "adlif"}, {"fused": False}])
def test_no_host_sync_in_forward_on_the_default_path(cls, opts):
    """forward + backward on the ``meta`` device, where any host read of a value raises (as it would stall a
    GPU), and on the CPU with a dispatch-level counter: zero host reads, except the NaN/inf check of the input
    that runs on CPU tensors only."""
    m = cls(3, 6, num_layers=2, bidirectional=True, device="meta", **opts)
    x = torch.randn(7, 4, 3, device="meta", requires_grad=True)
    out, h = m(x)
    out.sum().backward()
    assert out.is_meta and x.grad.shape == x.shape and m.activity[0].spikes_per_step.is_meta
    m = cls(3, 6, num_layers=2, bidirectional=True, threshold=0.05, **opts)
    x = torch.randn(7, 4, 3) * 3
    for mode, expected in (("cpu", ["_local_scalar_dense"]), ("never", [])):  # "never" = what a GPU runs
        old = snr.set_finite_checks(mode)
        try:
            with _HostReads() as counter:
                out, _ = m(x)
                out.sum().backward()
        finally:
            snr.set_finite_checks(old)
        assert counter.reads == expected, mode
    assert sum(a.total_spikes for a in m.activity) > 0  # reading the counters is what syncs


def test_finite_check_modes():
    m = snr.SpikingGRU(3, 4)
    bad = torch.full((5, 2, 3), float("nan"))
    with pytest.raises(ValueError, match="NaN"):
        m(bad)
    old = snr.set_finite_checks("never")
    try:
        assert m(bad)[0].shape == (5, 2, 4)
    finally:
        snr.set_finite_checks(old)
    with pytest.raises(ValueError, match="finite-check mode"):
        snr.set_finite_checks("sometimes")


@pytest.mark.parametrize("cls", [snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU])
def test_fused_path_without_onednn_matches(cls, monkeypatch):
    """The fused path with plain torch ops (as on CUDA, a torch build without oneDNN, or a CPU where oneDNN is
    the slower GEMM) equals the oneDNN one and the step path, float32."""
    from spikernn import fused

    torch.manual_seed(0)
    m = cls(5, 16, num_layers=2, threshold=0.05)
    x = torch.randn(12, 4, 5)
    res = []
    for onednn, path in ((True, True), (False, True), (False, False)):
        monkeypatch.setitem(fused._ONEDNN, "ok", None if onednn else False)  # None: probe this torch build
        # oneDNN wherever it is available (by default only where it is faster than torch's GEMM, _onednn_faster)
        monkeypatch.setitem(fused._ONEDNN, "faster", {torch.get_num_threads(): True})
        assert fused._use_onednn(x) is (onednn and fused._onednn_available())
        m.fused = path
        m.zero_grad()
        out, _ = m(x)
        (out * torch.linspace(0.5, 1.5, out.numel()).view_as(out)).sum().backward()
        res.append((out, {n: p.grad.clone() for n, p in m.named_parameters()}))
    assert fused._onednn_available() is False and res[0][0].sum() > 0
    for out, grads in res[1:]:
        assert torch.equal(out, res[0][0])
        for n, g in grads.items():
            assert (g - res[0][1][n]).abs().max() / res[0][1][n].abs().max().clamp(min=1e-6) < 1e-5, n


def test_torch_func_error_names_the_transform():
    from snntorch import surrogate
    from torch.func import grad

    m = snr.SpikingRNN(3, 4, surrogate=surrogate.atan())
    with pytest.raises(RuntimeError, match=r"torch.func.grad .*surrogate='atan'"):
        grad(lambda x: m(x)[0].sum())(torch.randn(5, 2, 3))
