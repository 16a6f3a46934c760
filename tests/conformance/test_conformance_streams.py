"""The conformance matrix, streaming: every stream against the whole-sequence run it must reproduce.

Cells: stream x kind x reset x adaptation x precision x batch x topology (chain, feedback: single-stage networks;
bidirectional stages cannot stream). "fast" is the compiled stream (one interpreter call per step): its outputs
equal ``run(backend="fast")`` bit for bit in float as in fixed point, at any batch size (the run steps whole
stages below batch 16 and groups from 16 on); "fast-numpy" is the fallback without numba (the reference steps):
the bits of ``run(backend="reference")``; "reference" likewise. Every stream's activity counters equal the run's,
and every stream agrees with the reference backend (fixed point bit for bit, float to rounding).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from conformance_cases import Branch, columns, sigma_delta_branches, spiking_branches, zoo
from spikernn.hardware.backends import get_backend
from spikernn.hardware.backends.reference import ReferenceStream
from spikernn.hardware.compiled.engine import CompiledStream

BRANCHES = spiking_branches() + sigma_delta_branches()
STREAMS = {"fast": ("fast", {"engine": "numba"}, CompiledStream, ("fast", {"engine": "numba"})),
           "fast-numpy": ("fast", {"engine": "numpy"}, ReferenceStream, ("reference", {})),
           "reference": ("reference", {}, ReferenceStream, ("reference", {}))}
BATCHES = {"fast": (1, 3, 17), "fast-numpy": (1, 3), "reference": (1,)}


@functools.lru_cache(maxsize=None)
def _zoo(topology: str, precision: str, batch: int):
    return zoo(BRANCHES, topology, precision, batch, seed=3)


@functools.lru_cache(maxsize=None)
def _run(topology: str, precision: str, batch: int, backend: str, options: tuple = ()):
    net, x, _ = _zoo(topology, precision, batch)
    return get_backend(backend).simulate(net, x, **dict(options))


@functools.lru_cache(maxsize=None)
def _stream(topology: str, precision: str, batch: int, variant: str):
    net, x, _ = _zoo(topology, precision, batch)
    backend, options, cls, _ = STREAMS[variant]
    s = net.stream(batch=batch, backend=backend, **options)
    assert type(s) is cls
    half = x.shape[0] // 2
    y1 = s.run(x[:half])
    mid = s.stats  # readable at any time: the counts of the steps so far
    y = np.concatenate([y1, s.run(x[half:])])
    return y, s.stats, mid


def _cells():
    for variant in STREAMS:
        for b in BRANCHES:
            for precision in ("float", "fixed"):
                for topology in ("chain", "feedback"):
                    for batch in BATCHES[variant]:
                        yield pytest.param(variant, b, precision, batch, topology,
                                           id=f"stream-{variant}-{b.id}-{precision}-B{batch}-{topology}")


@pytest.mark.parametrize("variant,branch,precision,batch,topology", list(_cells()))
def test_stream_equals_run(variant: str, branch: Branch, precision: str, batch: int, topology: str):
    net, x, reads = _zoo(topology, precision, batch)
    cols = columns(net, reads[branch.id])
    y, stats, mid = _stream(topology, precision, batch, variant)
    run_backend, run_options = STREAMS[variant][3]
    y_run, s_run = _run(topology, precision, batch, run_backend, tuple(run_options.items()))
    np.testing.assert_array_equal(y[..., cols], y_run[..., cols])  # the same bits, float included
    assert stats.to_dict() == s_run.to_dict()
    half = x.shape[0] // 2
    assert mid.steps == half and all(np.array_equal(mid.events[k], s_run.events[k][:half]) for k in mid.events)
    y_ref, _ = _run(topology, precision, batch, "reference")
    if precision == "fixed":
        np.testing.assert_array_equal(y[..., cols], y_ref[..., cols])
    else:
        np.testing.assert_allclose(y[..., cols], y_ref[..., cols], rtol=0, atol=1e-9)
    if branch.spiking:  # the cell means something: the branch's layers spike, and not always
        for n in reads[branch.id][:-1]:
            assert 0 < y[..., columns(net, [n])].mean() < 1


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_bidirectional_networks_are_refused(backend):
    net, _, _ = zoo([Branch("lif", "subtract")], "bidir", "float", 1)
    with pytest.raises(ValueError, match="needs the whole sequence"):
        net.stream(backend=backend)


@pytest.mark.parametrize("precision", ["float", "fixed"])
@pytest.mark.parametrize("backend,options", [("fast", {"engine": "numba"}), ("fast", {"engine": "numpy"}),
                                             ("reference", {})])
def test_reset_bad_input_and_shapes(backend, options, precision):
    """reset() starts a new sequence (the same outputs again, counters from zero); a NaN step or a wrong shape
    raises and changes nothing; batch 1 takes (I,) and gives (O,)."""
    net, x, _ = zoo([Branch("spiking_lstm", "subtract"), Branch("sd_gru", threshold=0.03)], "chain", precision, 1)
    s = net.stream(backend=backend, **options)
    first = s.run(x[:5])
    with pytest.raises(ValueError, match="NaN or inf"):
        s.step(np.full(x.shape[2], np.nan))
    with pytest.raises(ValueError, match="x_t must have shape"):
        s.step(np.zeros((2, x.shape[2])))
    assert s.steps == 5
    rest = np.stack([s.step(x_t[0]) for x_t in x[5:]])  # (I,) in, (O,) out
    assert rest.shape == (x.shape[0] - 5, net.output_size)
    y_run, _ = get_backend("fast").simulate(net, x)
    np.testing.assert_array_equal(np.concatenate([first[:, 0], rest]), y_run[:, 0]) if precision == "fixed" else \
        np.testing.assert_allclose(np.concatenate([first[:, 0], rest]), y_run[:, 0], rtol=0, atol=1e-9)
    s.reset()
    assert s.steps == 0 and s.stats.total_events() == 0
    np.testing.assert_array_equal(s.run(x[:5]), first)


def test_lava_cannot_stream():
    net, _, _ = zoo([Branch("lif", "subtract")], "chain", "float", 1)
    with pytest.raises(NotImplementedError, match="cannot stream"):
        net.stream(backend="lava")


@pytest.mark.parametrize("topology", ["chain", "feedback"])
def test_stream_equals_run_on_the_float32_gemm_route(topology: str, monkeypatch):
    """Fixed point at batch 64: the run's recurrent and inter-group blocks as exact float32 GEMMs (intmm's route,
    forced; its bounds checked per product: pmax x rsum or the row-norm bound), in place into the step's
    precomputed input; the stream steps the interpreter alone. The same bits and counts."""
    from spikernn.hardware import compiled

    if not compiled.available():
        pytest.skip("numba unavailable")
    from spikernn.hardware.compiled import intmm

    if not intmm.available():
        pytest.skip("no exact torch._int_mm here: the matrix-product paths are not taken")
    monkeypatch.setattr(intmm, "ROUTE", "float32")
    monkeypatch.setattr(intmm, "CROSSOVER", 0.0)
    taken = []
    orig = intmm._product_f32
    monkeypatch.setattr(intmm, "_product_f32", lambda *a: (lambda ok: (taken.append(ok), ok)[1])(orig(*a)))
    net, x, _ = zoo(BRANCHES, topology, "fixed", 64, seed=3)
    y_run, s_run = get_backend("fast").simulate(net, x, engine="numba")
    assert any(taken)  # the route ran
    s = net.stream(batch=64, backend="fast", engine="numba")
    assert type(s) is CompiledStream
    np.testing.assert_array_equal(s.run(x), y_run)
    assert {k: v.tolist() for k, v in s.stats.events.items()} == {k: v.tolist() for k, v in s_run.events.items()}
    assert {k: v.tolist() for k, v in s.stats.synaptic_ops.items()} == \
        {k: v.tolist() for k, v in s_run.synaptic_ops.items()}
