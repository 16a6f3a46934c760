"""The fused whole-sequence autograd path equals the step-function autograd path (values and gradients)."""
import pytest
import torch

import spikernn as snr


class ExactAtan(torch.autograd.Function):
    """Arctan surrogate that keeps the input dtype (snntorch's casts to float32), for float64 checks."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 + (torch.pi * x) ** 2)


def _run(m, x, fused):
    m.fused = fused
    m.zero_grad()
    xx = x.clone().requires_grad_(True)
    out, state = m(xx, m.initial_state(x.shape[1]))
    w = torch.linspace(0.5, 1.5, out.numel(), dtype=x.dtype).view_as(out)
    loss = (out * w).sum() + sum((f ** 2).sum() for f in state[1:])
    loss.backward()
    return out.detach(), [f.detach() for f in state], {n: p.grad.clone() for n, p in m.named_parameters()}, xx.grad


CASES = [(c, r, 0.0) for c in (snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU) for r in ("subtract", "zero", "none")]
CASES += [(c, r, 0.4) for c, r in ((snr.SpikingRNN, "subtract"), (snr.SpikingLSTM, "zero"), (snr.SpikingGRU, "none"))]


@pytest.mark.parametrize("cls,reset,adapt", CASES)
def test_fused_equals_step_float64(cls, reset, adapt):
    torch.manual_seed(0)
    m = cls(5, 7, num_layers=2, bidirectional=True, neuron="lif", reset=reset, adapt_scale=adapt, adapt_decay=0.8,
            threshold=0.3, learn_threshold=True, decay=0.7, surrogate=ExactAtan.apply).double()
    x = torch.randn(8, 3, 5, dtype=torch.float64) * 2
    o1, s1, g1, x1 = _run(m, x, True)
    o2, s2, g2, x2 = _run(m, x, False)
    assert o1.sum() > 0, "no spikes: the test would be vacuous"
    assert torch.equal(o1, o2)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert set(g1) == set(g2)
    for n in g1:
        torch.testing.assert_close(g1[n], g2[n], rtol=1e-9, atol=1e-11, msg=n)
    torch.testing.assert_close(x1, x2, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("cls", [snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU])
@pytest.mark.parametrize("sg", ["atan", "snntorch"])
def test_fused_equals_step_float32_snntorch_surrogate(cls, sg):
    """float32, the default surrogate (spikernn's Surrogate("atan"), closed-form derivative in the fused
    backward) and snntorch's own callable (derivative by autograd in the fused backward)."""
    from snntorch import surrogate

    torch.manual_seed(1)
    m = cls(6, 16, threshold=0.2, learn_threshold=True, surrogate=sg if sg == "atan" else surrogate.atan())
    x = torch.randn(20, 4, 6)
    o1, _, g1, x1 = _run(m, x, True)
    o2, _, g2, x2 = _run(m, x, False)
    assert torch.equal(o1, o2)
    for n in g1:
        scale = g2[n].abs().max().clamp(min=1e-6)
        assert (g1[n] - g2[n]).abs().max() / scale < 1e-5, n
    assert (x1 - x2).abs().max() / x2.abs().max() < 1e-5


def test_initial_state_gradient_fused():
    torch.manual_seed(2)
    m = snr.SpikingLSTM(3, 4, threshold=0.2, surrogate=ExactAtan.apply).double()
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    grads = []
    for fused in (True, False):
        m.fused = fused
        st = snr.LSTMState(*(torch.rand(1, 2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(i)).requires_grad_(True)
                             for i in range(4)))
        out, _ = m(x, st)
        out.sum().backward()
        grads.append([t.grad for t in st])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,opts", [("atan", {}), ("atan", {"alpha": 3.0}), ("fast_sigmoid", {"slope": 10.0}),
                                       ("sigmoid", {})])
def test_closed_form_surrogate_derivatives_match_snntorch(name, opts):
    from snntorch import surrogate

    from spikernn.fused import surrogate_derivative
    from spikernn.surrogates import surrogate_derivative_for

    x = torch.linspace(-2, 2, 101)
    ref = surrogate_derivative(getattr(surrogate, name)(**opts), x)
    torch.testing.assert_close(surrogate_derivative_for(name, opts)(x), ref, rtol=1e-5, atol=1e-5)
    m = snr.SpikingGRU(2, 3, surrogate=name, surrogate_options=opts)
    assert m._surrogate_grad is not None


@pytest.mark.parametrize("reset,adapt", [("subtract", 0.0), ("zero", 0.0), ("none", 0.3), ("subtract", 0.3)])
def test_fused_lstm_float32_state_gradients(reset, adapt):
    """float32 (oneDNN GEMMs, closed-form surrogate): the fused LSTM, which runs on n = -c internally, matches the
    step path in outputs, final states and the gradients of a loss on outputs and final states, initial state
    included."""
    torch.manual_seed(3)
    m = snr.SpikingLSTM(6, 16, neuron="lif", threshold=0.2, reset=reset, adapt_scale=adapt, adapt_decay=0.8,
                        learn_threshold=True)
    x = torch.randn(15, 4, 6)
    res = []
    for fused in (True, False):
        m.fused = fused
        m.zero_grad()
        st0 = snr.LSTMState(*(torch.rand(1, 4, 16, generator=torch.Generator().manual_seed(i)).requires_grad_(True)
                               for i in range(4)))
        out, st = m(x, st0)
        w = torch.linspace(0.5, 1.5, out.numel()).view_as(out)
        ((out * w).sum() + sum((f ** 2).sum() for f in st[1:])).backward()
        res.append((out.detach(), [f.detach() for f in st], {n: p.grad.clone() for n, p in m.named_parameters()},
                    [t.grad for t in st0]))
    (o1, s1, g1, i1), (o2, s2, g2, i2) = res
    assert o1.sum() > 0
    assert torch.equal(o1, o2)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    for n in g1:
        assert (g1[n] - g2[n]).abs().max() / g2[n].abs().max().clamp(min=1e-6) < 1e-5, n
    for a, b in zip(i1, i2):
        assert (a - b).abs().max() / b.abs().max().clamp(min=1e-6) < 1e-5


ADLIF_CASES = [(c, r, disc) for c in (snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU) for r in ("subtract", "zero", "none")
               for disc in ("ef", "se")]


def _fused_and_step(m, x, st0):
    """Outputs, final states, parameter gradients, input and initial-state gradients of ``m`` on ``x`` from
    ``st0``, with the fused path and then the step path (the loss weights every output and final state)."""
    res = []
    for fused in (True, False):
        m.fused = fused
        m.zero_grad()
        xx = x.clone().requires_grad_(True)
        s0 = type(st0)(*(t.clone().requires_grad_(True) for t in st0))
        out, st = m(xx, s0)
        w = torch.linspace(0.5, 1.5, out.numel(), dtype=x.dtype).view_as(out)
        ((out * w).sum() + sum((f ** 2).sum() for f in st[1:])).backward()
        res.append((out.detach(), [f.detach() for f in st], {n: p.grad.clone() for n, p in m.named_parameters()},
                    xx.grad, [t.grad for t in s0]))
    return res


@pytest.mark.parametrize("cls,reset,disc", ADLIF_CASES)
def test_fused_equals_step_float64_adlif(cls, reset, disc):
    """adLIF soma: the fused path's values and the gradients of every parameter (α, β, a, b, θ, weights), of
    the input and of the initial state equal the step path's, in float64."""
    torch.manual_seed(4)
    m = cls(5, 7, num_layers=2, bidirectional=True, neuron="adlif", discretisation=disc, reset=reset,
            threshold=0.3, learn_threshold=True, surrogate=ExactAtan.apply).double()
    x = torch.randn(10, 3, 5, dtype=torch.float64) * 2
    g = torch.Generator().manual_seed(5)
    st0 = type(m.initial_state(3))(*(torch.rand(4, 3, 7, dtype=torch.float64, generator=g) for _ in m.initial_state(3)))
    (o1, s1, g1, x1, i1), (o2, s2, g2, x2, i2) = _fused_and_step(m, x, st0)
    assert 0 < o1.mean() < 0.9, "no (or only) spikes: the test would be vacuous"
    assert torch.equal(o1, o2)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert {"alpha_l0", "beta_l0", "a_l0", "b_l0", "threshold_l1_reverse"} <= set(g1) and set(g1) == set(g2)
    for n in g1:
        assert g2[n].abs().sum() > 0, n
        torch.testing.assert_close(g1[n], g2[n], rtol=1e-9, atol=1e-11, msg=n)
    torch.testing.assert_close(x1, x2, rtol=1e-9, atol=1e-11)
    for a, b in zip(i1, i2):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("straight_through", [False, True])
@pytest.mark.parametrize("cls", [snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU])
def test_fused_equals_step_float64_delta(cls, straight_through):
    """Sigma-delta (graded) soma: the fused path's outputs ŝ, states and the gradients of the weights, the
    input and the initial state equal the step path's, in float64, with some steps sending and some not
    (exact and straight-through gradient)."""
    torch.manual_seed(8)
    m = cls(5, 7, num_layers=2, bidirectional=True, neuron="delta", threshold=0.05,
            straight_through=straight_through).double()
    x = torch.randn(10, 3, 5, dtype=torch.float64)
    g = torch.Generator().manual_seed(9)
    st0 = type(m.initial_state(3))(*(torch.rand(4, 3, 7, dtype=torch.float64, generator=g) for _ in m.initial_state(3)))
    (o1, s1, g1, x1, i1), (o2, s2, g2, x2, i2) = _fused_and_step(m, x, st0)
    sent = (o1[1:] != o1[:-1]).double().mean()
    assert 0.1 < sent < 0.95, f"events on {sent:.2f} of the steps: the test would be vacuous"
    torch.testing.assert_close(o1, o2, rtol=0, atol=1e-12)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert set(g1) == set(g2)
    for n in g1:
        assert g2[n].abs().sum() > 0, n
        torch.testing.assert_close(g1[n], g2[n], rtol=1e-9, atol=1e-11, msg=n)
    torch.testing.assert_close(x1, x2, rtol=1e-9, atol=1e-11)
    for a, b in zip(i1, i2):
        if b is None:
            assert a is None or a.abs().max() == 0
        else:
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("disc", ["ef", "se"])
def test_fused_adlif_float32_closed_form_surrogate(disc):
    torch.manual_seed(6)
    m = snr.SpikingRNN(6, 16, neuron="adlif", discretisation=disc, threshold=0.2)
    x = torch.randn(20, 4, 6) * 3
    o1, _, g1, x1 = _run(m, x, True)
    o2, _, g2, x2 = _run(m, x, False)
    assert torch.equal(o1, o2) and o1.sum() > 0
    for n in g1:
        scale = g2[n].abs().max().clamp(min=1e-6)
        assert (g1[n] - g2[n]).abs().max() / scale < 1e-5, n


@pytest.mark.parametrize("name,opts", [("atan", {}), ("atan", {"alpha": 3.0}), ("fast_sigmoid", {"slope": 10.0}),
                                       ("sigmoid", {})])
def test_surrogate_equals_snntorch_and_pickles(name, opts):
    """spikernn's Surrogate: snntorch's forward and backward (float32), dtype kept, picklable by name, vmap."""
    import pickle

    from snntorch import surrogate
    from torch.func import grad, vmap

    from spikernn.surrogates import Surrogate

    ours, ref = Surrogate(name, opts), getattr(surrogate, name)(**opts)
    x = torch.linspace(-2, 2, 101, requires_grad=True)
    y, y_ref = ours(x), ref(x)
    assert torch.equal(y, y_ref)
    (g,) = torch.autograd.grad((y * torch.arange(101.0)).sum(), x)
    (g_ref,) = torch.autograd.grad((y_ref * torch.arange(101.0)).sum(), x)
    assert (g - g_ref).abs().max() <= 1e-6 * g_ref.abs().max()
    assert ours(x.double()).dtype == torch.float64
    again = pickle.loads(pickle.dumps(ours))
    assert again.name == name and torch.equal(again.derivative(x.detach()), ours.derivative(x.detach()))
    gv = vmap(grad(lambda xi: ours(xi).sum() * 1.0))(x.detach().view(101, 1))
    torch.testing.assert_close(gv.view(-1), ours.derivative(x.detach()))


def test_tune_malloc_once_and_switch(monkeypatch):
    """fused._tune_malloc sets glibc's mmap/trim thresholds once per process (the fused path's (T,B,G*H) buffers
    then come from the heap, no page faults per call) and leaves malloc alone with SPIKERNN_MALLOPT=0."""
    import ctypes

    from spikernn import fused

    monkeypatch.setitem(fused._MALLOC, "tuned", None)
    monkeypatch.setenv("SPIKERNN_MALLOPT", "0")
    assert fused._tune_malloc() is False and fused._MALLOC["tuned"] is False
    monkeypatch.setitem(fused._MALLOC, "tuned", None)
    monkeypatch.delenv("SPIKERNN_MALLOPT")
    try:
        ctypes.CDLL(None).mallopt
    except AttributeError:
        assert fused._tune_malloc() is False  # not glibc
    else:
        assert fused._tune_malloc() is True
    assert fused._tune_malloc() is fused._MALLOC["tuned"]  # once: the second call only reads the flag
