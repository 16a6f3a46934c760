"""In-place batched kernels of the fast simulator: per kind, the same numbers as the kind's reference step.

Each kernel class names the reference it implements (``reference``: the :class:`~spikernn.hardware.kinds.spec.NeuronKind`
whose :meth:`step` it reproduces) and says when it applies (:meth:`supported`; otherwise the simulator steps the
reference itself). :data:`KERNELS` maps kind names to kernels; the conformance tests
(``tests/conformance/``) check every kernel against its reference, bit for bit in fixed point and in the
same float operations in float.

A kernel owns its state (preallocated, updated in place), so a step allocates nothing. Fixed point runs on
float64 arrays holding the integers of the reference exactly (every intermediate is an integer below 2**53):
the 12-bit decay ``sign(x)*((|x|*(4096-d)) >> 12)`` is ``trunc(x * ((4096-d)/4096))`` (the product is exact: its
true value has at most 36 significant bits), ``floor`` replaces arithmetic shifts; comparisons and saturation
are unchanged. Float runs the reference's float operations in the same order.
"""
from __future__ import annotations

import numpy as np

from spikernn.hardware.arith import FULL_SIGMOID, FULL_TANH, LUT_OFFSET, MAX24, ONE, Q, clip
from spikernn.hardware.kinds import KINDS
from spikernn.hardware.kinds.soma import reset_membrane

EXACT = float(2 ** 53)
rmax, rmin = np.maximum.reduce, np.minimum.reduce  # without ndarray.max's Python wrapper (batch 1)


def sat24_inplace(x: np.ndarray) -> None:
    """:func:`spikernn.hardware.arith.sat24` in place on a float64 array."""
    if x.size <= 4096:  # small: one clip call costs less than two reductions
        clip(x, -float(MAX24), float(MAX24), out=x)
    elif rmax(x, axis=None) > MAX24 or rmin(x, axis=None) < -MAX24:  # large: saturation is rare, check first
        clip(x, -float(MAX24), float(MAX24), out=x)


def _soma_exact(sm, *values: np.ndarray) -> bool:
    """Whether a fixed-point soma's decays are 12-bit and its constants small enough for the exact float64
    form (every intermediate an integer below 2**53)."""
    ok = all(np.all((d >= 0) & (d <= ONE)) for d in (sm.dv, sm.da))
    big = max(float(np.abs(x).max(initial=0)) for x in (sm.threshold, sm.adapt_scale, *values))
    return bool(ok and big * 2.0 ** 26 < EXACT)


def _soma_finite(sm) -> bool:
    """Whether a float soma's threshold terms are finite (the reset's ``spikes * theta`` is then exact)."""
    return bool(np.all(np.isfinite(sm.threshold)) and np.all(np.isfinite(sm.adapt_scale)))


def _multiplier(d: np.ndarray) -> np.ndarray:
    """The 12-bit decay ``d`` as the float64 factor (4096 - d) / 4096."""
    return (ONE - d.astype(np.float64)) / ONE


class _SomaKernel:
    """The spiking soma of :mod:`spikernn.hardware.kinds.soma` in place: threshold (adaptive or not), spike,
    reset and adaptation trace, applied to ``self.v`` after the drive was added (the order of the reference).
    Subclasses call :meth:`_soma_init`."""

    def _soma_init(self, sm, fixed: bool, shape: tuple[int, int]) -> None:
        f64 = np.float64
        self.v = np.zeros(shape, f64)
        self.a = np.zeros(shape, f64)
        self.tmp = np.empty(shape, f64)
        self.adapt, self.reset = sm.adaptive, sm.reset
        self.th = sm.threshold.astype(f64)
        self.ba = sm.adapt_scale.astype(f64)
        if fixed:
            self.mv, self.ma = _multiplier(sm.dv), _multiplier(sm.da)
            self.th_neg = bool(np.any(self.th < 0))
        else:
            self.m, self.rho = sm.m, sm.adapt_decay

    def _fire(self, spikes: np.ndarray) -> None:
        v, a, tmp = self.v, self.a, self.tmp
        fixed = self.fixed
        if self.adapt:
            theta = np.multiply(self.ba, a)
            if fixed:
                theta *= 1.0 / ONE
                np.floor(theta, out=theta)
            theta += self.th
        else:
            theta = self.th
        np.greater(v, theta, out=spikes)
        reset_membrane(v, spikes, theta, self.reset, tmp)
        if fixed and self.reset == "subtract" and (self.adapt or self.th_neg):
            sat24_inplace(v)  # v > theta >= 0 gives 0 < v - theta < v: nothing to saturate otherwise
        if self.adapt:
            if fixed:
                np.multiply(a, self.ma, out=a)
                np.trunc(a, out=a)
                np.multiply(spikes, float(ONE), out=tmp)
                a += tmp
                sat24_inplace(a)
            else:
                a *= self.rho
                a += spikes


class LifKernel(_SomaKernel):
    """In-place batched ``lif`` step (reference: :data:`spikernn.hardware.kinds.lif.LIF`), spikes written into a
    given bool array."""

    reference = KINDS["lif"]

    def __init__(self, prep, batch: int) -> None:
        self.p, self.fixed, size = prep, prep.fixed, prep.size
        shape = (batch, size)
        self._soma_init(prep.soma, prep.fixed, shape)
        self.u = np.zeros(shape, np.float64)
        self.bias = prep.bias.astype(np.float64)
        if self.fixed:
            self.mu = _multiplier(prep.du + 1)
            self.u_pass = prep.u_pass

    @staticmethod
    def supported(prep) -> bool:
        if not prep.fixed:
            return _soma_finite(prep.soma)
        return _soma_exact(prep.soma, prep.bias) and bool(np.all((prep.du >= 0) & (prep.du < ONE)))

    def step(self, a_in: np.ndarray, spikes: np.ndarray) -> None:
        """One step for synaptic input ``a_in`` (B, n) (integers as int64 or float64 in fixed point);
        writes the spikes into the bool array ``spikes`` (B, n)."""
        v, u, tmp = self.v, self.u, self.tmp
        if self.fixed:
            M = float(1 << 23)
            if self.u_pass:
                np.multiply(a_in, 64.0, out=u)
            else:
                np.multiply(u, self.mu, out=u)
                np.trunc(u, out=u)
                np.multiply(a_in, 64.0, out=tmp)
                u += tmp
            if u.size and (rmax(u, axis=None) >= M or rmin(u, axis=None) <= -M):
                w = np.where(u > M, u - 2 * M, u)
                u[...] = np.where(w <= -M, u + 2 * M, w)  # 24-bit wrap, exactly as the reference
            np.multiply(v, self.mv, out=v)
            np.trunc(v, out=v)
            v += u
            v += self.bias
            sat24_inplace(v)
        else:  # float, the order of the reference: v = v*m + a_in + bias
            v *= self.m
            v += a_in
            v += self.bias
        self._fire(spikes)


class ReadoutKernel:
    """In-place batched ``readout`` step (``input_coding`` "value"; reference:
    :data:`spikernn.hardware.kinds.readout.READOUT`). Fixed point holds the integers in float64:
    ``trunc(y * ((4096-dv)/4096))`` is the 12-bit decay exactly; a sum beyond 2**53 would be rounded, but it
    saturates to the same 24-bit bound as the exact sum. ``y`` is the state (B, n), overwritten each step."""

    reference = KINDS["readout"]

    def __init__(self, prep, batch: int) -> None:
        self.fixed = prep.fixed
        self.y = np.zeros((batch, prep.size), np.float64)
        self.bias = prep.bias.astype(np.float64)
        self.m = _multiplier(prep.decay) if self.fixed else prep.decay

    @staticmethod
    def supported(prep) -> bool:
        if prep.sigma:
            return False
        if not prep.fixed:
            return True
        return bool(np.all((prep.decay >= 0) & (prep.decay <= ONE)) and float(np.abs(prep.bias).max(initial=0)) < 2 ** 52)

    def step(self, a_in: np.ndarray) -> np.ndarray:
        """One step; returns ``y`` (the kernel's own array)."""
        y = self.y
        y *= self.m  # float: decay*y (the same product)
        if self.fixed:
            np.trunc(y, out=y)
        y += a_in
        y += self.bias
        if self.fixed:
            sat24_inplace(y)
        return y


class LstmKernel(_SomaKernel):
    """In-place batched ``spiking_lstm`` step (reference: :data:`spikernn.hardware.kinds.spiking_lstm.SPIKING_LSTM`;
    fixed point bit for bit, float the same operations in the same order).

    Fixed point: gates in int64 buffers (lookups through the full 65,536-entry tables, the products
    ``(a*b + 2048) >> 12`` of :func:`~spikernn.hardware.arith.mul_q`), the soma in float64 holding its integers
    exactly. ``a_in`` may be int64 or float64/float32 holding integers.
    """

    reference = KINDS["spiking_lstm"]

    def __init__(self, prep, batch: int) -> None:
        self.p, self.fixed, self.H = prep, prep.fixed, prep.size
        H, B = prep.size, batch
        self._soma_init(prep.soma, prep.fixed, (B, H))
        if self.fixed:
            i64 = np.int64
            self.pre = np.empty((B, 4 * H), i64)
            self.act = np.empty((B, 4 * H), i64)
            self.X = np.zeros((B, 2 * H), i64)  # [g | c]: c is the state (the right half)
            self.c = self.X[:, H:]
            self.P = np.empty((B, 2 * H), i64)
            self.d = np.empty((B, H), i64)
            self.ti = np.empty((B, H), i64)
            self.F = F = prep.frac_bits
            # table index (x12 + 32768) folded into the bias: floor((pre + 32768 * 2**(F-12)) / 2**(F-12))
            # = floor(pre / 2**(F-12)) + 32768, and (pre + 32768 >> (12-F)) << (12-F) = (pre << (12-F)) + 32768
            self.bias = prep.bias.astype(i64) + (LUT_OFFSET << (F - Q) if F >= Q else LUT_OFFSET >> (Q - F))
        else:
            f64 = np.float64
            self.pre = np.empty((B, 4 * H), f64)
            self.sg = np.empty((B, 4 * H), f64)
            self.g = np.empty((B, H), f64)
            self.c = np.zeros((B, H), f64)
            self.d = np.empty((B, H), f64)
            self.bias = prep.bias

    @staticmethod
    def supported(prep) -> bool:
        if not prep.fixed:
            return _soma_finite(prep.soma)
        return (_soma_exact(prep.soma) and float(np.abs(prep.bias).max(initial=0)) < 2.0 ** 52
                and prep.frac_bits >= Q - 15)

    def step(self, a_in: np.ndarray, spikes: np.ndarray, a_rec: np.ndarray | None = None) -> None:
        """One step for synaptic input ``a_in`` (B, 4H) (plus ``a_rec`` when given: the input is
        ``a_in + a_rec``, added first as in the simulator's loop); writes the spikes into the bool array
        ``spikes``."""
        H = self.H
        if not self.fixed:
            pre, sg, g, c, d, tmp = self.pre, self.sg, self.g, self.c, self.d, self.tmp
            if a_rec is None:
                np.add(a_in, self.bias, out=pre)
            else:
                np.add(a_in, a_rec, out=pre)
                pre += self.bias
            np.multiply(pre, 0.5, out=sg)  # sigmoid(pre) = 0.5 + 0.5*tanh(pre/2), as arith.sigmoid
            np.tanh(sg, out=sg)
            sg *= 0.5
            sg += 0.5
            np.tanh(pre[:, 2 * H:3 * H], out=g)
            c *= sg[:, H:2 * H]
            np.multiply(sg[:, :H], g, out=tmp)
            c += tmp
            np.tanh(c, out=tmp)
            np.multiply(sg[:, 3 * H:], tmp, out=d)
            v = self.v
            v *= self.m
            v += d
            self._fire(spikes)
            return
        pre, act, X, P, c, d = self.pre, self.act, self.X, self.P, self.c, self.d
        if a_rec is None:
            np.add(a_in, self.bias, out=pre, casting="unsafe")  # exact integers
        else:
            np.add(a_in, a_rec, out=pre, casting="unsafe")
            pre += self.bias
        F = self.F  # the bias holds 32768 (in input units): pre is the table index, clamped by take
        if F > Q:
            pre >>= F - Q
        elif F < Q:
            pre <<= Q - F
        FULL_SIGMOID.take(pre[:, :2 * H], out=act[:, :2 * H], mode="clip")  # i, f
        FULL_TANH.take(pre[:, 2 * H:3 * H], out=X[:, :H], mode="clip")  # g, next to c
        FULL_SIGMOID.take(pre[:, 3 * H:], out=act[:, 3 * H:], mode="clip")  # o
        np.multiply(act[:, :2 * H], X, out=P)  # [i*g | f*c]
        P += 1 << (Q - 1)
        P >>= Q
        np.add(P[:, H:], P[:, :H], out=c)  # mul_q(f, c) + mul_q(i, g)
        clip(c, -MAX24, MAX24, out=c)
        ti = self.ti
        np.add(c, LUT_OFFSET, out=ti)
        FULL_TANH.take(ti, out=d, mode="clip")  # tanh_q(c) (mode "clip" is the clamp of the input)
        d *= act[:, 3 * H:]
        d += 1 << (Q - 1)
        d >>= Q
        v = self.v
        np.multiply(v, self.mv, out=v)
        np.trunc(v, out=v)
        v += d
        sat24_inplace(v)
        self._fire(spikes)


KERNELS: dict[str, type] = {k.reference.name: k for k in (LifKernel, LstmKernel, ReadoutKernel)}
