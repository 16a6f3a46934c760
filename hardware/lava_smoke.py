"""The Lava smoke test of ``spikernn doctor``: a tiny recurrent LIF network on Lava's own processes
(RingBuffer -> Dense -> LIF <-> Dense, recorded) in float or bit-accurate fixed point, compared with the
reference backend (the ``lif`` kind's reference step)."""
from __future__ import annotations

import time

import numpy as np

from spikernn.hardware.network import Network, Population, SynapseBlock


def smoke_network(precision: str, rng: np.random.Generator) -> Network:
    """input(3) -> lif(5) with a recurrent block, reset "zero", no bias: what Lava's own LIF runs."""
    n_in, n = 3, 5
    if precision == "fixed":
        w_in, w_rec = rng.integers(10, 60, (n, n_in)), rng.integers(-40, 40, (n, n))
        lif = {"du": 4095, "dv": 600, "vth": 80}
    else:
        w_in, w_rec = rng.uniform(0.2, 0.9, (n, n_in)), rng.uniform(-0.5, 0.5, (n, n))
        lif = {"decay": 0.8, "threshold": 1.0}
    pops = [Population("x", "input", n_in), Population("lif", "lif", n, lif, {"reset": "zero"})]
    syn = [SynapseBlock("x>lif", "x", "lif", "in", w_in), SynapseBlock("lif>lif", "lif", "lif", "in", w_rec)]
    return Network(pops, syn, "x", ["lif"], precision=precision)


def smoke_test(precision: str = "float", steps: int = 30) -> dict:
    """Run :func:`smoke_network` on Lava (its built-in LIF) for ``steps`` steps and compare its spikes with the
    reference backend.

    Returns ``{"precision", "seconds", "steps", "ok", "spikes", "error"}`` (never raises for a failed run).
    """
    t0 = time.perf_counter()
    res = {"precision": precision, "steps": steps, "ok": False, "seconds": 0.0, "spikes": 0, "error": None}
    try:
        from spikernn.hardware.backends import get_backend
        from spikernn.hardware.lava_graph import lava_population_plan

        rng = np.random.default_rng(0)
        net = smoke_network(precision, rng)
        if lava_population_plan(net)["lif"] != "lava.LIF":  # pragma: no cover - the network is built to fit
            raise AssertionError("the smoke network does not run on Lava's own LIF")
        x = (rng.random((steps, 1, 3)) < 0.5).astype(np.float64)
        s, _ = get_backend("lava").simulate(net, x)
        ref, _ = get_backend("reference").simulate(net, x)
        res["spikes"] = int((s != 0).sum())
        res["ok"] = bool(np.array_equal(s != 0, ref != 0)) and res["spikes"] > 0
        if not res["ok"]:
            res["error"] = "spikes differ from the reference" if res["spikes"] else "no spikes"
    except Exception as e:  # noqa: BLE001 - doctor reports, does not crash
        res["error"] = f"{type(e).__name__}: {e}"
    res["seconds"] = round(time.perf_counter() - t0, 3)
    return res
