"""Fused time loops of the fast simulator for groups of one population (batch 1 is bound by numpy's per-call
overhead, so these take as few calls per step as possible); each gives the numbers of the kind's reference
step (:mod:`spikernn.hardware.kinds`) through its kernel (:mod:`spikernn.hardware.fast.kernels`)."""
from __future__ import annotations

import numpy as np

from spikernn.hardware.arith import MAX24, ONE, clip
from spikernn.hardware.fast.kernels import LifKernel, LstmKernel, rmax, rmin, sat24_inplace
from spikernn.hardware.fast.plan import Pop
from spikernn.hardware.kinds.soma import reset_membrane


class FusedLif:
    """A group of one ``lif`` or ``spiking_lstm`` population (kernel supported) whose only internal blocks are
    its own self-recurrent ones (lag 1): the whole time loop with as few numpy calls per step as possible.

    Spikes are written straight into the population's bool masks and copied into a (B, n) float buffer
    (float32 where the recurrent product is exact in float32) for the next step's recurrent product.
    ``lif`` in fixed point (``du`` = 4095, no adaptation): the recurrent weights are pre-scaled by
    ``64 * 2**exp`` (exact integers, exp >= 0) and, per chunk, the external input becomes ``64*in + bias``
    when a bound shows that u cannot wrap (else that chunk steps through :meth:`LifKernel.step`); then
    ``v = sat24(trunc(v*mv) + E_t + S_{t-1} @ W)``: the integers of the ``lif`` reference in another (exact) order.
    Float: ``v = v*m + (e_t + S_{t-1} @ W) + bias``, the order of the reference loop.
    ``spiking_lstm`` (:class:`~spikernn.hardware.fast.kernels.LstmKernel`): the kernel's step on ``e_t`` and
    ``S_{t-1} @ W`` (fixed point: W pre-scaled by ``2**exp``, exp >= 0).
    """

    @classmethod
    def build(cls, P: Pop, kern, fixed: bool, B: int):
        internals = P.internal.get("in", [])
        if any(b.source != P.name or b.lag != 1 or b.graded for b in internals):
            return None
        if isinstance(kern, LstmKernel):  # the kernel's own step, without the generic loop around it
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
        if P.kind != "lif" or kern is None or not isinstance(kern, LifKernel) or kern.adapt:
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
            if W is not None and R < 2 ** 24:  # float32 spikes and products where exact
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
        width = W.shape[1] if W is not None else P.ports["in"]
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
        if isinstance(k, LstmKernel):
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
        v, tmp, th = k.v, k.tmp, uniform_scalar(k.th)
        reset = k.reset
        if self.fixed:
            trunc, mv = np.trunc, uniform_scalar(k.mv)
            emax = float(abs_max(E)) if E is not None else 0.0
            if emax * 64.0 + self.R + 1.0 < float(1 << 23):
                E = multiply(E, 64.0, dtype=np.float64) if E is not None else np.zeros((t1 - t0, B, n))
                E += k.bias
                sat, lim = sat24_inplace, float(MAX24)
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
                    reset_membrane(v, spk, th, reset, tmp, msg)
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
        bias, m = uniform_scalar(k.bias), uniform_scalar(k.m)
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
            reset_membrane(v, spk, th, reset, tmp, msg)


class FusedReadout:
    """A group of one ``readout`` (:class:`~spikernn.hardware.fast.kernels.ReadoutKernel`, no internal blocks):
    ``y_t = sat24(trunc(y_{t-1} * m) + (in_t + bias))`` written straight into a (T, B, n) float64 array
    (fixed point: exact integers, the bias folded into the input per chunk; a sum past 2**53 saturates alike);
    float: ``y_t = y_{t-1} * m + in_t + bias`` in the order of the ``readout`` reference."""

    def __init__(self, kern, B: int, n: int) -> None:
        self.k, self.B, self.n = kern, B, n
        self.Y = None

    def start(self, T: int) -> None:
        self.Y = np.empty((T, self.B, self.n), np.float64)

    def run(self, E, t0: int, t1: int) -> None:
        k, Y = self.k, self.Y
        m, bias = uniform_scalar(k.m), uniform_scalar(k.bias)
        if E is None:
            E = np.zeros((t1 - t0, self.B, self.n))
        multiply = np.multiply
        if k.fixed:
            E = np.add(E, k.bias, dtype=np.float64)
            trunc, lim = np.trunc, float(MAX24)
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
                    sat24_inplace(y)
            return
        for t in range(t0, t1):
            y = Y[t]
            if t:
                multiply(Y[t - 1], m, out=y)
                y += E[t - t0]
            else:
                np.add(E[0], 0.0, out=y)  # 0*m + in == in (+0.0 turns -0.0 into 0.0 as 0.0 + in does)
            y += bias


def uniform_scalar(a):
    """A per-neuron constant as a Python float when every neuron has the same value (a scalar operand is
    cheaper than a broadcast row; the element results are the same)."""
    a = np.asarray(a)
    if a.ndim == 1 and a.size and a.dtype == np.float64 and np.all(a == a[0]):
        return float(a[0])
    return a


def abs_max(x: np.ndarray) -> float:
    if x.size == 0:
        return 0.0
    return max(float(rmax(x, axis=None)), -float(rmin(x, axis=None)))


def memoryless_readout(P: Pop, fixed: bool) -> bool:
    """A readout with no memory (decay 0) and no internal blocks: y_t = in_t + bias for all steps at once."""
    if P.kind != "readout" or any(P.internal[port] for port in P.ports):
        return False
    return bool(np.all(P.prep.decay == ONE)) if fixed else bool(np.all(P.prep.decay == 0.0))
