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


def test_annotate_hops():
    net = lstm_net(H=16)
    x = RNG.normal(0, 1, (20, 2, 12))
    _, st = simulate_fast(net, x)
    pl = place(net, synaptic_memory_bytes_per_core=512, cores_per_chip=4)
    annotate_hops(st, net, pl)
    assert set(st.core_hops) == {b.name for b in net.synapses}
    hpe = pl.hops_per_event(net, "lstm0>lstm1")
    np.testing.assert_array_equal(st.core_hops["lstm0>lstm1"], np.rint(st.events["lstm0"] * hpe))
    assert st.per_inference()["core_hops"] > 0
    assert pl.hops_per_event(net, "x>lstm0") == sum(pl.hops(-1, c) for c in pl.cores_of("lstm0"))
