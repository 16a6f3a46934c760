"""The step functions implement docs/equations.md."""
import pytest
import torch

from spikernn import functional as SF


def test_spike_is_strictly_greater():
    d = torch.tensor([[1.0, 0.5, 1.5]])
    st = SF.SomaState(torch.zeros(1, 3), torch.zeros(1, 3))
    s, _ = SF.soma_step(d, st, torch.zeros(3), torch.ones(3))
    assert s.tolist() == [[0.0, 0.0, 1.0]]


def test_resets_and_decay():
    d = torch.tensor([[1.5]])
    st = SF.SomaState(torch.tensor([[1.0]]), torch.zeros(1, 1))
    beta, th = torch.tensor([0.5]), torch.tensor([1.0])
    # u = 0.5 * 1 + 1.5 = 2.0 > 1 -> spike
    s, a = SF.soma_step(d, st, beta, th, "subtract")
    assert s.item() == 1.0 and a.v.item() == 1.0
    _, b = SF.soma_step(d, st, beta, th, "zero")
    assert b.v.item() == 0.0
    _, c = SF.soma_step(d, st, beta, th, "none")
    assert c.v.item() == 2.0


def test_adaptive_threshold():
    st = SF.SomaState(torch.zeros(1, 1), torch.tensor([[2.0]]))
    # theta = 1 + 0.5 * 2 = 2 ; u = 1.9 -> no spike; a = 0.9 * 2 + 0
    s, new = SF.soma_step(torch.tensor([[1.9]]), st, torch.zeros(1), torch.ones(1), "subtract",
                          torch.tensor([0.9]), torch.tensor([0.5]))
    assert s.item() == 0.0
    assert abs(new.a.item() - 1.8) < 1e-6
    s2, new2 = SF.soma_step(torch.tensor([[2.1]]), st, torch.zeros(1), torch.ones(1), "subtract",
                            torch.tensor([0.9]), torch.tensor([0.5]))
    assert s2.item() == 1.0 and abs(new2.v.item() - 0.1) < 1e-6 and abs(new2.a.item() - 2.8) < 1e-6


def test_reset_is_detached():
    v = torch.zeros(1, 1)
    d = torch.tensor([[2.0]], requires_grad=True)
    s, st = SF.soma_step(d, SF.SomaState(v, v), torch.zeros(1), torch.ones(1), "zero")
    st.v.sum().backward()
    # v = u * (1 - sg(s)) = 0, gradient through u only: (1 - s) = 0
    assert d.grad.item() == 0.0


@pytest.mark.parametrize("reset", SF.RESETS)
def test_reset_rule_and_its_partials_are_one_definition(reset):
    """``reset_membrane`` (out of place and in place into ``out``, as the fused loops call it) and the partial
    derivatives ``reset_partials`` the fused backward uses agree with autograd through the rule itself."""
    g = torch.Generator().manual_seed(0)
    u = torch.randn(5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    th = (torch.rand(6, generator=g, dtype=torch.float64) + 0.1).requires_grad_(True)
    s = (u.detach() > th.detach()).to(u.dtype)
    assert 0 < s.mean() < 1
    v = SF.reset_membrane(u, s, th, reset)
    out = torch.empty_like(v)
    assert SF.reset_membrane(u.detach(), s, th.detach(), reset, out=out) is out and torch.equal(out, v.detach())
    gv = torch.randn(5, 6, generator=g, dtype=torch.float64)
    du, dth = torch.autograd.grad(v, (u, th), gv, allow_unused=True)
    p_u, p_th = SF.reset_partials(s, reset)
    torch.testing.assert_close(du, gv if p_u is None else gv * p_u, rtol=0, atol=0)
    zero = torch.zeros(6, dtype=v.dtype)
    torch.testing.assert_close(zero if dth is None else dth, zero if p_th is None else (gv * p_th).sum(0),
                               rtol=0, atol=1e-15)
    expected = {"subtract": u - th * s, "zero": u * (1 - s), "none": u}[reset]
    torch.testing.assert_close(v, expected, rtol=0, atol=1e-15)


def test_lstm_drive_matches_torch_cell():
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(3, 4)
    x, s, c = torch.randn(2, 3), (torch.rand(2, 4) > 0.5).float(), torch.randn(2, 4)
    h_ref, c_ref = cell(x, (s, c))
    xp = x @ cell.weight_ih.t() + cell.bias_ih
    d, c2 = SF.lstm_drive(xp, s, c, cell.weight_hh, cell.bias_hh)
    torch.testing.assert_close(d, h_ref)
    torch.testing.assert_close(c2, c_ref)


def test_gru_drive_matches_torch_cell():
    torch.manual_seed(0)
    cell = torch.nn.GRUCell(3, 4)
    x, s = torch.randn(2, 3), (torch.rand(2, 4) > 0.5).float()
    h = torch.randn(2, 4)
    # torch's GRUCell uses one hidden h for both the recurrence and the state; with s == h they coincide
    h_ref = cell(x, h)
    xp = x @ cell.weight_ih.t() + cell.bias_ih
    d, _ = SF.gru_drive(xp, h, h, cell.weight_hh, cell.bias_hh)
    torch.testing.assert_close(d, h_ref)


def test_readout_step():
    y = SF.readout_step(torch.ones(1, 2), torch.tensor([[1.0]]), torch.ones(1, 2), torch.tensor([0.5]), torch.tensor([0.5]))
    assert y.item() == 0.5 * 1.0 + 2.0 + 0.5


def test_adlif_step_equations():
    """adLIF (docs/equations.md): u = α v + (1-α)(d - w); spike; reset; w from the previous ("ef") or the
    current ("se") membrane and spike."""
    al, be, a, b, th = (torch.tensor([x]) for x in (0.5, 0.8, 0.5, 1.0, 1.0))
    st = SF.SomaState(torch.tensor([[0.4]]), torch.tensor([[0.2]]))
    s_prev = torch.tensor([[1.0]])
    d = torch.tensor([[3.0]])
    # u = 0.5*0.4 + 0.5*(3 - 0.2) = 1.6 > 1: spike; subtract: v = 0.6
    s, new = SF.adlif_step(d, s_prev, st, al, be, a, b, th, "subtract", "ef")
    assert s.item() == 1.0 and abs(new.v.item() - 0.6) < 1e-6
    # ef: w = 0.8*0.2 + 0.2*(0.5*0.4 + 1*1) = 0.16 + 0.24 = 0.4
    assert abs(new.a.item() - 0.4) < 1e-6
    s, new = SF.adlif_step(d, s_prev, st, al, be, a, b, th, "zero", "se")
    # se: v = 0 after the zero reset; w = 0.16 + 0.2*(0.5*0 + 1*1) = 0.36
    assert new.v.item() == 0.0 and abs(new.a.item() - 0.36) < 1e-6
    s, new = SF.adlif_step(torch.tensor([[0.5]]), s_prev, st, al, be, a, b, th, "none", "se")
    # u = 0.2 + 0.5*0.3 = 0.35: no spike; w = 0.16 + 0.2*(0.5*0.35) = 0.195
    assert s.item() == 0.0 and abs(new.v.item() - 0.35) < 1e-6 and abs(new.a.item() - 0.195) < 1e-6


def test_delta_step_straight_through_keeps_the_forward_and_passes_the_gradient_whole():
    """``straight_through=True``: ŝ_t bit for bit the exact step's, ∂ŝ_t/∂y_t = 1 (also where no event was
    sent) and ∂ŝ_t/∂ŝ_{t-1} = 0; the exact step: ∂ŝ_t/∂y_t = m_t, ∂ŝ_t/∂ŝ_{t-1} = 1 − m_t."""
    d = torch.tensor([0.30, 0.10, -0.20, 0.52], requires_grad=True)
    s_prev = torch.tensor([0.0, 0.08, -0.21, 0.50], requires_grad=True)
    m = torch.tensor([1.0, 0.0, 0.0, 0.0])  # |d − ŝ| > 0.05 only for the first neuron
    s_exact, _ = SF.delta_step(d, s_prev, 0.05)
    s_exact.sum().backward()
    assert torch.equal(d.grad, m) and torch.equal(s_prev.grad, 1 - m)
    d.grad = s_prev.grad = None
    s_st, st = SF.delta_step(d, s_prev, 0.05, straight_through=True)
    assert torch.equal(s_st, s_exact.detach()) and torch.equal(st.v, d.detach())
    s_st.sum().backward()
    assert torch.equal(d.grad, torch.ones(4)) and (s_prev.grad is None or s_prev.grad.abs().max() == 0)
