"""Fixed-point synaptic products of large batches as int8 matrix products: ``torch._int_mm`` (int8 x int8 -> int32,
exact; oneDNN's VNNI kernels where the CPU has them: ~8x float32 GEMM here).

The network's weights are int8 mantissas (:mod:`spikernn.hardware.synapses`); a block's input for messages ``msg``
(N, n_src) is ``floor((msg @ m) * 2**exp)``. Binary spikes are int8 already; a graded payload is split into
signed bytes ``msg = sum_j p_j 256**j`` (each p_j in [-128, 127]), the k planes stacked into one (k N, n_src) int8
matrix and multiplied by one GEMM, recombined exactly in int64 (every int32 partial sum is below
128 * 128 * n_src < 2**31). **Graded payloads take this route first** wherever k int8 GEMMs cost less than one
float32 GEMM (:func:`graded_planes`, measured: with VNNI up to 4 planes, 8x float32 here; the converted dense
LSTM 2 x 128 at batch 256, fixed point, went from 234 to 170 ms on the 2-core AMD EPYC Zen 4, same process,
load ~5). Where it does not (no VNNI), payloads needing :data:`F64_PLANES` bytes or more (quantised host input,
15+ fractional bits) go through one float64 product, exact while every sum is an integer below 2**53 (checked per
call), the others through the float32 route below. :func:`available` checks once that the products are exact on
this machine; without it the compiled kernels compute the products themselves.

**float32 route.** ``torch._int_mm`` is fast only where oneDNN has VNNI kernels (AVX-512 VNNI / AVX-VNNI): on a
Xeon with VNNI ~8x float32 GEMM, on an AVX2-only AMD EPYC ~20x *slower* than it (2048 x 128 @ 128 x 512: 224 ms
int8, 11.8 ms float32, 24.7 ms float64). Integer products are exact in float32 GEMM too while every partial sum is an
integer below 2**24: for messages of magnitude at most ``pmax`` (1 for binary spikes) every partial sum of
``sum_k p_k m_kc``, in any order, is bounded by ``pmax * max_c sum_k |m_kc|`` (the block's largest column sum of
|mantissas|, :attr:`Weights.rsum`); so ``pmax * rsum < 2**24`` makes every product, sum and fused multiply-add of the
GEMM exact (e.g. 128 spiking sources x |mantissa| <= 128: rsum <= 16,384; even 65,536 sources of full-range int8
mantissas stay below 2**24 = 16,777,216). :func:`float32_faster` measures once per process which of the two runs
this machine's binary-spike products faster (never by CPU name) and :func:`product` takes float32 for every such
product that bound allows when it won, and for every graded product the int8 planes declined that the bound allows
(:func:`use_float32`; :data:`ROUTE` forces one). float32 GEMMs are used only while torch's float32 matmul precision
is "highest" (no bfloat16/TF32 shortcuts).
"""
from __future__ import annotations

import time

import numpy as np

from spikernn.hardware.compiled import kernels as K
from spikernn.hardware.compiled.buffers import per_thread

MIN_ROWS = 64  # below this many rows the interpreter's own loops are as fast
PRE_SPIKES = True  # binary-spike blocks precomputed as GEMMs too where their firing rate is above the measured
# crossover (spike_crossover); False: always the kernels' column additions
_STATE: dict = {}


def available() -> bool:
    """Whether ``torch._int_mm`` exists here and gives exact int32 products (checked once)."""
    if "ok" not in _STATE:
        try:
            import torch

            rng = np.random.default_rng(0)
            a = rng.integers(-128, 128, (70, 37)).astype(np.int8)
            b = rng.integers(-128, 128, (37, 29)).astype(np.int8)
            got = torch._int_mm(torch.from_numpy(a), torch.from_numpy(b)).numpy()
            _STATE["ok"] = bool(np.array_equal(got, a.astype(np.int64) @ b.astype(np.int64)))
            _STATE["torch"] = torch
        except Exception:  # noqa: BLE001 - missing in this torch build, or failing: the kernels do it
            _STATE["ok"] = False
    return _STATE["ok"]


class Weights:
    """A block's int8 mantissas as a torch tensor (n_src, m), the same as float64, its exponent and the largest
    column sum of |mantissas|."""

    def __init__(self, blk) -> None:
        m = np.asarray(blk.wt)
        self.ok = bool(m.size and m.min() >= -128 and m.max() <= 127 and m.shape[0] < 1 << 16)
        self.tensor = _STATE["torch"].from_numpy(np.ascontiguousarray(m.astype(np.int8))) if self.ok else None
        self.f64 = _STATE["torch"].from_numpy(np.ascontiguousarray(m, np.float64))
        self.rsum = float(np.abs(m).sum(axis=0).max(initial=0))
        # the largest column norm, rounded up a little: |sum_k p_k m_kc| <= ||p|| ||m_c|| (Cauchy-Schwarz) bounds
        # every partial sum of a product too, often far below pmax * rsum for graded payloads
        self.cnorm = float(np.sqrt((m.astype(np.float64) ** 2).sum(axis=0).max(initial=0))) * (1 + 1e-9)
        self.f32 = _STATE["torch"].from_numpy(np.ascontiguousarray(m, np.float32)) if self.rsum < F32_EXACT else None
        self.exp = int(blk.exp)
        self.m = m.shape[1]


ROWS = 2048  # rows per product (buffers reused: a fresh 50 MB int32 output costs more in page faults than the product)
PLANES = 4  # payloads up to MAX_PAYLOAD (a 24-bit payload needs 3 planes)
MAX_PAYLOAD = 127 * (256 ** PLANES - 1) // 255


F32_EXACT = 2.0 ** 24  # float32 holds every integer below this: sums bounded by it are exact in float32 GEMM
ROUTE: str | None = None  # "int8" / "float32" forces the products' route; None: measured (float32_faster)
CROSSOVER: float | None = None  # forces spike_crossover's firing rate (0: every spike block a GEMM; inf: none)


def float32_faster() -> bool:
    """Whether float32 GEMM beats ``torch._int_mm`` on this machine for the products here (:func:`gemm_times`);
    :data:`ROUTE` overrides. False while torch's float32 matmul precision is not "highest"."""
    torch = _STATE["torch"]
    if torch.get_float32_matmul_precision() != "highest":
        return False
    if ROUTE is not None:
        return ROUTE == "float32"
    t = gemm_times()
    return t["float32"] < t["int8"]


def gemm_times() -> dict:
    """CPU seconds of one (256 x 128) @ (128 x 512) product as ``torch._int_mm`` ("int8") and as float32 GEMM
    ("float32"), measured once per process: one warm-up call each (oneDNN generates its kernel at the first), then
    the smallest of seven interleaved timings of four calls each, per call (a few ms in all where int8 is the fast
    one, ~0.2 s where it is not). A single call is ~40 us, so one timing of one call could be a preemption's or
    a cold cache's; a load spike then read int8 as the slow one and sent every graded product to float."""
    if "f32_times" not in _STATE:
        torch = _STATE["torch"]
        rng = np.random.default_rng(0)
        a8 = torch.from_numpy(rng.integers(0, 2, (256, 128)).astype(np.int8))
        b8 = torch.from_numpy(rng.integers(-128, 128, (128, 512)).astype(np.int8))
        af, bf = a8.float(), b8.float()
        o32, of = torch.empty(256, 512, dtype=torch.int32), torch.empty(256, 512)
        calls = {"int8": lambda: torch._int_mm(a8, b8, out=o32), "float32": lambda: torch.mm(af, bf, out=of)}
        best = {}
        for name in ("int8", "float32"):
            calls[name]()  # warm-up
        for name in ("int8", "float32") * 7:
            t0 = time.process_time()
            for _ in range(4):
                calls[name]()
            best[name] = min(best.get(name, np.inf), (time.process_time() - t0) / 4)
        _STATE["f32_times"] = best
    return _STATE["f32_times"]


def graded_planes() -> int:
    """The most byte planes (:func:`planes_needed`) for which a graded product takes the int8 route first, before
    the float32 and float64 ones: as many int8 GEMMs as cost at most 3/4 of one float32 GEMM on this machine
    (:func:`gemm_times`; the rest pays for splitting and recombining), at most :data:`PLANES`. Where oneDNN
    has VNNI kernels int8 is ~8x float32 (AMD EPYC Zen 4: 0.041 against 0.343 ms, so 4 planes: the Q12 deltas of
    a converted dense LSTM need 2, its quantised host input 3); on an AVX2-only EPYC int8 is ~20x slower (0).
    :data:`ROUTE` forces :data:`PLANES` ("int8") or 0 ("float32")."""
    if ROUTE is not None:
        return PLANES if ROUTE == "int8" else 0
    t = gemm_times()
    return int(min(PLANES, 0.75 * t["float32"] / max(t["int8"], 1e-9)))


def use_float32(spikes: bool) -> bool:
    """Whether a product tries the float32 route (taken where exact, :func:`_product_f32`): binary spikes when
    :func:`float32_faster` measured float32 faster than one int8 GEMM; graded payloads whenever the int8 planes
    declined them (more planes than :func:`graded_planes`), since their other route is a float64 GEMM.
    :data:`ROUTE` forces either; never while torch's float32 matmul precision is not "highest"."""
    if _STATE["torch"].get_float32_matmul_precision() != "highest":
        return False
    if ROUTE is not None:
        return ROUTE == "float32"
    return not spikes or float32_faster()


def _buffers(n: int, m: int):
    """This thread's flat int8 planes (:data:`PLANES` x :data:`ROWS` x n) and int32 products (PLANES x ROWS x m),
    with torch views of them."""
    def make():
        torch = _STATE["torch"]
        planes = np.empty(PLANES * ROWS * n, np.int8)
        res = np.empty(PLANES * ROWS * m, np.int32)
        return planes, res, torch.from_numpy(planes), torch.from_numpy(res)

    return per_thread(("intmm", n, m), make)


def product(msg: np.ndarray, w: Weights, out: np.ndarray, a0: int, assign: bool = False) -> bool:
    """``out[..., a0:a0+m] += floor((msg @ mantissas) * 2**exp)`` for messages ``msg`` (..., n_src) (bool spikes or
    int64 payloads) into ``out`` (..., A) int64, both C-contiguous with the same leading shape (``assign``: = instead
    of +=, for a buffer not yet zeroed). False (nothing added) when a payload needs more than 4 bytes."""
    rows = msg.reshape(-1, msg.shape[-1]) if msg.ndim != 2 else msg
    o = out.reshape(-1, out.shape[-1])
    spikes = rows.dtype == np.bool_
    if not spikes and not np.issubdtype(rows.dtype, np.integer):
        raise TypeError(f"int8 products take bool spikes or integer payloads, got {rows.dtype}")
    pmax = int(K.max_abs(rows)) if not spikes and rows.size else 1
    if not spikes and rows.size and planes_needed(pmax) <= graded_planes():  # int8 planes first where cheap
        _product_planes(rows, w, o, a0, planes_needed(pmax), assign)
        return True
    if w.f32 is not None and rows.size and use_float32(spikes) and _product_f32(rows, w, o, a0, assign):
        return True
    if pmax > MAX_PAYLOAD:
        return False
    if not spikes and planes_needed(pmax) >= F64_PLANES and pmax * w.rsum * 2.0 ** max(w.exp, 0) < 2.0 ** 53:
        _product_float(rows, w, o, a0, np.float64, assign)
        return True
    if spikes:
        rows = np.ascontiguousarray(rows)
    _product_planes(rows, w, o, a0, 1 if spikes else planes_needed(pmax), assign)
    return True


def _product_planes(rows: np.ndarray, w: Weights, o: np.ndarray, a0: int, k: int, assign: bool = False) -> None:
    """:func:`product` on the int8 route: per chunk of :data:`ROWS` rows, the payloads' k signed-byte planes
    (``kernels.byte_planes``, any strides; bool spikes are their own plane) stacked into one (k rows, n) int8
    matrix, one ``torch._int_mm`` of it (exact int32: every partial sum below 128 * 128 * n_src < 2**31), and the
    planes recombined in int64 with the exponent applied (``kernels.add_planes``)."""
    torch = _STATE["torch"]
    n, m = rows.shape[1], w.m
    planes, res, tp, tr = _buffers(n, m)
    for r0 in range(0, rows.shape[0], ROWS):
        r1 = min(rows.shape[0], r0 + ROWS)
        nr = r1 - r0
        if rows.dtype == np.bool_:
            src = torch.from_numpy(rows[r0:r1].view(np.int8))
        else:
            K.byte_planes(rows[r0:r1], planes, k)
            src = tp[:k * nr * n].view(k * nr, n)
        torch._int_mm(src, w.tensor, out=tr[:k * nr * m].view(k * nr, m))
        K.add_planes(res[:k * nr * m].reshape(k * nr, m), nr, k, w.exp, o[r0:r1], a0, assign)


def planes_needed(pmax: int) -> int:
    """Signed bytes a payload of magnitude ``pmax`` needs (:func:`~spikernn.hardware.compiled.kernels.byte_planes`)."""
    k, lim = 1, 127
    while lim < pmax:
        k, lim = k + 1, lim * 256 + 127
    return k


F64_PLANES = 2  # graded payloads the int8 route declined (graded_planes) needing this many byte planes or more:
# one float64 product (where int8 GEMMs are slow, as on an AVX2-only EPYC, it beats two or more of them)


def _product_f32(rows: np.ndarray, w: Weights, o: np.ndarray, a0: int, assign: bool = False) -> bool:
    """:func:`product` on the float32 route when it is exact: the messages converted to float32 in one pass
    (``kernels.rows_to_float``, any strides) that also finds max |payload| and the largest row norm; taken when
    ``min(pmax * rsum, max ||p_r|| * max_c ||m_c||)`` is below 2**24 (every partial sum of every product an
    integer float32 holds: the module docstring; Cauchy-Schwarz for the second bound), then GEMMs of
    :data:`ROWS` rows and the exponent applied in int32 (``kernels.add_scaled32``). False (nothing added) when
    the bound does not hold."""
    torch = _STATE["torch"]
    N, n = rows.shape
    src = per_thread(("intmm-f32src", n), lambda: np.empty((N, n), np.float32), lambda b: b.shape[0] >= N)
    pmax, qmax = K.rows_to_float(rows, src)
    if not min(pmax * w.rsum, np.sqrt(qmax) * (1 + 1e-9) * w.cnorm) < F32_EXACT:
        return False
    res, tr = per_thread(("intmm-f32res", w.m), lambda: (lambda r: (r, torch.from_numpy(r)))(
        np.empty((ROWS, w.m), np.float32)))
    ts = torch.from_numpy(src)
    for r0 in range(0, N, ROWS):
        r1 = min(N, r0 + ROWS)
        torch.mm(ts[r0:r1], w.f32, out=tr[:r1 - r0])
        K.add_scaled32(res, r1 - r0, w.exp, o[r0:r1], a0, assign)
    return True


def _product_float(rows: np.ndarray, w: Weights, o: np.ndarray, a0: int, dtype, assign: bool = False) -> None:
    """:func:`product` as one float GEMM per row chunk, float32 or float64 (``dtype``): exact, every sum is an
    integer below 2**24 / 2**53 (the caller checked max |payload| x the largest column sum of |mantissas|)."""
    torch = _STATE["torch"]
    n = rows.shape[1]
    wt = w.f32 if dtype == np.float32 else w.f64

    def make():
        src, res = np.empty((ROWS, n), dtype), np.empty((ROWS, w.m), dtype)
        return src, res, torch.from_numpy(src), torch.from_numpy(res)

    src, res, ts, tr = per_thread(("intmm-" + np.dtype(dtype).name, n, w.m), make)
    for r0 in range(0, rows.shape[0], ROWS):
        r1 = min(rows.shape[0], r0 + ROWS)
        nr = r1 - r0
        np.copyto(src[:nr], rows[r0:r1], casting="unsafe")  # bool spikes -> 0.0 / 1.0
        torch.mm(ts[:nr], wt, out=tr[:nr])
        K.add_scaled(res, nr, w.exp, o[r0:r1], a0, assign)


def add_block(E: np.ndarray, msg: np.ndarray, pb, t0: int, T: int, assign: bool = False) -> bool:
    """Add the precomputed block ``pb``'s input for steps t0 .. t0+T-1 into ``E`` (T, B, A) from its source's whole
    message sequence ``msg`` (a block of lag L delivers msg[t - L]); False (nothing written) when int8 products do
    not apply (few rows, weights beyond int8, no exact ``torch._int_mm``). ``assign``: ``E`` is not zeroed: this
    block's input is written into its columns, not added (the steps before its lag zeroed; the caller zeroes the
    other columns)."""
    B = E.shape[1]
    if T * B < MIN_ROWS or not available() or not (pb.blk.graded or PRE_SPIKES):
        return False
    w = getattr(pb, "_intmm", None)
    if w is None:
        w = pb._intmm = Weights(pb.blk)
    if not w.ok:
        return False
    lag = pb.blk.lag
    lo = max(t0, lag)  # steps before the lag receive nothing
    if lo >= t0 + T:
        if assign:
            E.fill(0)
        return True
    src = np.ascontiguousarray(msg[lo - lag:t0 + T - lag])
    if not pb.blk.graded and src.size and np.count_nonzero(src) < spike_crossover() * src.size:
        return False  # sparse spikes: the interpreter's column additions are cheaper than a GEMM here
    if not product(src, w, E[lo - t0:], pb.a0, assign):
        return False
    if assign:
        E[:lo - t0] = 0
    return True


def spike_crossover() -> float:
    """The firing rate (spikes per source per step) above which a binary-spike block's input is cheaper as a GEMM
    (:func:`product`) than as the interpreter's column additions (``kernels.pre_block8``, whose cost grows with the
    rate), measured once per process at rate 0.25 on (2 steps x 256) x 128 sources -> 512 inputs, the GEMM on the
    route :func:`float32_faster` chose: ``0.25 * t_gemm / t_columns`` (the smaller of three timings each,
    interleaved). Where int8 GEMMs are fast (VNNI) it is near 0, every block is a GEMM; on an AVX2-only EPYC,
    float32 GEMMs: ~0.3 (at rate 0.1 the column additions took 0.64 s against 0.88 s for the 2-layer spiking LSTM
    of benchmarks/bench_batch_vs_torch.py)."""
    if CROSSOVER is not None:
        return CROSSOVER
    if "crossover" not in _STATE:
        rng = np.random.default_rng(0)
        T, B, n, m, rate = 2, 256, 128, 512, 0.25
        mant = rng.integers(-128, 128, (n, m))
        msg = rng.random((T, B, n)) < rate
        E = np.zeros((T, B, m), np.int64)
        blk = type("Blk", (), {"wt": mant, "exp": -3})()
        w = Weights(blk)
        w8 = np.ascontiguousarray(mant.astype(np.int8)).reshape(-1)
        T32, IDX = column_scratch(B, m, n)

        def columns():  # what the engine runs instead (engine.pre_inputs)
            K.pre_block8(msg, 0, T, 0, w8, m, -3, E, 0, T32, IDX)

        def gemm():
            product(msg, w, E, 0)

        best = {}
        for fn in (columns, gemm) * 3:
            t = time.process_time()
            fn()
            best[fn] = min(best.get(fn, np.inf), time.process_time() - t)
        _STATE["crossover"] = rate * best[gemm] / max(best[columns], 1e-9)
    return _STATE["crossover"]


def spike_mantissas(pb) -> np.ndarray | None:
    """A binary-spike block's int8 mantissas (n_src * m, row-major) for ``kernels.pre_block8``, or None when they
    are beyond int8 or a column sum of |mantissas| could pass 2**31 (int32 sums not provably exact)."""
    w8 = getattr(pb, "_w8", False)
    if w8 is False:
        m = np.asarray(pb.blk.wt)
        ok = m.size and m.min() >= -128 and m.max() <= 127 and float(np.abs(m).sum(axis=0).max()) < 2.0 ** 31
        w8 = pb._w8 = np.ascontiguousarray(m.astype(np.int8)).reshape(-1) if ok else None
    return w8


def column_scratch(B: int, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """This thread's int32 (B, m) sums and int64 (n,) index scratch for ``kernels.pre_block8``."""
    return per_thread(("intmm-cols", B, m, n), lambda: (np.zeros((B, m), np.int32), np.zeros(n + K.COMPRESS_LANES, np.int64)))
