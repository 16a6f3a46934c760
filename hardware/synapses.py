"""Dense synapse arithmetic, float and fixed point, as Lava's Dense process models compute it.

Float (``PyDenseModelFloat``): ``a = W @ s`` (graded, ``num_message_bits > 0``) or the sum of the columns of W
whose source spiked (binary, ``num_message_bits = 0``: any nonzero input counts as 1).

Fixed (``PyDenseModelBitAcc``): the network stores signed 8-bit mantissas ``m`` in [-128, 127] and a
per-block exponent ``e`` (effective weight ``m * 2**e``). The synaptic input is

    a = floor((m @ s) * 2**e)        (exact for e >= 0; arithmetic right shift for e < 0)

which is bit for bit what Lava's bit-accurate Dense produces when given ``weights = 2*m``,
``weight_exp = e - 1`` and ``sign_mode = SignMode.MIXED`` (MIXED clips to [-256, 255] and truncates the LSB,
so 2*m passes unchanged; its shift by e-1 then yields floor(m@s * 2**e)). :func:`lava_dense_args` returns
those arguments. Leaving the sign mode to Lava's automatic choice is NOT safe: an all-negative block becomes
INHIBITORY and clips 2*(-128) = -256 to -255.

Integer matrix products are done in float64 BLAS when every partial sum is an integer below 2**53 (then the
result is exact), otherwise in int64.
"""
from __future__ import annotations

from typing import Any

import numpy as np

WEIGHT_EXP_RANGE = (-8, 7)  # a fixed-point block's exponent e
MANT_MIN, MANT_MAX = -128, 127  # signed 8-bit weight mantissas m (effective weight m * 2**e)


def check_fixed_weights(mantissa: np.ndarray, weight_exp: Any, where: str = "fixed-point synapse block") -> None:
    """The one range check of a fixed-point block, applied by every backend (``Network.validate``) and by the
    Lava graph builder: mantissas are integers in [MANT_MIN, MANT_MAX] and the exponent an integer (the
    quantiser keeps it in ``WEIGHT_EXP_RANGE``; larger ones are valid arithmetic, exercised by the conformance
    tests); ValueError naming ``where`` and the worst value otherwise."""
    m = np.asarray(mantissa)
    if isinstance(weight_exp, bool) or not isinstance(weight_exp, (int, np.integer)):
        raise ValueError(f"{where}: weight_exp must be an integer, got {weight_exp!r}")
    if not m.size:
        return
    if not np.issubdtype(m.dtype, np.number) or np.issubdtype(m.dtype, np.complexfloating):
        raise ValueError(f"{where}: fixed-point weight mantissas must be integers, got dtype {m.dtype}")
    lo, hi = m.min(), m.max()
    if lo < MANT_MIN or hi > MANT_MAX:
        worst = lo if -lo > hi else hi
        raise ValueError(f"{where}: fixed-point weight mantissas must be integers in [{MANT_MIN}, {MANT_MAX}] "
                         f"(8 bits), got {worst:g}: the network is not a valid fixed-point network (convert "
                         "the model with precision='fixed' to quantise it)")
    if np.issubdtype(m.dtype, np.floating) and not np.all(m == np.round(m)):
        raise ValueError(f"{where}: fixed-point weight mantissas must be integers in [{MANT_MIN}, {MANT_MAX}], "
                         "got non-integer values")

EXACT_FLOAT_LIMIT = float(2 ** 52)


def shift_floor(acc: np.ndarray, exp: int) -> np.ndarray:
    """``floor(acc * 2**exp)`` for integer ``acc``: left shift for exp >= 0, arithmetic right shift otherwise."""
    exp = int(exp)
    if exp >= 0:
        return acc << exp if exp else acc
    return acc >> (-exp)


def dense_float(weights: np.ndarray, msg: np.ndarray, graded: bool = True) -> np.ndarray:
    """Float synaptic input ``(B, n_tgt)`` for messages ``msg`` ``(B, n_src)`` and weights ``(n_tgt, n_src)``."""
    if not graded:
        msg = (msg != 0).astype(np.float64)
    return msg @ weights.T


class FixedDense:
    """A fixed-point block with its weights prepared once: ``block(msg)`` is :func:`dense_fixed`."""

    def __init__(self, weights: np.ndarray, weight_exp: int) -> None:
        m = np.asarray(weights)
        self.exp = int(weight_exp)
        self.wt = np.ascontiguousarray(m.astype(np.float64).T)
        self.wt_int = m.astype(np.int64).T
        self.rowsum = float(np.abs(self.wt).sum(axis=0).max(initial=0))

    def __call__(self, msg: np.ndarray, graded: bool = True) -> np.ndarray:
        msg = np.asarray(msg)
        msg = (msg != 0).astype(np.int64) if not graded else msg.astype(np.int64)
        if self.rowsum * float(np.abs(msg).max(initial=0)) < EXACT_FLOAT_LIMIT:  # every partial sum exact
            acc = (msg.astype(np.float64) @ self.wt).astype(np.int64)
        else:
            acc = msg @ self.wt_int
        return shift_floor(acc, self.exp)


def dense_fixed(weights: np.ndarray, weight_exp: int, msg: np.ndarray, graded: bool = True) -> np.ndarray:
    """Fixed-point synaptic input: ``floor((msg @ m.T) * 2**weight_exp)`` as int64 ``(B, n_tgt)``.

    ``weights`` are the integer mantissas (any int or integral float dtype), ``msg`` integer payloads
    (binary spikes are 0/1; with ``graded=False`` any nonzero payload counts as 1, as Lava's Dense with
    num_message_bits=0).
    """
    return FixedDense(weights, weight_exp)(msg, graded)


def lava_dense_args(mantissa: np.ndarray, weight_exp: int) -> dict:
    """Keyword arguments for ``lava.proc.dense.process.Dense`` (bit-accurate) equal to our fixed block.

    Returns ``{"weights": 2*m (int), "weight_exp": e-1, "num_weight_bits": 8, "sign_mode": "MIXED"}``; pass
    ``sign_mode=lava.utils.weightutils.SignMode[...]`` (the name is returned as a string so that this module
    does not import Lava).
    """
    m = np.asarray(mantissa)
    check_fixed_weights(m, weight_exp)
    return {"weights": (2 * m).astype(np.int64), "weight_exp": int(weight_exp) - 1, "num_weight_bits": 8,
            "sign_mode": "MIXED"}


def lava_effective_weights(weights: np.ndarray, sign_mode: str | None = None, num_weight_bits: int = 8) -> np.ndarray:
    """The integer weights Lava's bit-accurate Dense actually multiplies with, for weights given to Lava.

    Reproduces ``lava.utils.weightutils`` (without importing Lava): weights cast to int32 (truncation toward
    zero), sign mode chosen as Lava does when ``sign_mode`` is None ("EXCITATORY" if all >= 0, "INHIBITORY"
    if all <= 0, else "MIXED"), clipped to 8 bits ([-256, 255] MIXED, [0, 255] EXCITATORY, [-255, 0]
    INHIBITORY) and truncated to ``num_weight_bits`` (MIXED drops one more LSB: even values only).
    """
    w = np.asarray(weights)
    if sign_mode is None:
        sign_mode = "EXCITATORY" if w.min(initial=0) >= 0 else ("INHIBITORY" if w.max(initial=0) <= 0 else "MIXED")
    sign_mode = str(sign_mode).rsplit(".", 1)[-1].upper()
    w = w.astype(np.int32).astype(np.int64)
    mixed = int(sign_mode == "MIXED")
    inhib = sign_mode == "INHIBITORY"
    if inhib:
        w = -w
    w = np.clip(w, -(2 ** 8) * mixed, 2 ** 8 - 1)
    shift = 8 - num_weight_bits + mixed
    w = (w >> shift) << shift
    return -w if inhib else w


def lava_dense_fixed(weights: np.ndarray, weight_exp: int, msg: np.ndarray, graded: bool = True,
                     sign_mode: str | None = None, num_weight_bits: int = 8) -> np.ndarray:
    """What Lava's bit-accurate Dense computes for raw Lava arguments (weights, weight_exp, sign_mode)."""
    w = lava_effective_weights(weights, sign_mode, num_weight_bits)
    msg = np.asarray(msg)
    if not graded:
        msg = (msg != 0).astype(np.int64)
    return shift_floor(msg.astype(np.int64) @ w.T, weight_exp)
