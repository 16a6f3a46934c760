"""Activity statistics count only the valid steps of padded sequences, the same way on both backends."""
import numpy as np
import pytest
import torch

import spikernn as snr
from spikernn.converters import to_lava


def _net(kind="lstm"):
    torch.manual_seed(0)
    model = snr.SpikingSequenceClassifier(kind, 3, 6, 4, threshold=0.3).eval()
    return to_lava(model)


def _totals(stats):
    return (stats.total_events(), stats.total_synaptic_ops(), stats.total_neuron_updates())


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_padded_batch_counts_equal_the_sum_of_unpadded_runs(kind):
    net = _net(kind)
    rng = np.random.default_rng(1)
    lengths = np.array([9, 4, 6])
    x = rng.normal(size=(3, 9, 3)) * 2  # (B, T, I): classifiers are batch-first
    for b, n in enumerate(lengths):
        x[b, n:] = 5.0  # loud padding: it must not be counted
    _, padded = net.simulate(torch.tensor(x), lengths=torch.tensor(lengths))
    parts = [net.simulate(torch.tensor(x[b:b + 1, :n]))[1] for b, n in enumerate(lengths)]
    assert _totals(padded) == tuple(sum(t) for t in zip(*(_totals(p) for p in parts)))
    assert padded.total_neuron_updates() == sum(p.size for p in net.populations if p.kind != "input") * lengths.sum()
    _, unmasked = net.simulate(torch.tensor(x))
    assert unmasked.total_events() > padded.total_events()


def test_lava_counts_padded_batches_like_the_fast_simulator():
    pytest.importorskip("lava")
    net = _net("lstm")
    x = torch.randn(2, 6, 3) * 2
    lengths = torch.tensor([6, 3])
    _, fast = net.simulate(x, lengths=lengths, backend="fast")
    _, lava = net.simulate(x, lengths=lengths, backend="lava")
    assert fast.to_dict() == lava.to_dict()


def test_lengths_that_do_not_match_the_batch_are_refused():
    from spikernn.hardware.stats import count_activity

    net = _net()
    masks = {p.name: np.zeros((4, 2, p.size), bool) for p in net.populations}
    with pytest.raises(ValueError, match="lengths"):
        count_activity(net, masks, 4, 2, lengths=np.array([1, 2, 3]))


@pytest.mark.parametrize("cell,kind,compartments", [("rnn", "adlif", 1), ("lstm", "adlif_lstm", 4),
                                                    ("gru", "adlif_gru", 6)])
def test_adlif_activity_and_placement_come_from_its_kind(cell, kind, compartments):
    """An adLIF layer (the soma of an RNN, LSTM or GRU cell) is counted as its kind says (one neuron update per
    neuron and step, binary spikes of one bit) and placed with one compartment per gate input; the Loihi
    estimate reads those counts."""
    from spikernn.energy import loihi_estimate
    from spikernn.hardware import place
    from spikernn.hardware.kinds import KINDS

    torch.manual_seed(0)
    model = snr.SpikingSequenceClassifier(cell, 3, 6, 4, neuron="adlif", threshold=0.1).eval()
    net = to_lava(model)
    assert net.population("l0").kind == kind
    x = torch.randn(2, 9, 3) * 3
    _, stats = net.simulate(x)
    k = KINDS[kind]
    assert stats.message_bits["l0"] == k.message_bits == 1
    assert stats.neuron_updates["l0"] == 6 * k.updates_per_step * 9 * 2
    row = next(r for r in place(net).table if r["population"] == "l0")
    assert row["compartments"] == 6 * k.compartments == 6 * compartments
    assert loihi_estimate(stats).counts["neuron_updates_active"] + \
        loihi_estimate(stats).counts["neuron_updates_inactive"] == stats.total_neuron_updates() / 2


def test_events_per_neuron_equals_the_int64_sum():
    """stats.events_per_neuron (uint8 slices of 255 samples) is m.sum(axis=1) in int64 for any batch size, for
    views (reversed, column slices) and all-True masks (every slice at its 255 limit)."""
    from spikernn.hardware.stats import events_per_neuron

    rng = np.random.default_rng(0)
    for shape in [(3, 0, 4), (5, 1, 3), (7, 255, 5), (7, 256, 5), (4, 600, 9)]:
        m = rng.random(shape) < 0.9
        for mm in (m, m[::-1], m[:, :, 1:], np.ones(shape, bool)):
            got = events_per_neuron(mm)
            assert got.dtype == np.int64
            np.testing.assert_array_equal(got, mm.sum(axis=1, dtype=np.int64))
