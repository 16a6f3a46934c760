"""The Lava backend against the fast simulator: every neuron kind, recurrent, multi-layer, bidirectional;
fixed point bit for bit, float to 1e-6, identical activity statistics; errors and Ctrl-C tear down cleanly.

Lava start-up costs about a second per run here, so the networks are tiny and each test makes few runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("lava")

from spikernn.hardware import fixed_point as fp  # noqa: E402
from spikernn.hardware.fast import simulate_fast  # noqa: E402
from spikernn.hardware.lava_runner import (LavaRunError, lava_population_plan, live_children,  # noqa: E402
                                           simulate_lava)
from spikernn.hardware.network import Network, Population, SynapseBlock  # noqa: E402

GATES = {"lif": 1, "spiking_lstm": 4, "spiking_gru": 3, "sd_rnn": 1, "sd_lstm": 4, "sd_gru": 3, "readout": 1}
T, B = 50, 2


def _params(kind, H, rng, variant):
    g = GATES[kind]
    if kind in ("lif", "spiking_lstm", "spiking_gru"):
        p = {"decay": rng.uniform(0.6, 0.95, H), "threshold": rng.uniform(0.3, 0.8, H)}
        if variant == "adaptive":
            p.update(adapt_decay=np.full(H, 0.9), adapt_scale=np.full(H, 0.2))
        if kind == "spiking_gru":
            p.update(bias_in=rng.normal(0, .3, 3 * H), bias_rec=rng.normal(0, .3, 3 * H))
        elif variant == "builtin":  # what Lava's own LIF can run: no bias, one decay and threshold
            p.update(decay=np.full(H, 0.8), threshold=np.full(H, 0.6))
        else:
            p["bias"] = rng.normal(0.05, .2, g * H)
        return p
    if kind == "sd_gru":
        return {"bias_in": rng.normal(0, .3, 3 * H), "bias_rec": rng.normal(0, .3, 3 * H)}
    if kind == "readout":
        return {"bias": rng.normal(0, .1, H), "decay": np.full(H, 0.7)}
    if variant == "builtin":
        return {}
    return {"bias": rng.normal(0, .2, g * H)}


def zoo(branches, I=3, H=5, O=2, seed=0, layers=2) -> Network:
    """One branch per (kind, variant, attrs): ``layers`` recurrent layers fed from the input, then a readout.
    Branch 0 also gets a feedback block from its last layer to its first (a lag of 2 steps in Lava)."""
    rng = np.random.default_rng(seed)
    pops = [Population("x", "input", I)]
    syn, outs = [], []
    for bi, (kind, variant, attrs) in enumerate(branches):
        g = GATES[kind]
        src, n_src = "x", I
        graded = kind.startswith("sd_")
        names = []
        for k in range(layers):
            name = f"b{bi}_{kind}{k}"
            names.append(name)
            pops.append(Population(name, kind, H, _params(kind, H, rng, variant), dict(attrs)))
            syn.append(SynapseBlock(f"{src}>{name}", src, name, "in",
                                    rng.normal(0.2 if kind == "lif" else 0, 0.6 if graded else 1.2, (g * H, n_src))))
            syn.append(SynapseBlock(f"{name}>{name}", name, name, "rec" if kind.endswith("gru") else "in",
                                    rng.normal(0, 0.5, (g * H, H))))
            src, n_src = name, H
        if bi == 0 and layers > 1:
            syn.append(SynapseBlock(f"{names[-1]}>{names[0]}", names[-1], names[0],
                                    "rec" if kind.endswith("gru") else "in", rng.normal(0, 0.4, (g * H, H))))
        ro = f"b{bi}_ro"
        pops.append(Population(ro, "readout", O, _params("readout", O, rng, ""),
                               {"input_coding": "delta"} if graded else {}))
        syn.append(SynapseBlock(f"{src}>{ro}", src, ro, "in", rng.normal(0, .5, (O, H))))
        outs += [src, ro]
    return Network(pops, syn, "x", outs)


CUSTOM = [("lif", "subtract", {"reset": "subtract"}), ("lif", "adaptive", {"reset": "zero"}),
          ("spiking_lstm", "", {"reset": "zero"}), ("spiking_gru", "adaptive", {"reset": "subtract"}),
          ("sd_rnn", "", {"activation": "tanh", "delta_threshold": 0.02}), ("sd_lstm", "", {}),
          ("sd_gru", "", {"delta_threshold": 0.05})]
BUILTIN = [("lif", "builtin", {"reset": "zero"}), ("sd_rnn", "builtin", {"activation": "relu"})]


def _input(seed=1, I=3):
    return np.random.default_rng(seed).normal(0.3, 1.0, (T, B, I))


def _compare(net, x, public=False):
    yf, sf = simulate_fast(net, x)
    if public:  # through Network.simulate (torch tensors in and out; float64 in gives float64 out)
        import torch

        out, sl = net.simulate(torch.from_numpy(x), backend="lava")
        assert out.dtype == torch.float64
        yl = out.numpy()
    else:
        yl, sl = simulate_lava(net, x)
    assert yl.shape == yf.shape == (x.shape[0], x.shape[1], net.output_size)
    if net.precision == "fixed":
        np.testing.assert_array_equal(yl, yf)
    else:
        np.testing.assert_allclose(yl, yf, rtol=0, atol=1e-6)
    assert sl.to_dict() == sf.to_dict()
    assert sf.total_events() > 0
    return yf, sf


def _quantized(net, x):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fp.quantize(net, calibration_x=x)[0]


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_every_kind_with_project_processes_matches_fast(precision):
    """All kinds (LIF with subtract reset / adaptation / bias, spiking LSTM/GRU, sd RNN/LSTM/GRU, readouts),
    recurrent, 2 layers + readout + a feedback block, batch of 2 in one Lava run, 50 steps."""
    net = zoo(CUSTOM)
    x = _input()
    if precision == "fixed":
        net = _quantized(net, x)
    plan = lava_population_plan(net)
    assert not any(v.startswith("lava.") for v in plan.values()), plan
    yf, sf = _compare(net, x, public=True)
    assert (yf[:, :, :5] != 0).any() and (yf[:, :, :5] == 0).any()  # lif spikes: some, not all
    assert live_children() == []


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_lava_builtin_lif_and_sigma_delta_match_fast(precision):
    """Where Lava's own LIF (reset zero, no bias) and SigmaDelta (relu, no bias) fit, they are used, and the
    fast simulator's arithmetic equals theirs (one Lava run per batch item)."""
    net = zoo(BUILTIN, seed=3)
    x = _input(2)
    if precision == "fixed":
        net = _quantized(net, x)
    plan = lava_population_plan(net)
    assert plan["b0_lif0"] == plan["b0_lif1"] == "lava.LIF", plan
    assert plan["b1_sd_rnn0"] == plan["b1_sd_rnn1"] == "lava.SigmaDelta", plan
    _compare(net, x)
    assert live_children() == []


def _bidirectional(kind, I=3, H=4, seed=5) -> Network:
    """Two bidirectional layers (stages 0 and 1; backward populations reverse=True) with delta-coded input."""
    rng = np.random.default_rng(seed)
    g = GATES[kind]
    pops = [Population("x", "input", I, attrs={"encoding": "delta", "delta_threshold": 0.05})]
    syn, prev = [], ["x"]
    for layer in range(2):
        names = []
        for d, rev in enumerate((False, True)):
            name = f"l{layer}{'b' if rev else 'f'}"
            names.append(name)
            pops.append(Population(name, kind, H, _params(kind, H, rng, ""),
                                   {"reset": "subtract"} if kind == "lif" else {}, stage=layer, reverse=rev))
            for src in prev:
                n = I if src == "x" else H
                syn.append(SynapseBlock(f"{src}>{name}", src, name, "in", rng.normal(0.1, 0.8, (g * H, n))))
            syn.append(SynapseBlock(f"{name}>{name}", name, name, "rec" if kind.endswith("gru") else "in",
                                    rng.normal(0, .5, (g * H, H))))
        prev = names
    return Network(pops, syn, "x", prev)


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_bidirectional_stages_match_fast(precision):
    """Stage 1 replays stage 0's recorded outputs (binary for LIF, graded deltas of flipped values for
    sd_gru); reverse populations see time-reversed inputs and are flipped back."""
    x = _input(4)
    for kind in ("lif", "sd_gru"):
        net = _bidirectional(kind)
        if precision == "fixed":
            net = _quantized(net, x)
        _compare(net, x)
    assert live_children() == []


def test_failure_inside_a_process_names_it_and_cleans_up(monkeypatch):
    from spikernn.hardware.kinds import KINDS

    calls = {"n": 0}
    cls = type(KINDS["sd_lstm"])
    real = cls.step

    def flaky(*a, **k):  # runs inside the forked Lava process
        calls["n"] += 1
        if calls["n"] == 7:
            raise FloatingPointError("synthetic overflow")
        return real(*a, **k)

    monkeypatch.setattr(cls, "step", flaky)
    net = zoo([("sd_lstm", "", {})], layers=1)
    t0 = time.perf_counter()
    with pytest.raises(LavaRunError, match=r"'b0_sd_lstm0' \(sd_lstm, float\) failed at time step 8: "
                                           r"FloatingPointError: synthetic overflow"):
        simulate_lava(net, _input())
    assert time.perf_counter() - t0 < 30
    assert live_children() == []


def test_keyboard_interrupt_stops_the_run():
    net = zoo([("lif", "subtract", {"reset": "subtract"})], layers=1)
    x = np.random.default_rng(0).normal(0, 1, (4000, 1, 3))
    main = threading.get_ident()

    def interrupt():
        deadline = time.time() + 20
        while not live_children() and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)
        signal.pthread_kill(main, signal.SIGINT)

    th = threading.Thread(target=interrupt, daemon=True)
    th.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        simulate_lava(net, x)
    th.join()
    assert time.perf_counter() - t0 < 30
    assert live_children() == []


def test_import_spikernn_does_not_import_lava():
    code = ("import sys, spikernn, spikernn.hardware, spikernn.hardware.lava_runner; "
            "assert not any(m == 'lava' or m.startswith('lava.') for m in sys.modules), 'lava imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env={**os.environ})


def test_errors_are_clear():
    net = zoo([("lif", "subtract", {"reset": "subtract"})], layers=1)
    with pytest.raises(TypeError, match="unknown options"):
        simulate_lava(net, _input(), bogus=1)
    with pytest.raises(ValueError, match=r"\(T, B, I\)"):
        simulate_lava(net, np.zeros((3, 3)))
