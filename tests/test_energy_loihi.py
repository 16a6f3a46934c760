"""Loihi-class estimate against activity counted by hand for a tiny network, and the shipped figures."""
import numpy as np
import pytest

from spikernn.energy import figures
from spikernn.energy.loihi import loihi_estimate
from spikernn.hardware.stats import ActivityStats

E_SYN, E_ACT, E_INACT, E_SPK = 23.6e-12, 81e-12, 52e-12, 1.7e-12


def test_figures_match_davies_table2_and_are_cited():
    f = figures.loihi()
    assert (f.synaptic_op_j, f.neuron_update_active_j, f.neuron_update_inactive_j) == (E_SYN, E_ACT, E_INACT)
    assert (f.spike_within_tile_j, f.hop_east_west_j, f.hop_north_south_j) == (E_SPK, 3.0e-12, 4.0e-12)
    assert "IEEE Micro" in figures.citation("davies2018")
    h = figures.horowitz()
    assert (h.fp32_add_j, h.fp32_mult_j, h.int8_add_j, h.int8_mult_j) == (0.9e-12, 3.7e-12, 0.03e-12, 0.2e-12)
    assert figures.blouw2019()["Loihi"] == pytest.approx(0.27e-3)
    with pytest.raises(KeyError, match="unknown"):
        figures.citation("nobody2020")


def tiny_stats() -> ActivityStats:
    """2 inputs -> 3 hidden neurons (recurrent), 3 steps, batch 2, counted by hand:

    input events per step (both batch items): [2, 1, 0]; each input event fans out to 3 hidden -> syn ops
    [6, 3, 0]. Hidden events [1, 2, 1], recurrent fan-out 3 -> [3, 6, 3]. Hidden updates 3 neurons x 3
    steps x 2 = 18. One hidden->hidden message crosses a core boundary: hops [0, 2, 0].
    """
    return ActivityStats(
        steps=3, batch=2,
        events={"input": np.array([2, 1, 0]), "hidden": np.array([1, 2, 1])},
        synaptic_ops={"in->hidden": np.array([6, 3, 0]), "hidden->hidden": np.array([3, 6, 3])},
        neuron_updates={"hidden": 18},
        message_bits={"input": 1, "hidden": 1},
        core_hops={"hidden->hidden": np.array([0, 2, 0])},
    )


def test_tiny_network_by_hand():
    est = loihi_estimate(tiny_stats())
    syn, events, updates, hops = 21, 7, 18, 2
    active = 4  # hidden sent 4 events -> 4 active neuron-steps, 14 inactive
    expected = (syn * E_SYN + active * E_ACT + (updates - active) * E_INACT + events * E_SPK + hops * 3.5e-12) / 2
    assert est.joules_per_inference == pytest.approx(expected, rel=1e-12)
    assert est.breakdown_j["synaptic_ops"] == pytest.approx(21 * E_SYN / 2)
    assert est.breakdown_j["neuron_updates_active"] == pytest.approx(4 * E_ACT / 2)
    assert est.breakdown_j["neuron_updates_inactive"] == pytest.approx(14 * E_INACT / 2)
    assert est.breakdown_j["spikes"] == pytest.approx(7 * E_SPK / 2)
    assert est.breakdown_j["hops"] == pytest.approx(2 * 3.5e-12 / 2)
    assert sum(est.breakdown_j.values()) == pytest.approx(est.joules_per_inference)
    assert est.counts == {"synaptic_ops": 10.5, "neuron_updates_active": 2.0, "neuron_updates_inactive": 7.0,
                          "events": 3.5, "core_hops": 1.0}
    # bounds: low = hops at 3.0 pJ; high = all updates active and hops at 4.0 pJ
    assert est.low_j == pytest.approx((syn * E_SYN + 4 * E_ACT + 14 * E_INACT + 7 * E_SPK + 2 * 3e-12) / 2)
    assert est.high_j == pytest.approx((syn * E_SYN + 18 * E_ACT + 7 * E_SPK + 2 * 4e-12) / 2)
    assert est.low_j <= est.joules_per_inference <= est.high_j
    fig = est.figure
    assert fig.kind == "estimated" and fig.method == "loihi-davies2018-proxy"
    assert "Loihi 2" in fig.caveat and "Davies" in fig.caveat and "ESTIMATE" in fig.caveat
    assert fig.seconds_per_inference is None
    # per-population / per-block split adds up to the total
    assert sum(est.per_population_j.values()) + sum(est.per_block_j.values()) == pytest.approx(expected)


def test_all_active_and_batch_scaling():
    s = tiny_stats()
    all_active = loihi_estimate(s, active="all")
    assert all_active.breakdown_j["neuron_updates_active"] == pytest.approx(18 * E_ACT / 2)
    assert all_active.breakdown_j["neuron_updates_inactive"] == 0
    # doubling every count and the batch leaves the per-inference figure unchanged
    d = ActivityStats(steps=3, batch=4, events={k: 2 * v for k, v in s.events.items()},
                      synaptic_ops={k: 2 * v for k, v in s.synaptic_ops.items()},
                      neuron_updates={"hidden": 36}, core_hops={k: 2 * v for k, v in s.core_hops.items()})
    assert loihi_estimate(d).joules_per_inference == pytest.approx(loihi_estimate(s).joules_per_inference)


def test_graded_spikes_named_in_caveat():
    s = tiny_stats()
    s.message_bits["hidden"] = 24
    assert "Graded spikes (hidden)" in loihi_estimate(s).figure.caveat


def test_empty_batch_and_bad_option():
    with pytest.raises(ValueError, match="empty batch"):
        loihi_estimate(ActivityStats(steps=3, batch=0))
    with pytest.raises(ValueError, match="active"):
        loihi_estimate(tiny_stats(), active="some")
