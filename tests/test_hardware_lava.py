"""The Lava backend's supervision: failures inside a process are named and torn down, Ctrl-C stops a run,
importing does not import Lava, bad calls are clear errors. (That Lava computes what the reference computes,
every kind, precision, stages, Lava's own LIF and SigmaDelta, is in the conformance matrix,
tests/conformance/test_conformance_backends.py, cells marked ``lava``.)

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
pytestmark = pytest.mark.lava  # real Lava processes (deselect with -m "not lava")

from spikernn.hardware.kinds import KINDS  # noqa: E402
from spikernn.hardware.lava_runner import LavaRunError, live_children, simulate_lava  # noqa: E402
from spikernn.hardware.network import Network, Population, SynapseBlock  # noqa: E402

T, B, I, H = 50, 2, 3, 5


def one_layer(kind: str, attrs: dict) -> Network:
    """input -> one recurrent population of ``kind`` (default parameters)."""
    rng = np.random.default_rng(0)
    g = KINDS[kind].gates["in"]
    pops = [Population("x", "input", I), Population(f"b0_{kind}0", kind, H, {}, attrs)]
    syn = [SynapseBlock("x>h", "x", pops[1].name, "in", rng.normal(0.2, 1.0, (g * H, I))),
           SynapseBlock("h>h", pops[1].name, pops[1].name, "in", rng.normal(0, 0.5, (g * H, H)))]
    return Network(pops, syn, "x", [pops[1].name])


def _input(seed=1):
    return np.random.default_rng(seed).normal(0.3, 1.0, (T, B, I))


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
    net = one_layer("sd_lstm", {})
    t0 = time.perf_counter()
    with pytest.raises(LavaRunError, match=r"'b0_sd_lstm0' \(sd_lstm, float\) failed at time step 8: "
                                           r"FloatingPointError: synthetic overflow"):
        simulate_lava(net, _input())
    assert time.perf_counter() - t0 < 30
    assert live_children() == []


def test_keyboard_interrupt_stops_the_run():
    net = one_layer("lif", {"reset": "subtract"})
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
    net = one_layer("lif", {"reset": "subtract"})
    with pytest.raises(TypeError, match="unknown options"):
        simulate_lava(net, _input(), bogus=1)
    with pytest.raises(ValueError, match=r"\(T, B, I\)"):
        simulate_lava(net, np.zeros((3, 3)))
