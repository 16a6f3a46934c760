"""The fast backend: the network run as batched array code, the bits of the Lava backend in fixed point and the
same values (to float rounding) in float. With numba installed it runs the compiled kernels of
:mod:`spikernn.hardware.compiled` (``engine="auto"``, the default; at batch 1 a single-stage network runs as a
compiled stream, one interpreter call for the sequence: :meth:`FastBackend.simulate`); what follows describes its
numpy engine, the fallback (``engine="numpy"``, or numba missing).

Execution: populations are grouped into strongly connected components (recurrence, :mod:`~spikernn.hardware.fast.plan`);
each group runs over the whole sequence before the next, its inputs from earlier groups being computed for many
steps in one matrix product (:func:`~spikernn.hardware.fast.synapses.block_input`), so only the recurrent part
loops over time. Timing is the shared contract of :mod:`spikernn.hardware.timing`.

Per kind, a kernel (:data:`~spikernn.hardware.fast.kernels.KERNELS`: ``lif``, ``spiking_lstm``, ``readout``) steps
the population in place where it applies; other kinds step through their reference
(:meth:`~spikernn.hardware.kinds.spec.NeuronKind.step`). A group of one ``lif`` / ``spiking_lstm`` population whose
internal blocks are its own self-recurrent ones, and a group of one ``readout``, run a fused time loop
(:mod:`~spikernn.hardware.fast.fused`). Binary-spike products in fixed point use float32 BLAS where every partial
sum is an integer below 2**24 (checked per block at compile time; float64 otherwise, exact below 2**53; float
precision always float64), and ``workers`` splits the batch over threads. ``use_kernels=False`` runs the
reference steps only.
"""
from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from spikernn.hardware.arith import sat24
from spikernn.hardware.backends.base import Backend, Encoded, Recording, check_input
from spikernn.hardware.fast.fused import FusedLif, FusedReadout, memoryless_readout
from spikernn.hardware.fast.kernels import KERNELS, ReadoutKernel
from spikernn.hardware.fast.cache import cached_plan, give_stream, take_stream
from spikernn.hardware.fast.plan import Blk, Plan, Pop
from spikernn.hardware.fast.synapses import StepSynapse, block_input
from spikernn.hardware.network import Network
from spikernn.hardware.timing import replay_messages

MIN_SHARD = 16  # smallest batch shard worth a thread of its own
_BLAS_CTL: list = []


def blas_limit(threads: int | None):
    """Context manager limiting BLAS threads (small per-step products are much slower multi-threaded)."""
    if threads is None:
        return contextlib.nullcontext()
    try:
        if not _BLAS_CTL:
            from threadpoolctl import ThreadpoolController

            _BLAS_CTL.append(ThreadpoolController())
        return _BLAS_CTL[0].limit(limits=int(threads), user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing or failing: run as is
        return contextlib.nullcontext()


ENGINES = ("auto", "numba", "numpy")


class FastBackend(Backend):
    """The fast simulator (module docstring): compiled kernels when numba is available, numpy kernels otherwise."""

    name = "fast"

    def execute(self, net: Network, x: np.ndarray, encoded: Encoded, *, chunk_elems: int = 1 << 17,
                plan: Plan | None = None, use_kernels: bool = True, blas_threads: int | None = 1,
                workers: int = 1, record_all: bool = False, engine: str = "auto") -> Recording:
        """Run ``net``.

        Args:
            chunk_elems: numpy engine: at most this many elements per precomputed block of external synaptic
                input (memory).
            plan: a :func:`compile_network` result for ``net`` to skip recompiling and checking it again
                (benchmarks); without it, the network's cached plan (:func:`~spikernn.hardware.fast.cache.cached_plan`:
                compiled once, reused while the network is bit for bit unchanged).
            use_kernels: False runs the kinds' reference steps only (in the numpy engine's scheduler).
            blas_threads: BLAS threads during the run (default 1; None leaves the setting alone): the per-step
                products are small, and threads waiting on each other cost more than they give.
            workers: batch shards run in parallel threads (0 or None: every core); a shard has at least
                :data:`MIN_SHARD` samples. Every sample is computed on its own, so the result does not depend
                on the split (bit for bit in fixed point; float: the compiled engine's bits too for shards below
                batch 64, else and in the numpy engine up to BLAS summation order, ~1e-16).
            record_all: keep every population's values (calibration, debugging).
            engine: "auto" (the compiled kernels of :mod:`spikernn.hardware.compiled` when numba is available
                and they cover the network's kinds, else numpy; from :data:`MEASURE_BATCH` samples on, whichever
                of the two measured faster on this network, :func:`choose_engine`), "numba" (compiled or an error
                saying why not), "numpy" (the numpy kernels).
        """
        if plan is None:
            plan = cached_plan(net)
        if not workers:
            workers = os.cpu_count() or 1
        B = x.shape[1]
        shards = max(1, min(int(workers), B // MIN_SHARD))
        with blas_limit(blas_threads):
            if engine == "auto" and use_kernels and B >= MEASURE_BATCH and x.shape[0] > 2 * PROBE_STEPS:
                engine = choose_engine(plan, encoded, shards, chunk_elems, record_all)
            return _sharded(_engine(plan, engine, use_kernels, chunk_elems, record_all), encoded, shards)

    def simulate(self, net: Network, x_tbi: Any, *, lengths: np.ndarray | None = None, streamed: bool = True,
                 **options: Any):
        """:meth:`Backend.simulate`. At batch 1 a single-stage network (no reverse populations) runs as a compiled
        stream's :meth:`~spikernn.hardware.compiled.engine.CompiledStream.run` (``streamed``, the default, with
        the compiled engine and no ``lengths`` or ``record_all``): one interpreter call for the whole sequence,
        the host's quantisation and coding, counting and outputs in it, no recording of every population; the
        bits of the run it replaces (the conformance matrix checks both). ``streamed=False`` runs
        :meth:`execute`."""
        self.check_options(options)
        x = check_input(x_tbi, net)
        if streamed and lengths is None:
            out = _streamed(net, x, options)
            if out is not None:
                return out
        return self._simulate_checked(net, x, lengths, options)

    def encode(self, net: Network, x: np.ndarray) -> Encoded:
        """:meth:`Backend.encode`: a fixed-point network's "value"- or "delta"-coded input quantised (and delta-coded)
        in one compiled pass (``kernels.quantize_values`` / ``kernels.quantize_deltas``: the bits of
        :func:`~spikernn.hardware.fixed_point.quantize_input` then the input kind's steps, and its warning) where
        the compiled kernels are available; else the host's numpy encoding."""
        if net.precision == "fixed":
            inp = net.population(net.input)
            prep = inp.prepare("fixed")
            if prep.encoding in ("value", "delta"):
                from spikernn.hardware import compiled

                if compiled.available():
                    from spikernn.hardware.fixed_point import input_warn_limit, warn_input_range

                    K = compiled.load_kernels()
                    xc = np.ascontiguousarray(x)
                    q, mask = np.empty(x.shape, np.int64), np.empty(x.shape, bool)
                    scale, limit = 2.0 ** inp.spec.out_frac_bits(inp.attrs), input_warn_limit(net)
                    if prep.encoding == "value":
                        over = K.quantize_values(xc.reshape(-1), scale, limit, q.reshape(-1), mask.reshape(-1))
                        values = q
                    else:  # sigma-delta coding (kernels.quantize_deltas): the changes sent, the values held
                        values = np.empty(x.shape, np.int64)
                        over = K.quantize_deltas(xc.reshape(-1), max(x.shape[0], 1), scale, limit,
                                                 int(prep.threshold), q.reshape(-1), values.reshape(-1),
                                                 mask.reshape(-1))
                    if over:
                        warn_input_range(net, x, stacklevel=4)
                    return Encoded(q, values, mask)
        return super().encode(net, x)

    def stream(self, net: Network, batch: int = 1, engine: str = "auto"):
        """A :class:`~spikernn.hardware.backends.stream.Stream` of ``net``: the compiled interpreter, one call per
        step (the bits of :meth:`execute`'s compiled engine), or, without numba (or with ``engine="numpy"``), the
        reference steps (:class:`~spikernn.hardware.backends.reference.ReferenceStream`: the bits of the reference
        backend; of the numpy engine in fixed point)."""
        from spikernn.hardware.backends.reference import ReferenceStream

        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
        if engine != "numpy":
            from spikernn.hardware import compiled

            if compiled.available():
                from spikernn.hardware.compiled.engine import CompiledStream, Unsupported

                try:
                    return CompiledStream(net, batch, plan=cached_plan(net))
                except Unsupported:
                    if engine == "numba":
                        raise
            elif engine == "numba":
                raise RuntimeError(f"engine='numba': the compiled kernels are unavailable ({compiled.info()['reason']})")
        return ReferenceStream(net, batch)


def _streamed(net: Network, x: np.ndarray, options: dict):
    """(outputs, stats) of a batch-1 run as a compiled stream (:meth:`FastBackend.simulate`) on the checked input
    ``x`` (:func:`~spikernn.hardware.backends.base.check_input`), or None where that route does not apply (then
    :meth:`~FastBackend.execute` runs)."""
    if x.shape[1] != 1 or options.get("engine", "auto") not in ("auto", "numba") or \
            not options.get("use_kernels", True) or options.get("record_all", False):
        return None
    from spikernn.hardware.backends.stream import streamable

    if not streamable(net):
        return None
    from spikernn.hardware import compiled

    if not compiled.available():
        return None
    from spikernn.hardware.compiled.engine import CompiledStream, Unsupported

    plan = options.get("plan")
    try:  # the caller's plan: a stream of its own; else one of the network's cached streams (fast.cache)
        s = CompiledStream(net, 1, plan=plan) if plan is not None else take_stream(net, 1)
    except Unsupported:
        if options.get("engine") == "numba":
            raise
        return None
    if net.precision == "fixed":  # the host's check of quantize_input (the stream quantises in compiled code)
        from spikernn.hardware.fixed_point import warn_input_range

        warn_input_range(net, x, stacklevel=4)
    y = s.run(x)
    stats = s.stats
    give_stream(s)
    return y, stats


def _sharded(run, enc: Encoded, shards: int) -> Recording:
    """``run`` over ``shards`` batch shards of ``enc`` in parallel threads (one: directly)."""
    if shards <= 1:
        return run(enc)
    B = enc.sent.shape[1]
    bounds = np.linspace(0, B, shards + 1).round().astype(int)
    parts = [Encoded(*(a[:, bounds[i]:bounds[i + 1]] for a in (enc.sent, enc.values, enc.masks)))
             for i in range(shards)]
    with ThreadPoolExecutor(shards) as ex:
        recs = list(ex.map(run, parts))
    return Recording.concatenate(recs)


MEASURE_BATCH = 64  # from this batch size on, engine="auto" picks the engine by measured cost (choose_engine)
PROBE_STEPS = 12  # steps of the input each engine runs for that measurement (inputs of more than twice as many)
ENGINE_CHOICE: dict[tuple, tuple[str, float, float]] = {}  # structure, batch, shards -> (engine, numba s, numpy s)


def structure_key(plan: Plan) -> tuple:
    """What the engines' costs depend on besides the weights: precision, kinds, sizes, settings and blocks."""
    pops = tuple((P.name, P.kind, P.size, P.stage, P.reverse,
                  repr(sorted((k, v) for k, v in P.attrs.items() if np.ndim(v) == 0))) for P in plan.pops.values())
    blks = tuple((b.source, b.target, b.port, b.wt.shape, b.lag, b.graded) for b in plan.blocks.values())
    return plan.fixed, pops, blks


def choose_engine(plan: Plan, enc: Encoded, shards: int, chunk_elems: int, record_all: bool) -> str:
    """The engine ``engine="auto"`` runs for a batch of :data:`MEASURE_BATCH` samples or more: the compiled
    kernels or the numpy engine, whichever ran the first :data:`PROBE_STEPS` steps of this input in less process
    CPU time (the smaller of two timings each, interleaved, after a first compiled call that may compile or load
    the kernels: about half a run's time, once; on a loaded machine the choice can still miss); measured
    once per network structure, batch size and shard count in a process (:data:`ENGINE_CHOICE`, which keeps both
    times). The choice never changes fixed-point bits (both engines are bit-exact); in float the two agree to
    float rounding (~1e-16). Smaller batches take the compiled kernels (numba available): their per-step
    overhead is the smallest."""
    import time

    from spikernn.hardware import compiled

    if not compiled.available():
        return "numpy"
    key = (structure_key(plan), enc.sent.shape[1], shards)
    hit = ENGINE_CHOICE.get(key)
    if hit is None:
        probe = Encoded(*(a[:PROBE_STEPS] for a in (enc.sent, enc.values, enc.masks)))
        costs: dict[str, float] = {}
        for i, name in enumerate(("numba", "numba", "numpy", "numba", "numpy")):  # the smaller of two times each
            run = _engine(plan, "auto" if name == "numba" else name, True, chunk_elems, record_all)
            t0 = time.process_time()
            _sharded(run, probe, shards)
            if i:
                costs[name] = min(costs.get(name, np.inf), time.process_time() - t0)
        hit = ENGINE_CHOICE[key] = ("auto" if costs["numba"] <= costs["numpy"] else "numpy", costs["numba"],
                                    costs["numpy"])
    return hit[0]


def _engine(plan: Plan, engine: str, use_kernels: bool, chunk_elems: int, record_all: bool):
    """The function running one batch shard (an :class:`Encoded`) with the engine asked for."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")

    def numpy_run(enc: Encoded) -> Recording:
        return _run(plan, enc, chunk_elems, use_kernels, record_all)

    if engine == "numpy" or not use_kernels:
        return numpy_run
    from spikernn.hardware import compiled

    if not compiled.available():
        if engine == "numba":
            raise RuntimeError(f"engine='numba': the compiled kernels are unavailable ({compiled.info()['reason']})")
        return numpy_run
    from spikernn.hardware.compiled.engine import Unsupported, execute

    def compiled_run(enc: Encoded) -> Recording:
        try:
            return execute(plan, enc, record_all=record_all)
        except Unsupported:  # raised while packing, before anything ran
            if engine == "numba":
                raise
            return numpy_run(enc)

    return compiled_run


def _add(acc: np.ndarray | None, part: np.ndarray) -> np.ndarray:
    """acc + part; float32 parts (exact integers) are added in float64: their sum may pass 2**24."""
    if acc is None:
        return part
    return np.add(acc, part, dtype=np.result_type(acc, part, np.float64) if acc.dtype == np.float32 else None)


def _run(plan: Plan, enc: Encoded, chunk_elems: int, use_kernels: bool, record_all: bool) -> Recording:
    fixed = plan.fixed
    pops: dict[str, Pop] = plan.pops
    blks: dict[str, Blk] = plan.blocks
    dt = np.int64 if fixed else np.float64
    T, B = enc.sent.shape[:2]

    # Per population, in its own time: masks (T, B, n) bool (spiking kinds: the spikes themselves);
    # payload sequences of graded populations where a later group reads them; values where read by host.
    inp = plan.input
    masks: dict[str, np.ndarray] = {inp: enc.masks}
    sent: dict[str, np.ndarray] = {inp: enc.sent}
    values: dict[str, np.ndarray] = {inp: enc.values}

    def messages(b: Blk, target: Pop) -> np.ndarray:
        """Full message sequence of block ``b`` in ``target``'s time (bool for spikes)."""
        src = pops[b.source]
        flip = b.external and src.reverse != target.reverse
        if src.spec.spiking:
            m = masks[src.name]
            return m[::-1] if flip else m
        return replay_messages(values.get(src.name), flip, sent.get(src.name), delta=src.spec.delta_coded(src.attrs))

    need_vals = set(pops) if record_all else plan.need_values
    need_sent = plan.need_sent
    for group in plan.groups:
        G = [pops[n] for n in group]
        ext_src = {P.name: {port: [(b, messages(b, P)) for b in P.ext[port]] for port in P.ports} for P in G}
        width = sum(sum(P.ports.values()) for P in G) * B
        tc = max(1, min(T, chunk_elems // max(width, 1)))
        states = {P.name: P.spec.init_state(P.prep, B) for P in G}
        hist: dict[str, list] = {}
        specs = []
        kernel_pops: set[str] = set()
        for P in G:
            name = P.name
            masks[name] = mk = np.empty((T, B, P.size), bool)
            sq = vq = None
            if not P.spec.spiking:
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
            kcls = KERNELS.get(P.kind) if use_kernels else None
            if kcls is ReadoutKernel:  # alone in its group, no internal blocks: the host reads it
                if len(G) == 1 and not any(P.internal.values()) and kcls.supported(P.prep):
                    kern = kcls(P.prep, B)
                    mk[:] = False  # a readout sends no events
            elif kcls is not None and list(P.ports) == ["in"] and kcls.supported(P.prep):
                kern = kcls(P.prep, B)
                kernel_pops.add(name)
            ports = [(port, [(b, src, lag, StepSynapse(b, B, fixed, kern is not None)) for b, src, lag in internals],
                      zero) for port, internals, zero in ports]
            specs.append((name, P, ports, mk, sq, vq, keep, kern))
        if len(G) == 1 and memoryless_readout(G[0], fixed):
            # y_t = in_t + bias (decay 0): the whole sequence at once, the same numbers as step by step
            P = G[0]
            acc = np.zeros((T, B, P.size), dt)
            for b, msgs in ext_src[P.name]["in"]:
                if b.lag >= T:
                    continue
                acc[b.lag:] += block_input(b, msgs[: T - b.lag], fixed)
            if P.prep.sigma:
                acc = np.cumsum(acc, axis=0)
            y = acc + P.prep.bias
            if fixed:
                y = sat24(y)
            masks[P.name][:] = False
            for q in (values.get(P.name), sent.get(P.name)):
                if q is not None:
                    q[:] = y
            continue
        fz = None
        if use_kernels and len(G) == 1:
            kern0 = specs[0][-1]
            fz = FusedReadout(kern0, B, G[0].size) if isinstance(kern0, ReadoutKernel) else \
                FusedLif.build(G[0], kern0, fixed, B)
        if fz is not None:
            fz.start(masks[G[0].name] if isinstance(fz, FusedLif) else T)
            for t0 in range(0, T, tc):
                t1 = min(T, t0 + tc)
                acc = None
                for b, msgs in ext_src[G[0].name]["in"]:
                    if t1 - b.lag <= max(t0 - b.lag, 0):
                        continue
                    acc = _add(acc, block_input(b, msgs[t0:t1], fixed, as_float=True))  # lag 0: external / feed-forward
                fz.run(acc, t0, t1)
            name = G[0].name
            if isinstance(fz, FusedReadout):
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
                        part = block_input(b, msgs[a:hi], fixed, as_float=P.name in kernel_pops)
                        if a > lo:  # the first steps of a lagged block carry nothing
                            part = np.concatenate([np.zeros((a - lo,) + part.shape[1:], part.dtype), part])
                        acc = _add(acc, part)
                    ext_chunk[P.name][port] = acc
            chunk_ins = [[ext_chunk[name][port] for port, _, _ in ports] for name, _, ports, *_ in specs]
            for t in range(t0, t1):
                k = t - t0
                for (name, P, ports, mk, sq, vq, keep, kern), ecs in zip(specs, chunk_ins):
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
                    if kern is not None and P.spec.spiking:  # LifKernel, LstmKernel
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
                        st, o, m = P.spec.step(states[name], ins, P.prep)
                        states[name] = st
                        mk[t] = m
                        h[t] = m if P.spec.spiking else o
                    if keep < t:
                        h[t - keep - 1] = None
                    if sq is not None:
                        sq[t] = o
                    if vq is not None:
                        vq[t] = P.spec.read_value(st, o)
    return Recording(masks=masks, values=values, sent=sent)


def simulate_fast(net: Network, x_tbi: Any, *, lengths: np.ndarray | None = None, **options: Any):
    """Run ``net`` on float input ``x_tbi`` (T, B, I) on the fast backend; return the aligned output (T, B, O)
    float64 and the :class:`~spikernn.hardware.stats.ActivityStats` (options: :meth:`FastBackend.execute`).

    >>> import numpy as np
    >>> from spikernn.hardware import Network, Population, SynapseBlock
    >>> net = Network([Population("x", "input", 2), Population("h", "lif", 3, {"threshold": 0.5})],
    ...               [SynapseBlock("xh", "x", "h", "in", np.ones((3, 2)))], "x", ["h"])
    >>> y, stats = simulate_fast(net, np.full((4, 1, 2), 0.2))
    >>> y[:, 0, 0].tolist(), stats.total_events()
    ([0.0, 1.0, 1.0, 1.0], 17)
    """
    return FastBackend().simulate(net, x_tbi, lengths=lengths, **options)


def record_values(net: Network, x_tbi: Any) -> dict[str, np.ndarray]:
    """Run ``net`` and return every population's host-readable values (T, B, n) in forward time (spikes,
    sent values, readout y; raw integers in fixed point). For calibration and debugging."""
    from spikernn.hardware.backends.base import encode_input

    x = check_input(x_tbi, net)
    rec = FastBackend().execute(net, x, encode_input(net, x), record_all=True)
    out = {}
    for p in net.populations:
        v = rec.masks[p.name] if p.spec.spiking else rec.values[p.name]
        out[p.name] = v[::-1] if p.reverse else v
    return out
