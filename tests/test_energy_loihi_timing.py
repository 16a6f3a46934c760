"""Loihi latency model against a tiny network timed by hand (Davies et al. 2018, Table 2 times), and the
Loihi 2 static-power and system-level (Hala Point) references."""
import numpy as np
import pytest

from spikernn.energy import figures
from spikernn.energy.loihi_timing import loihi_latency
from spikernn.hardware import place
from spikernn.hardware.network import Network, Population, SynapseBlock
from spikernn.hardware.stats import ActivityStats

NS = 1e-9


def tiny():
    """Host input (2) -> 3 LIF neurons on one core; 2 steps, batch 1."""
    net = Network(populations=[Population("x", "input", 2), Population("h", "lif", 3)],
                  synapses=[SynapseBlock("x->h", "x", "h", "in", np.ones((3, 2)))], input="x", outputs=["h"])
    stats = ActivityStats(steps=2, batch=1, events={"x": np.array([2, 1]), "h": np.array([1, 0])},
                          synaptic_ops={"x->h": np.array([6, 3])}, neuron_updates={"h": 6},
                          message_bits={"x": 24, "h": 1})
    return net, stats


def test_table2_times_are_shipped_and_cited():
    t = figures.loihi_timing()
    assert (t.synaptic_op_s, t.neuron_update_active_s, t.neuron_update_inactive_s) == (3.5e-9, 8.4e-9, 5.3e-9)
    assert (t.spike_within_tile_s, t.hop_east_west_s, t.hop_north_south_s) == (2.1e-9, 4.1e-9, 6.5e-9)
    assert t.barrier_s(1) == pytest.approx(113 * NS) and t.barrier_s(32) == pytest.approx(465 * NS)
    assert t.barrier_s(64) == pytest.approx(465 * NS)  # more than one chip: the 32-tile figure (a lower bound)
    assert "Table 2" in figures.citation("davies2018") and "SANA-FE" in figures.citation("sanafe_loihi")
    w, src = figures.loihi2_static_power()
    assert w == 0.232 and "PilotNet" in figures.citation(src)
    s = figures.loihi2_system()
    assert s.chips == 1152 and s.synaptic_op_j == pytest.approx(6.84e-12, rel=1e-3)


def test_latency_of_a_tiny_network_by_hand():
    net, stats = tiny()
    pl = place(net)
    assert pl.cores == 1 and pl.hops(-1, 0) == 1
    lat = loihi_latency(stats, net, pl)
    # step 0: core does 6 syn ops (3.5 ns) + 1 active (8.4) + 2 inactive (5.3) updates + 1 spike (2.1) = 42.1 ns;
    #   the input's events travel 1 hop (mean of 4.1 and 6.5 = 5.3 ns); barrier for 1 tile 113 ns -> 160.4 ns
    # step 1: 3 syn ops + 3 inactive updates = 26.4 ns; 1 hop 5.3 ns; barrier 113 ns -> 144.7 ns
    assert lat.per_step_s == pytest.approx([160.4 * NS, 144.7 * NS])
    assert lat.seconds_per_inference == pytest.approx(305.1 * NS)
    # low: hops at 4.1 ns; high: every update active (8.4 ns) and hops at 6.5 ns
    assert lat.low_s == pytest.approx((42.1 + 4.1 + 113 + 26.4 + 4.1 + 113) * NS)
    assert lat.high_s == pytest.approx((21 + 2.1 + 25.2 + 6.5 + 113 + 10.5 + 25.2 + 6.5 + 113) * NS)
    assert lat.breakdown_s == pytest.approx({"compute": 68.5 * NS, "hops": 10.6 * NS, "barrier": 226 * NS})
    assert (lat.cores, lat.tiles, lat.steps_per_inference) == (1, 1, 2.0)


def test_cores_work_in_parallel_and_batch_is_averaged():
    net, stats = tiny()
    # the same activity twice over a batch of 2: the same time per inference
    doubled = ActivityStats(steps=2, batch=2, events={k: 2 * v for k, v in stats.events.items()},
                            synaptic_ops={k: 2 * v for k, v in stats.synaptic_ops.items()},
                            neuron_updates={"h": 12}, message_bits=stats.message_bits)
    assert loihi_latency(doubled, net).seconds_per_inference == pytest.approx(
        loihi_latency(stats, net).seconds_per_inference)
    # split the 3 neurons over 3 cores: each core does a third of the work, so compute time drops by 3
    pl = place(net, neurons_per_core=1)
    assert pl.cores == 3
    split = loihi_latency(stats, net, pl)
    assert split.breakdown_s["compute"] == pytest.approx(68.5 * NS / 3)
    assert split.tiles == 1 and split.breakdown_s["hops"] > 10.6 * NS  # farther cores, longer paths


def test_empty_batch_is_a_clear_error():
    net, stats = tiny()
    stats.batch = 0
    with pytest.raises(ValueError, match="batch 0"):
        loihi_latency(stats, net)
