"""The fast simulator's synaptic products: one block's input for many steps at once (:func:`block_input`) or
for one step into preallocated buffers (:class:`StepSynapse`); the arithmetic of
:mod:`spikernn.hardware.synapses` (Lava's Dense), computed with BLAS where it is exact.

Binary spikes (bool) go through float32 BLAS where the block allows it in fixed point (every partial sum an
integer below 2**24, checked at compile time), float64 otherwise (exact below 2**53); float precision always
float64.
"""
from __future__ import annotations

import numpy as np

from spikernn.hardware.fast.plan import Blk
from spikernn.hardware.synapses import shift_floor


def block_input(blk: Blk, msg: np.ndarray, fixed: bool, as_float: bool = False) -> np.ndarray:
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


class StepSynapse:
    """Per-step synaptic input of one block into preallocated buffers (the recurrent part of a group).

    Binary spikes (bool) go through float32 BLAS where the block allows it in fixed point (every partial sum
    an integer below 2**24, checked at compile time), float64 otherwise; ``as_float`` returns fixed-point
    integers as exact float64 (for a kernel target) instead of int64.
    The returned array is overwritten by the next call.
    """

    def __init__(self, blk: Blk, batch: int, fixed: bool, as_float: bool) -> None:
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
            return block_input(blk, msg, self.fixed)
        if not self.fixed:
            return acc
        if not self.as_float:
            return shift_floor(acc.astype(np.int64), blk.exp)
        out = self.out
        np.multiply(acc, self.scale, out=out)  # exact: integer times a power of two, below 2**53
        if blk.exp < 0:
            np.floor(out, out=out)  # == arithmetic right shift
        return out
