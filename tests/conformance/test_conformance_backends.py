"""The conformance matrix, network level: every backend against the reference backend.

Cells: backend x kind x reset x adaptation x precision x batch x topology (chain / feedback / bidirectional
stages). Fixed point: outputs bit for bit and identical activity; float: spikes identical, analog outputs to
float rounding. The reference backend runs the kinds' reference steps plainly
(:mod:`spikernn.hardware.backends.reference`); the fast backend is checked with its compiled kernels
("fast-numba": batch 1 and 4 step each stage as one unit, batch 16 each group; graded int8 blocks by pairs of
sources with AVX2, :func:`~spikernn.hardware.compiled.kernels._sum8_pairs`; "fast-graded-cols": the same in fixed
point with those blocks as int32 columns only, the route without AVX2), with its numpy kernels and fused loops ("fast-numpy"),
with the reference steps inside its numpy scheduler ("fast-steps"), and with batch shards in threads
("fast-threads", batch 32: two shards of 16, which the compiled engine runs group by group), and at batch 64 in
fixed point ("fast-int8": recurrent and inter-group blocks as int8 matrix products, graded payloads as stacked
signed-byte planes, :mod:`~spikernn.hardware.compiled.intmm`;
"fast-f32": the same as exact float32 GEMMs; "fast-cols": binary-spike inter-group blocks as the interpreter's
column additions, each route forced whatever this machine measured faster)
and in float ("fast-blas": the same blocks as float64 GEMMs, :mod:`~spikernn.hardware.compiled.blas`). Lava cells (marked ``lava``) share three small networks per precision: every kind
with a spread of resets and adaptation (one Lava run each), Lava's own LIF and SigmaDelta, and bidirectional
stages.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from conformance_cases import TOPOLOGIES, Branch, columns, sigma_delta_branches, spiking_branches, zoo
from spikernn.hardware.backends import get_backend
from spikernn.hardware.fixed_point import quantize
from spikernn.hardware.kinds import KINDS
from spikernn.hardware.network import Network, Population, SynapseBlock

BRANCHES = spiking_branches() + sigma_delta_branches()
VARIANTS = {"fast-numba": ("fast", {"engine": "numba"}), "fast-numpy": ("fast", {"engine": "numpy"}),
            "fast-steps": ("fast", {"use_kernels": False}), "fast-threads": ("fast", {"workers": 3}),
            "fast-int8": ("fast", {"engine": "numba"}), "fast-blas": ("fast", {"engine": "numba"}),
            "fast-f32": ("fast", {"engine": "numba"}), "fast-cols": ("fast", {"engine": "numba"}),
            "fast-graded-cols": ("fast", {"engine": "numba"})}
ROUTES = {"fast-int8": ("int8", 0.0), "fast-f32": ("float32", 0.0), "fast-cols": (None, float("inf"))}
# intmm.ROUTE, intmm.CROSSOVER forced per variant (0: every spike block a GEMM; inf: column additions)


@functools.lru_cache(maxsize=None)
def _zoo(topology: str, precision: str, batch: int, family: str = "all"):
    return zoo(BRANCHES, topology, precision, batch, seed={"chain": 3, "feedback": 3, "bidir": 7}[topology])


@functools.lru_cache(maxsize=None)
def _run(topology: str, precision: str, batch: int, backend: str, options: tuple = ()):
    net, x, _ = _zoo(topology, precision, batch)
    options = dict(options)
    options.pop("route", None)
    return get_backend(backend).simulate(net, x, **options)


def _branch_stats(stats, net, names):
    """The activity of the branch's populations and of the blocks into them."""
    pops = set(names)
    blocks = [b.name for b in net.synapses if b.target in pops]
    return ({n: stats.events[n].tolist() for n in pops}, {b: stats.synaptic_ops[b].tolist() for b in blocks},
            {n: stats.neuron_updates[n] for n in pops}, {n: stats.message_bits[n] for n in pops})


def _compare(y, stats, y_ref, stats_ref, net, names, precision, atol):
    cols = columns(net, names)
    if precision == "fixed":
        np.testing.assert_array_equal(y[..., cols], y_ref[..., cols])
    else:
        np.testing.assert_allclose(y[..., cols], y_ref[..., cols], rtol=0, atol=atol)
    assert _branch_stats(stats, net, names) == _branch_stats(stats_ref, net, names)


def _cells():
    for variant in VARIANTS:
        for b in BRANCHES:
            for precision in {"fast-blas": ("float",), "fast-graded-cols": ("fixed",)}.get(
                    variant, ("fixed",) if variant in ROUTES else ("float", "fixed")):
                for topology in TOPOLOGIES:
                    batches = {"fast-threads": (32,), "fast-numba": (1, 4, 16), "fast-blas": (64,)}.get(
                        variant, (64,) if variant in ROUTES else (1, 4))
                    for batch in batches:
                        yield pytest.param(variant, b, precision, batch, topology,
                                           id=f"{variant}-{b.id}-{precision}-B{batch}-{topology}")


@pytest.mark.parametrize("variant,branch,precision,batch,topology", list(_cells()))
def test_backend_equals_reference(variant: str, branch: Branch, precision: str, batch: int, topology: str,
                                  monkeypatch):
    backend, options = VARIANTS[variant]
    if variant in ROUTES:
        from spikernn.hardware.compiled import intmm

        assert batch >= intmm.MIN_ROWS
        if not intmm.available():
            pytest.skip("no exact torch._int_mm here: the matrix-product paths are not taken")
        route, crossover = ROUTES[variant]
        monkeypatch.setattr(intmm, "ROUTE", route)
        monkeypatch.setattr(intmm, "CROSSOVER", crossover)
        options = dict(options, route=variant)  # a cache key of its own (_run drops it)
    if variant == "fast-graded-cols":  # graded int8 blocks as columns only (no pair layout)
        from spikernn.hardware.compiled import layout

        monkeypatch.setattr(layout, "PAIR_FORM", False)
        options = dict(options, route=variant)
    if variant == "fast-blas":
        from spikernn.hardware.compiled import blas

        assert batch >= blas.MIN_ROWS
    net, x, reads = _zoo(topology, precision, batch)
    y_ref, s_ref = _run(topology, precision, batch, "reference")
    y, s = _run(topology, precision, batch, backend, tuple(options.items()))
    names = reads[branch.id]
    _compare(y, s, y_ref, s_ref, net, names, precision, atol=1e-9)
    if branch.spiking:  # the cell means something: every layer of the branch spikes, and not always
        for n in names[:-1]:
            spikes = y_ref[..., columns(net, [n])]
            assert 0 < spikes.mean() < 1, (n, spikes.mean())


# ---------------------------------------------------------------------------------------------- Lava cells

LAVA_ZOOS = {
    "kinds": ([Branch("lif", "subtract", True), Branch("lif", None), Branch("lif", "none"),
               Branch("spiking_lstm", "zero"), Branch("spiking_gru", "subtract", True),
               Branch("sd_rnn", activation="tanh", threshold=0.03), Branch("sd_lstm"),
               Branch("sd_gru", threshold=0.03)], "feedback", {}),
    "builtin": ([Branch("lif", "zero"), Branch("sd_rnn", activation="relu")], "chain", {"builtin": True}),
    "bidir": ([Branch("lif", "subtract"), Branch("sd_gru", threshold=0.03)], "bidir", {"input_coding": "delta"}),
    # adLIF (issue 10's proof): 1- and 2-layer recurrent networks over 100 steps, both discretisations
    "adlif": ([Branch("adlif", "subtract", layers=1), Branch("adlif", None, True, layers=2)], "feedback",
              {"steps": 100}),
    # the adLIF soma in the spiking LSTM/GRU cells: 1- and 2-layer networks over 100 steps
    "adlif_gated": ([Branch("adlif_lstm", "subtract", layers=1), Branch("adlif_lstm", "zero", True, layers=2),
                     Branch("adlif_gru", None, True, layers=1), Branch("adlif_gru", "none", layers=2)], "feedback",
                    {"steps": 100}),
}


@functools.lru_cache(maxsize=None)
def _lava_zoo(name: str, precision: str):
    branches, topology, kw = LAVA_ZOOS[name]
    net, x, reads = zoo(branches, topology, precision, batch=2, seed=11, **kw)
    if name == "builtin":  # Lava's own LIF and SigmaDelta: no bias
        for p in net.populations:
            p.params.pop("bias", None) if p.kind == "sd_rnn" else None
            if p.kind == "lif":
                for k in ("bias", "bias_mant", "bias_exp"):
                    p.params.pop(k, None)
    ref = get_backend("reference").simulate(net, x)
    lava = get_backend("lava").simulate(net, x)
    return net, reads, ref, lava


def _lava_cells():
    for name, (branches, topology, _) in LAVA_ZOOS.items():
        for b in branches:
            for precision in ("float", "fixed"):
                yield pytest.param(name, b, precision, id=f"lava-{b.id}-{precision}-B2-{topology}-{name}",
                                   marks=pytest.mark.lava)


@pytest.mark.parametrize("zoo_name,branch,precision", list(_lava_cells()))
def test_lava_equals_reference(zoo_name: str, branch: Branch, precision: str):
    pytest.importorskip("lava")
    from spikernn.hardware.lava_graph import lava_population_plan
    from spikernn.hardware.lava_supervision import live_children

    net, reads, (y_ref, s_ref), (y, s) = _lava_zoo(zoo_name, precision)
    names = reads[branch.id]
    plan = lava_population_plan(net)
    expected = {"lif": "lava.LIF", "sd_rnn": "lava.SigmaDelta"} if zoo_name == "builtin" else {}
    for n in names[:-1]:
        assert plan[n] == expected.get(net.population(n).kind, plan[n]) and (zoo_name == "builtin") == \
            plan[n].startswith("lava."), plan
    _compare(y, s, y_ref, s_ref, net, names, precision, atol=1e-6)
    if branch.spiking:
        for n in names[:-1]:
            assert 0 < y_ref[..., columns(net, [n])].mean() < 1, n
    assert live_children() == []


# ------------------------------------------------- the network built by hand without a reset attribute

def _no_reset_net(reset: str | None, precision: str):
    """input -> lif -> spiking_lstm -> spiking_gru -> readout, recurrent, built by hand; ``reset`` None leaves
    the attribute out (before the kinds had one definition, fast/Lava reset such a population to zero and the
    converters' float reference and the NIR bridge by subtraction)."""
    rng = np.random.default_rng(21)
    attrs = {} if reset is None else {"reset": reset}
    pops, syn, src, n = [Population("x", "input", 3)], [], "x", 3
    for kind, th in (("lif", 0.6), ("spiking_lstm", 0.2), ("spiking_gru", 0.2)):
        g = KINDS[kind].gates["in"]
        pops.append(Population(kind, kind, 5, {"decay": np.full(5, 0.9), "threshold": np.full(5, th)}, dict(attrs)))
        syn += [SynapseBlock(f"{src}>{kind}", src, kind, "in", rng.normal(0.3, 1.0, (g * 5, n))),
                SynapseBlock(f"{kind}>{kind}", kind, kind, "rec" if kind.endswith("gru") else "in",
                             rng.normal(0, 0.5, (g * 5, 5)))]
        src, n = kind, 5
    pops.append(Population("ro", "readout", 2, {"decay": np.full(2, 0.8)}))
    syn.append(SynapseBlock(f"{src}>ro", src, "ro", "in", rng.normal(0, 0.5, (2, 5))))
    net = Network(pops, syn, "x", ["lif", "spiking_lstm", "spiking_gru", "ro"])
    x = np.random.default_rng(22).normal(0.4, 1.0, (20, 3, 3))
    if precision == "fixed":
        net = quantize(net, calibration_x=x)[0]
    return net, x


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_a_network_without_reset_attributes_runs_alike_everywhere(precision):
    """Every backend resets a population without "reset" by the one default (the core's, "subtract"): the same
    outputs as the network with reset="subtract" written out, and different from reset="zero". (Lava runs
    this case in the ``lava-lif-default-*`` cells.)"""
    from spikernn.hardware.kinds import DEFAULT_RESET

    assert DEFAULT_RESET == "subtract"
    net, x = _no_reset_net(None, precision)
    y_ref, s_ref = get_backend("reference").simulate(net, x)
    for backend, options in VARIANTS.values():
        y, s = get_backend(backend).simulate(net, x, **options)
        _compare(y, s, y_ref, s_ref, net, list(net.outputs), precision, atol=1e-9)
    y_sub, _ = get_backend("fast").simulate(_no_reset_net("subtract", precision)[0], x)
    y_zero, _ = get_backend("fast").simulate(_no_reset_net("zero", precision)[0], x)
    np.testing.assert_array_equal(y_sub, y_ref) if precision == "fixed" else np.testing.assert_allclose(y_sub, y_ref)
    assert not np.array_equal(y_zero, y_ref)
    assert 0 < y_ref[..., :15].mean() < 1


def test_the_converters_and_nir_bridge_read_the_same_default():
    """The NIR bridge exports a lif without "reset" with the one default (it warns that other tools reset to
    zero), and the graph comes back as the same network."""
    import warnings

    from spikernn.converters import from_nir, to_nir

    rng = np.random.default_rng(3)
    net = Network([Population("x", "input", 3), Population("h", "lif", 4, {"decay": np.full(4, 0.8),
                                                                          "threshold": np.full(4, 0.5)})],
                  [SynapseBlock("x>h", "x", "h", "in", rng.normal(0.4, 1, (4, 3))),
                   SynapseBlock("h>h", "h", "h", "in", rng.normal(0, 0.5, (4, 4)))], "x", ["h"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = to_nir(net)
    assert g.nodes["h"].metadata["spikernn_reset"] == "subtract" and any("subtract" in str(w.message) for w in caught)
    back = from_nir(g)
    x = rng.normal(0.3, 1, (15, 2, 3))
    np.testing.assert_array_equal(get_backend("reference").simulate(back, x)[0], get_backend("reference").simulate(net, x)[0])
