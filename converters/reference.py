"""A small, slow, float-only reference simulator of a :class:`~spikernn.hardware.network.Network`.

It is the converters' executable reading of the network contract (``hardware/network.py`` docstring and
``docs/equations.md``), kept deliberately plain so that it is easy to audit. The converters' tests use it to
check a conversion without depending on either hardware backend, and to cross-check the backends
(``backend="fast"`` and ``backend="lava"`` must agree with it in float precision). It is not a backend: it
is batched numpy over whole populations, one population at a time, float64, and ignores fixed precision.

Reading of the contract used here (time already delay-aligned, ``y[t]`` answers input step ``t``):

* Within a stage, a synapse block between two different populations delivers the source's output of the
  same step; a block from a population to itself (recurrence) delivers the previous step's output.
  Cycles through several populations are not supported (the converters never produce them).
* What a source "delivers" is its output value: ``x_t`` for an ``input`` with encoding ``"value"``; the
  last sent value ``x̂_t`` for encoding ``"delta"`` (Σ of the deltas sent so far, which is what a target
  that accumulates deltas holds); spikes for ``lif``/``spiking_*``; the last sent value ``ĥ_t`` for ``sd_*``
  neurons; ``y_t`` for a ``readout``. Weighted sums of these are what each port receives, so
  sigma-delta accumulation needs no separate code path.
* A ``reverse`` population receives its (forward-time) input flipped in time and its output is flipped back.
* The network output is the concatenation of the ``outputs`` populations' values.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikernn.hardware.stats import ActivityStats


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _topo_order(net, stage: int) -> list:
    pops = [p for p in net.populations if p.stage == stage]
    names = {p.name for p in pops}
    deps = {p.name: {s.source for s in net.incoming(p.name) if s.source != p.name and s.source in names} for p in pops}
    order: list = []
    done: set = set()
    while len(order) < len(pops):
        ready = [p for p in pops if p.name not in done and deps[p.name] <= done]
        if not ready:
            raise NotImplementedError(f"reference simulator: cycle through several populations in stage {stage}")
        for p in ready:
            order.append(p)
            done.add(p.name)
    return order


def _delta_encode(v: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray]:
    """Sigma-delta encode a (T, B, N) value sequence: returns (last sent values x̂, events mask)."""
    sent = np.zeros_like(v[0])
    out = np.empty_like(v)
    ev = np.zeros(v.shape, dtype=bool)
    for t in range(v.shape[0]):
        d = v[t] - sent
        m = np.abs(d) > thr
        sent = np.where(m, v[t], sent)
        out[t] = sent
        ev[t] = m
    return out, ev


def _soma(d: np.ndarray, st: dict, p) -> np.ndarray:
    P = p.params
    decay = np.asarray(P["decay"], np.float64)
    th0 = np.asarray(P["threshold"], np.float64)
    ad = np.asarray(P.get("adapt_decay", np.zeros(p.size)), np.float64)
    ascale = np.asarray(P.get("adapt_scale", np.zeros(p.size)), np.float64)
    u = decay * st["v"] + d
    theta = th0 + ascale * st["a"]
    s = (u - theta > 0).astype(np.float64)
    reset = p.attrs.get("reset", "subtract")
    if reset == "subtract":
        v = u - theta * s
    elif reset == "zero":
        v = u * (1.0 - s)
    elif reset == "none":
        v = u
    else:
        raise ValueError(f"population {p.name!r}: unknown reset {reset!r}")
    st["v"] = v
    st["a"] = ad * st["a"] + s
    return s


def _run_population(p, ext: dict[str, np.ndarray], rec: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Run one non-input population over time. ``ext[port]``: (T, B, port) input from other populations;
    ``rec[port]``: (port, size) self weights. Returns (values (T, B, size), events mask (T, B, size))."""
    T, B = next(iter(ext.values())).shape[:2] if ext else (None, None)
    H = p.size
    P = p.params
    kind = p.kind
    val = np.zeros((T, B, H))
    ev = np.zeros((T, B, H), dtype=bool)
    prev = np.zeros((B, H))  # own output value of the previous step (what the self blocks see)
    st = {"v": np.zeros((B, H)), "a": np.zeros((B, H)), "c": np.zeros((B, H)), "h": np.zeros((B, H)), "y": np.zeros((B, H))}
    thr = float(p.attrs.get("delta_threshold", 0.0))

    def port_in(port: str, t: int) -> np.ndarray:
        z = ext[port][t].copy() if port in ext else np.zeros((B, p.port_size(port)))
        if port in rec:
            z += prev @ rec[port].T
        return z

    for t in range(T):
        if kind == "readout":
            y = np.asarray(P["decay"]) * st["y"] + port_in("in", t) + P["bias"]
            st["y"] = y
            val[t] = y
            prev = y
            continue
        if kind in ("lif", "sd_rnn"):
            z = port_in("in", t) + P["bias"]
            h = z
        elif kind in ("spiking_lstm", "sd_lstm"):
            z = port_in("in", t) + P["bias"]
            i, f, g, o = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
            st["c"] = _sigmoid(f) * st["c"] + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(st["c"])
        elif kind in ("spiking_gru", "sd_gru"):
            zi = port_in("in", t) + P["bias_in"]
            zh = port_in("rec", t) + P["bias_rec"]
            r = _sigmoid(zi[:, :H] + zh[:, :H])
            zz = _sigmoid(zi[:, H:2 * H] + zh[:, H:2 * H])
            n = np.tanh(zi[:, 2 * H:] + r * zh[:, 2 * H:])
            st["h"] = (1.0 - zz) * n + zz * st["h"]
            h = st["h"]
        else:
            raise ValueError(f"reference simulator: unknown kind {kind!r}")
        if kind.startswith("sd_"):
            if kind == "sd_rnn":
                act = p.attrs.get("activation", "tanh")
                h = np.tanh(h) if act == "tanh" else np.maximum(h, 0.0)
            m = np.abs(h - prev) > thr
            out = np.where(m, h, prev)
            ev[t] = m
        else:
            out = _soma(h, st, p)
            ev[t] = out > 0
        val[t] = out
        prev = out
    return val, ev


def simulate_reference(net, x: Any) -> tuple[np.ndarray, ActivityStats]:
    """Run ``net`` (float precision) on ``x`` shaped (T, B, I); returns ((T, B, O) output, ActivityStats)."""
    if net.precision != "float":
        raise ValueError("the reference simulator runs float-precision networks only")
    x = np.asarray(x, dtype=np.float64)
    T, B, _ = x.shape
    values: dict[str, np.ndarray] = {}
    events: dict[str, np.ndarray] = {}
    for stage in net.stages:
        for p in _topo_order(net, stage):
            if p.kind == "input":
                if p.attrs.get("encoding", "value") == "delta":
                    v, e = _delta_encode(x, float(p.attrs.get("delta_threshold", 0.0)))
                else:
                    v, e = x, x != 0
                values[p.name], events[p.name] = v, e
                continue
            ext: dict[str, np.ndarray] = {}
            rec: dict[str, np.ndarray] = {}
            for s in net.incoming(p.name):
                W = np.asarray(s.weights, np.float64)
                if s.source == p.name:
                    rec[s.port] = rec.get(s.port, 0) + W
                else:
                    z = values[s.source] @ W.T
                    ext[s.port] = ext.get(s.port, 0) + z
            if not ext:
                ext["in"] = np.zeros((T, B, p.port_size("in")))
            if p.reverse:
                ext = {k: v[::-1] for k, v in ext.items()}
            v, e = _run_population(p, ext, rec)
            if p.reverse:
                v, e = v[::-1], e[::-1]
            values[p.name], events[p.name] = v, e
    y = np.concatenate([values[n] for n in net.outputs], axis=-1)
    stats = ActivityStats(steps=T, batch=B)
    for p in net.populations:
        if p.kind == "readout":
            continue
        stats.events[p.name] = events[p.name].sum(axis=(1, 2)).astype(np.int64)
        stats.message_bits[p.name] = 24 if p.graded else 1
        if p.kind != "input":
            stats.neuron_updates[p.name] = int(p.size * T * B)
    for s in net.synapses:
        e = events[s.source].reshape(T, B, -1).astype(np.int64)
        stats.synaptic_ops[s.name] = (e * s.fan_out[None, None, :]).sum(axis=(1, 2))
    for p in net.populations:
        if p.kind == "readout":
            stats.neuron_updates[p.name] = int(p.size * T * B)
    return y, stats
