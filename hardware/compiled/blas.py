"""Float synaptic products of large batches as float64 matrix products (``torch.mm``: the GEMM library torch itself
runs, ~25% faster than numpy's OpenBLAS here at (256 x 128) @ (128 x 512)).

The float counterpart of :mod:`~spikernn.hardware.compiled.intmm`: a block's input for messages ``msg`` (N, n_src)
(bool spikes as 0/1, graded payloads as they are) is ``msg @ W``, formed on its own and added to the port's running
sum in the canonical block order (:mod:`~spikernn.hardware.compiled.layout`), as the interpreter does. Only the
order of the additions *inside* one block's dot products is the library's (the interpreter adds sources in
ascending order): the results agree with it to float rounding (~1e-16 relative), the tolerance the conformance
matrix holds float to (cell "fast-blas"). Used for graded payloads from a batch of :data:`MIN_ROWS` on, where a
GEMM beats the interpreter's loops (the dense payloads of sigma-delta layers at threshold 0 above all: a converted
2-layer LSTM 128 at batch 256 ran 3x faster); binary spikes stay with the interpreter's column additions, faster at
realistic firing rates (measured at ~0.1: :data:`PRE_SPIKES`, ``layout.STEP_SPIKES``).
"""
from __future__ import annotations

import numpy as np

from spikernn.hardware.compiled.buffers import per_thread

MIN_ROWS = 64  # batch size from which the engine uses these products (the interpreter's loops below)
PRE_SPIKES = False  # binary-spike blocks precomputed as GEMMs too (else the interpreter's column additions)


def _torch():
    import torch

    return torch


class Weights:
    """A block's float64 weights (n_src, m) as a torch tensor sharing the packed array."""

    def __init__(self, w: np.ndarray) -> None:
        self.array = np.ascontiguousarray(w, np.float64)
        self.tensor = _torch().from_numpy(self.array)
        self.m = self.array.shape[1]


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
    if assign and a0 == 0 and w.m == o.shape[1]:
        torch.mm(torch.from_numpy(rows), w.tensor, out=torch.from_numpy(o))
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
