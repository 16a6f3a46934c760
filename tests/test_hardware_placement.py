"""Placement onto Loihi 2 cores/chips: limits, errors, hops, annotate_hops."""
import numpy as np
import pytest

from spikernn.hardware.fast import simulate_fast
from spikernn.hardware.network import Network, Population, SynapseBlock
from spikernn.hardware.placement import annotate_hops, place

RNG = np.random.default_rng(5)


def lstm_net(I=12, H=128, O=9, layers=2):
    pops = [Population("x", "input", I)]
    syn = []
    src, n = "x", I
    for k in range(layers):
        name = f"lstm{k}"
        pops.append(Population(name, "spiking_lstm", H, {"bias": RNG.normal(0, .1, 4 * H),
                                                         "decay": np.full(H, .9), "threshold": np.full(H, .2)}))
        syn.append(SynapseBlock(f"{src}>{name}", src, name, "in", RNG.normal(0, .5, (4 * H, n))))
        syn.append(SynapseBlock(f"{name}>{name}", name, name, "in", RNG.normal(0, .1, (4 * H, H))))
        src, n = name, H
    pops.append(Population("ro", "readout", O, {"bias": np.zeros(O), "decay": np.zeros(O)}))
    syn.append(SynapseBlock("ro", src, "ro", "in", RNG.normal(0, .3, (O, H))))
    return Network(pops, syn, "x", ["ro"])


def test_two_layer_lstm_placement_figures():
    net = lstm_net()
    pl = place(net)
    # fan-in per neuron: 4 gates x (12 + 128) = 560 synapses (560 B) -> 192 KB hold 351 neurons per core
    rows = {r["population"]: r for r in pl.table}
    assert rows["lstm0"]["fan_in"] == 4 * (12 + 128) and rows["lstm1"]["fan_in"] == 4 * 256
    assert pl.cores == 3 and pl.chips == 1
    assert rows["lstm1"]["synapse_bytes"] == 128 * 1024 and rows["lstm1"]["compartments"] == 512
    assert pl.hops(0, 1) == 1 and pl.hops(0, 16) == 1 and pl.hops(0, 17) == 2
    assert "8-bit" in pl.assumptions[0] and "lstm0" in pl.summary()


def test_splitting_over_cores_and_chips():
    net = lstm_net(H=128)
    pl = place(net, synaptic_memory_bytes_per_core=16 * 1024, cores_per_chip=4)
    # lstm1: 1024 B per neuron -> 16 neurons per core -> 8 cores
    assert len(pl.cores_of("lstm1")) == 8 and len(pl.cores_of("lstm0")) == 5
    assert sum(r["neurons"] for r in pl.table if r["population"] == "lstm1") == 128
    assert pl.chips == (5 + 8 + 1 + 3) // 4
    assert all(r["synapse_bytes"] <= 16 * 1024 for r in pl.table)
    pl2 = place(net, neurons_per_core=64)  # 4 compartments per LSTM neuron -> 16 neurons per core
    assert len(pl2.cores_of("lstm0")) == 8
    hm = pl.hop_matrix()
    assert hm.shape == (pl.cores, pl.cores) and np.all(hm == hm.T) and np.all(np.diag(hm) == 0)
    assert pl.hops(0, 4) > 0  # next chip


def test_limit_errors_are_clear():
    net = lstm_net()
    with pytest.raises(ValueError, match="exceeds a core's synaptic memory"):
        place(net, synaptic_memory_bytes_per_core=1000)
    with pytest.raises(ValueError, match="max_fan_in"):
        place(net, max_fan_in=600)
    with pytest.raises(ValueError, match="max_chips"):
        place(net, synaptic_memory_bytes_per_core=2048, cores_per_chip=8, max_chips=2)
    with pytest.raises(ValueError, match="compartments"):
        place(net, neurons_per_core=2)
    with pytest.raises(ValueError, match="compartments per neuron must be integers >= 1"):
        place(net, compartments={"spiking_lstm": 0})  # was a ZeroDivisionError
    with pytest.raises(ValueError, match="bytes_per_synapse"):
        place(net, bytes_per_synapse=-1)


def test_annotate_hops():
    net = lstm_net(H=16)
    x = RNG.normal(0, 1, (20, 2, 12))
    _, st = simulate_fast(net, x)
    pl = place(net, synaptic_memory_bytes_per_core=512, cores_per_chip=4)
    annotate_hops(st, net, pl)
    assert set(st.core_hops) == {b.name for b in net.synapses}
    hpe = pl.hops_per_event(net, "lstm0>lstm1")
    exact = st.events["lstm0"] * hpe
    assert abs(st.core_hops["lstm0>lstm1"].sum() - exact.sum()) <= 0.5
    assert np.abs(st.core_hops["lstm0>lstm1"] - exact).max() < 1.0
    assert st.per_inference()["core_hops"] > 0
    assert pl.hops_per_event(net, "x>lstm0") == sum(pl.hops(-1, c) for c in pl.cores_of("lstm0"))


def test_annotate_hops_keeps_the_total_when_each_step_has_a_fraction():
    """One event per step at 0.5 hops per event: the total is 0.5 x steps, not 0 (rounding step by step
    gave 0 hops, and 2 x steps at 1.5 hops per event)."""
    from spikernn.hardware.stats import ActivityStats

    net = Network([Population("x", "input", 2), Population("h", "lif", 20), Population("o", "lif", 3)],
                  [SynapseBlock("xh", "x", "h", "in", np.ones((20, 2))), SynapseBlock("ho", "h", "o", "in", np.ones((3, 20)))],
                  "x", ["o"])
    pl = place(net, neurons_per_core=10)  # h on cores 0 and 1 (10 neurons each), o on core 2
    hpe = pl.hops_per_event(net, "ho")
    assert hpe == 1.5  # half the events from core 0 (2 hops), half from core 1 (1 hop)
    st = ActivityStats(steps=40, batch=1, events={"x": np.zeros(40, np.int64), "h": np.ones(40, np.int64)})
    annotate_hops(st, net, pl)
    assert st.core_hops["ho"].sum() == 60 and set(st.core_hops["ho"].tolist()) <= {1, 2}
