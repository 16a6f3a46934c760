"""The JapaneseVowels screen's round-10 options do what its docstring says (tiny synthetic data, no training run
long enough for a figure)."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import screen_japanese_vowels as screen  # noqa: E402
import spikernn as snr  # noqa: E402


def _data():
    x = torch.arange(1, 2 * 5 * 2 + 1.0).reshape(2, 5, 2)
    x[1, 3:] = 0  # the second sequence has 3 valid steps
    return snr.datasets.SequenceData(x, torch.tensor([5, 3]), torch.tensor([0, 1]), 2, ["a", "b"])


def test_stack_concatenates_consecutive_frames_causally_and_shortens_the_lengths():
    d = _data()
    tr, ev = screen.features(d, d, {**screen.DEFAULTS, "stack": 2})
    assert tr.x.shape == (2, 3, 4) and tr.lengths.tolist() == [3, 2]
    assert tr.x[0, 1].tolist() == [5, 6, 7, 8]  # frames 2 and 3 (1-based) in one step
    assert tr.x[0, 2].tolist() == [9, 10, 0, 0]  # the last step of an odd length is zero-padded
    assert tr.x[1, 1].tolist() == [15, 16, 0, 0] and tr.x[1, 2].abs().sum() == 0
    torch.testing.assert_close(ev.x, tr.x)


def test_reverse_flips_only_the_valid_steps_and_the_masks_zero_a_band_and_a_span():
    d = _data()
    g = torch.Generator().manual_seed(0)
    x, L = screen.augment(d.x, d.lengths, {**screen.DEFAULTS, "crop": 0.0, "reverse": 1.0}, g)
    assert x[0, :, 0].tolist() == [9, 7, 5, 3, 1] and x[1, :, 0].tolist() == [15, 13, 11, 0, 0]
    assert L.tolist() == [5, 3]
    x, _ = screen.augment(d.x, d.lengths, {**screen.DEFAULTS, "crop": 0.0, "fmask": 1, "tmask": 0},
                          torch.Generator().manual_seed(3))
    for b in range(2):  # each sequence: at most one feature column zeroed over all steps, nothing else touched
        zeroed = [f for f in range(2) if x[b, :, f].abs().sum() == 0]
        kept = [f for f in range(2) if f not in zeroed]
        assert len(zeroed) <= 1 and all(torch.equal(x[b, :, f], d.x[b, :, f]) for f in kept)
    unchanged, _ = screen.augment(d.x, d.lengths, {**screen.DEFAULTS, "crop": 0.0}, g)
    assert torch.equal(unchanged, d.x)


def test_max_readout_ignores_the_steps_after_a_sequence_ends_and_in_scale_starts_at_one():
    torch.manual_seed(0)
    o = {**screen.DEFAULTS, "kind": "lstm", "hidden": 4, "neuron": "adlif"}
    inner = screen.build(o, 2, 3)
    net = screen.build({**o, "readout_max": True}, 2, 3)
    net.net.load_state_dict(inner.state_dict())
    x, L = torch.randn(2, 6, 2), torch.tensor([6, 2])
    y = inner.forward_steps(x, L)
    torch.testing.assert_close(net(x, L), torch.stack([y[0].amax(0), y[1, :2].amax(0)]))
    sc = screen.build({**o, "in_scale": True}, 2, 3)
    assert sc.gain.tolist() == [1.0, 1.0] and sc.gain.requires_grad
    sc.inner.load_state_dict(inner.state_dict())
    torch.testing.assert_close(sc(x, L), inner(x, L))


def test_ema_adamw_and_the_per_step_loss_train_one_epoch():
    tr = snr.datasets.load("synthetic")[0].subset(16)
    o = {**screen.DEFAULTS, "kind": "lstm", "hidden": 4, "neuron": "adlif", "epochs": 1, "batch": 8}
    for extra in ({"ema": 0.9}, {"opt": "adamw", "wd": 0.01, "beta2": 0.99}, {"tet": 0.5, "tet_from": 0.5}):
        torch.manual_seed(0)
        net = screen.build({**o, **extra}, tr.num_features, tr.num_classes)
        before = [p.detach().clone() for p in net.parameters()]
        screen.train(net, tr, {**o, **extra}, 0)
        assert any(not torch.equal(a, p) for a, p in zip(before, net.parameters()))
        assert not net.training


def test_ema_with_decay_one_keeps_the_initial_weights():
    tr = snr.datasets.load("synthetic")[0].subset(16)
    o = {**screen.DEFAULTS, "kind": "lstm", "hidden": 4, "neuron": "adlif", "epochs": 1, "batch": 8, "ema": 1.0}
    torch.manual_seed(0)
    net = screen.build(o, tr.num_features, tr.num_classes)
    before = [p.detach().clone() for p in net.parameters()]
    screen.train(net, tr, o, 0)
    assert all(torch.equal(a, p) for a, p in zip(before, net.parameters()))


def test_rorth_draws_each_recurrent_gate_block_orthogonal():
    torch.manual_seed(0)
    net = screen.build({**screen.DEFAULTS, "kind": "lstm", "hidden": 6, "neuron": "adlif", "rorth": True}, 3, 2)
    w = net.rnn.weight_hh_l0.detach()
    assert w.shape == (24, 6)
    for k in range(4):
        blk = w[6 * k:6 * (k + 1)]
        torch.testing.assert_close(blk @ blk.T, torch.eye(6), atol=1e-5, rtol=0)
