"""Fixed-point synaptic products of large batches as int8 matrix products: ``torch._int_mm`` (int8 x int8 -> int32,
exact; oneDNN's VNNI kernels where the CPU has them: ~8x float32 GEMM here).

The network's weights are int8 mantissas (:mod:`spikernn.hardware.synapses`); a block's input for messages ``msg``
(N, n_src) is ``floor((msg @ m) * 2**exp)``. Binary spikes are int8 already; a graded payload is split into
signed bytes ``msg = sum_j p_j 256**j`` (each p_j in [-128, 127]), one product per byte, recombined exactly in
int64 (every int32 partial sum is below 128 * 128 * n_src < 2**31). Payloads needing :data:`F64_PLANES` bytes or
more (quantised host input, 15+ fractional bits) go through one float64 product instead, exact while every sum is
an integer below 2**53 (checked per call; measured faster here than three int8 products and their recombination).
:func:`available` checks once that the products are exact on this machine; without it the compiled kernels
compute the products themselves.
"""
from __future__ import annotations

import numpy as np

from spikernn.hardware.compiled import kernels as K
from spikernn.hardware.compiled.buffers import per_thread

MIN_ROWS = 64  # below this many rows the interpreter's own loops are as fast
PRE_SPIKES = True  # binary-spike blocks precomputed as int8 products too (else the kernels' column additions)
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
        self.exp = int(blk.exp)
        self.m = m.shape[1]


ROWS = 2048  # rows per product (buffers reused: a fresh 50 MB int32 output costs more in page faults than the product)
PLANES = 4  # payloads up to MAX_PAYLOAD (a 24-bit payload needs 3 planes)
MAX_PAYLOAD = 127 * (256 ** PLANES - 1) // 255


def _buffers(n: int, m: int):
    def make():
        torch = _STATE["torch"]
        planes = np.empty((PLANES, ROWS, n), np.int8)
        res = np.empty((PLANES, ROWS, m), np.int32)
        return (planes, res, [torch.from_numpy(planes[j]) for j in range(PLANES)],
                [torch.from_numpy(res[j]) for j in range(PLANES)], np.empty(m, np.int64))

    return per_thread(("intmm", n, m), make)


def product(msg: np.ndarray, w: Weights, out: np.ndarray, a0: int) -> bool:
    """``out[..., a0:a0+m] += floor((msg @ mantissas) * 2**exp)`` for messages ``msg`` (..., n_src) (bool spikes or
    int64 payloads) into ``out`` (..., A) int64, both C-contiguous with the same leading shape. False (nothing
    added) when a payload needs more than 4 bytes."""
    torch = _STATE["torch"]
    rows = msg.reshape(-1, msg.shape[-1])
    o = out.reshape(-1, out.shape[-1])
    n, m = rows.shape[1], w.m
    planes, res, tp, tr, scratch = _buffers(n, m)
    spikes = rows.dtype == np.bool_
    if not spikes and not np.issubdtype(rows.dtype, np.integer):
        raise TypeError(f"int8 products take bool spikes or integer payloads, got {rows.dtype}")
    if not spikes and rows.size and int(np.abs(rows).max()) > MAX_PAYLOAD:
        return False
    pmax = int(np.abs(rows).max()) if not spikes and rows.size else 1
    if not spikes and planes_needed(pmax) >= F64_PLANES and pmax * w.rsum * 2.0 ** max(w.exp, 0) < 2.0 ** 53:
        _product_f64(rows, w, o, a0)
        return True
    for r0 in range(0, rows.shape[0], ROWS):
        r1 = min(rows.shape[0], r0 + ROWS)
        nr = r1 - r0
        if spikes:
            k = 1
            src = torch.from_numpy(rows[r0:r1].view(np.int8))
            torch._int_mm(src, w.tensor, out=tr[0][:nr])
        else:
            k = K.byte_planes(np.ascontiguousarray(rows[r0:r1], np.int64), planes)
            if k < 0:
                return False
            for j in range(k):
                torch._int_mm(tp[j][:nr], w.tensor, out=tr[j][:nr])
        K.add_planes(res, nr, k, w.exp, o[r0:r1], a0, scratch)
    return True


def planes_needed(pmax: int) -> int:
    """Signed bytes a payload of magnitude ``pmax`` needs (:func:`~spikernn.hardware.compiled.kernels.byte_planes`)."""
    k, lim = 1, 127
    while lim < pmax:
        k, lim = k + 1, lim * 256 + 127
    return k


F64_PLANES = 2  # payloads needing this many byte planes or more: one float64 product is cheaper (measured here)


def _product_f64(rows: np.ndarray, w: Weights, o: np.ndarray, a0: int) -> None:
    """:func:`product` for integer payloads as one float64 product per row chunk: exact, every sum is an integer
    below 2**53 (the caller checked max |payload| x the largest column sum of |mantissas|)."""
    torch = _STATE["torch"]
    n = rows.shape[1]

    def make():
        src, res = np.empty((ROWS, n), np.float64), np.empty((ROWS, w.m), np.float64)
        return src, res, torch.from_numpy(src), torch.from_numpy(res)

    src, res, ts, tr = per_thread(("intmm-f64", n, w.m), make)
    for r0 in range(0, rows.shape[0], ROWS):
        r1 = min(rows.shape[0], r0 + ROWS)
        nr = r1 - r0
        np.copyto(src[:nr], rows[r0:r1], casting="unsafe")
        torch.mm(ts[:nr], w.f64, out=tr[:nr])
        K.add_scaled(res, nr, w.exp, o[r0:r1], a0)


def add_block(E: np.ndarray, msg: np.ndarray, pb, t0: int, T: int) -> bool:
    """Add the precomputed block ``pb``'s input for steps t0 .. t0+T-1 into ``E`` (T, B, A) from its source's whole
    message sequence ``msg`` (a block of lag L delivers msg[t - L]); False when int8 products do not apply (few
    rows, weights beyond int8, no exact ``torch._int_mm``)."""
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
        return True
    src = np.ascontiguousarray(msg[lo - lag:t0 + T - lag])
    return product(src, w, E[lo - t0:], pb.a0)
