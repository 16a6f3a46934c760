"""Arithmetic of the simulated chip's neurons: Q12 fixed point, 24-bit registers, sigmoid/tanh lookup tables.

Every fixed-point neuron kind (:mod:`spikernn.hardware.kinds`) and every fast kernel computes with these
functions, so there is one definition of each rule:

* Q12: gate arithmetic has ``Q = 12`` fractional bits (1.0 == 4096) in 24-bit saturating registers
  (:func:`sat24`: [-(2**23-1), 2**23-1], as Lava's LIF voltage).
* :func:`to_q12`: an integer with F fractional bits re-expressed in Q12 (arithmetic shift, i.e. floor).
* :func:`mul_q`: the product of two Q12 numbers rounded half up, ``(a*b + 2048) >> 12``.
* :func:`decay_q`: Lava's 12-bit decay ``sign(x) * ((|x| * (4096 - d)) >> 12)`` (rounds toward zero).
* :func:`sigmoid_q` / :func:`tanh_q`: a 257-entry table over [-8, 8) (one entry every 1/16, values
  ``round(f * 4096)``) with linear interpolation of the remaining 8 bits (``lo + (((hi-lo)*frac + 128) >> 8)``);
  inputs outside [-8, 8) are clamped (saturate). Max error vs the exact function over every Q12 input:
  2.7e-4 (sigmoid), 5.4e-4 (tanh). The tables are expanded once to all 65,536 clamped inputs
  (:data:`FULL_SIGMOID`, :data:`FULL_TANH`), which gives the same values with one gather.
* :func:`sigmoid`: the float logistic sigmoid as ``0.5 + 0.5*tanh(x/2)`` (a few ulp from torch.sigmoid).
"""
from __future__ import annotations

from typing import Any

import numpy as np

try:  # the clip ufunc itself: np.clip's Python wrappers cost more than the work at batch 1
    from numpy.core.umath import clip as clip
except ImportError:  # pragma: no cover - other numpy layouts
    clip = np.clip

Q = 12  # fractional bits of the gate arithmetic (1.0 == 4096)
ONE = 1 << Q
MAX24 = (1 << 23) - 1
LUT_LO = -8.0  # LUT covers [-8, 8)
LUT_STEP_BITS = 8  # Q12 input: 1/16 per table entry -> 8 bits of interpolation
LUT_OFFSET = 8 << Q  # a clamped Q12 input plus this offset is an index 0 .. 65535 into the full tables


def _make_lut(fn) -> np.ndarray:
    xs = LUT_LO + np.arange(257) / 16.0
    return np.round(fn(xs) * ONE).astype(np.int64)


SIGMOID_LUT = _make_lut(lambda x: 1.0 / (1.0 + np.exp(-x)))
TANH_LUT = _make_lut(np.tanh)


def lut_interp(table: np.ndarray, x12: np.ndarray) -> np.ndarray:
    """The table lookup with linear interpolation as specified (the reference of the full tables)."""
    xc = clip(x12, -LUT_OFFSET, LUT_OFFSET - 1) + LUT_OFFSET  # 0 .. 65535
    idx = xc >> LUT_STEP_BITS
    frac = xc & ((1 << LUT_STEP_BITS) - 1)
    lo = table.take(idx)
    hi = table.take(idx + 1)
    hi -= lo
    hi *= frac
    hi += 1 << (LUT_STEP_BITS - 1)
    hi >>= LUT_STEP_BITS
    hi += lo
    return hi


FULL_SIGMOID = lut_interp(SIGMOID_LUT, np.arange(1 << 16, dtype=np.int64) - LUT_OFFSET)
FULL_TANH = lut_interp(TANH_LUT, np.arange(1 << 16, dtype=np.int64) - LUT_OFFSET)
FULL_BOTH = np.concatenate([FULL_SIGMOID, FULL_TANH])  # sigmoid at 0 .. 65535, tanh at 65536 ..


def _lut(full: np.ndarray, x12: np.ndarray) -> np.ndarray:
    xc = clip(x12, -LUT_OFFSET, LUT_OFFSET - 1)
    xc += LUT_OFFSET
    return full.take(xc)


def sigmoid_q(x12: np.ndarray) -> np.ndarray:
    """Fixed-point sigmoid: Q12 int64 in, Q12 int64 out (LUT + linear interpolation, saturating)."""
    return _lut(FULL_SIGMOID, x12)


def tanh_q(x12: np.ndarray) -> np.ndarray:
    """Fixed-point tanh: Q12 int64 in, Q12 int64 out (LUT + linear interpolation, saturating)."""
    return _lut(FULL_TANH, x12)


def lut_offsets(tanh_columns: np.ndarray) -> np.ndarray:
    """Per-column offsets into :data:`FULL_BOTH` for :func:`lut_columns`: the sigmoid table where
    ``tanh_columns`` (bool, (n,)) is False, the tanh table where it is True."""
    return np.asarray(tanh_columns, bool).astype(np.int64) * (1 << 16) + LUT_OFFSET


def lut_columns(x12: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """:func:`sigmoid_q` or :func:`tanh_q` per column of ``x12`` (B, n) as chosen by ``offsets``
    (:func:`lut_offsets`), in one gather (bit-identical to separate calls)."""
    xc = clip(x12, -LUT_OFFSET, LUT_OFFSET - 1)
    xc += offsets
    return FULL_BOTH.take(xc)


def mul_q(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Product of two Q12 numbers, rounded half up: (a*b + 2048) >> 12."""
    return (a * b + (1 << (Q - 1))) >> Q


def sat24(x: np.ndarray) -> np.ndarray:
    """Saturate to the signed 24-bit range [-(2**23-1), 2**23-1] (as Lava's LIF voltage)."""
    return clip(x, -MAX24, MAX24)


def wrap24(x: np.ndarray) -> np.ndarray:
    """Wrap to 24 bits exactly as Lava's bit-accurate LIF wraps its current u (values in (-2**24, 2**24))."""
    M = 1 << 23
    if x.size and np.abs(x).max() >= M:
        w = np.where(x > M, x - 2 * M, x)
        x = np.where(w <= -M, x + 2 * M, w)
    return x


def to_q12(x: np.ndarray, frac_bits: int) -> np.ndarray:
    """Re-express an integer with ``frac_bits`` fractional bits in Q12 (arithmetic shift, floor)."""
    if frac_bits > Q:
        return x >> (frac_bits - Q)
    if frac_bits < Q:
        return x << (Q - frac_bits)
    return x


def decay_q(x: np.ndarray, d: Any) -> np.ndarray:
    """Lava-style 12-bit decay: sign(x) * ((|x| * (4096 - d)) >> 12) (rounds toward zero)."""
    prod = x * (ONE - d)
    return np.sign(prod) * (np.abs(prod) >> Q)


def shift(x: np.ndarray, exp: Any) -> np.ndarray:
    """``x * 2**exp`` for integers, floor for negative exponents (per element when ``exp`` is an array)."""
    return np.where(exp >= 0, x << np.maximum(exp, 0), x >> np.maximum(-exp, 0))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Float logistic sigmoid (float64) as ``0.5 + 0.5*tanh(x/2)`` (identical math to 1/(1+exp(-x)),
    within a few ulp of torch.sigmoid, and several times faster in numpy)."""
    t = np.tanh(x * 0.5)
    t *= 0.5
    t += 0.5
    return t
