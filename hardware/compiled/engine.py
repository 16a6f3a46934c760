"""Running a network with the compiled kernels: a whole run (:func:`execute`, what ``backend="fast"`` calls when
numba is available) and a stream (:class:`CompiledStream`, ``net.stream(backend="fast")``).

A run steps **units** of populations with the interpreter (:func:`~spikernn.hardware.compiled.kernels.run_fixed`
/ ``run_float``): below :data:`STAGE_BATCH` samples a whole stage is one unit, run over all steps in one call
(batch 1 costs microseconds per step); from :data:`STAGE_BATCH` on every group of the fast plan (strongly
connected components) is one unit, and the blocks into it from earlier groups are computed beforehand for many
steps at once (:func:`pre_inputs`; fixed point with exact integer matrix products, int8 or float32 GEMMs
whichever this machine runs faster, binary spikes below a measured firing rate as int8 column additions instead,
:mod:`~spikernn.hardware.compiled.intmm`; float: graded payloads as float64 GEMMs from batch 64,
:mod:`~spikernn.hardware.compiled.blas`). A stream is the input population and the whole stage as one unit,
one call per step or per sequence (:meth:`CompiledStream.run`; a fast-backend run at batch 1 of a single-stage
network is one: ``FastBackend.simulate``). Float results do not depend on the split (the canonical block order of
:mod:`~spikernn.hardware.compiled.layout`) below batch 64, so a stream gives a run's bits in float as in fixed point
there; from batch 64 the float GEMMs of blocks of more than ``blas.TILE_SOURCES`` sources sum inside each block
in the library's order (float rounding, ~1e-16).
"""
from __future__ import annotations

import time
import numpy as np

from spikernn.hardware.backends.base import Encoded, Recording
from spikernn.hardware.backends.stream import Stream
from spikernn.hardware.compiled import TIMING
from spikernn.hardware.compiled import kernels as K
from spikernn.hardware.compiled.layout import Unit, Unsupported, build_unit, f32_twin
from spikernn.hardware.fast.plan import Blk, Plan, compile_network
from spikernn.hardware.network import Network
from spikernn.hardware.timing import replay_messages

STAGE_BATCH = 16  # from this batch size on, a run goes group by group (products of many steps at once)
CHUNK_ELEMS = 1 << 18  # at most this many elements of precomputed input per chunk: 2 MB of float64 / int64, so
# that E stays in cache between being formed and read by the interpreter (1 << 22, 32 MB, cost 20-30% at batch 256:
# benchmarks/bench_batch_vs_torch.py, float GRU 1.26 -> 1.02, fixed GRU 0.97 -> 0.70)
STEPPED_WRITES = True  # float: a port's first stepped GEMM writes its columns of E (stepped_writes), not added to zeros
DIRECT_SPIKES = True  # float: a binary first block of E writes its column sums into it (no zeroing, scratch, add)
CHUNK_ROWS = 4096  # stepped units: rows (steps x batch) of precomputed input per chunk (cache-sized, ~8 MB at A=256)

__all__ = ["execute", "CompiledStream", "Unsupported", "STAGE_BATCH", "supports"]


class UnitState:
    """The arrays a unit steps on for a batch: state ``ST``, synaptic input ``ACC``, scratch ``TMP`` and the
    payload ring ``HIST`` (R, B, O): what every population sent at the last R steps."""

    def __init__(self, unit: Unit, batch: int) -> None:
        dt = unit.dtype
        self.ST = np.zeros((batch, unit.n_state), dt)
        self.ACC = np.zeros((batch, unit.n_acc), dt)
        self.TMP = np.zeros((batch, unit.n_tmp), dt)
        self.T32 = np.zeros((batch, unit.n_tmp), np.int32)
        self.IDX = np.zeros(unit.n_out + K.COMPRESS_LANES, np.int64)  # source indices / offsets (+ the slack of
        # kernels._compress8's stores)
        self.HIST = np.zeros((unit.R, batch, unit.n_out), dt)

    def reset(self) -> None:
        for a in (self.ST, self.ACC, self.TMP, self.T32, self.HIST):
            a.fill(0)


_EMPTY: dict[tuple, np.ndarray] = {}


def _empty(shape: tuple, dtype) -> np.ndarray:
    key = (shape, np.dtype(dtype).str)
    a = _EMPTY.get(key)
    if a is None:
        a = _EMPTY[key] = np.zeros(shape, dtype)
    return a


_STARTED: set[str] = set()  # interpreters already called in this process


def _interpret(unit: Unit, st: UnitState, t0: int, T: int, E: np.ndarray, X: np.ndarray, MASKS: np.ndarray,
               VREC: np.ndarray, EVC: np.ndarray, SOC: np.ndarray, OUTS: np.ndarray, OSCALE: np.ndarray,
               Y: np.ndarray) -> int:
    """Run the unit's interpreter; the first call of a process also records the compile (or cache load) time."""
    fn = K.run_fixed if unit.fixed else K.run_float
    key = "fixed" if unit.fixed else "float"
    if key in _STARTED:
        return fn(t0, T, unit.POP, unit.BLK, unit.W, unit.W8, unit.P, st.ST, st.ACC, st.TMP, st.T32, st.IDX, st.HIST,
                  E, X, MASKS, VREC, EVC, SOC, unit.FAN, OUTS, OSCALE, Y)
    t = time.perf_counter()
    status = fn(t0, T, unit.POP, unit.BLK, unit.W, unit.W8, unit.P, st.ST, st.ACC, st.TMP, st.T32, st.IDX, st.HIST,
                E, X, MASKS, VREC, EVC, SOC, unit.FAN, OUTS, OSCALE, Y)
    _STARTED.add(key)
    TIMING[f"{key}_first_call_s"] = time.perf_counter() - t
    stats = getattr(fn, "stats", None)
    TIMING[f"{key}_from_cache"] = bool(stats is not None and sum(stats.cache_hits.values()))
    return status


def messages(plan: Plan, b: Blk, masks: dict, sent: dict, values: dict) -> np.ndarray:
    """The whole message sequence (T, B, n_src) block ``b`` delivers, in its target's time (as the numpy fast
    path's: spikes as bool, graded payloads replayed for flipped or later-stage targets)."""
    src, tgt = plan.pops[b.source], plan.pops[b.target]
    flip = b.external and src.reverse != tgt.reverse
    if src.spec.spiking:
        m = masks[src.name]
        m = m[::-1] if flip else m
    else:
        m = replay_messages(values.get(src.name), flip, sent.get(src.name), delta=src.spec.delta_coded(src.attrs))
    return np.ascontiguousarray(m)


def pre_inputs(unit: Unit, msgs: dict[str, np.ndarray], t0: int, T: int, batch: int,
               out: np.ndarray | None = None) -> np.ndarray:
    """``E`` (T, B, A): the input of the unit's precomputed blocks for steps t0 .. t0+T-1, each block's sum formed
    alone and added in the canonical order (fixed point: exact integers, int8 matrix products where available;
    float: float64 GEMMs from :data:`~spikernn.hardware.compiled.blas.MIN_ROWS` rows on). ``out``: a buffer of at
    least T rows to reuse (its old contents overwritten: zeroed, or written by a first block that covers every
    column)."""
    from spikernn.hardware.compiled import blas, intmm

    if out is None:
        E = np.empty((T, batch, unit.n_acc), unit.dtype)
    else:
        E = out[:T]
    zeroed = False  # the first block writes its input into its columns instead of adding it to zeros; the other
    # columns that start from E are zeroed after it (the columns of the other ports are never read)
    TMP = None
    for i, pb in enumerate(unit.pre):
        msg = msgs[pb.blk.name]
        assign = i == 0
        direct = assign and DIRECT_SPIKES and not unit.fixed and not pb.blk.graded  # float binary first block:
        # its column sums written into E (kernels.pre_spikes_set), not added to zeros
        if direct:
            K.pre_spikes_set(msg, t0, T, pb.blk.lag, _spike_weights(pb), pb.m, E, pb.a0)
        if direct or (intmm.add_block(E, msg, pb, t0, T, assign) if unit.fixed else
                      blas.add_block(E, msg, pb, t0, T, assign)):
            if assign:
                for lo, hi in zero_ranges(unit):
                    for a, b in ((lo, min(hi, pb.a0)), (max(lo, pb.a0 + pb.m), hi)):
                        if a < b:
                            E[:, :, a:b] = 0
            zeroed = True
            continue
        if not zeroed:
            for lo, hi in zero_ranges(unit):
                E[:, :, lo:hi] = 0
            zeroed = True
        w8 = intmm.spike_mantissas(pb) if unit.fixed and not pb.blk.graded else None
        if w8 is not None:  # binary spikes over int8 mantissas, int32 sums
            T32, IDX = intmm.column_scratch(batch, pb.m, msg.shape[-1])
            K.pre_block8(msg, t0, T, pb.blk.lag, w8, pb.m, pb.blk.exp, E, pb.a0, T32, IDX)
            continue
        if TMP is None:
            TMP = np.zeros((batch, unit.n_tmp), unit.dtype)
        w = _spike_weights(pb) if not unit.fixed and not pb.blk.graded else pb.w.reshape(-1)
        K.pre_block(msg, t0, T, pb.blk.lag, w, pb.m, pb.blk.graded, pb.ex, E, pb.a0, TMP)
    return E


def _spike_weights(pb) -> np.ndarray:
    """A float binary block's flat weights for the column sums: their float32 twin where exact (the sums widen it
    to float64: the same sums, half the memory traffic), else the float64 weights."""
    w = pb.w.reshape(-1)
    w32 = getattr(pb, "_w32", None)
    if w32 is None:
        w32 = pb._w32 = f32_twin(w)
    return w32 if w32.size == w.size else w


def e_ranges(unit: Unit) -> list[tuple[int, int]]:
    """The column ranges [lo, hi) of ``E`` the interpreter reads: the ports that start from the precomputed
    inputs (``K_E0`` / ``K_E1``); the other ports' columns of E are never read (nor written)."""
    r = getattr(unit, "_e_ranges", None)
    if r is None:
        r = []
        for row in unit.POP:
            for q in range(2):
                if row[K.K_E0 + q] and row[K.K_AW0 + 2 * q]:
                    lo = int(row[K.K_A0 + 2 * q])
                    r.append((lo, lo + int(row[K.K_AW0 + 2 * q])))
        unit._e_ranges = r
    return r


def stepped_writes(unit: Unit) -> tuple[set[int], list[tuple[int, int]]]:
    """Float: the stepped blocks that *write* their port's columns of ``E`` instead of adding to zeros (the first
    stepped block of a port no precomputed block reaches, covering all of its columns: the GEMM's result copied in,
    the zeros neither written by :func:`pre_inputs` nor read; as the first precomputed block of a chunk, ``assign``,
    the one difference is that a -0.0 sum stays -0.0, where adding it to +0.0 gave +0.0), as indices into
    ``unit.stepped``, and the column ranges [lo, hi) that :func:`pre_inputs` therefore leaves alone. Fixed point:
    none (exact integers, added)."""
    r = getattr(unit, "_stepped_writes", None)
    if r is None or r[2] != STEPPED_WRITES:
        idx, ranges = set(), []
        if not unit.fixed and STEPPED_WRITES:
            fed = {(pb.j, pb.blk.port) for pb in unit.pre}
            seen = set()
            for i, sb in enumerate(unit.stepped):
                key = (sb.j, sb.blk.port)
                if key in fed or key in seen:
                    seen.add(key)
                    continue
                seen.add(key)
                row = unit.POP[sb.j]
                for q in range(2):
                    lo, width = int(row[K.K_A0 + 2 * q]), int(row[K.K_AW0 + 2 * q])
                    if width and row[K.K_E0 + q] and sb.a0 == lo and sb.m == width:
                        idx.add(i)
                        ranges.append((lo, lo + width))
        r = unit._stepped_writes = (idx, ranges, STEPPED_WRITES)
    return r[0], r[1]


def zero_ranges(unit: Unit) -> list[tuple[int, int]]:
    """The column ranges of ``E`` that :func:`pre_inputs` zeroes where no precomputed block writes them:
    :func:`e_ranges` less those the stepped blocks write (:func:`stepped_writes`)."""
    skip = set(stepped_writes(unit)[1])
    return [c for c in e_ranges(unit) if c not in skip]


def units_of(plan: Plan, batch: int) -> list[list[str]]:
    """The units a run of ``batch`` samples steps: whole stages below :data:`STAGE_BATCH`, else the groups."""
    if batch >= STAGE_BATCH:
        return [list(g) for g in plan.groups]
    stages: dict[int, list[str]] = {}
    for g in plan.groups:
        stages.setdefault(plan.pops[g[0]].stage, []).extend(g)
    return [stages[s] for s in sorted(stages)]


def supports(plan: Plan) -> str | None:
    """None when the compiled engine runs ``plan``, else the reason it does not."""
    try:
        for names in units_of(plan, 1):
            build_unit(plan, names)
    except Unsupported as exc:
        return str(exc)
    return None


def execute(plan: Plan, enc: Encoded, *, record_all: bool = False) -> Recording:
    """Run ``plan`` on the encoded input with the compiled kernels; the same :class:`Recording` as the numpy fast
    path (bit for bit in fixed point; float: the kernels' rounding, independent of batch and split).
    Raises :class:`Unsupported` (before running anything) for what the kernels cannot run."""
    T, B = enc.sent.shape[:2]
    inp = plan.input
    masks: dict[str, np.ndarray] = {inp: enc.masks}
    sent: dict[str, np.ndarray] = {inp: enc.sent}
    values: dict[str, np.ndarray] = {inp: enc.values}
    need_values = set(plan.pops) if record_all else set(plan.need_values)
    groups = units_of(plan, B)
    from spikernn.hardware.compiled import blas, intmm

    stepped = B >= intmm.MIN_ROWS and intmm.available() if plan.fixed else B >= blas.MIN_ROWS
    units = [build_unit(plan, names, record_sent=set(plan.need_sent), record_values=need_values, stepped=stepped)
             for names in groups]
    dt = np.int64 if plan.fixed else np.float64
    X, EVC, SOC = _empty((1, 1, 1), np.float64), _empty((0, 1), np.int64), _empty((0, 1), np.int64)
    OUTS, OSC, Y = _empty((0, 2), np.int64), _empty((1,), np.float64), _empty((0, 1, 1), np.float64)
    for names, unit in zip(groups, units):
        st = UnitState(unit, B)
        # every step's row of both is written by the interpreter (each population's mask columns; the recorded
        # columns by _record), so neither is zeroed first (26 MB of VREC at T=100, B=256, 128 values)
        MASKS = np.empty((T, B, unit.n_out), bool)
        VREC = np.empty((T, B, unit.n_rec), dt)
        msgs = {pb.blk.name: messages(plan, pb.blk, masks, sent, values) for pb in unit.pre}
        tc = max(1, min(T, CHUNK_ELEMS // max(1, B * unit.n_acc))) if unit.pre else T
        if unit.stepped:  # stepped anyway: chunks of ~CHUNK_ROWS rows keep E in cache
            tc = max(1, min(tc, CHUNK_ROWS // B))
        ebuf = np.zeros((tc, B, unit.n_acc), dt) if unit.pre else None
        for t0 in range(0, T, tc):
            n = min(T, t0 + tc) - t0
            E = pre_inputs(unit, msgs, t0, n, B, ebuf) if unit.pre else _empty((1, B, unit.n_acc), dt)
            if unit.stepped:
                _run_stepped(unit, st, t0, n, E, X, MASKS, VREC, EVC, SOC, OUTS, OSC, Y)
            else:
                _interpret(unit, st, t0, n, E, X, MASKS[t0:t0 + n], VREC[t0:t0 + n], EVC, SOC, OUTS, OSC, Y)
        for name in names:
            masks[name] = MASKS[:, :, unit.out_cols(name)]
            for what, store in (("sent", sent), ("value", values)):
                cols = unit.rec_cols(name, what)
                if cols is not None:
                    store[name] = VREC[:, :, cols]
    return Recording(masks=masks, values=values, sent=sent)


def _run_stepped(unit: Unit, st: UnitState, t0: int, T: int, E: np.ndarray, *rest) -> None:
    """Steps t0 .. t0+T-1 one at a time, the unit's stepped (recurrent) blocks computed before each step from what
    their sources sent (``HIST``) as matrix products: int8 in fixed point (:mod:`~spikernn.hardware.compiled.intmm`),
    float64 GEMMs in float (:mod:`~spikernn.hardware.compiled.blas`), added to the step's precomputed input in the
    canonical block order: into ``E[tt]`` itself when the unit has precomputed blocks (``E`` is this chunk's
    buffer, read once by the interpreter), else into a zeroed step buffer."""
    from spikernn.hardware.compiled import blas, intmm

    X, MASKS, VREC, EVC, SOC, OUTS, OSC, Y = rest
    B = st.ST.shape[0]
    own = bool(unit.pre)  # E is this chunk's buffer (a row per step): ours to add into (else a shared zero row)
    Et = None if own else np.zeros((1, B, unit.n_acc), unit.dtype)
    R = unit.R
    writes = stepped_writes(unit)[0] if own else set()  # E's rows are zero-filled here when not own
    weights = []
    for i, sb in enumerate(unit.stepped):
        w = getattr(sb, "_step_w", None)
        if w is None:
            w = sb._step_w = intmm.Weights(sb.blk) if unit.fixed else blas.Weights(sb.w)
        weights.append((sb, w, sb.blk.lag, unit.out_cols(sb.blk.source), i in writes))
    for tt in range(T):
        t = t0 + tt
        if own:
            Ei = E[tt:tt + 1]
        else:
            Ei = Et
            Ei.fill(0)
        for sb, w, lag, cols, write in weights:
            if t < lag:
                if write:  # pre_inputs left these columns to the block: nothing arrives before its lag
                    Ei[0, :, sb.a0:sb.a0 + sb.m] = 0
                continue
            payload = st.HIST[(t - lag) % R][:, cols]
            if not unit.fixed:  # float payloads; spikes are 1.0
                blas.product(payload, w, Ei[0], sb.a0, assign=write)
                continue
            msg = payload.astype(np.bool_) if not sb.blk.graded else payload
            if not (w.ok and intmm.product(msg, w, Ei[0], sb.a0)):  # weights or payloads beyond int8 planes
                K.pre_block(np.ascontiguousarray(msg)[None], 0, 1, 0, sb.w.reshape(-1), sb.m, sb.blk.graded, sb.ex,
                            Ei, sb.a0, np.zeros((B, unit.n_tmp), np.int64))
        _interpret(unit, st, t, 1, Ei, X, MASKS[t:t + 1], VREC[t:t + 1], EVC, SOC, OUTS, OSC, Y)


def _pack(arrays: list[np.ndarray], dtype, head: int = 0) -> tuple[np.ndarray, list[np.ndarray], list[int]]:
    """One flat buffer of ``dtype`` holding ``arrays`` (after ``head`` leading elements); the arrays' views into it
    (their values copied) and their offsets."""
    offsets, n = [], head
    for a in arrays:
        offsets.append(n)
        n += a.size
    buf = np.zeros(max(n, 1), dtype)
    views = []
    for a, o in zip(arrays, offsets):
        v = buf[o:o + a.size].reshape(a.shape)
        v[...] = a
        views.append(v)
    return buf, views, offsets


_F64 = np.dtype(np.float64)


class CompiledStream(Stream):
    """A single-stage network stepped by the compiled interpreter: one call per :meth:`step` (host encoding, every
    population, counting and the output), and one call for a whole sequence in :meth:`run` (the interpreter loops
    over its steps; ``run()`` of the fast backend at batch 1 goes this way). See
    :class:`~spikernn.hardware.backends.stream.Stream`.

    The unit's tables and state live in two flat buffers (``I`` int64, ``D`` the unit's dtype; the unit's and the
    state's arrays are views of them) that :func:`~spikernn.hardware.compiled.kernels.stream_fixed` /
    ``stream_float`` take, so that a step passes ten arguments through numba's dispatcher, not 24; a C-contiguous
    float64 ``x_t`` of shape (I,) at batch 1 skips the base class's conversions. ``plan``: the network's
    :func:`~spikernn.hardware.fast.plan.compile_network` result, when the caller has it."""

    def __init__(self, net: Network, batch: int = 1, plan: Plan | None = None) -> None:
        super().__init__(net, batch, validated=plan is not None)
        from spikernn.hardware.fixed_point import output_scale

        plan = plan if plan is not None else compile_network(net)
        names = [plan.input] + [n for g in plan.groups for n in g]
        self.unit = unit = build_unit(plan, names)
        B = self.batch
        st = self.state = UnitState(unit, B)
        outs, scales, y0 = [], [], 0
        for name in net.outputs:
            P = net.population(name)
            outs.append((unit.index(name), y0))
            scales.append(output_scale(P) if net.precision == "fixed" and not P.spec.spiking else 1.0)
            y0 += P.size
        self.OSCALE = np.array(scales, np.float64)
        self.MASKS = np.zeros((1, B, unit.n_out), bool)
        self.pop_names, self.block_names = names, unit.block_names
        self.n_y = y0
        # the packed buffers, in the order of kernels.SV_*; the unit's and the state's arrays become their views
        ints = [unit.POP, unit.BLK, np.array(outs, np.int64).reshape(-1, 2), unit.FAN, st.IDX]
        vals = [unit.W, unit.P, st.ST, st.ACC, st.TMP, st.HIST, np.zeros((1, B, unit.n_acc), unit.dtype),
                np.zeros((1, B, 0), unit.dtype)]
        self.I, iv, io = _pack(ints, np.int64, K.SV_HEAD)
        self.D, dv, do = _pack(vals, unit.dtype)
        unit.POP, unit.BLK, self.OUTS, unit.FAN, st.IDX = iv
        unit.W, unit.P, st.ST, st.ACC, st.TMP, st.HIST, self.E, self.VREC = dv
        for k, (a, o) in enumerate(zip(iv + dv, io + do)):
            shape = tuple(a.shape) + (1,) * (3 - a.ndim)
            self.I[4 * k:4 * k + 4] = (o, *shape)
        self.I[4 * K.SV_N:K.SV_HEAD] = (B, y0, net.input_size, len(names), len(unit.block_names))
        self._width = len(names) + len(unit.block_names)
        self.C = np.zeros(64 * self._width, np.int64)  # per-step counters (kernels.stream_fixed), 64 steps to start
        self._kernel = K.stream_fixed if unit.fixed else K.stream_float
        self._flat = (net.input_size,) if B == 1 else None
        # the first call of a process is timed on its own (compile or cache load); later streams skip that
        self._first = f"{'stream_fixed' if unit.fixed else 'stream_float'}_first_call_s" not in TIMING

    def _reset(self) -> None:
        self.state.reset()

    def step(self, x_t) -> np.ndarray:
        """:meth:`Stream.step`; at batch 1 a C-contiguous float64 (I,) array goes straight to the kernel."""
        if (self._first or type(x_t) is not np.ndarray or x_t.dtype is not _F64 or x_t.shape != self._flat
                or not x_t.flags.c_contiguous):
            return super().step(x_t)
        t = self.steps
        if (t + 1) * self._width > self.C.size:
            self._grow(t + 1)
        y = self._kernel(self.I, self.D, self.unit.W8, self.state.T32, self.MASKS, self.OSCALE, x_t, self.C, t, 1)
        self.steps = t + 1
        return y

    def run(self, x) -> np.ndarray:
        """:meth:`Stream.run` in one interpreter call (the interpreter loops over the steps): the same outputs,
        state and counters as step by step. An input with NaN or inf goes step by step (the steps before it are
        done, then ValueError)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 3:
            raise ValueError(f"x must be (T, batch, I), got shape {x.shape}")
        T = x.shape[0]
        if T == 0:
            return np.zeros((0, self.batch, self.n_y))
        if x.shape[1:] != self.shape or not np.isfinite(x).all():
            return super().run(x)
        if self._first:  # the first step alone (it times the compile or cache load)
            y0 = super().step(x[0])[None]
            return y0 if T == 1 else np.concatenate([y0, self.run(x[1:])])
        t = self.steps
        if (t + T) * self._width > self.C.size:
            self._grow(t + T)
        y = self._kernel(self.I, self.D, self.unit.W8, self.state.T32, self.MASKS, self.OSCALE,
                         np.ascontiguousarray(x).reshape(-1), self.C, t, T)
        self.steps = t + T
        return y.reshape(T, self.batch, self.n_y)

    def _split(self, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The counters' two tables: events (cap, populations) then synaptic operations (cap, blocks)."""
        n_pop = len(self.pop_names)
        cap = C.size // self._width
        return C[:cap * n_pop].reshape(cap, n_pop), C[cap * n_pop:].reshape(cap, len(self.block_names))

    def _grow(self, steps: int) -> None:
        cap = self.C.size // self._width
        while cap < steps:
            cap *= 2
        C = np.zeros(cap * self._width, np.int64)
        (ev, so), (ev2, so2) = self._split(self.C), self._split(C)
        ev2[:ev.shape[0]], so2[:so.shape[0]] = ev, so
        self.C = C

    def _step(self, x: np.ndarray) -> np.ndarray:
        t = self.steps
        if (t + 1) * self._width > self.C.size:
            self._grow(t + 1)
        args = (self.I, self.D, self.unit.W8, self.state.T32, self.MASKS, self.OSCALE, x.reshape(-1), self.C, t, 1)
        if not self._first:
            return self._kernel(*args).reshape(self.batch, self.n_y)
        key = "stream_fixed" if self.unit.fixed else "stream_float"  # first call: compile or cache load, timed
        t0 = time.perf_counter()
        y = self._kernel(*args)
        self._first = False
        if f"{key}_first_call_s" not in TIMING:
            TIMING[f"{key}_first_call_s"] = time.perf_counter() - t0
        return y.reshape(self.batch, self.n_y)

    def _counts(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = self.steps
        ev, so = self._split(self.C)
        return ({name: ev[:n, j].copy() for j, name in enumerate(self.pop_names)},
                {name: so[:n, k].copy() for k, name in enumerate(self.block_names)})
