"""The training-time rate bound (spikernn.rate_bound) and its use by the layers (neuron option rate_target)."""
import pytest
import torch

import spikernn as snr
from spikernn.rate_bound import bound_rate, rate_penalty


def _spikes(shape=(6, 3, 5), p=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g, dtype=torch.float64) < p).double().requires_grad_(True)


@pytest.mark.parametrize("masked", [False, True])
def test_bound_rate_is_the_identity_forward_and_adds_the_penalty_gradient_backward(masked):
    s = _spikes(p=0.6)
    mask = None
    if masked:
        mask = torch.ones(6, 3, 1, dtype=torch.float64)
        mask[4:, 0] = 0
        mask[2:, 2] = 0
    g_out = torch.randn(6, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = bound_rate(s, 0.2, 0.7, mask)
    assert torch.equal(y, s)
    (got,) = torch.autograd.grad(y, s, g_out)
    s2 = s.detach().clone().requires_grad_(True)
    (want,) = torch.autograd.grad((s2 * g_out).sum() + rate_penalty(s2, 0.2, 0.7, mask), s2)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-15)
    extra = got - g_out
    assert float(extra.max()) > 0
    if masked:  # padded steps get nothing, valid ones all the same push 2 λ (r − r*) / n_valid
        assert float(extra[mask.expand_as(s) == 0].abs().max()) == 0
        n_valid = float(mask.sum())
        r = float((s.detach() * mask).sum()) / (n_valid * 5)
        torch.testing.assert_close(extra[mask.expand_as(s) == 1],
                                   torch.full_like(extra[mask.expand_as(s) == 1], 2 * 0.7 * (r - 0.2) / n_valid))


def test_bound_rate_does_nothing_below_the_target_and_without_gradients():
    s = _spikes(p=0.1)
    (g,) = torch.autograd.grad(bound_rate(s, 0.5).sum(), s)
    assert torch.equal(g, torch.ones_like(s))
    assert bound_rate(s, None) is s
    assert bound_rate(s, 0.5, 0.0) is s
    with torch.no_grad():
        assert bound_rate(s, 0.05) is s
    plain = s.detach()
    assert bound_rate(plain, 0.05) is plain


@pytest.mark.parametrize("target, strength, err", [(0.0, 1.0, ValueError), (1.0, 1.0, ValueError),
                                                   (float("nan"), 1.0, TypeError), (True, 1.0, TypeError),
                                                   ("0.1", 1.0, TypeError), (0.1, -1.0, ValueError),
                                                   (0.1, float("inf"), TypeError)])
def test_bound_rate_refuses_bad_targets_and_strengths(target, strength, err):
    with pytest.raises(err, match="rate_"):
        bound_rate(_spikes(), target, strength)
    with pytest.raises(err, match="rate_"):
        snr.SpikingRNN(3, 4, rate_target=target, rate_strength=strength)


def test_bound_rate_under_torch_func_grad_and_vmap():
    s = _spikes(p=0.7).detach()
    g = torch.func.grad(lambda x: (bound_rate(x, 0.3) * 2.0).sum())(s)
    x = s.clone().requires_grad_(True)
    (want,) = torch.autograd.grad((x * 2.0).sum() + rate_penalty(x, 0.3), x)
    torch.testing.assert_close(g, want)
    batched = torch.stack([s, _spikes(p=0.1, seed=3).detach()])
    gv = torch.func.vmap(torch.func.grad(lambda x: bound_rate(x, 0.3).sum()))(batched)
    assert float((gv[0] - 1).min()) > 0 and torch.equal(gv[1], torch.ones_like(gv[1]))  # per sample


def test_spiking_rnn_bounds_its_rate_by_default_and_the_other_layers_and_the_cells_do_not():
    rnn = snr.SpikingRNN(3, 4)
    assert (rnn.neuron_options.rate_target, rnn.neuron_options.rate_strength) == (0.12, 1.0)
    assert snr.SpikingRNN(3, 4, neuron="lif").neuron_options.rate_target is None
    assert snr.SpikingLSTM(3, 4).neuron_options.rate_target is None
    assert snr.SpikingGRU(3, 4, rate_target=0.1).neuron_options.rate_target == 0.1
    assert snr.SpikingRNNCell(3, 4).neuron_options.rate_target is None  # the layer's default is dropped
    with pytest.raises(ValueError, match="rate_target bounds .* layers"):
        snr.SpikingRNNCell(3, 4, rate_target=0.1)
    with pytest.raises(ValueError, match=r"\['rate_target'\] do not apply to neuron='delta'"):
        snr.SpikingRNN(3, 4, neuron="delta", rate_target=0.1)
    assert "rate_target" not in snr.SpikingRNN(3, 4, neuron="delta").neuron_options.to_config()


def test_save_and_load_keep_the_rate_bound(tmp_path):
    rnn = snr.SpikingRNN(3, 4, rate_target=0.07, rate_strength=2.5)
    snr.save(rnn, tmp_path / "m")
    back = snr.load(tmp_path / "m")
    assert (back.neuron_options.rate_target, back.neuron_options.rate_strength) == (0.07, 2.5)
    off = snr.SpikingRNN(3, 4, rate_target=None)
    snr.save(off, tmp_path / "off")
    assert snr.load(tmp_path / "off").neuron_options.rate_target is None


def _loud_rnn(seed, **opts):
    torch.manual_seed(seed)
    rnn = snr.SpikingRNN(4, 16, threshold=0.05, **opts)  # a low threshold and a strong bias: a rate near 0.33
    with torch.no_grad():
        rnn.bias_ih_l0.fill_(2.0)
    return rnn


@pytest.mark.parametrize("fused", [True, False])
def test_the_layer_bound_changes_gradients_not_outputs_and_counts_valid_steps_only(fused):
    x = torch.randn(20, 3, 4, generator=torch.Generator().manual_seed(2))
    lengths = torch.tensor([20, 11, 5])
    outs, grads = [], []
    for target in (None, 0.05):
        rnn = _loud_rnn(0, rate_target=target, fused=fused)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, _ = rnn(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out)
        out.sum().backward()
        outs.append(out.detach())
        grads.append(rnn.weight_ih_l0.grad.clone())
    assert torch.equal(outs[0], outs[1])
    assert float(outs[0].sum()) / (16 * int(lengths.sum())) > 0.05  # above the target: the bound acts
    assert not torch.allclose(grads[0], grads[1])


def test_fused_and_step_paths_give_the_same_bounded_gradient():
    x = torch.randn(15, 2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    grads = []
    for fused in (True, False):
        rnn = _loud_rnn(1, rate_target=0.05, fused=fused).double()
        out, _ = rnn(x)
        (out * torch.linspace(-1, 1, 16, dtype=torch.float64)).sum().backward()
        grads.append([p.grad.clone() for p in rnn.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_training_on_the_bound_alone_lowers_the_rate_to_near_its_target():
    x = torch.randn(30, 8, 4, generator=torch.Generator().manual_seed(5))
    rnn = _loud_rnn(2, rate_target=0.1, rate_strength=1.0)
    opt = torch.optim.Adam(rnn.parameters(), lr=1e-2)

    def rate():
        with torch.no_grad():
            return float(rnn(x)[0].mean())

    before = rate()
    for _ in range(60):
        opt.zero_grad()
        out, _ = rnn(x)
        (0.0 * out.sum()).backward()  # no task loss: only the bound's gradient
        opt.step()
    after = rate()
    assert before > 0.3 and after < 0.2, (before, after)


def test_the_module_example_runs():
    import doctest

    import spikernn.rate_bound

    assert doctest.testmod(spikernn.rate_bound).failed == 0
