"""Float synaptic products of large batches as float64 matrix products (``torch.mm``: the GEMM library torch itself
runs, ~25% faster than numpy's OpenBLAS here at (256 x 128) @ (128 x 512)).

The float counterpart of :mod:`~spikernn.hardware.compiled.intmm`: a block's input for messages ``msg`` (N, n_src)
(bool spikes as 0/1, graded payloads as they are) is ``msg @ W``, formed on its own and added to the port's running
sum in the canonical block order (:mod:`~spikernn.hardware.compiled.layout`), as the interpreter does. Blocks of
at most :data:`TILE_SOURCES` sources (the host input's projection) take the compiled register-tile product
instead (``kernels.graded_rows``): the interpreter's own sums, bit for bit, and faster than the GEMM there. For the
others only the order of the additions *inside* one block's dot products is the library's (the interpreter adds
sources in ascending order): the results agree with it to float rounding (~1e-16 relative), the tolerance the
conformance matrix holds float to (cell "fast-blas"). Used for graded payloads from a batch of :data:`MIN_ROWS` on, where a
GEMM beats the interpreter's loops (the dense payloads of sigma-delta layers at threshold 0 above all: a converted
2-layer LSTM 128 at batch 256 ran 3x faster); binary spikes stay with the interpreter's column additions, faster at
realistic firing rates (measured at ~0.1: :data:`PRE_SPIKES`, ``layout.STEP_SPIKES``).
"""
from __future__ import annotations

import numpy as np

from spikernn.hardware.compiled.buffers import per_thread

MIN_ROWS = 64  # batch size from which the engine uses these products (the interpreter's loops below)
TILE_SOURCES = 64  # graded blocks of at most this many sources (the host input's projection): the compiled
# register-tile product (kernels.graded_rows: the interpreter's sums, bit for bit) instead of a GEMM. Measured on the
# AMD EPYC (Zen 5, AVX-512) of the benchmarks, 1 thread, float64 (2048 rows x 40 sources) @ (40 x m): m = 128
# 0.25 ms (torch.mm 0.48, numpy 0.42), m = 384 0.76 (1.37, 1.25), m = 512 1.48 (2.46, 1.87); at 128 sources x 512
# the GEMMs win (1.01 against 0.73): benchmarks/results/round9/batch_float_f14frnn.md
PRE_SPIKES = False  # binary-spike blocks precomputed as GEMMs too (else the interpreter's column additions)


def _torch():
    import torch

    return torch


class Weights:
    """A block's float64 weights (n_src, m) as a torch tensor sharing the packed array; ``tiles``: the weights
    regrouped for :func:`~spikernn.hardware.compiled.kernels.graded_rows` (at most :data:`TILE_SOURCES` sources,
    every weight finite: a zero payload's products are then +-0.0), else None."""

    def __init__(self, w: np.ndarray) -> None:
        self.array = np.ascontiguousarray(w, np.float64)
        self.tensor = _torch().from_numpy(self.array)
        self.m = self.array.shape[1]
        self.tiles = None
        if 0 < self.array.shape[0] <= TILE_SOURCES and np.isfinite(self.array).all():
            from spikernn.hardware.compiled import kernels as K

            self.tiles = K.gemv_pack(self.array)


_DGEMM: dict = {}


def _dgemm():
    """MKL's Fortran ``dgemm_`` in torch's own library (the GEMM ``torch.mm`` runs for float64 on MKL builds) as a
    ctypes function, or None (torch without MKL, or the symbol missing): then :func:`product` copies the GEMM's
    result into a column range instead of writing it there."""
    if "fn" not in _DGEMM:
        _DGEMM["fn"] = None
        try:
            import ctypes
            import os

            torch = _torch()
            if torch.backends.mkl.is_available():
                lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
                fn = lib.dgemm_
                fn.restype = None
                fn.argtypes = [ctypes.c_void_p] * 13
                consts = (ctypes.c_double * 2)(1.0, 0.0)  # alpha, beta: read only, shared by every thread
                _DGEMM["fn"] = (fn, consts, ctypes.c_char_p(b"N"), ctypes.addressof(consts))
        except (OSError, AttributeError, ImportError):  # pragma: no cover - no MKL dgemm_: the copying route
            _DGEMM["fn"] = None
    return _DGEMM["fn"]


WRITE_INTO = True  # an assigning product of a column range is written there by dgemm_ (ldc = the row stride), not
# formed in a scratch buffer and copied: the call torch.mm makes (column-major, beta = 0), the same products


def _gemm_into(rows: np.ndarray, w: "Weights", view: np.ndarray) -> bool:
    """``view[:] = rows @ W`` by MKL's dgemm_ straight into ``view`` (N, m) float64 with unit column stride and any
    row stride (a column range of a larger buffer): what ``torch.mm`` computes (it calls dgemm_ with these
    arguments on the transposed, column-major problem: m x N = (W^T)(rows^T), beta 0). False where unavailable."""
    g = _dgemm() if WRITE_INTO else None
    N, m = view.shape
    if (g is None or N == 0 or view.strides[1] != 8 or view.strides[0] % 8 or not rows.flags.c_contiguous
            or rows.dtype != np.float64 or w.array.dtype != np.float64 or not w.array.flags.c_contiguous):
        return False
    import ctypes

    fn, consts, trans, pc = g
    n = rows.shape[1]
    # the integer arguments in this call's own array: the fast simulator's batch shards call this from several
    # threads at once
    ints = (ctypes.c_int * 6)(m, N, n, m, n, view.strides[0] // 8)
    pi = ctypes.addressof(ints)
    isz = ctypes.sizeof(ctypes.c_int)
    fn(trans, trans, pi, pi + isz, pi + 2 * isz, pc, w.array.ctypes.data, pi + 3 * isz, rows.ctypes.data,
       pi + 4 * isz, pc + 8, view.ctypes.data, pi + 5 * isz)
    return True


def _buffer(key: tuple, shape: tuple) -> np.ndarray:
    """This thread's float64 buffer of at least ``shape[0]`` rows for ``key``, cut to ``shape``."""
    return per_thread(("blas",) + key, lambda: np.empty(shape, np.float64), lambda b: b.shape[0] >= shape[0])[:shape[0]]


def product(msg: np.ndarray, w: Weights, out: np.ndarray, a0: int, assign: bool = False) -> None:
    """``out[..., a0:a0+m] += msg @ W`` for messages ``msg`` (..., n_src) (bool spikes or float payloads) into
    ``out`` (..., A) float64 with the same leading shape (C-contiguous). ``assign``: = instead of += (a buffer not
    yet zeroed; the GEMM writes into ``out`` itself when the block covers all of its columns: the same products,
    and no zeros to add them to, whose only effect was +0.0 for -0.0)."""
    torch = _torch()
    rows = msg.reshape(-1, msg.shape[-1])
    o = out.reshape(-1, out.shape[-1])
    N, n = rows.shape
    if rows.dtype != np.float64 or not rows.flags.c_contiguous:
        src = _buffer(("src", n), (N, n))
        np.copyto(src, rows, casting="unsafe")  # bool -> 0.0 / 1.0
        rows = src
    if w.tiles is not None and o.strides[1] == 8:  # few sources: the interpreter's sums in register tiles
        from spikernn.hardware.compiled import kernels as K

        K.graded_rows(rows, w.tiles, w.m, o, a0, not assign)
        return
    if assign and a0 == 0 and w.m == o.shape[1]:
        torch.mm(torch.from_numpy(rows), w.tensor, out=torch.from_numpy(o))
        return
    if assign and _gemm_into(rows, w, o[:, a0:a0 + w.m]):
        return
    res = _buffer(("res", w.m), (N, w.m))
    torch.mm(torch.from_numpy(rows), w.tensor, out=torch.from_numpy(res))
    view = o[:, a0:a0 + w.m]
    if assign:
        np.copyto(view, res)
    else:
        np.add(view, res, out=view)


def add_block(E: np.ndarray, msg: np.ndarray, pb, t0: int, T: int, assign: bool = False) -> bool:
    """Add the precomputed block ``pb``'s input for steps t0 .. t0+T-1 into ``E`` (T, B, A) float64 from its
    source's whole message sequence ``msg`` (a block of lag L delivers msg[t - L]); False (nothing added) for a
    batch below :data:`MIN_ROWS` (whose float results stay those of the interpreter, bit for bit: a stream of
    such a batch gives a run's bits) or for binary spikes unless :data:`PRE_SPIKES`. ``assign``: ``E`` is not
    zeroed: this block's input is written into its columns, not added (the steps before its lag zeroed; the caller
    zeroes the other columns)."""
    if E.shape[1] < MIN_ROWS or not (pb.blk.graded or PRE_SPIKES):
        return False
    w = getattr(pb, "_blas", None)
    if w is None:
        w = pb._blas = Weights(pb.w)
    lag = pb.blk.lag
    lo = max(t0, lag)  # steps before the lag receive nothing
    if lo < t0 + T:
        product(np.ascontiguousarray(msg[lo - lag:t0 + T - lag]), w, E[lo - t0:], pb.a0, assign)
    if assign:
        E[:max(0, min(lo, t0 + T) - t0)] = 0
    return True
