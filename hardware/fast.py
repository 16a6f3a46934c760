"""Fast batched simulator: the network description run as numpy array code.

``simulate_fast(net, x_tbi) -> (y_tbo, ActivityStats)`` gives the same bits as the Lava backend in fixed
point and the same values (to float rounding) in float, because both call the step functions of
:mod:`spikernn.hardware.neurons` and the synapse arithmetic of :mod:`spikernn.hardware.synapses`.

Timing (the contract shared with the Lava runner):

* every synapse block delivers at global step g+1 what its source sent at global step g;
* a population's **depth** is its number of synapse hops from its stage's sources (breadth-first, i.e. the
  shortest path): the ``input`` population has depth 0; a population fed by the input population or by an
  earlier stage (a host replay) has depth 1; recurrent edges never lower a depth. A population at depth k
  processes input step t at global step t+k (``start step = depth``); before that it is idle with zero
  state and sends nothing.
* hence, in aligned time (index = input step), a block from S (depth dS) to D (depth dD) of the same stage
  carries S's aligned step t to D's aligned step t + lag with ``lag = 1 + dS - dD`` (0 for a feed-forward
  block, 1 for a self-recurrent block). Blocks from the input population or from an earlier stage have lag 0.
  :func:`depths` and :func:`block_lags` compute these for the Lava runner.

Stages run one after another; a later stage's inputs from an earlier stage are that stage's recorded
values (:func:`spikernn.hardware.neurons.read_value`). A population with ``reverse=True`` runs in reversed
time: inputs from the input population or an earlier stage are flipped, its recorded output is flipped back.
Messages that cross a stage (or come from the input population) are replayed by the host as the source sent
them when the time direction is the same; for a target of the opposite direction, value-coded sources
(spikes, readouts, a "value" input) replay their flipped values and delta-coded sources (sd_*, a "delta"
input) the differences of their flipped recorded values (:func:`replay_messages`). Same-stage blocks must
connect populations of the same direction.

Execution: populations are grouped into strongly connected components (recurrence); each group runs over
the whole sequence before the next, its inputs from earlier groups being computed for many steps in one
matrix product, so only the recurrent part loops over time.

Large batches: ``lif`` populations step through :class:`spikernn.hardware.neurons.LifKernel` (in place, the
same numbers as ``step_lif``; fixed point as exact integers in float64), spikes are fed back as bool masks,
binary-spike products in fixed point use float32 BLAS where every partial sum is an integer below 2**24
(checked per block at compile time; float64 otherwise, exact below 2**53; float precision always float64), and
``workers`` splits the batch over threads. ``spiking_lstm`` populations step through
:class:`spikernn.hardware.neurons.LstmKernel` (in place, the same numbers as ``step_spiking_lstm``). A group
of one ``lif`` / ``spiking_lstm`` population whose internal blocks are its own self-recurrent ones, and a
group of one ``readout``, run a dedicated time loop (:class:`_FusedLif`, :class:`_FusedReadout`) with few
numpy calls per step (batch 1 is bound by the per-call overhead): spikes go straight into the bool masks
and a float buffer feeding the next step's product, fixed-point recurrent weights are pre-scaled by their
power of two (and LIF's ``<< 6``), constant parameters become scalars. ``use_kernels=False`` runs the plain step
functions (reference).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikernn.hardware import neurons as N
from spikernn.hardware.network import NEURON_KINDS, Network
from spikernn.hardware.stats import ActivityStats, count_activity
from spikernn.hardware.synapses import shift_floor

GRADED_MESSAGE_BITS = 24  # payload of a graded spike (Loihi 2 allows up to 32)


# ----------------------------------------------------------------------------------------------------------
# timing helpers shared with the Lava runner
# ----------------------------------------------------------------------------------------------------------

def _is_external(net: Network, blk, target_stage: int) -> bool:
    src = net.population(blk.source)
    return src.kind == "input" or src.stage < target_stage


def depths(net: Network) -> dict[str, int]:
    """Depth (start step) of every population: see the module docstring. The input population has 0."""
    d: dict[str, int] = {}
    for p in net.populations:
        if p.kind == "input":
            d[p.name] = 0
    for s in net.stages:
        pops = [p for p in net.populations if p.stage == s and p.kind != "input"]
        names = {p.name for p in pops}
        frontier = []
        for p in pops:
            if any(_is_external(net, b, s) for b in net.incoming(p.name)):
                d[p.name] = 1
                frontier.append(p.name)
        while frontier:
            nxt = []
            for b in net.synapses:
                if b.source in frontier and b.target in names and b.target not in d:
                    d[b.target] = d[b.source] + 1
                    nxt.append(b.target)
            frontier = nxt
        for p in pops:
            if p.name not in d:
                raise ValueError(f"population {p.name!r} receives nothing from the input or an earlier stage "
                                 "(unreachable); remove it or connect it")
    return d


def block_lags(net: Network) -> dict[str, int]:
    """Aligned-time lag of every synapse block: 0 for external/feed-forward, 1 + dS - dD otherwise."""
    d = depths(net)
    lags = {}
    for b in net.synapses:
        tgt = net.population(b.target)
        if _is_external(net, b, tgt.stage):
            lags[b.name] = 0
        else:
            lags[b.name] = 1 + d[b.source] - d[b.target]
    return lags


def replay_messages(values: np.ndarray, graded: bool, flip: bool, sent: np.ndarray | None = None,
                    delta: bool | None = None) -> np.ndarray:
    """Messages a host replays into a later stage (or a reverse population) from a recorded source.

    ``values`` (T, B, n) are the source's recorded values and ``sent`` its payload as sent, both in the
    source's own time. Without a flip the payload is replayed as it was sent. With a flip (the target runs in
    the opposite time direction) value-coded sources (binary spikes, readouts, an ``input`` with encoding
    "value") replay their flipped values, delta-coded sources (``sd_*``, ``input`` "delta") the time
    differences of their flipped values, so that the target's sigma equals the flipped values.
    ``delta`` says whether the source is delta-coded (:func:`spikernn.hardware.neurons.delta_coded`); when
    it is None it is ``graded`` unless ``sent is values`` (how both backends store a value-coded input).
    """
    if delta is None:
        delta = bool(graded) and not (sent is not None and sent is values)
    if not flip:
        if sent is not None:
            return sent
        if not delta:
            return values
    if not delta:
        return values[::-1] if flip else values
    v = values[::-1] if flip else values
    out = np.empty_like(v)
    out[0] = v[0]
    np.subtract(v[1:], v[:-1], out=out[1:])
    return out


# ----------------------------------------------------------------------------------------------------------
# compiled plan
# ----------------------------------------------------------------------------------------------------------

@dataclass
class _Blk:
    name: str
    source: str
    target: str
    port: str
    wt: np.ndarray  # (n_src, n_port) float64, transposed weights (mantissas in fixed)
    exp: int
    lag: int
    graded: bool
    fan_out: np.ndarray
    external: bool
    wt32: np.ndarray | None = None  # float32 copy when binary-input integer sums are exact in float32


@dataclass
class _Pop:
    name: str
    kind: str
    size: int
    params: dict
    attrs: dict
    stage: int
    reverse: bool
    depth: int
    graded: bool
    ports: dict[str, int]
    ext: dict[str, list] = field(default_factory=dict)  # port -> blocks from earlier groups
    internal: dict[str, list] = field(default_factory=dict)  # port -> blocks inside the group


def _sccs(names: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components in topological order (Tarjan)."""
    adj: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        adj[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for n in names:
        if n not in index:
            visit(n)
    return out[::-1]


def compile_network(net: Network) -> dict:
    """Precompute everything the simulator needs (prepared params, transposed weights, lags, groups)."""
    net.validate()
    fixed = net.precision == "fixed"
    d = depths(net)
    lags = block_lags(net)
    pops: dict[str, _Pop] = {}
    for p in net.populations:
        pops[p.name] = _Pop(
            name=p.name, kind=p.kind, size=p.size,
            params=N.prepare_params(p.kind, p.params, p.attrs, net.precision, size=p.size),
            attrs=p.attrs, stage=p.stage, reverse=p.reverse, depth=d[p.name], graded=p.graded,
            ports={port: p.size * g for port, g in NEURON_KINDS[p.kind].items()})
    blks: dict[str, _Blk] = {}
    for b in net.synapses:
        src, tgt = pops[b.source], pops[b.target]
        ext = _is_external(net, b, tgt.stage)
        if tgt.kind == "input":
            raise ValueError(f"synapse block {b.name!r} targets the input population")
        if not ext and src.reverse != tgt.reverse:
            raise ValueError(f"synapse block {b.name!r} connects populations of opposite time direction in the "
                             f"same stage ({src.name!r} reverse={src.reverse}, {tgt.name!r} reverse={tgt.reverse}); "
                             "put the target in a later stage")
        w = np.asarray(b.weights, dtype=np.float64)
        if fixed and not np.all(w == np.round(w)):
            raise ValueError(f"fixed-point network: synapse block {b.name!r} has non-integer weight mantissas")
        blks[b.name] = _Blk(name=b.name, source=b.source, target=b.target, port=b.port,
                            wt=np.ascontiguousarray(w.T), exp=int(b.weight_exp) if fixed else 0,
                            lag=lags[b.name], graded=src.graded, fan_out=np.count_nonzero(w, axis=0),
                            external=ext)
    if fixed:
        for b in blks.values():
            rowsum = float(np.abs(b.wt).sum(axis=0).max(initial=0))
            if not b.graded and rowsum < 2 ** 24:
                b.wt32 = b.wt.astype(np.float32)
            if rowsum * float(2 ** 23) >= 2 ** 53:
                raise ValueError(f"synapse block {b.name!r}: fan-in too large for exact accumulation")
    # groups per stage
    groups: list[list[str]] = []
    for s in net.stages:
        names = [p.name for p in net.populations if p.stage == s and p.kind != "input"]
        edges = [(b.source, b.target) for b in blks.values()
                 if not b.external and b.source in names and b.target in names]
        for comp in _sccs(names, edges):
            groups.append(sorted(comp, key=lambda n: (pops[n].depth, names.index(n))))
    done: set[str] = {p.name for p in net.populations if p.kind == "input"}
    for g in groups:
        gset = set(g)
        for n in g:
            P = pops[n]
            P.ext = {port: [] for port in P.ports}
            P.internal = {port: [] for port in P.ports}
            for b in blks.values():
                if b.target != n:
                    continue
                if b.source in gset and not b.external:
                    P.internal[b.port].append(b)
                else:
                    if b.source not in done and not b.external:
                        raise AssertionError("group order")  # pragma: no cover
                    P.ext[b.port].append(b)
        done |= gset
    need_values = set(net.outputs)
    need_sent = set()
    group_of = {n: i for i, g in enumerate(groups) for n in g}
    for b in blks.values():
        src, tgt = pops[b.source], pops[b.target]
        if b.external and src.reverse != tgt.reverse:
            need_values.add(b.source)
        elif group_of.get(b.source) != group_of.get(b.target):
            need_sent.add(b.source)
    return {"pops": pops, "blocks": blks, "groups": groups, "fixed": fixed,
            "input": net.input, "outputs": list(net.outputs), "need_values": need_values, "need_sent": need_sent}


# ----------------------------------------------------------------------------------------------------------
# simulation
# ----------------------------------------------------------------------------------------------------------

def _syn(blk: _Blk, msg: np.ndarray, fixed: bool, as_float: bool = False) -> np.ndarray:
    """Synaptic input of one block for messages ``msg`` (..., n_src) (binary spikes as 0/1 or bool).

    Fixed point: int64, or with ``as_float`` the same integers as exact float64 (for a kernel target)."""
    if fixed:
        if msg.dtype == np.bool_ and blk.wt32 is not None:
            acc = msg.astype(np.float32) @ blk.wt32  # exact: every partial sum is an integer < 2**24
        else:
            acc = msg.astype(np.float64) @ blk.wt  # exact: every partial sum is an integer < 2**53
        if as_float:  # scaling by a power of two is exact in float32 and float64 alike; floor == shift
            out = acc if acc.dtype == np.float32 else np.asarray(acc, np.float64)
            if blk.exp:
                out *= 2.0 ** blk.exp
            return np.floor(out, out=out) if blk.exp < 0 else out
        return shift_floor(acc.astype(np.int64), blk.exp)
    if msg.dtype == np.bool_:
        msg = msg.astype(np.float64)
    return msg @ blk.wt


class _StepSyn:
    """Per-step synaptic input of one block into preallocated buffers (the recurrent part of a group).

    Binary spikes (bool) go through float32 BLAS where the block allows it in fixed point (every partial sum
    an integer below 2**24, checked at compile time), float64 otherwise; ``as_float`` returns fixed-point
    integers as exact float64 (for :class:`spikernn.hardware.neurons.LifKernel`) instead of int64.
    The returned array is overwritten by the next call.
    """

    def __init__(self, blk: _Blk, batch: int, fixed: bool, as_float: bool) -> None:
        self.blk, self.fixed, self.as_float = blk, fixed, as_float
        n_src, n_out = blk.wt.shape
        self.f32 = fixed and blk.wt32 is not None
        self.msg = np.empty((batch, n_src), np.float32 if self.f32 else np.float64)
        self.acc = np.empty((batch, n_out), np.float32 if self.f32 else np.float64)
        self.out = np.empty((batch, n_out), np.float64) if (fixed and as_float) else None
        self.scale = float(2.0 ** blk.exp)

    def __call__(self, msg: np.ndarray) -> np.ndarray:
        blk = self.blk
        if msg.dtype == np.bool_ and msg.shape == self.msg.shape:
            np.copyto(self.msg, msg)
            np.matmul(self.msg, blk.wt32 if self.f32 else blk.wt, out=self.acc)
            acc = self.acc
        else:
            return _syn(blk, msg, self.fixed)
        if not self.fixed:
            return acc
        if not self.as_float:
            return shift_floor(acc.astype(np.int64), blk.exp)
        out = self.out
        np.multiply(acc, self.scale, out=out)  # exact: integer times a power of two, below 2**53
        if blk.exp < 0:
            np.floor(out, out=out)  # == arithmetic right shift
        return out


_SPIKING = ("lif", "spiking_lstm", "spiking_gru")


class _FusedLif:
    """A group of one ``lif`` or ``spiking_lstm`` population (kernel supported) whose only internal blocks are
    its own self-recurrent ones (lag 1): the whole time loop with as few numpy calls per step as possible.

    Spikes are written straight into the population's bool masks and copied into a (B, n) float buffer
    (float32 where the recurrent product is exact in float32) for the next step's recurrent product.
    ``lif`` in fixed point (``du`` = 4095, no adaptation): the recurrent weights are pre-scaled by
    ``64 * 2**exp`` (exact integers, exp >= 0) and, per chunk, the external input becomes ``64*in + bias``
    when a bound shows that u cannot wrap (else that chunk steps through :meth:`LifKernel.step`); then
    ``v = sat24(trunc(v*mv) + E_t + S_{t-1} @ W)``: the integers of ``step_lif`` in another (exact) order.
    Float: ``v = v*m + (e_t + S_{t-1} @ W) + bias``, the order of the reference loop.
    ``spiking_lstm`` (:class:`spikernn.hardware.neurons.LstmKernel`): the kernel's step on ``e_t`` and
    ``S_{t-1} @ W`` (fixed point: W pre-scaled by ``2**exp``, exp >= 0).
    """

    @classmethod
    def build(cls, P: _Pop, kern, fixed: bool, B: int):
        internals = P.internal.get("in", [])
        if any(b.source != P.name or b.lag != 1 or b.graded for b in internals):
            return None
        if isinstance(kern, N.LstmKernel):  # the kernel's own step, without the generic loop around it
            if fixed:
                if any(b.exp < 0 for b in internals):
                    return None
                W = None
                for b in internals:
                    w = b.wt * float(2.0 ** b.exp)
                    W = w if W is None else W + w
                R = float(np.abs(W).sum(axis=0).max(initial=0)) if W is not None else 0.0
                if R >= 2 ** 52:
                    return None
                if W is not None and R < 2 ** 24:
                    W = W.astype(np.float32)
            else:
                if len(internals) > 1:
                    return None
                W = internals[0].wt if internals else None
            return cls(P, kern, fixed, B, W, 0.0)
        if P.kind != "lif" or kern is None or not isinstance(kern, N.LifKernel) or kern.adapt:
            return None
        if fixed:
            if not kern.u_pass or (kern.reset == "subtract" and kern.th_neg):
                return None
            if any(b.exp < 0 for b in internals):
                return None
            W = None
            for b in internals:
                w = b.wt * float(2.0 ** b.exp * 64)
                W = w if W is None else W + w
            R = float(np.abs(W).sum(axis=0).max(initial=0)) if W is not None else 0.0
            if R >= 2 ** 52:
                return None
            # float32 spikes/products where exact (the reset's spikes * theta too: theta below 2**24)
            if W is not None and R < 2 ** 24 and float(np.abs(kern.th).max(initial=0)) < 2 ** 24:
                W = W.astype(np.float32)
        else:
            if len(internals) > 1:
                return None
            W, R = (internals[0].wt if internals else None), 0.0
        return cls(P, kern, fixed, B, W, R)

    def __init__(self, P, kern, fixed, B, W, R):
        self.k, self.fixed, self.W, self.R = kern, fixed, W, R
        self.n = P.size
        dt = W.dtype if W is not None else np.float64
        width = W.shape[1] if W is not None else P.size * (4 if P.kind == "spiking_lstm" else 1)
        self.acc = np.empty((B, width), dt)
        self.msg = np.zeros((B, P.size), dt)  # the previous step's spikes as 0/1 for the recurrent product
        self.mk = None

    def start(self, mk: np.ndarray) -> None:
        """``mk``: the population's (T, B, n) bool spike array, written step by step."""
        self.mk = mk

    def run(self, E, t0: int, t1: int) -> None:
        k, W, mk, msg, acc = self.k, self.W, self.mk, self.msg, self.acc
        B = acc.shape[0]
        dot, greater, multiply, copyto = np.dot, np.greater, np.multiply, np.copyto
        if isinstance(k, N.LstmKernel):
            zero = np.zeros(acc.shape) if E is None else None
            for t in range(t0, t1):
                e = zero if E is None else E[t - t0]
                spk = mk[t]
                if t and W is not None:
                    dot(msg, W, out=acc)
                    if E is None:
                        k.step(acc, spk)
                    else:
                        k.step(e, spk, acc)
                else:
                    k.step(e, spk)
                copyto(msg, spk)
            return
        n = self.n
        v, tmp, th = k.v, k.tmp, _uniform(k.th)
        reset = k.reset
        if self.fixed:
            trunc, mv = np.trunc, _uniform(k.mv)
            emax = float(_abs_max(E)) if E is not None else 0.0
            if emax * 64.0 + self.R + 1.0 < float(1 << 23):
                E = multiply(E, 64.0, dtype=np.float64) if E is not None else np.zeros((t1 - t0, B, n))
                E += k.bias
                sat, clip, lim = N._sat24_inplace, N._clip, float(N.MAX24)
                small = v.size <= 4096  # one clip call (as _sat24_inplace does for small arrays)
                for t in range(t0, t1):
                    multiply(v, mv, out=v)
                    trunc(v, out=v)
                    v += E[t - t0]
                    if t and W is not None:
                        dot(msg, W, out=acc)
                        v += acc
                    if small:
                        clip(v, -lim, lim, out=v)
                    else:
                        sat(v)
                    spk = mk[t]
                    greater(v, th, out=spk)
                    copyto(msg, spk)
                    if reset == "subtract":
                        multiply(msg, th, out=tmp)
                        v -= tmp
                    elif reset == "zero":
                        copyto(v, 0.0, where=spk)
                return
            # u may wrap: the kernel's own step (a_in = E_t + (S_{t-1} @ W) / 64, exact integers)
            for t in range(t0, t1):
                a_in = np.zeros((B, n)) if E is None else np.asarray(E[t - t0], np.float64).copy()
                if t and W is not None:
                    dot(msg, W, out=acc)
                    a_in += acc.astype(np.float64) * (1.0 / 64)
                k.step(a_in, mk[t])
                copyto(msg, mk[t])
            return
        bias, m = _uniform(k.bias), _uniform(k.m)
        for t in range(t0, t1):
            v *= m
            if t and W is not None:
                dot(msg, W, out=acc)
                if E is not None:
                    np.add(E[t - t0], acc, out=tmp)
                    v += tmp
                else:
                    v += acc
            elif E is not None:
                v += E[t - t0]
            v += bias
            spk = mk[t]
            greater(v, th, out=spk)
            copyto(msg, spk)
            if reset == "subtract":  # v - 1*theta or v - 0: the values of np.subtract(..., where=s)
                multiply(msg, th, out=tmp)
                v -= tmp
            elif reset == "zero":
                copyto(v, 0.0, where=spk)


class _FusedReadout:
    """A group of one ``readout`` (:class:`spikernn.hardware.neurons.ReadoutKernel`, no internal blocks):
    ``y_t = sat24(trunc(y_{t-1} * m) + (in_t + bias))`` written straight into a (T, B, n) float64 array
    (fixed point: exact integers, the bias folded into the input per chunk; a sum past 2**53 saturates alike);
    float: ``y_t = y_{t-1} * m + in_t + bias`` in the order of :func:`step_readout`."""

    def __init__(self, kern, B: int, n: int) -> None:
        self.k, self.B, self.n = kern, B, n
        self.Y = None

    def start(self, T: int) -> None:
        self.Y = np.empty((T, self.B, self.n), np.float64)

    def run(self, E, t0: int, t1: int) -> None:
        k, Y = self.k, self.Y
        m, bias = _uniform(k.m), _uniform(k.bias)
        if E is None:
            E = np.zeros((t1 - t0, self.B, self.n))
        multiply = np.multiply
        if k.fixed:
            E = np.add(E, k.bias, dtype=np.float64)
            trunc, clip, lim = np.trunc, N._clip, float(N.MAX24)
            small = self.B * self.n <= 4096
            for t in range(t0, t1):
                y = Y[t]
                if t:
                    multiply(Y[t - 1], m, out=y)
                    trunc(y, out=y)
                    y += E[t - t0]
                else:
                    np.copyto(y, E[0])
                if small:
                    clip(y, -lim, lim, out=y)
                else:
                    N._sat24_inplace(y)
            return
        for t in range(t0, t1):
            y = Y[t]
            if t:
                multiply(Y[t - 1], m, out=y)
                y += E[t - t0]
            else:
                np.add(E[0], 0.0, out=y)  # 0*m + in == in (+0.0 turns -0.0 into 0.0 as 0.0 + in does)
            y += bias


def _uniform(a):
    """A per-neuron constant as a Python float when every neuron has the same value (a scalar operand is
    cheaper than a broadcast row; the element results are the same)."""
    a = np.asarray(a)
    if a.ndim == 1 and a.size and a.dtype == np.float64 and np.all(a == a[0]):
        return float(a[0])
    return a


def _abs_max(x: np.ndarray) -> float:
    if x.size == 0:
        return 0.0
    return max(float(N._rmax(x, axis=None)), -float(N._rmin(x, axis=None)))


def _memoryless_readout(P: _Pop, fixed: bool) -> bool:
    if P.kind != "readout" or any(P.internal[port] for port in P.ports):
        return False
    return bool(np.all(P.params["_dv"] == N.ONE)) if fixed else bool(np.all(P.params["_decay"] == 0.0))


_BLAS_CTL: list = []


def _blas_limit(threads: int | None):
    """Context manager limiting BLAS threads (small per-step products are much slower multi-threaded)."""
    import contextlib

    if threads is None:
        return contextlib.nullcontext()
    try:
        if not _BLAS_CTL:
            from threadpoolctl import ThreadpoolController

            _BLAS_CTL.append(ThreadpoolController())
        return _BLAS_CTL[0].limit(limits=int(threads), user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing or failing: run as is
        return contextlib.nullcontext()


MIN_SHARD = 16  # smallest batch shard worth a thread of its own


def simulate_fast(net: Network, x_tbi: np.ndarray, *, chunk_elems: int = 1 << 17,
                  plan: dict | None = None, blas_threads: int | None = 1, workers: int = 1,
                  lengths: np.ndarray | None = None, **options: Any) -> tuple[np.ndarray, ActivityStats]:
    """Run ``net`` on float64 input ``x_tbi`` (T, B, I); return the aligned output (T, B, O) and stats.

    ``blas_threads`` (default 1; None leaves the BLAS setting alone) limits BLAS threads during the run: the
    per-step matrix products are small, and threads waiting on each other cost more than they give.
    ``workers`` (default 1; 0 or None: every core) splits the batch into that many shards run in parallel
    threads (numpy and BLAS release the GIL), each shard at most ``blas_threads`` BLAS threads; a shard has
    at least :data:`MIN_SHARD` samples. Every sample is computed on its own, so the result does not depend on
    the split (bit for bit in fixed point; in float up to BLAS summation order, ~1e-16).
    """
    import os

    if not workers:
        workers = os.cpu_count() or 1
    B = int(np.shape(x_tbi)[1]) if np.ndim(x_tbi) == 3 else 0
    shards = max(1, min(int(workers), B // MIN_SHARD))
    with _blas_limit(blas_threads):
        if shards <= 1:
            return _simulate(net, x_tbi, chunk_elems=chunk_elems, plan=plan, lengths=lengths, **options)
        from concurrent.futures import ThreadPoolExecutor

        x = np.asarray(x_tbi, dtype=np.float64)
        plan = plan if plan is not None else compile_network(net)
        bounds = np.linspace(0, B, shards + 1).round().astype(int)
        with ThreadPoolExecutor(shards) as ex:
            parts = list(ex.map(lambda i: _simulate(
                net, x[:, bounds[i]:bounds[i + 1]], chunk_elems=chunk_elems, plan=plan,
                lengths=None if lengths is None else np.asarray(lengths)[bounds[i]:bounds[i + 1]], **options),
                range(shards)))
        return np.concatenate([p[0] for p in parts], axis=1), _merge_stats([p[1] for p in parts])


def _merge_stats(parts: list[ActivityStats]) -> ActivityStats:
    """Statistics of batch shards added up (the same as one run over the whole batch)."""
    st = ActivityStats(steps=parts[0].steps, batch=sum(p.batch for p in parts))
    first = parts[0]
    for k in first.events:
        st.events[k] = sum(p.events[k] for p in parts)
    for k in first.synaptic_ops:
        st.synaptic_ops[k] = sum(p.synaptic_ops[k] for p in parts)
    for k in first.neuron_updates:
        st.neuron_updates[k] = sum(p.neuron_updates[k] for p in parts)
    st.message_bits = dict(first.message_bits)
    for k in first.core_hops:
        st.core_hops[k] = sum(p.core_hops[k] for p in parts)
    return st


def record_values(net: Network, x_tbi: np.ndarray) -> dict[str, np.ndarray]:
    """Run ``net`` and return every population's host-readable values (T, B, n) in forward time (spikes,
    sent values, readout y; raw integers in fixed point). For calibration and debugging."""
    capture: dict[str, np.ndarray] = {}
    with _blas_limit(1):
        _simulate(net, x_tbi, _capture=capture)
    return capture


def _simulate(net: Network, x_tbi: np.ndarray, *, chunk_elems: int = 1 << 17,
              plan: dict | None = None, _capture: dict | None = None, use_kernels: bool = True,
              lengths: np.ndarray | None = None, **options: Any) -> tuple[np.ndarray, ActivityStats]:
    """Run ``net`` on float64 input ``x_tbi`` (T, B, I); return the aligned output (T, B, O) and stats.

    Args:
        net: a float or fixed-point :class:`Network`.
        x_tbi: float input (fixed-point networks quantise it with
            :func:`spikernn.hardware.fixed_point.quantize_input`).
        chunk_elems: at most this many elements per precomputed block of external synaptic input (memory).
        plan: a result of :func:`compile_network` for ``net`` to skip recompiling (benchmarks).
    Returns:
        ``(y, stats)``: y float64 (T, B, O), the outputs of ``net.outputs`` concatenated (spikes 0/1, graded
        values, readout values, dequantised in fixed point); :class:`ActivityStats` summed over the batch.
    """
    if options:
        raise TypeError(f"simulate_fast got unknown options {sorted(options)}")
    x = np.asarray(x_tbi, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must be (T, B, I), got shape {x.shape}")
    T, B, _ = x.shape
    if plan is None:
        plan = compile_network(net)
    fixed = plan["fixed"]
    pops: dict[str, _Pop] = plan["pops"]
    blks: dict[str, _Blk] = plan["blocks"]
    dt = np.int64 if fixed else np.float64
    prec = net.precision

    # Per population, in its own time: masks (T, B, n) bool (spiking kinds: the spikes themselves);
    # payload sequences of graded populations where a later group reads them; values where read by host.
    masks: dict[str, np.ndarray] = {}
    sent: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}

    # ---- input population ------------------------------------------------------------------------------
    inp = pops[plan["input"]]
    if fixed:
        from spikernn.hardware.fixed_point import quantize_input

        xin = quantize_input(net, x)
    else:
        xin = x
    if inp.params["_enc"] == "value":
        sent[inp.name] = xin
        masks[inp.name] = xin != 0
        values[inp.name] = xin
    else:
        st = N.init_state("input", inp.size, B, inp.params, inp.attrs, prec)
        o_all = np.empty_like(xin)
        m_all = np.empty(xin.shape, bool)
        v_all = np.empty_like(xin)
        for t in range(T):
            st, o, m = N.step_input(st, {"x": xin[t]}, inp.params, inp.attrs, prec)
            o_all[t] = o
            m_all[t] = m
            v_all[t] = st["sent"]
        sent[inp.name], masks[inp.name], values[inp.name] = o_all, m_all, v_all

    def messages(b: _Blk, target: _Pop) -> np.ndarray:
        """Full message sequence of block ``b`` in ``target``'s time (bool for spikes)."""
        src = pops[b.source]
        flip = b.external and src.reverse != target.reverse
        if src.kind in _SPIKING:
            m = masks[src.name]
            return m[::-1] if flip else m
        return replay_messages(values.get(src.name), True, flip, sent.get(src.name),
                               delta=N.delta_coded(src.kind, src.attrs))

    need_vals = plan["need_values"] if _capture is None else set(pops)
    need_sent = plan["need_sent"]
    # ---- groups ------------------------------------------------------------------------------------------
    for group in plan["groups"]:
        G = [pops[n] for n in group]
        ext_src = {P.name: {port: [(b, messages(b, P)) for b in P.ext[port]] for port in P.ports} for P in G}
        width = sum(sum(P.ports.values()) for P in G) * B
        tc = max(1, min(T, chunk_elems // max(width, 1)))
        states = {P.name: N.init_state(P.kind, P.size, B, P.params, P.attrs, prec) for P in G}
        hist: dict[str, list] = {}
        specs = []
        kernel_pops: set[str] = set()
        for P in G:
            name = P.name
            masks[name] = mk = np.empty((T, B, P.size), bool)
            sq = vq = None
            if P.kind not in _SPIKING:
                if name in need_sent:
                    sent[name] = sq = np.empty((T, B, P.size), dt)
                if name in need_vals:
                    values[name] = vq = np.empty((T, B, P.size), dt)
            hist[name] = [None] * T
            ports = []
            for port, n in P.ports.items():
                internals = [(b, b.source, b.lag) for b in P.internal[port]]
                ports.append((port, internals, np.zeros((B, n), dt)))
            keep = max([b.lag for b in blks.values() if b.source == name and not b.external] + [0])
            kern = None
            if (use_kernels and P.kind == "lif" and list(P.ports) == ["in"]
                    and N.LifKernel.supported(P.params, P.attrs, prec, P.size)):
                kern = N.LifKernel(P.params, P.attrs, prec, B, P.size)
                kernel_pops.add(name)
            elif (use_kernels and P.kind == "spiking_lstm" and list(P.ports) == ["in"]
                    and N.LstmKernel.supported(P.params, P.attrs, prec, P.size)):
                kern = N.LstmKernel(P.params, P.attrs, prec, B, P.size)
                kernel_pops.add(name)
            elif (use_kernels and P.kind == "readout" and len(G) == 1 and not any(P.internal.values())
                    and N.ReadoutKernel.supported(P.params, P.attrs, prec, P.size)):
                kern = N.ReadoutKernel(P.params, P.attrs, prec, B, P.size)
                mk[:] = False  # a readout sends no events
            ports = [(port, [(b, src, lag, _StepSyn(b, B, fixed, kern is not None)) for b, src, lag in internals],
                      zero) for port, internals, zero in ports]
            specs.append((name, N.STEP[P.kind], P, ports, mk, sq, vq, keep, kern))
        if len(G) == 1 and _memoryless_readout(G[0], fixed):
            # y_t = in_t + bias (decay 0): the whole sequence at once, the same numbers as step by step
            P = G[0]
            acc = np.zeros((T, B, P.size), dt)
            for b, msgs in ext_src[P.name]["in"]:
                if b.lag >= T:
                    continue
                part = _syn(b, msgs[: T - b.lag], fixed)
                acc[b.lag:] += part
            if P.params["_sigma"]:
                acc = np.cumsum(acc, axis=0)
            y = acc + P.params["_bias"]
            if fixed:
                y = N.sat24(y)
            masks[P.name][:] = False
            if values.get(P.name) is not None:
                values[P.name][:] = y
            if sent.get(P.name) is not None:
                sent[P.name][:] = y
            continue
        fz = None
        if use_kernels and len(G) == 1:
            kern0 = specs[0][-1]
            fz = _FusedReadout(kern0, B, G[0].size) if isinstance(kern0, N.ReadoutKernel) else \
                _FusedLif.build(G[0], kern0, fixed, B)
        if fz is not None:
            fz.start(masks[G[0].name] if isinstance(fz, _FusedLif) else T)
            for t0 in range(0, T, tc):
                t1 = min(T, t0 + tc)
                acc = None
                for b, msgs in ext_src[G[0].name]["in"]:
                    if t1 - b.lag <= max(t0 - b.lag, 0):
                        continue
                    part = _syn(b, msgs[t0:t1], fixed, as_float=True)  # lag 0: external / feed-forward
                    acc = part if acc is None else np.add(acc, part, dtype=np.result_type(acc, part, np.float64)
                                                          if acc.dtype == np.float32 else None)
                fz.run(acc, t0, t1)
            name = G[0].name
            if isinstance(fz, _FusedReadout):
                for q in (sent.get(name), values.get(name)):
                    if q is not None:
                        q[...] = fz.Y  # exact integers in fixed point
            continue
        for t0 in range(0, T, tc):
            t1 = min(T, t0 + tc)
            ext_chunk: dict[str, dict[str, np.ndarray | None]] = {}
            for P in G:
                ext_chunk[P.name] = {}
                for port in P.ports:
                    acc = None
                    for b, msgs in ext_src[P.name][port]:
                        lo, hi = t0 - b.lag, t1 - b.lag
                        a = max(lo, 0)
                        if hi <= a:
                            continue
                        part = _syn(b, msgs[a:hi], fixed, as_float=P.name in kernel_pops)
                        if a > lo:  # the first steps of a lagged block carry nothing
                            part = np.concatenate([np.zeros((a - lo,) + part.shape[1:], part.dtype), part])
                        # float32 parts (exact integers) are added in float64: their sum may pass 2**24
                        acc = part if acc is None else np.add(acc, part, dtype=np.result_type(acc, part, np.float64)
                                                              if acc.dtype == np.float32 else None)
                    ext_chunk[P.name][port] = acc
            chunk_ins = [[ext_chunk[name][port] for port, _, _ in ports] for name, _, _, ports, *_ in specs]
            for t in range(t0, t1):
                k = t - t0
                for (name, fn, P, ports, mk, sq, vq, keep, kern), ecs in zip(specs, chunk_ins):
                    ins = {}
                    for (port, internals, zero), e in zip(ports, ecs):
                        cur = None if e is None else e[k]
                        owned = False  # whether cur is a fresh array this loop may add into
                        for b, src, lag, ss in internals:
                            if t >= lag:
                                c = ss(hist[src][t - lag])
                                if cur is None:
                                    cur = c
                                elif not owned:
                                    cur = cur + c  # (e + c1) + c2 ...: the order of the reference loop
                                    owned = True
                                else:
                                    cur += c
                        ins[port] = zero if cur is None else cur
                    h = hist[name]
                    if kern is not None and P.kind in _SPIKING:  # LifKernel, LstmKernel
                        m = mk[t]
                        kern.step(ins["in"], m)
                        h[t] = m
                    elif kern is not None:  # readout: alone in its group, read by the host
                        y = kern.step(ins["in"])
                        if sq is not None:
                            sq[t] = y
                        if vq is not None:
                            vq[t] = y
                        continue
                    else:
                        st, o, m = fn(states[name], ins, P.params, P.attrs, prec)
                        states[name] = st
                        mk[t] = m
                        h[t] = m if P.kind in _SPIKING else o
                    if keep < t:
                        h[t - keep - 1] = None
                    if sq is not None:
                        sq[t] = o
                    if vq is not None:
                        vq[t] = N.read_value(P.kind, st, o)

    if _capture is not None:
        for P in pops.values():
            v = masks[P.name] if P.kind in _SPIKING else values[P.name]
            _capture[P.name] = v[::-1] if P.reverse else v
    # ---- output --------------------------------------------------------------------------------------------
    outs = []
    for name in plan["outputs"]:
        P = pops[name]
        v = masks[name] if P.kind in _SPIKING else values[name]
        if P.reverse:
            v = v[::-1]
        v = v.astype(np.float64)
        if fixed and P.kind not in _SPIKING:
            from spikernn.hardware.fixed_point import output_scale

            v *= output_scale(net.population(name))
        outs.append(v)
    y = np.concatenate(outs, axis=2) if len(outs) > 1 else np.ascontiguousarray(outs[0])

    return y, count_activity(net, masks, T, B, lengths=lengths, graded_bits=GRADED_MESSAGE_BITS)
