"""The compiled (numba) kernels: every neuron kind's step in fixed and float precision, the synaptic products and
the interpreter that steps a unit of populations over time. Imported only by :mod:`spikernn.hardware.compiled`
(numba is imported here, never by ``import spikernn``); compiled lazily on first use and cached on disk.

Each kernel ``_<kind>_<precision>`` is the per-neuron form of the reference step it names
(:data:`spikernn.hardware.kinds.KINDS`), written with the same integer operations (fixed point: bit for bit) or
the same float operations in the same order (float; ``tanh`` is :func:`tanh`, within 2 ulp of ``np.tanh``).
``tests/conformance/`` checks every one against its reference. The packed tables they read (``POP``, ``BLK``, the
parameter and state layouts) are written by :mod:`spikernn.hardware.compiled.layout`, which documents them; the
column indices are the ``K_*`` / ``B_*`` constants below.

All of it is in this one file on purpose: numba's on-disk cache of a function is invalidated when the function's
own file changes, not when a function it calls in another file does.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from spikernn.hardware.arith import FULL_BOTH
from spikernn.hardware.kinds.soma import DECAY_Q
from spikernn._numba import numba_can_cache
from numba.extending import overload



def _probe():  # a function of this file: can numba cache it?
    return 0


def can_cache() -> bool:
    """Whether numba can cache this file's functions (:func:`spikernn._numba.numba_can_cache`)."""
    return numba_can_cache(_probe)


JIT = dict(cache=can_cache(), error_model="numpy", nogil=True)
INLINE = dict(JIT, inline="always")  # small scalar helpers: inlined into the kernels' loops, which LLVM vectorises


def _host_feature(name: str) -> bool:
    """Whether the kernels are compiled for this host and it has the CPU feature ``name`` (LLVM's name). numba
    compiles for the host CPU and keys its cache by the CPU and its features, so a cache is never loaded on a CPU
    it was not compiled for; a target set by ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` gets the portable form."""
    from numba.core import config

    if config.CPU_NAME or config.CPU_FEATURES:
        return False
    try:
        from llvmlite import binding

        return bool(binding.get_host_cpu_features().get(name, False))
    except Exception:  # noqa: BLE001 - features unknown: the portable form
        return False


# ---- packed-table columns (layout.py writes them) -------------------------------------------------------------
K_KIND, K_N, K_ST, K_OUT, K_A0, K_AW0, K_A1, K_AW1, K_E0, K_E1, K_P, K_RESET, K_FLAGS, K_F, K_B0, K_NB, \
    K_SENT, K_VAL, K_VST, K_SPK = range(20)
POP_COLS = 20
B_SRC, B_SOUT, B_NSRC, B_PORT, B_W, B_M, B_LAG, B_EXP, B_GRADED, B_FAN, B_ID, B_RSUM, B_EXP8, B_W8P = range(14)
BLK_COLS = 14
INPUT, LIF, ADLIF, SLSTM, SGRU, SDRNN, SDLSTM, SDGRU, READOUT, ALSTM, AGRU = range(11)
SUBTRACT, ZERO, NONE = range(3)
F_ADAPT, F_UPASS, F_SE, F_SIGMA, F_RELU, F_DELTA = 1, 2, 4, 8, 16, 32

MAX24 = (1 << 23) - 1
M23 = 1 << 23
DECAY_HALF = 1 << (DECAY_Q - 1)  # soma.mul_decay's rounding
LUT_HALF = 1 << 15  # a Q12 input clamped to [-32768, 32767] plus this is an index into a 65,536-entry table
TANH_BASE = 1 << 16  # FULL_BOTH: sigmoid at 0 .. 65535, tanh at 65536 ..


# ---- fixed-point arithmetic (spikernn.hardware.arith, per element) ---------------------------------------------
@njit(**INLINE)
def sat24(x):
    return min(max(x, -MAX24), MAX24)


@njit(**INLINE)
def decay12(x, d):
    """arith.decay_q: sign(x (4096-d)) (|x (4096-d)| >> 12)."""
    p = x * (4096 - d)
    return (p >> 12) if p >= 0 else -((-p) >> 12)


@njit(**INLINE)
def mulq(a, b):
    """arith.mul_q: (a b + 2048) >> 12."""
    return (a * b + 2048) >> 12


@njit(**INLINE)
def muld(d, x):
    """soma.mul_decay: (d x + 2**(DECAY_Q-1)) >> DECAY_Q (the adLIF soma's decay registers)."""
    return (d * x + DECAY_HALF) >> DECAY_Q


@njit(**INLINE)
def to_q12(x, F):
    """arith.to_q12."""
    if F > 12:
        return x >> (F - 12)
    if F < 12:
        return x << (12 - F)
    return x


@njit(**INLINE)
def seg(a, base, n, k):
    """a[base + k n : base + (k + 1) n]: field k of a row laid out as consecutive fields of n values."""
    return a[base + k * n:base + (k + 1) * n]


_FULL16 = FULL_BOTH.astype(np.int16)  # a module constant: frozen into the compiled code (256 KB: stays in L2)
assert np.array_equal(_FULL16, FULL_BOTH), "the Q12 sigmoid / tanh tables fit int16"


@njit(**INLINE)
def lut(x12, base):
    """arith.sigmoid_q (base 0) / tanh_q (base TANH_BASE): arith.lut_interp of the 257-entry table at the clamped
    Q12 input, read from the full 65,536-entry tables (:data:`~spikernn.hardware.arith.FULL_BOTH`: that function
    tabulated at every clamped input, the same values; ``tests/conformance`` checks every input): one load, where
    interpolating the small table took two and the arithmetic (the gated fixed-point kernels ran ~1.6x faster)."""
    return np.int64(_FULL16[base + min(max(x12, -LUT_HALF), LUT_HALF - 1) + LUT_HALF])


def shifted(v, ex):
    """floor(v 2**ex) for an integer block sum and ex < 0 (an arithmetic shift); v otherwise (float sums)."""
    return v >> (-ex) if isinstance(v, (int, np.integer)) and ex < 0 else v


@overload(shifted, jit_options=JIT)
def _shifted(v, ex):
    if isinstance(v, types.Integer):
        return lambda v, ex: v >> (-ex) if ex < 0 else v
    return lambda v, ex: v


def exact(v):
    """Whether v is an integer (fixed point: sums are exact, in any order)."""
    return isinstance(v, (int, np.integer))


@overload(exact, jit_options=JIT)
def _exact(v):
    flag = isinstance(v, types.Integer)
    return lambda v: flag


# ---- float tanh (vectorisable; Cephes' tanh: a rational function below 0.625, 1 - 2/(e^{2|x|}+1) above) --------
_TP = (-9.64399179425052238628E-1, -9.92877231001918586564E1, -1.61468768441708447952E3)
_TQ = (1.12811678491632931402E2, 2.23548839060100448583E3, 4.84406305325125486048E3)
_EP = (1.26177193074810590878E-4, 3.02994407707441961300E-2, 9.99999999999999999910E-1)
_EQ = (3.00198505138664455042E-6, 2.52448340349684104192E-3, 2.27265548208155028766E-1, 2.00000000000000000009E0)
_LOG2E, _LN2_HI, _LN2_LO = 1.4426950408889634073599, 6.93145751953125E-1, 1.42860682030941723212E-6


@intrinsic
def _pow2(typingctx, k):
    """2.0**k for an integer-valued float64 k in [0, 1023]: exact, in four vectorisable operations (any SIMD
    target: a float add, integer add and shift, two bitcasts; AVX2 has no float64 -> int64 conversion). k + 2**52
    holds k in the low bits of its mantissa field (exact for 0 <= k < 2**52); k + 1023 shifted into the exponent
    field is the bit pattern of 2.0**k (the shift also drops the bits of 2**52's own exponent). Replaced a chain of
    six compares and selects on k's bits (the same values): the float tanh 0.99 -> 0.74 ns per element, the gated
    float kernels 25-38% faster on the AMD EPYC (Zen 4) of the benchmarks
    (benchmarks/results/round8/batch_float_f14float.md)."""
    sig = types.float64(types.float64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        bits = builder.bitcast(builder.fadd(args[0], ir.Constant(ir.DoubleType(), 4503599627370496.0)), i64)
        bits = builder.shl(builder.add(bits, ir.Constant(i64, 1023)), ir.Constant(i64, 52))
        return builder.bitcast(bits, ir.DoubleType())

    return sig, codegen


@njit(**INLINE)
def tanh(x):
    """tanh(x) in float64, within 2 ulp of ``np.tanh`` (measured over 6e6 normal samples at scales 0.01-30), as
    branch-free code that LLVM vectorises (numba's ``math.tanh`` calls libm per element: ~18x slower here).
    exp(2|x|) (|x| clamped at 20, where tanh is 1.0 in float64) by Cody-Waite reduction and Cephes' Pade form
    e = 2**k (Q + px) / (Q - px); above 0.625, tanh = 1 - 2/(e + 1) = 1 - 2(Q - px) / (2**k (Q + px) + (Q - px)).
    One IEEE division per element for both forms (every lane computes both; the gated float kernels are bound by
    division throughput): the small form's x z P(z) / Q(z) or the big form's quotient above, whichever this lane
    returns. Round 10 (``benchmarks/results/round10/batch_f14float_scripts/tanh_one_division_probe.py``): 1.12 ns
    per element against 1.82 for round 8's form with two divisions (px / (Q - px), then 2 / (e + 1)), still within
    2 ulp of ``np.tanh`` (19.1 % of values not exact against 18.9 %), signs kept."""
    ax = abs(x)
    lo = ax < 0.625
    z = x * x
    y = min(2.0 * ax, 40.0)
    k = np.floor(_LOG2E * y + 0.5)  # a float (math.floor is an int: a scalar conversion per element, unvectorised)
    r = (y - k * _LN2_HI) - k * _LN2_LO
    rr = r * r
    px = r * ((_EP[0] * rr + _EP[1]) * rr + _EP[2])
    qe = ((_EQ[0] * rr + _EQ[1]) * rr + _EQ[2]) * rr + _EQ[3]
    dm = qe - px
    q = (x * z * ((_TP[0] * z + _TP[1]) * z + _TP[2]) if lo else 2.0 * dm) / \
        ((((z + _TQ[0]) * z + _TQ[1]) * z + _TQ[2]) if lo else _pow2(k) * (qe + px) + dm)
    return math.copysign(x + q if lo else 1.0 - q, x)  # tanh is odd: the sign of x (-0.0 stays -0.0)


@njit(**INLINE)
def sigmoid(x):
    """arith.sigmoid: 0.5 + 0.5 tanh(x/2), in its order of operations."""
    return tanh(x * 0.5) * 0.5 + 0.5


@njit(**JIT)
def vtanh(x, out):
    """out[i] = tanh(x[i]) (1-D; for the conformance tests)."""
    for i in range(x.size):
        out[i] = tanh(x[i])


@njit(**JIT)
def vpow2(k, out):
    """out[i] = _pow2(k[i]) (1-D; for the conformance tests)."""
    for i in range(k.size):
        out[i] = _pow2(k[i])


@njit(**JIT)
def vlut(x12, base, out):
    """out[i] = lut(x12[i], base) (1-D int64; for the conformance tests)."""
    for i in range(x12.size):
        out[i] = lut(x12[i], base)


# ---- the spiking soma (kinds/soma.py: soma_fixed / soma_float), one neuron ------------------------------------
@njit(**INLINE)
def _soma_fixed(v, a, d, dv, th, ba, da, reset, adapt):
    """v = sat24(decay12(v) + d); theta = th + ((ba a) >> 12); spike v > theta; reset; a = sat24(decay12(a) + 4096 s).
    Returns (v, a, spike)."""
    v = sat24(decay12(v, dv) + d)
    theta = th + ((ba * a) >> 12) if adapt else th
    s = v > theta
    if s:
        if reset == SUBTRACT:
            v = sat24(v - theta)
        elif reset == ZERO:
            v = 0
    if adapt:
        a = sat24(decay12(a, da) + (4096 if s else 0))
    return v, a, s


@njit(**INLINE)
def _fire_float(v, a, th, ba, rho, reset, adapt):
    """soma.fire_float on the fresh membrane v: theta = th + ba a; spike v > theta; reset; a = rho a + s."""
    theta = th + ba * a if adapt else th
    s = v > theta
    if s:
        if reset == SUBTRACT:
            v = v - theta
        elif reset == ZERO:
            v = 0.0
    if adapt:
        a = rho * a + (1.0 if s else 0.0)
    return v, a, s


@njit(**INLINE)
def _delta(value, sent, thr):
    """kinds.delta.delta_send for one neuron: (payload, new sent, event): value - sent where |value - sent| > thr."""
    d = value - sent
    m = abs(d) > thr
    out = d if m else d - d  # a zero of d's type (+0.0 in float)
    return out, sent + out, m


# ---- gated cells (kinds/gates.py), one neuron -------------------------------------------------------------------
@njit(**INLINE)
def _lstm_fixed(zi, zf, zg, zo, c, F):
    """gates.lstm_fixed: returns (c, h) in Q12 from pre-activations with F fractional bits."""
    i_ = lut(to_q12(zi, F), 0)
    f_ = lut(to_q12(zf, F), 0)
    g_ = lut(to_q12(zg, F), TANH_BASE)
    o_ = lut(to_q12(zo, F), 0)
    c = sat24(mulq(f_, c) + mulq(i_, g_))
    return c, mulq(o_, lut(c, TANH_BASE))


@njit(**INLINE)
def _lstm_float(zi, zf, zg, zo, c):
    """gates.lstm_float: c = sigma(f) c + sigma(i) tanh(g); h = sigma(o) tanh(c)."""
    c = sigmoid(zf) * c + sigmoid(zi) * tanh(zg)
    return c, sigmoid(zo) * tanh(c)


@njit(**INLINE)
def _gru_fixed(pr, pz, pn, hr, hz, hn, h, F):
    """gates.gru_fixed: h in Q12."""
    r = lut(to_q12(pr + hr, F), 0)
    z = lut(to_q12(pz + hz, F), 0)
    n = lut(sat24(to_q12(pn, F) + mulq(r, to_q12(hn, F))), TANH_BASE)
    return sat24(mulq(4096 - z, n) + mulq(z, h))


@njit(**INLINE)
def _gru_float(pr, pz, pn, hr, hz, hn, h):
    """gates.gru_float: h = (1 - z) n + z h."""
    r = sigmoid(pr + hr)
    z = sigmoid(pz + hz)
    n = tanh(pn + r * hn)
    return (1.0 - z) * n + z * h


# ---- the kinds, one population for the whole batch (the population's row j of POP) ----------------------------
# Every kernel works on 1-D row views (one sample's state fields, inputs and parameters) so that LLVM vectorises
# the loop over neurons.
@njit(**JIT)
def _lif_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.lif (fixed): Lava's bit-accurate LIF; params du, bias, dv, th (vth << 6), ba, da; state v, a, u."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, flags = POP[j, K_RESET], POP[j, K_FLAGS]
    adapt, upass = (flags & F_ADAPT) != 0, (flags & F_UPASS) != 0
    du, bias, dv, th = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    ba, da = seg(P, p0, n, 4), seg(P, p0, n, 5)
    for b in range(ST.shape[0]):
        acc, v, a, u = seg(ACC[b], a0, n, 0), seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            ai = acc[i] << 6
            ui = ai if upass else decay12(u[i], du[i] + 1) + ai
            if ui > M23:  # arith.wrap24
                ui -= 2 * M23
            elif ui <= -M23:
                ui += 2 * M23
            u[i] = ui
            v[i], a[i], s = _soma_fixed(v[i], a[i], ui + bias[i], dv[i], th[i], ba[i], da[i], reset, adapt)
            out[i] = 1 if s else 0
            mk[i] = s


@njit(**JIT)
def _lif_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.lif (float): v = v m + a_in + bias, then the soma; params m, bias, th, ba, rho; state v, a, u."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, adapt = POP[j, K_RESET], (POP[j, K_FLAGS] & F_ADAPT) != 0
    m, bias, th, ba, rho = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3), seg(P, p0, n, 4)
    for b in range(ST.shape[0]):
        acc, v, a, u = seg(ACC[b], a0, n, 0), seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            vi = v[i] * m[i]
            vi = vi + acc[i]
            vi = vi + bias[i]
            u[i] = acc[i]
            v[i], a[i], s = _fire_float(vi, a[i], th[i], ba[i], rho[i], reset, adapt)
            out[i] = 1.0 if s else 0.0
            mk[i] = s


@njit(**INLINE)
def _adlif_soma_fixed(v, w, sp, d, ka, kb, ca, cb, th, reset, se):
    """soma.AdLifSoma.step (fixed) for one neuron on the drive d: returns (v, w, spike as 0/1, spike)."""
    u = sat24(v + muld(ka, (d - w) - v))
    s = u > th
    if s:
        if reset == SUBTRACT:
            u = sat24(u - th)
        elif reset == ZERO:
            u = 0
    o = 1 if s else 0
    x, y = (u, o) if se else (v, sp)
    return u, sat24(w + muld(kb, (mulq(ca, x) + cb * y) - w)), o, s


@njit(**INLINE)
def _adlif_soma_float(v, w, sp, d, ka, kb, ca, cb, th, reset, se):
    """soma.AdLifSoma.step (float) for one neuron on the drive d: returns (v, w, spike as 0/1, spike)."""
    u = v + ka * ((d - w) - v)
    s = u > th
    if s:
        if reset == SUBTRACT:
            u = u - th
        elif reset == ZERO:
            u = 0.0
    o = 1.0 if s else 0.0
    x, y = (u, o) if se else (v, sp)
    return u, w + kb * ((ca * x + cb * y) - w), o, s


@njit(**JIT)
def _adlif_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.adlif (fixed): params bias, dalpha, dbeta, a (Q12), b, vth; state v, w, s."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, se = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0
    bias, ka, kb, ca = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cb, th = seg(P, p0, n, 4), seg(P, p0, n, 5)
    for b in range(ST.shape[0]):
        acc, v, w, sp = seg(ACC[b], a0, n, 0), seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            v[i], w[i], o, s = _adlif_soma_fixed(v[i], w[i], sp[i], acc[i] + bias[i], ka[i], kb[i], ca[i], cb[i],
                                                 th[i], reset, se)
            sp[i], out[i], mk[i] = o, o, s


@njit(**JIT)
def _adlif_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.adlif (float): params bias, 1-alpha, 1-beta, a, b, threshold; state v, w, s."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, se = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0
    bias, ka, kb, ca = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cb, th = seg(P, p0, n, 4), seg(P, p0, n, 5)
    for b in range(ST.shape[0]):
        acc, v, w, sp = seg(ACC[b], a0, n, 0), seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            v[i], w[i], o, s = _adlif_soma_float(v[i], w[i], sp[i], acc[i] + bias[i], ka[i], kb[i], ca[i], cb[i],
                                                 th[i], reset, se)
            sp[i], out[i], mk[i] = o, o, s


@njit(**JIT)
def _slstm_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.spiking_lstm (fixed): params bias (4n), dv, vth, ba, da; state c, v, a."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, adapt, F = POP[j, K_RESET], (POP[j, K_FLAGS] & F_ADAPT) != 0, POP[j, K_F]
    bi, bf, bg, bo = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    dv, th, ba, da = seg(P, p0, n, 4), seg(P, p0, n, 5), seg(P, p0, n, 6), seg(P, p0, n, 7)
    for b in range(ST.shape[0]):
        zi, zf, zg, zo = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2), seg(ACC[b], a0, n, 3)
        c, v, a = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            ci, d = _lstm_fixed(zi[i] + bi[i], zf[i] + bf[i], zg[i] + bg[i], zo[i] + bo[i], c[i], F)
            c[i] = ci
            v[i], a[i], s = _soma_fixed(v[i], a[i], d, dv[i], th[i], ba[i], da[i], reset, adapt)
            out[i] = 1 if s else 0
            mk[i] = s


@njit(**JIT)
def _slstm_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.spiking_lstm (float): params bias (4n), m, th, ba, rho; state c, v, a."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, adapt = POP[j, K_RESET], (POP[j, K_FLAGS] & F_ADAPT) != 0
    bi, bf, bg, bo = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    m, th, ba, rho = seg(P, p0, n, 4), seg(P, p0, n, 5), seg(P, p0, n, 6), seg(P, p0, n, 7)
    for b in range(ST.shape[0]):
        zi, zf, zg, zo = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2), seg(ACC[b], a0, n, 3)
        c, v, a = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            ci, d = _lstm_float(zi[i] + bi[i], zf[i] + bf[i], zg[i] + bg[i], zo[i] + bo[i], c[i])
            c[i] = ci
            vi = v[i] * m[i]
            vi = vi + d
            v[i], a[i], s = _fire_float(vi, a[i], th[i], ba[i], rho[i], reset, adapt)
            out[i] = 1.0 if s else 0.0
            mk[i] = s


@njit(**JIT)
def _sgru_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.spiking_gru (fixed): params bias_in (3n), bias_rec (3n), dv, vth, ba, da; state h, v, a."""
    n, s0, p0, a0, a1, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_A1], POP[j, K_OUT]
    reset, adapt, F = POP[j, K_RESET], (POP[j, K_FLAGS] & F_ADAPT) != 0, POP[j, K_F]
    br, bz, bn, cr = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cz, cn, dv, th = seg(P, p0, n, 4), seg(P, p0, n, 5), seg(P, p0, n, 6), seg(P, p0, n, 7)
    ba, da = seg(P, p0, n, 8), seg(P, p0, n, 9)
    for b in range(ST.shape[0]):
        xr, xz, xn = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2)
        hr, hz, hn = seg(ACC[b], a1, n, 0), seg(ACC[b], a1, n, 1), seg(ACC[b], a1, n, 2)
        h, v, a = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            hi = _gru_fixed(xr[i] + br[i], xz[i] + bz[i], xn[i] + bn[i], hr[i] + cr[i], hz[i] + cz[i],
                            hn[i] + cn[i], h[i], F)
            h[i] = hi
            v[i], a[i], s = _soma_fixed(v[i], a[i], hi, dv[i], th[i], ba[i], da[i], reset, adapt)
            out[i] = 1 if s else 0
            mk[i] = s


@njit(**JIT)
def _sgru_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.spiking_gru (float): params bias_in (3n), bias_rec (3n), m, th, ba, rho; state h, v, a."""
    n, s0, p0, a0, a1, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_A1], POP[j, K_OUT]
    reset, adapt = POP[j, K_RESET], (POP[j, K_FLAGS] & F_ADAPT) != 0
    br, bz, bn, cr = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cz, cn, m, th = seg(P, p0, n, 4), seg(P, p0, n, 5), seg(P, p0, n, 6), seg(P, p0, n, 7)
    ba, rho = seg(P, p0, n, 8), seg(P, p0, n, 9)
    for b in range(ST.shape[0]):
        xr, xz, xn = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2)
        hr, hz, hn = seg(ACC[b], a1, n, 0), seg(ACC[b], a1, n, 1), seg(ACC[b], a1, n, 2)
        h, v, a = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            hi = _gru_float(xr[i] + br[i], xz[i] + bz[i], xn[i] + bn[i], hr[i] + cr[i], hz[i] + cz[i],
                            hn[i] + cn[i], h[i])
            h[i] = hi
            vi = v[i] * m[i]
            vi = vi + hi
            v[i], a[i], s = _fire_float(vi, a[i], th[i], ba[i], rho[i], reset, adapt)
            out[i] = 1.0 if s else 0.0
            mk[i] = s


@njit(**JIT)
def _alstm_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.spiking_lstm ``adlif_lstm`` (fixed): params bias (4n), dalpha, dbeta, a (Q12), b, vth; state c, v, w, s."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, se, F = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0, POP[j, K_F]
    bi, bf, bg, bo = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    ka, kb, ca, cb, th = seg(P, p0, n, 4), seg(P, p0, n, 5), seg(P, p0, n, 6), seg(P, p0, n, 7), seg(P, p0, n, 8)
    for b in range(ST.shape[0]):
        zi, zf, zg, zo = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2), seg(ACC[b], a0, n, 3)
        c, v, w, sp = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2), seg(ST[b], s0, n, 3)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            ci, d = _lstm_fixed(zi[i] + bi[i], zf[i] + bf[i], zg[i] + bg[i], zo[i] + bo[i], c[i], F)
            c[i] = ci
            v[i], w[i], o, s = _adlif_soma_fixed(v[i], w[i], sp[i], d, ka[i], kb[i], ca[i], cb[i], th[i], reset, se)
            sp[i], out[i], mk[i] = o, o, s


@njit(**JIT)
def _alstm_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.spiking_lstm ``adlif_lstm`` (float): params bias (4n), 1-alpha, 1-beta, a, b, threshold; state c, v, w, s."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, se = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0
    bi, bf, bg, bo = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    ka, kb, ca, cb, th = seg(P, p0, n, 4), seg(P, p0, n, 5), seg(P, p0, n, 6), seg(P, p0, n, 7), seg(P, p0, n, 8)
    for b in range(ST.shape[0]):
        zi, zf, zg, zo = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2), seg(ACC[b], a0, n, 3)
        c, v, w, sp = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2), seg(ST[b], s0, n, 3)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            ci, d = _lstm_float(zi[i] + bi[i], zf[i] + bf[i], zg[i] + bg[i], zo[i] + bo[i], c[i])
            c[i] = ci
            v[i], w[i], o, s = _adlif_soma_float(v[i], w[i], sp[i], d, ka[i], kb[i], ca[i], cb[i], th[i], reset, se)
            sp[i], out[i], mk[i] = o, o, s


@njit(**JIT)
def _agru_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.spiking_gru ``adlif_gru`` (fixed): params bias_in (3n), bias_rec (3n), dalpha, dbeta, a, b, vth;
    state h, v, w, s."""
    n, s0, p0, a0, a1, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_A1], POP[j, K_OUT]
    reset, se, F = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0, POP[j, K_F]
    br, bz, bn, cr = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cz, cn = seg(P, p0, n, 4), seg(P, p0, n, 5)
    ka, kb, ca, cb, th = seg(P, p0, n, 6), seg(P, p0, n, 7), seg(P, p0, n, 8), seg(P, p0, n, 9), seg(P, p0, n, 10)
    for b in range(ST.shape[0]):
        xr, xz, xn = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2)
        hr, hz, hn = seg(ACC[b], a1, n, 0), seg(ACC[b], a1, n, 1), seg(ACC[b], a1, n, 2)
        h, v, w, sp = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2), seg(ST[b], s0, n, 3)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            hi = _gru_fixed(xr[i] + br[i], xz[i] + bz[i], xn[i] + bn[i], hr[i] + cr[i], hz[i] + cz[i],
                            hn[i] + cn[i], h[i], F)
            h[i] = hi
            v[i], w[i], o, s = _adlif_soma_fixed(v[i], w[i], sp[i], hi, ka[i], kb[i], ca[i], cb[i], th[i], reset, se)
            sp[i], out[i], mk[i] = o, o, s


@njit(**JIT)
def _agru_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.spiking_gru ``adlif_gru`` (float): params bias_in (3n), bias_rec (3n), 1-alpha, 1-beta, a, b,
    threshold; state h, v, w, s."""
    n, s0, p0, a0, a1, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_A1], POP[j, K_OUT]
    reset, se = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0
    br, bz, bn, cr = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cz, cn = seg(P, p0, n, 4), seg(P, p0, n, 5)
    ka, kb, ca, cb, th = seg(P, p0, n, 6), seg(P, p0, n, 7), seg(P, p0, n, 8), seg(P, p0, n, 9), seg(P, p0, n, 10)
    for b in range(ST.shape[0]):
        xr, xz, xn = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2)
        hr, hz, hn = seg(ACC[b], a1, n, 0), seg(ACC[b], a1, n, 1), seg(ACC[b], a1, n, 2)
        h, v, w, sp = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2), seg(ST[b], s0, n, 3)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            hi = _gru_float(xr[i] + br[i], xz[i] + bz[i], xn[i] + bn[i], hr[i] + cr[i], hz[i] + cz[i],
                            hn[i] + cn[i], h[i])
            h[i] = hi
            v[i], w[i], o, s = _adlif_soma_float(v[i], w[i], sp[i], hi, ka[i], kb[i], ca[i], cb[i], th[i], reset, se)
            sp[i], out[i], mk[i] = o, o, s


@njit(**JIT)
def _sdrnn_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.sd_rnn (fixed): params bias, thr; state sigma, sent."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    relu, F, thr = (POP[j, K_FLAGS] & F_RELU) != 0, POP[j, K_F], P[p0 + n]
    bias = seg(P, p0, n, 0)
    for b in range(ST.shape[0]):
        acc, sg, sent = seg(ACC[b], a0, n, 0), seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            sigma = sg[i] + acc[i]
            sg[i] = sigma
            pre = sigma + bias[i]
            act = max(pre, 0) if relu else lut(to_q12(pre, F), TANH_BASE)
            out[i], sent[i], mk[i] = _delta(act, sent[i], thr)


@njit(**JIT)
def _sdrnn_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.sd_rnn (float): params bias, thr; state sigma, sent."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    relu, thr = (POP[j, K_FLAGS] & F_RELU) != 0, P[p0 + n]
    bias = seg(P, p0, n, 0)
    for b in range(ST.shape[0]):
        acc, sg, sent = seg(ACC[b], a0, n, 0), seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            sigma = sg[i] + acc[i]
            sg[i] = sigma
            pre = sigma + bias[i]
            act = (pre if pre >= 0.0 else 0.0) if relu else tanh(pre)  # np.maximum(pre, 0.0)
            out[i], sent[i], mk[i] = _delta(act, sent[i], thr)


@njit(**JIT)
def _sdlstm_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.sd_lstm (fixed): params bias (4n), thr; state sigma (4n), c, sent."""
    n, s0, p0, a0, o0, F = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT], POP[j, K_F]
    thr = P[p0 + 4 * n]
    bi, bf, bg, bo = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    for b in range(ST.shape[0]):
        zi, zf, zg, zo = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2), seg(ACC[b], a0, n, 3)
        si, sf, sg, so = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2), seg(ST[b], s0, n, 3)
        c, sent = seg(ST[b], s0, n, 4), seg(ST[b], s0, n, 5)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            ii, ff, gg, oo = si[i] + zi[i], sf[i] + zf[i], sg[i] + zg[i], so[i] + zo[i]
            si[i], sf[i], sg[i], so[i] = ii, ff, gg, oo
            c[i], h = _lstm_fixed(ii + bi[i], ff + bf[i], gg + bg[i], oo + bo[i], c[i], F)
            out[i], sent[i], mk[i] = _delta(h, sent[i], thr)


@njit(**JIT)
def _sdlstm_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.sd_lstm (float): params bias (4n), thr; state sigma (4n), c, sent."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    thr = P[p0 + 4 * n]
    bi, bf, bg, bo = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    for b in range(ST.shape[0]):
        zi, zf, zg, zo = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2), seg(ACC[b], a0, n, 3)
        si, sf, sg, so = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2), seg(ST[b], s0, n, 3)
        c, sent = seg(ST[b], s0, n, 4), seg(ST[b], s0, n, 5)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            ii, ff, gg, oo = si[i] + zi[i], sf[i] + zf[i], sg[i] + zg[i], so[i] + zo[i]
            si[i], sf[i], sg[i], so[i] = ii, ff, gg, oo
            c[i], h = _lstm_float(ii + bi[i], ff + bf[i], gg + bg[i], oo + bo[i], c[i])
            out[i], sent[i], mk[i] = _delta(h, sent[i], thr)


@njit(**JIT)
def _sdgru_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.sd_gru (fixed): params bias_in (3n), bias_rec (3n), thr; state sigma_in (3n), sigma_rec (3n), h, sent."""
    n, s0, p0, a0, a1, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_A1], POP[j, K_OUT]
    F, thr = POP[j, K_F], P[p0 + 6 * n]
    br, bz, bn, cr = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cz, cn = seg(P, p0, n, 4), seg(P, p0, n, 5)
    for b in range(ST.shape[0]):
        xr, xz, xn = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2)
        hr, hz, hn = seg(ACC[b], a1, n, 0), seg(ACC[b], a1, n, 1), seg(ACC[b], a1, n, 2)
        sr, sz, sn, tr = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2), seg(ST[b], s0, n, 3)
        tz, tn, h, sent = seg(ST[b], s0, n, 4), seg(ST[b], s0, n, 5), seg(ST[b], s0, n, 6), seg(ST[b], s0, n, 7)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            x0, x1, x2 = sr[i] + xr[i], sz[i] + xz[i], sn[i] + xn[i]
            h0, h1, h2 = tr[i] + hr[i], tz[i] + hz[i], tn[i] + hn[i]
            sr[i], sz[i], sn[i], tr[i], tz[i], tn[i] = x0, x1, x2, h0, h1, h2
            hi = _gru_fixed(x0 + br[i], x1 + bz[i], x2 + bn[i], h0 + cr[i], h1 + cz[i], h2 + cn[i], h[i], F)
            h[i] = hi
            out[i], sent[i], mk[i] = _delta(hi, sent[i], thr)


@njit(**JIT)
def _sdgru_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.sd_gru (float): params bias_in (3n), bias_rec (3n), thr; state sigma_in (3n), sigma_rec (3n), h, sent."""
    n, s0, p0, a0, a1, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_A1], POP[j, K_OUT]
    thr = P[p0 + 6 * n]
    br, bz, bn, cr = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cz, cn = seg(P, p0, n, 4), seg(P, p0, n, 5)
    for b in range(ST.shape[0]):
        xr, xz, xn = seg(ACC[b], a0, n, 0), seg(ACC[b], a0, n, 1), seg(ACC[b], a0, n, 2)
        hr, hz, hn = seg(ACC[b], a1, n, 0), seg(ACC[b], a1, n, 1), seg(ACC[b], a1, n, 2)
        sr, sz, sn, tr = seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1), seg(ST[b], s0, n, 2), seg(ST[b], s0, n, 3)
        tz, tn, h, sent = seg(ST[b], s0, n, 4), seg(ST[b], s0, n, 5), seg(ST[b], s0, n, 6), seg(ST[b], s0, n, 7)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        # two loops over the neurons (the same operations per neuron): in one, its 10 written and 12 read rows
        # need more runtime alias checks than LLVM's limit (128) and it stayed scalar (~34 ns per neuron-step);
        # split, each loop is vectorised
        for i in range(n):
            x0, x1, x2 = sr[i] + xr[i], sz[i] + xz[i], sn[i] + xn[i]
            h0, h1, h2 = tr[i] + hr[i], tz[i] + hz[i], tn[i] + hn[i]
            sr[i], sz[i], sn[i], tr[i], tz[i], tn[i] = x0, x1, x2, h0, h1, h2
            h[i] = _gru_float(x0 + br[i], x1 + bz[i], x2 + bn[i], h0 + cr[i], h1 + cz[i], h2 + cn[i], h[i])
        for i in range(n):
            out[i], sent[i], mk[i] = _delta(h[i], sent[i], thr)


@njit(**JIT)
def _readout_fixed(j, POP, P, ST, ACC, OUT, MK):
    """kinds.readout (fixed): y = sat24(decay12(y) + in + bias); params bias, dv; state sigma, y. No events."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    sig = (POP[j, K_FLAGS] & F_SIGMA) != 0
    bias, dv = seg(P, p0, n, 0), seg(P, p0, n, 1)
    for b in range(ST.shape[0]):
        acc, sg, y = seg(ACC[b], a0, n, 0), seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            a = acc[i]
            if sig:
                a = sg[i] + a
                sg[i] = a
            yi = sat24(decay12(y[i], dv[i]) + a + bias[i])
            y[i], out[i], mk[i] = yi, yi, False


@njit(**JIT)
def _readout_float(j, POP, P, ST, ACC, OUT, MK):
    """kinds.readout (float): y = decay y + in + bias; params bias, decay; state sigma, y. No events."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    sig = (POP[j, K_FLAGS] & F_SIGMA) != 0
    bias, dec = seg(P, p0, n, 0), seg(P, p0, n, 1)
    for b in range(ST.shape[0]):
        acc, sg, y = seg(ACC[b], a0, n, 0), seg(ST[b], s0, n, 0), seg(ST[b], s0, n, 1)
        out, mk = seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            a = acc[i]
            if sig:
                a = sg[i] + a
                sg[i] = a
            yi = dec[i] * y[i] + a + bias[i]
            y[i], out[i], mk[i] = yi, yi, False


@njit(**JIT)
def _input_fixed(j, POP, P, ST, X, tt, OUT, MK):
    """kinds.input (fixed) on the host's float input X[tt] after fixed_point.quantize_input (round half to even,
    24-bit saturation): "value" sends x, "delta" changes above the threshold; state sent."""
    n, s0, p0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_OUT]
    delta, thr, scale = (POP[j, K_FLAGS] & F_DELTA) != 0, P[p0], 2.0 ** POP[j, K_F]
    lim = float(MAX24)
    for b in range(ST.shape[0]):
        xs, sent, out, mk = X[tt, b], seg(ST[b], s0, n, 0), seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            x = np.int64(min(max(np.rint(xs[i] * scale), -lim), lim))
            if delta:
                out[i], sent[i], mk[i] = _delta(x, sent[i], thr)
            else:
                sent[i], out[i], mk[i] = x, x, x != 0


@njit(**JIT)
def quantize_values(x, scale, limit, q, mask):
    """The host's fixed-point encoding of a whole input in one pass (backends.base.encode_input with
    fixed_point.quantize_input, "value" coding): ``q = int64(clip(rint(x scale), -MAX24, MAX24))`` (round half to
    even, as np.round; the same operation as :func:`_input_fixed`) and ``mask = q != 0``, over the flat
    C-contiguous float64 ``x``; returns whether some |x| is above ``limit`` (fixed_point.input_warn_limit: the
    caller then warns, with the numpy check)."""
    lim = float(MAX24)
    over = False
    for i in range(x.size):
        v = x[i]
        r = np.int64(min(max(np.rint(v * scale), -lim), lim))
        q[i] = r
        mask[i] = r != 0
        over |= abs(v) > limit
    return over


@njit(**JIT)
def quantize_deltas(x, T, scale, limit, thr, out, sent, mask):
    """:func:`quantize_values` for "delta" coding (kinds.input's step over every step, kinds.delta.delta_send, the
    value read back being ``sent``): the flat C-contiguous float64 ``x`` of T steps, each quantised as
    :func:`quantize_values`, and per element (T, M) in step order ``out[t] = q - s`` where ``|q - s| > thr`` (else 0),
    ``sent[t] = s + out[t]``, ``mask[t] = |q - s| > thr``, s the previous step's sent (0 before the first), as
    :func:`_input_fixed` (:func:`_delta`). One pass, where the host's encoding loops over the steps in numpy
    (~8 ms for T=100, B=256, 40 inputs: the converted dense LSTM of benchmarks/bench_batch_vs_torch.py).
    Returns whether some |x| is above ``limit`` (the caller then warns, with the numpy check)."""
    lim = float(MAX24)
    M = x.size // T
    over = False
    for t in range(T):
        o = t * M
        p = o - M if t > 0 else o  # the previous step's sent (the first step: zeros, written first)
        if t == 0:
            for i in range(M):
                sent[i] = 0
        qs, prev, cur, ms = out[o:o + M], sent[p:p + M], sent[o:o + M], mask[o:o + M]
        for i in range(M):  # the quantised values first, then their changes: two vectorised loops
            v = x[o + i]
            qs[i] = np.int64(min(max(np.rint(v * scale), -lim), lim))
            over |= abs(v) > limit
        for i in range(M):
            qs[i], cur[i], ms[i] = _delta(qs[i], prev[i], thr)
    return over


@njit(**JIT)
def _input_float(j, POP, P, ST, X, tt, OUT, MK):
    """kinds.input (float) on the host's input X[tt]; state sent."""
    n, s0, p0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_OUT]
    delta, thr = (POP[j, K_FLAGS] & F_DELTA) != 0, P[p0]
    for b in range(ST.shape[0]):
        xs, sent, out, mk = X[tt, b], seg(ST[b], s0, n, 0), seg(OUT[b], o0, n, 0), seg(MK[b], o0, n, 0)
        for i in range(n):
            x = xs[i]
            if delta:
                out[i], sent[i], mk[i] = _delta(x, sent[i], thr)
            else:
                sent[i], out[i], mk[i] = x, x, x != 0


# ---- synaptic products (synapses.py: Lava's Dense arithmetic) ---------------------------------------------------
@njit(**INLINE)
def _next(srow, k):
    """The first index >= k of a source that sent (nonzero payload), or srow.shape[0]."""
    ns = srow.shape[0]
    while k < ns and srow[k] == 0:
        k += 1
    return k


@njit(**JIT)
def _row_into(row, srow, W, w0, m, graded):
    """row += sum_k srow[k] * W[w0 + k*m : ...] over the sources that sent (binary: column additions; graded: the
    payload times the column), k ascending. Four sources per pass over the row, each element's additions still one
    after the other in ascending k (the same roundings as one column at a time, with a quarter of the row's loads
    and stores)."""
    ns = srow.shape[0]
    i0 = _next(srow, 0)
    while i0 < ns:
        i1 = _next(srow, i0 + 1)
        i2 = _next(srow, i1 + 1) if i1 < ns else ns
        i3 = _next(srow, i2 + 1) if i2 < ns else ns
        if i3 < ns:
            a, b = W[w0 + i0 * m:w0 + (i0 + 1) * m], W[w0 + i1 * m:w0 + (i1 + 1) * m]
            c_, d = W[w0 + i2 * m:w0 + (i2 + 1) * m], W[w0 + i3 * m:w0 + (i3 + 1) * m]
            if graded:
                p0, p1, p2, p3 = srow[i0], srow[i1], srow[i2], srow[i3]
                for c in range(m):
                    r = row[c] + p0 * a[c]
                    r = r + p1 * b[c]
                    r = r + p2 * c_[c]
                    row[c] = r + p3 * d[c]
            else:
                for c in range(m):
                    r = row[c] + a[c]
                    r = r + b[c]
                    r = r + c_[c]
                    row[c] = r + d[c]
            i0 = _next(srow, i3 + 1)
            continue
        for k in (i0, i1, i2):  # fewer than four left
            if k < ns:
                w = W[w0 + k * m:w0 + (k + 1) * m]
                if graded:
                    p = srow[k]
                    for c in range(m):
                        row[c] += p * w[c]
                else:
                    for c in range(m):
                        row[c] += w[c]
        break


@njit(**JIT)
def _block_into(dst, d0, src, s0, ns, W, w0, m, graded):
    """dst[b, d0:d0+m] += the block's input for every sample b (:func:`_row_into`)."""
    for b in range(dst.shape[0]):
        _row_into(dst[b, d0:d0 + m], src[b, s0:s0 + ns], W, w0, m, graded)


# ---- column sums of binary spikes in register tiles ---------------------------------------------------------------
# A binary block's input to one sample is the sum, over the sources that sent, of their weight rows. Summed a row
# at a time, each addition loads and stores the running sum; here a tile of TILE_VECS vectors of the sums stays in
# registers while every active source's slice of the tile is added (:func:`_colsum_tile`, LLVM vector IR: on any
# target, LLVM splits a vector into the registers it has), each element's additions in ascending source order from
# zero: the additions, hence the float roundings, of one column at a time (:func:`_row_into`). 2x faster than four
# rows per pass on the AMD EPYC (Zen 4) of the benchmarks: benchmarks/results/round6/batch_vs_torch_t18batch.md.
VEC_BYTES = 64  # bytes of one accumulator vector (a zmm register; two ymm or four xmm registers elsewhere)
TILE_VECS = 8 if _host_feature("avx512f") else 6  # accumulators per tile: 8 of the 32 zmm registers; 12 of the 16
# ymm registers with AVX2 (int8 weights need a register to widen into); spills elsewhere cost speed, never bits


def _make_colsum(nv: int, onto: bool = False):
    """An intrinsic ``f(acc, W, offs, nk, c0)``: ``acc[c0 : c0 + nv L] = sum_{q < nk} W[offs[q] + c0 : ...]``
    (L = VEC_BYTES / acc's item size), the sums from zero in ascending q, in nv vectors held in registers. W's
    elements are widened to acc's type first (int8 -> int32 sign extension, float32 -> float64: exact); integer
    sums wrap (the callers checked they cannot overflow); float additions are IEEE additions, no fusion.
    ``onto``: ``f(acc, base, W, offs, nk, c0)`` stores ``base[c0 + i] + sum`` instead (one IEEE addition of the
    finished sum: what adding the sum to a port's running sum ``base`` gives, without storing the sum first)."""
    na = 1 if onto else 0  # the arguments after acc are shifted by base

    def codegen(context, builder, signature, args):
        acc_a = context.make_array(signature.args[0])(context, builder, args[0])
        w_a = context.make_array(signature.args[1 + na])(context, builder, args[1 + na])
        o_a = context.make_array(signature.args[2 + na])(context, builder, args[2 + na])
        at = context.get_value_type(signature.args[0].dtype)
        wt = context.get_value_type(signature.args[1 + na].dtype)
        lanes = VEC_BYTES // context.get_abi_sizeof(at)
        va, vw = ir.VectorType(at, lanes), ir.VectorType(wt, lanes)
        flt = isinstance(at, (ir.DoubleType, ir.FloatType))
        zero = ir.Constant(va, [0.0 if flt else 0] * lanes)
        sums = [cgutils.alloca_once_value(builder, zero) for _ in range(nv)]  # registers after mem2reg
        i64 = ir.IntType(64)
        nk, c0 = args[3 + na], args[4 + na]
        c0v = builder.sext(c0, i64) if c0.type != i64 else c0
        with cgutils.for_range(builder, nk) as loop:
            off = builder.load(builder.gep(o_a.data, [loop.index]))
            p = builder.bitcast(builder.gep(w_a.data, [builder.add(off, c0v)]), vw.as_pointer())
            for v in range(nv):
                w = builder.load(builder.gep(p, [ir.Constant(i64, v)]), align=1)
                if wt != at:  # (float weights into integer sums only in code a float run never takes)
                    wflt = isinstance(wt, (ir.DoubleType, ir.FloatType))
                    w = (builder.fpext(w, va) if wflt else builder.sitofp(w, va)) if flt else \
                        (builder.fptosi(w, va) if wflt else builder.sext(w, va))
                s = builder.load(sums[v])
                builder.store(builder.fadd(s, w) if flt else builder.add(s, w), sums[v])
        q = builder.bitcast(builder.gep(acc_a.data, [c0v]), va.as_pointer())
        if onto:
            base_a = context.make_array(signature.args[1])(context, builder, args[1])
            bq = builder.bitcast(builder.gep(base_a.data, [c0v]), va.as_pointer())
        for v in range(nv):
            total = builder.load(sums[v])
            if onto:
                e = builder.load(builder.gep(bq, [ir.Constant(i64, v)]), align=1)
                total = builder.fadd(e, total) if flt else builder.add(e, total)
            builder.store(total, builder.gep(q, [ir.Constant(i64, v)]), align=1)
        return context.get_dummy_value()

    if onto:
        @intrinsic
        def colsum_onto(typingctx, acc, base, W, offs, nk, c0):
            return types.void(acc, base, W, offs, nk, c0), codegen

        return colsum_onto

    @intrinsic
    def colsum(typingctx, acc, W, offs, nk, c0):
        return types.void(acc, W, offs, nk, c0), codegen

    return colsum


_colsum_tile = _make_colsum(TILE_VECS)
_colsum_vec = _make_colsum(1)
_colsum_tile_onto = _make_colsum(TILE_VECS, onto=True)
_colsum_vec_onto = _make_colsum(1, onto=True)


# ---- graded payloads times float64 weights in register tiles (few sources: the host input's projection) -------------
# A graded block's input to one sample is sum_k payload[k] W[k] (the weight row of source k), the interpreter's
# :func:`_row_into`: each element's products added in ascending k from zero, a multiply then an IEEE addition (no
# fused multiply-add). Here a tile of TILE_VECS vectors of those sums stays in registers while every source's
# product is added (:func:`_gemv_tile`): the same operations in the same order, hence the same bits, where a GEMM
# library sums in its own order. A zero payload's products (+-0.0) are added too, where _row_into skips the source:
# that changes no sum (a sum from +0.0 is never -0.0, and x + +-0.0 == x) while the weights are finite (the caller
# checks: 0 * inf is NaN).
def _make_gemv(nv: int, onto: bool, rows: int = 1):
    """An intrinsic ``f(acc, x, Wp, n, g, off, c0)``: ``acc[c0 + i] (+)= sum_{k < n} x[k] Wp[off + k g + i]`` for
    i < nv L (L = VEC_BYTES / 8; float64 throughout): the weights of a group of g columns stored (n, g) row-major
    at ``off`` (:func:`gemv_pack`), the sum from +0.0 in ascending k, each term a multiply then an addition, in nv
    vectors held in registers. ``onto``: acc[c0 + i] + sum (one IEEE addition of the finished sum: a block's sum
    formed alone and added to the port's running sum), else the sum is stored. ``rows=2``: two rows at once,
    ``f(acc0, acc1, x0, x1, Wp, n, g, off, c0)``, each weight vector loaded once for both rows' products (2 nv sums
    in registers); each row's sums are exactly the one-row form's (the same multiplies and additions in the same
    order)."""
    if rows not in (1, 2):
        raise ValueError(f"rows must be 1 or 2, got {rows}")

    def codegen(context, builder, signature, args):
        accs = [context.make_array(signature.args[q])(context, builder, args[q]) for q in range(rows)]
        xs = [context.make_array(signature.args[q])(context, builder, args[q]) for q in range(rows, 2 * rows)]
        w_a = context.make_array(signature.args[2 * rows])(context, builder, args[2 * rows])
        dt = ir.DoubleType()
        lanes = VEC_BYTES // 8
        va = ir.VectorType(dt, lanes)
        zero = ir.Constant(va, [0.0] * lanes)
        sums = [[cgutils.alloca_once_value(builder, zero) for _ in range(nv)] for _ in range(rows)]  # registers
        i64, i32 = ir.IntType(64), ir.IntType(32)
        n, g, off, c0 = (builder.sext(a, i64) if a.type != i64 else a for a in args[2 * rows + 1:2 * rows + 5])
        mask = ir.Constant(ir.VectorType(i32, lanes), [0] * lanes)
        with cgutils.for_range(builder, n) as loop:
            pvs = []
            for x_a in xs:
                p = builder.load(builder.gep(x_a.data, [loop.index]))
                pvs.append(builder.shuffle_vector(builder.insert_element(ir.Constant(va, ir.Undefined), p,
                                                                         ir.Constant(i32, 0)),
                                                  ir.Constant(va, ir.Undefined), mask))
            q = builder.bitcast(builder.gep(w_a.data, [builder.add(builder.mul(loop.index, g), off)]), va.as_pointer())
            for v in range(nv):
                w = builder.load(builder.gep(q, [ir.Constant(i64, v)]), align=8)
                for r in range(rows):
                    s_ = builder.load(sums[r][v])
                    builder.store(builder.fadd(s_, builder.fmul(pvs[r], w)), sums[r][v])
        for r in range(rows):
            o = builder.bitcast(builder.gep(accs[r].data, [c0]), va.as_pointer())
            for v in range(nv):
                total = builder.load(sums[r][v])
                ptr = builder.gep(o, [ir.Constant(i64, v)])
                if onto:
                    total = builder.fadd(builder.load(ptr, align=8), total)
                builder.store(total, ptr, align=8)
        return context.get_dummy_value()

    if rows == 1:
        @intrinsic
        def gemv(typingctx, acc, x, Wp, n, g, off, c0):
            return types.void(acc, x, Wp, n, g, off, c0), codegen

        return gemv

    @intrinsic
    def gemv2(typingctx, acc0, acc1, x0, x1, Wp, n, g, off, c0):
        return types.void(acc0, acc1, x0, x1, Wp, n, g, off, c0), codegen

    return gemv2


GEMV_PAIRS = _host_feature("avx512f")  # graded_rows' tiles two rows at a time (2 x 8 sums + 8 weights + 2
# broadcasts: 26 of the 32 zmm registers; with 16 registers they would spill)
_gemv_tile = _make_gemv(TILE_VECS, False)
_gemv_tile2 = _make_gemv(TILE_VECS, False, rows=2)
_gemv_tile2_onto = _make_gemv(TILE_VECS, True, rows=2)
_gemv_vec = _make_gemv(1, False)
_gemv_tile_onto = _make_gemv(TILE_VECS, True)
_gemv_vec_onto = _make_gemv(1, True)


@njit(**INLINE)
def _gemv_group(c0, m):
    """The width of the column group of :func:`graded_rows` that starts at column c0 of m: a tile, a vector or
    the rest."""
    L = VEC_BYTES // 8
    if c0 + TILE_VECS * L <= m:
        return TILE_VECS * L
    if c0 + L <= m:
        return L
    return m - c0


@njit(**JIT)
def gemv_pack(W):
    """float64 weights ``W`` (n, m) regrouped for :func:`graded_rows`: column group [c0, c0 + g) (tiles of
    TILE_VECS vectors, then single vectors, then the rest: :func:`_gemv_group`) stored (n, g) row-major at
    offset c0 n, so that a tile's weights are contiguous (rows of W 4 KB apart all fall into one L1 set)."""
    n, m = W.shape
    Wp = np.empty(n * m, np.float64)
    c0 = 0
    while c0 < m:
        g = _gemv_group(c0, m)
        for k in range(n):
            for c in range(g):
                Wp[c0 * n + k * g + c] = W[k, c0 + c]
        c0 += g
    return Wp


@njit(**JIT)
def graded_rows(rows, Wp, m, out, a0, onto):
    """out[i, a0:a0+m] (+)= rows[i] @ W for graded float64 payloads ``rows`` (N, n) (C-contiguous) and float64
    weights W (n, m) (finite), packed by :func:`gemv_pack` into ``Wp``: per row the interpreter's
    :func:`_row_into` sums (ascending sources from +0.0, multiply then add: the same bits), a column group at a
    time over every row (its weights stay in L1) in register tiles, then single vectors, then element by element.
    ``onto``: each sum added to ``out`` (one addition, a block's sum added to the port's running sum), else
    written. ``out`` (N, A) float64 with unit stride along A."""
    N, n = rows.shape
    L = VEC_BYTES // 8
    c0 = 0
    while c0 < m:
        g = _gemv_group(c0, m)
        off = c0 * n
        i0 = 0
        if GEMV_PAIRS and g == TILE_VECS * L:  # two rows per pass over the tile's weights
            while i0 + 2 <= N:
                acc, acc1 = out[i0, a0:a0 + m], out[i0 + 1, a0:a0 + m]
                if onto:
                    _gemv_tile2_onto(acc, acc1, rows[i0], rows[i0 + 1], Wp, n, g, off, c0)
                else:
                    _gemv_tile2(acc, acc1, rows[i0], rows[i0 + 1], Wp, n, g, off, c0)
                i0 += 2
        for i in range(i0, N):
            acc = out[i, a0:a0 + m]
            if g == TILE_VECS * L:
                if onto:
                    _gemv_tile_onto(acc, rows[i], Wp, n, g, off, c0)
                else:
                    _gemv_tile(acc, rows[i], Wp, n, g, off, c0)
            elif g == L:
                if onto:
                    _gemv_vec_onto(acc, rows[i], Wp, n, g, off, c0)
                else:
                    _gemv_vec(acc, rows[i], Wp, n, g, off, c0)
            else:
                x = rows[i]
                for c in range(g):
                    s = 0.0
                    for k in range(n):
                        s = s + x[k] * Wp[off + k * g + c]
                    acc[c0 + c] = acc[c0 + c] + s if onto else s
        c0 += g


def lanes(a):
    """VEC_BYTES / the item size of array ``a``: the elements of one accumulator vector of :func:`_colsums`."""
    return VEC_BYTES // a.itemsize


@overload(lanes, jit_options=JIT)
def _lanes(a):
    n = VEC_BYTES // (a.dtype.bitwidth // 8)
    return lambda a: n


COMPRESS = _host_feature("avx512f")  # _active_offsets: eight sources at a time, compressed in a register (_compress8)
COMPRESS_LANES = 8


@intrinsic
def _compress8(typingctx, srow, offs, k0, nk, w0, m):
    """``offs[nk : nk + c] = w0 + k m`` for the c sources k in [k0, k0 + 8) with ``srow[k] != 0``, ascending (a
    compare of eight payloads to zero, the eight offsets compressed in a register by AVX-512's
    ``llvm.x86.avx512.mask.compress``, all eight lanes stored); returns nk + c. ``srow`` (unit stride) needs k0 + 8
    elements, ``offs`` (int64) nk + 8: the c values, then scratch. Run with AVX-512 only (:data:`COMPRESS`; without
    it :func:`_active_offsets` runs its scalar loop). The comparison is the scalar ``!= 0``
    (float: unordered, so NaN counts as sent and -0.0 does not)."""
    def codegen(context, builder, signature, args):
        s_a = context.make_array(signature.args[0])(context, builder, args[0])
        o_a = context.make_array(signature.args[1])(context, builder, args[1])
        i64, i1 = ir.IntType(64), ir.IntType(1)
        L = COMPRESS_LANES
        k0_, nk_, w0_, m_ = (builder.sext(a, i64) if a.type != i64 else a for a in args[2:6])
        et = context.get_data_type(signature.args[0].dtype)
        vt = ir.VectorType(et, L)
        v = builder.load(builder.bitcast(builder.gep(s_a.data, [k0_]), vt.as_pointer()), align=1)
        if isinstance(et, (ir.DoubleType, ir.FloatType)):
            mask = builder.fcmp_unordered("!=", v, ir.Constant(vt, [0.0] * L))
        else:
            mask = builder.icmp_unsigned("!=", v, ir.Constant(vt, [0] * L))
        v64 = ir.VectorType(i64, L)

        def splat(x):
            u = builder.insert_element(ir.Constant(v64, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
            return builder.shuffle_vector(u, ir.Constant(v64, ir.Undefined), ir.Constant(ir.VectorType(ir.IntType(32), L), [0] * L))

        base = builder.add(w0_, builder.mul(k0_, m_))
        vals = builder.add(splat(base), builder.mul(ir.Constant(v64, list(range(L))), splat(m_)))
        dst = builder.gep(o_a.data, [nk_])
        if COMPRESS:  # compress in a register, store all eight (vpcompressq to memory is microcoded on Zen 4: 1.7x
            # slower than the scalar loop); the lanes past the c values land in offs' slack (the caller's check)
            fnty = ir.FunctionType(v64, [v64, v64, ir.VectorType(i1, L)])
            fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.x86.avx512.mask.compress.v{L}i64")
            packed = builder.call(fn, [vals, ir.Constant(v64, [0] * L), mask])
            builder.store(packed, builder.bitcast(dst, v64.as_pointer()), align=8)
        else:  # a lowering every target can select, should this be compiled without AVX-512 (it is not run there:
            # _active_offsets takes its scalar loop)
            fnty = ir.FunctionType(ir.VoidType(), [v64, i64.as_pointer(), ir.VectorType(i1, L)])
            fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.masked.compressstore.v{L}i64")
            builder.call(fn, [vals, dst, mask])
        cnt = builder.ctpop(builder.bitcast(mask, ir.IntType(L)))
        return builder.add(nk_, builder.zext(cnt, i64))

    return types.int64(srow, offs, k0, nk, w0, m), codegen


@njit(**JIT)
def _active_offsets(srow, offs, w0, m):
    """offs[:nk] = w0 + k m for the sources k that sent (nonzero payload), ascending; returns nk. Branch-free (a
    spike is a coin flip to the branch predictor: 4x faster at firing rate 0.15); offs needs srow's length. With
    AVX-512 (:data:`COMPRESS`) eight sources at a time (:func:`_compress8`), the rest one by one: the same offsets."""
    nk = 0
    k = 0
    if COMPRESS:
        ns = srow.shape[0]
        while k + COMPRESS_LANES <= ns and nk + COMPRESS_LANES <= offs.shape[0]:  # all eight lanes are stored
            nk = _compress8(srow, offs, k, nk, w0, m)
            k += COMPRESS_LANES
    for k in range(k, srow.shape[0]):
        offs[nk] = w0 + k * m
        nk += 1 if srow[k] != 0 else 0
    return nk


@njit(**INLINE)
def _colsums_to(acc, base, onto, srow, W, w0, m, offs):
    """:func:`_colsums`; with ``onto`` (a constant at each call site) acc[c] = base[c] + the sum instead."""
    nk = _active_offsets(srow, offs, w0, m)
    L = lanes(acc)
    tw = TILE_VECS * L
    c0 = 0
    while c0 + tw <= m:
        if onto:
            _colsum_tile_onto(acc, base, W, offs, nk, c0)
        else:
            _colsum_tile(acc, W, offs, nk, c0)
        c0 += tw
    while c0 + L <= m:
        if onto:
            _colsum_vec_onto(acc, base, W, offs, nk, c0)
        else:
            _colsum_vec(acc, W, offs, nk, c0)
        c0 += L
    for c in range(c0, m):
        acc[c] = 0
        for q in range(nk):
            acc[c] += W[offs[q] + c]
        if onto:
            acc[c] = base[c] + acc[c]
    return nk


@njit(**JIT)
def _colsums(acc, srow, W, w0, m, offs):
    """acc[:m] = sum of W[w0 + k m : w0 + (k+1) m] over the sources k that sent (srow[k] != 0), each element's sum
    from zero in ascending k (in acc's type: int8 weights into int32, float64 or float32 into float64): register tiles
    (:func:`_colsum_tile`), then single vectors, then element by element. ``offs`` (int64, >= len(srow)) scratch.
    Returns the number of sources that sent."""
    return _colsums_to(acc, acc, False, srow, W, w0, m, offs)


@njit(**JIT)
def _colsums_onto(acc, base, srow, W, w0, m, offs):
    """acc[:m] = base[:m] + :func:`_colsums` (acc and base distinct): a block's column sums added to the port's
    running sum ``base`` as it is written, each sum from zero then one addition (the bits of forming the sum alone
    and adding it), without storing the sums and reloading them."""
    return _colsums_to(acc, base, True, srow, W, w0, m, offs)


@njit(**JIT)
def _active(srow, idx):
    """The indices of the sources that sent (nonzero payload) into idx; their number."""
    nk = 0
    for k in range(srow.shape[0]):
        if srow[k] != 0:
            idx[nk] = k
            nk += 1
    return nk


@njit(**JIT)
def _sum8_graded(acc, srow, W8, w0, m, idx):
    """acc (m,) int32 = sum_k srow[k] W8[w0 + k m : ...] over the sources that sent, four at a time (int8 weights:
    a quarter of int32's memory traffic; the caller checked that no sum can overflow)."""
    nk = _active(srow, idx)
    acc[:] = 0
    k = 0
    while k + 3 < nk:
        i0, i1, i2, i3 = idx[k], idx[k + 1], idx[k + 2], idx[k + 3]
        a, b = W8[w0 + i0 * m:w0 + i0 * m + m], W8[w0 + i1 * m:w0 + i1 * m + m]
        c_, d = W8[w0 + i2 * m:w0 + i2 * m + m], W8[w0 + i3 * m:w0 + i3 * m + m]
        p0, p1, p2, p3 = np.int32(srow[i0]), np.int32(srow[i1]), np.int32(srow[i2]), np.int32(srow[i3])
        for c in range(m):  # each partial sum truncated to int32 (exact: no overflow), so that LLVM keeps the
            # loop in 32-bit lanes (numba types int32 * int32 as int64: without the casts it is int64 multiplies,
            # emulated on AVX2, 2.3x slower on the AMD EPYC of the bench)
            r = np.int32(acc[c] + p0 * np.int32(a[c]))
            r = np.int32(r + p1 * np.int32(b[c]))
            r = np.int32(r + p2 * np.int32(c_[c]))
            acc[c] = r + p3 * np.int32(d[c])
        k += 4
    while k < nk:
        i0 = idx[k]
        a = W8[w0 + i0 * m:w0 + i0 * m + m]
        p0 = np.int32(srow[i0])
        for c in range(m):
            acc[c] += p0 * np.int32(a[c])
        k += 1


@njit(**JIT)
def _sum8_binary(acc, srow, W8, w0, m, idx):
    """:func:`_sum8_graded` for binary spikes: column additions (:func:`_colsums`, int32 tiles of int8 weights)."""
    _colsums(acc, srow, W8, w0, m, idx)


P16_MAX = 1 << 15  # graded payloads below this in magnitude are int16: products by pairs of sources (_sum8_pairs)


def _has_madd() -> bool:
    """Whether the kernels are compiled for this host and it has AVX2 (``vpmaddwd`` on 256-bit vectors;
    :func:`_host_feature`)."""
    return _host_feature("avx2")


HAVE_MADD = _has_madd()


@intrinsic
def _madd4(typingctx, acc, W8, o0, o1, o2, o3, q0, q1, q2, q3, n8):
    """acc[8i : 8i+8] (int32) += sum_j pmaddwd(W8[o_j + 16i : o_j + 16i + 16] as int16, q_j) for i < n8: four pairs
    of sources at once, each 16 int8 mantissas (8 outputs x the pair's two sources, interleaved) sign-extended
    and multiplied by the pair's int16 payloads (q_j: low 16 bits the first source's, high 16 the second's),
    adjacent products summed in int32 (``vpmaddwd``, exact: |payload| < 2**15, |mantissa| <= 128). Without AVX2
    (:data:`HAVE_MADD` False) never called: the caller takes the columns."""
    sig = types.void(acc, W8, o0, o1, o2, o3, q0, q1, q2, q3, n8)

    def codegen(context, builder, signature, args):
        acc_a = context.make_array(signature.args[0])(context, builder, args[0])
        w_a = context.make_array(signature.args[1])(context, builder, args[1])
        i32, i16, i8 = ir.IntType(32), ir.IntType(16), ir.IntType(8)
        v8i32, v16i8, v16i16 = ir.VectorType(i32, 8), ir.VectorType(i8, 16), ir.VectorType(i16, 16)
        madd = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v8i32, [v16i16, v16i16]),
                                              "llvm.x86.avx2.pmadd.wd")
        accp = builder.bitcast(acc_a.data, v8i32.as_pointer())
        wps = [builder.bitcast(builder.gep(w_a.data, [o]), v16i8.as_pointer()) for o in args[2:6]]
        qs = []
        for q in args[6:10]:
            v = builder.insert_element(ir.Constant(v8i32, ir.Undefined), builder.trunc(q, i32), ir.Constant(i32, 0))
            v = builder.shuffle_vector(v, ir.Constant(v8i32, ir.Undefined), ir.Constant(v8i32, [0] * 8))
            qs.append(builder.bitcast(v, v16i16))
        with cgutils.for_range(builder, args[10]) as loop:
            i = loop.index
            ap = builder.gep(accp, [i])
            a = builder.load(ap, align=4)
            for wp, q in zip(wps, qs):
                w = builder.sext(builder.load(builder.gep(wp, [i]), align=1), v16i16)
                a = builder.add(a, builder.call(madd, [w, q]))
            builder.store(a, ap, align=4)
        return context.get_dummy_value()

    return sig, codegen


@njit(**INLINE)
def _pair(srow, kp):
    """The int16 payloads of sources 2kp and 2kp + 1 (0 past the end) packed as _madd4 takes them."""
    lo = np.int64(srow[2 * kp])  # integer payloads (the interpreter also types this for float, never runs it)
    hi = np.int64(srow[2 * kp + 1]) if 2 * kp + 1 < srow.shape[0] else np.int64(0)
    return (lo & 0xFFFF) | ((hi & 0xFFFF) << 16)


@njit(**JIT)
def _sum8_pairs(acc, srow, W8, wp0, m, idx):
    """acc (m,) int32 = sum_k srow[k] W[k] for int16-range payloads over the pair layout of the mantissas at
    ``wp0`` (W8[wp0 + kp 2m + 2c + h] = mantissa of source 2kp + h for output c; an odd source count padded with a
    zero source): pairs of sources in which one sent, four pairs per pass over the outputs (:func:`_madd4`: 16
    products per instruction, twice the int32 columns' lanes), the outputs past a multiple of 8 one by one. Exact:
    the caller checked that max |payload| times the largest column sum of |mantissas| is below 2**31."""
    ns = srow.shape[0]
    npairs = (ns + 1) // 2
    nk = 0
    for kp in range(npairs):
        if srow[2 * kp] != 0 or (2 * kp + 1 < ns and srow[2 * kp + 1] != 0):
            idx[nk] = kp
            nk += 1
    acc[:] = 0
    n8 = m // 8
    w2 = 2 * m
    k = 0
    while k + 3 < nk:
        a, b, c, d = idx[k], idx[k + 1], idx[k + 2], idx[k + 3]
        _madd4(acc, W8, wp0 + a * w2, wp0 + b * w2, wp0 + c * w2, wp0 + d * w2, _pair(srow, a), _pair(srow, b),
               _pair(srow, c), _pair(srow, d), n8)
        k += 4
    while k < nk:
        a = idx[k]
        o = wp0 + a * w2
        _madd4(acc, W8, o, o, o, o, _pair(srow, a), 0, 0, 0, n8)
        k += 1
    for c in range(8 * n8, m):
        s = np.int32(0)
        for k in range(nk):
            kp = idx[k]
            o = wp0 + kp * w2 + 2 * c
            hi = srow[2 * kp + 1] if 2 * kp + 1 < ns else 0
            s += np.int32(srow[2 * kp]) * np.int32(W8[o]) + np.int32(hi) * np.int32(W8[o + 1])
        acc[c] = s


@njit(**INLINE)
def _add_int32(row, t, m, ex):
    """row[:m] += floor(t[:m] 2**ex): int32 block sums widened to int64 and scaled (synapses.shift_floor)."""
    if ex >= 0:
        for c in range(m):
            row[c] += np.int64(t[c]) << ex
    else:
        for c in range(m):
            row[c] += np.int64(t[c]) >> (-ex)


@njit(**INLINE)
def _set_int32(row, t, m, ex):
    """row[:m] = floor(t[:m] 2**ex) (:func:`_add_int32` into a port not yet zeroed)."""
    if ex >= 0:
        for c in range(m):
            row[c] = np.int64(t[c]) << ex
    else:
        for c in range(m):
            row[c] = np.int64(t[c]) >> (-ex)


@njit(**JIT)
def _block_narrow(dst, d0, src, s0, ns, W, W8, w0, m, graded, ex, ex8, T32, idx, rsum, wp0, assign=False):
    """Fixed point: the block's sum over the int8 mantissas in int32 where that is provably exact (max |payload|
    times the largest column sum of |mantissas| below 2**31, checked per sample), then scaled by 2**exp (floor for
    exp < 0, as synapses.shift_floor); else in int64 (:func:`_row_into`, weights ``W`` scaled when exp >= 0).
    Nothing sent: nothing added. Graded payloads of int16 range from a block with its mantissas also in the pair
    layout (``wp0`` >= 0), with AVX2: by pairs of sources (:func:`_sum8_pairs`). ``assign`` (binary blocks only):
    the first block of a port not zeroed, its sums written instead of added (zeros where nothing was sent)."""
    for b in range(dst.shape[0]):
        srow = src[b, s0:s0 + ns]
        row = dst[b, d0:d0 + m]
        if not graded:  # binary: the int32 sums are exact (pmax 1); none sent: the sums are zero
            t = T32[b, :m]
            if _colsums(t, srow, W8, w0, m, idx):
                if assign:
                    _set_int32(row, t, m, ex8)
                else:
                    _add_int32(row, t, m, ex8)
            elif assign:
                for c in range(m):
                    row[c] = 0
            continue
        pmax, nk = 1, 0
        for k in range(ns):
            if srow[k] != 0:
                nk += 1
                if graded:
                    pmax = max(pmax, abs(srow[k]))
        if nk == 0:
            continue
        if pmax * rsum < 2147483648:
            t = T32[b, :m]
            if graded and HAVE_MADD and wp0 >= 0 and pmax < P16_MAX:
                _sum8_pairs(t, srow, W8, wp0, m, idx)
            else:
                _sum8_graded(t, srow, W8, w0, m, idx)
            _add_int32(row, t, m, ex8)
        elif ex >= 0:
            _row_into(row, srow, W, w0, m, graded)
        else:
            t64 = np.zeros(m, np.int64)
            _row_into(t64, srow, W, w0, m, graded)
            for c in range(m):
                row[c] += shifted(t64[c], ex)


@njit(**INLINE)
def _first_live(j, t, q, POP, BLK):
    """The first block into port q of population j that delivers at step t (lag <= t), or -1."""
    b0 = POP[j, K_B0]
    for k in range(b0, b0 + POP[j, K_NB]):
        if BLK[k, B_PORT] == q and t >= BLK[k, B_LAG]:
            return k
    return -1


@njit(**JIT)
def _port_inputs(j, t, tt, POP, BLK, W, W8, ACC, TMP, T32, IDX, HIST, E):
    """Population j's synaptic input at global step t into ``ACC`` (:func:`_port_inputs_into`)."""
    _port_inputs_into(j, t, tt, POP, BLK, W, W8, ACC, TMP, T32, IDX, HIST, E, False)


@njit(**JIT)
def _port_inputs_into(j, t, tt, POP, BLK, W, W8, ACC, TMP, T32, IDX, HIST, E, in_place):
    """The synaptic input of population j at global step t: ``E[tt]`` (inputs computed beforehand) or zero, then
    every live block in order (a block of lag L reads what its source sent at step t - L; nothing before step L).
    Each block's sum starts from zero and is added to the port's running sum, in the block order (float: the same
    rounding whatever else the port receives); fixed point adds exact integers (exponent < 0: floor of the
    block's sum, an arithmetic shift), over int8 mantissas in int32 where that is provably exact
    (:func:`_block_narrow`). ``in_place``: ``ACC`` is ``E[tt]`` itself (fixed point, :func:`run_fixed`): the ports
    that start from it are left as they are, not copied. Float: a port whose first live block is binary spikes
    over all its columns is written in one pass, ``E[tt]`` (or zero) plus that block's column sums
    (:func:`_colsums_onto`: the same additions, without copying ``E[tt]`` first and storing the sums apart)."""
    B, R = ACC.shape[0], HIST.shape[0]
    fresh0, fresh1 = True, True
    onto0, onto1 = -1, -1  # float: the block written onto port 0 / 1 as its first (-1: none)
    first0, first1 = -1, -1  # fixed point: a port that starts from zero and whose first live block is binary over
    # int8 mantissas over all its columns gets that block's sums written, not zeros and then added
    fixed = exact(ACC[0, 0])
    b0 = POP[j, K_B0]
    for q in range(2):
        a0, w = POP[j, K_A0 + 2 * q], POP[j, K_AW0 + 2 * q]
        if w == 0:
            continue
        use_e = POP[j, K_E0 + q] != 0
        k1 = _first_live(j, t, q, POP, BLK)
        if k1 >= 0 and BLK[k1, B_GRADED] == 0 and BLK[k1, B_M] == w:
            if not fixed and BLK[k1, B_RSUM] < 0:
                if q == 0:
                    onto0 = k1
                else:
                    onto1 = k1
                continue
            if fixed and not use_e and BLK[k1, B_RSUM] >= 0:
                if q == 0:
                    first0 = k1
                else:
                    first1 = k1
                continue
        for b in range(B):
            row = ACC[b, a0:a0 + w]
            if use_e:
                if not in_place:
                    row[:] = E[tt, b, a0:a0 + w]
            else:
                row[:] = 0
        if use_e:
            if q == 0:
                fresh0 = False
            else:
                fresh1 = False
    for k in range(b0, b0 + POP[j, K_NB]):
        lag = BLK[k, B_LAG]
        if t < lag:
            continue
        src = HIST[(t - lag) % R]
        q = BLK[k, B_PORT]
        a0, m, ex, graded = POP[j, K_A0 + 2 * q], BLK[k, B_M], BLK[k, B_EXP], BLK[k, B_GRADED] != 0
        s0, ns, w0 = BLK[k, B_SOUT], BLK[k, B_NSRC], BLK[k, B_W]
        fresh = fresh0 if q == 0 else fresh1
        if BLK[k, B_RSUM] >= 0:
            _block_narrow(ACC, a0, src, s0, ns, W, W8, w0, m, graded, ex, BLK[k, B_EXP8], T32, IDX, BLK[k, B_RSUM],
                          BLK[k, B_W8P], k == (first0 if q == 0 else first1))
        elif not graded:  # binary spikes: the block's column sums (register tiles), added to the port's sum (a
            # fresh port's zeros: the same bits as summing into it)
            f32 = not exact(ACC[0, 0]) and W8.shape[0] == W.shape[0]  # float: W's float32 twin (layout.f32_twin)
            if k == (onto0 if q == 0 else onto1):  # the port's first block: written onto E[tt] (or as the sums:
                # a fresh port's zeros plus sums that are never -0.0, the tiles adding to +0.0)
                use_e = POP[j, K_E0 + q] != 0
                for b in range(B):
                    row, srow = ACC[b, a0:a0 + m], src[b, s0:s0 + ns]
                    if use_e and f32:
                        _colsums_onto(row, E[tt, b, a0:a0 + m], srow, W8, w0, m, IDX)
                    elif use_e:
                        _colsums_onto(row, E[tt, b, a0:a0 + m], srow, W, w0, m, IDX)
                    elif f32:
                        _colsums(row, srow, W8, w0, m, IDX)
                    else:
                        _colsums(row, srow, W, w0, m, IDX)
                if q == 0:
                    fresh0 = False
                else:
                    fresh1 = False
                continue
            for b in range(B):
                tmp = TMP[b, :m]
                if f32:  # widened to float64 as read: the same sums, half the memory traffic
                    _colsums(tmp, src[b, s0:s0 + ns], W8, w0, m, IDX)
                else:
                    _colsums(tmp, src[b, s0:s0 + ns], W, w0, m, IDX)
                row = ACC[b, a0:a0 + m]
                for c in range(m):
                    row[c] += shifted(tmp[c], ex)
        elif ex >= 0 and (fresh or exact(ACC[0, 0])):
            _block_into(ACC, a0, src, s0, ns, W, w0, m, graded)
        else:
            for b in range(B):
                tmp = TMP[b, :m]
                tmp[:] = 0
                _row_into(tmp, src[b, s0:s0 + ns], W, w0, m, graded)
                row = ACC[b, a0:a0 + m]
                for c in range(m):
                    row[c] += shifted(tmp[c], ex)
        if q == 0:
            fresh0 = False
        else:
            fresh1 = False


@njit(**JIT)
def _record(j, tt, POP, ST, OUT, VREC):
    """Keep what the host reads of population j at step tt: the payload sent and/or the value (read_value)."""
    n, o0, sc, vc, vs = POP[j, K_N], POP[j, K_OUT], POP[j, K_SENT], POP[j, K_VAL], POP[j, K_VST]
    for b in range(ST.shape[0]):
        if sc >= 0:
            for i in range(n):
                VREC[tt, b, sc + i] = OUT[b, o0 + i]
        if vc >= 0:
            for i in range(n):
                VREC[tt, b, vc + i] = ST[b, vs + i]


@njit(**JIT)
def _count(tt, r, POP, BLK, FAN, MASKS, EVC, SOC):
    """Activity of step tt (stats.count_activity, per step): events per population, synaptic operations per block
    (events of its source this step times each source neuron's fan-out)."""
    B = MASKS.shape[1]
    for j in range(POP.shape[0]):
        n, o0 = POP[j, K_N], POP[j, K_OUT]
        e = 0
        for b in range(B):
            for i in range(n):
                e += MASKS[r, b, o0 + i]
        EVC[tt, j] = e
    for k in range(BLK.shape[0]):
        s0, f0 = BLK[k, B_SOUT], BLK[k, B_FAN]
        e = 0
        for b in range(B):
            for i in range(BLK[k, B_NSRC]):
                if MASKS[r, b, s0 + i]:
                    e += FAN[f0 + i]
        SOC[tt, BLK[k, B_ID]] = e


@njit(**JIT)
def _outputs(r, yr, POP, ST, MASKS, OUTS, OSCALE, Y, fixed):
    """The network output of the step (backends.base.decode_outputs) into Y[yr] from the masks MASKS[r]: spikes as
    0/1, values (fixed: times 2**-out_frac_bits)."""
    for q in range(OUTS.shape[0]):
        j, y0 = OUTS[q, 0], OUTS[q, 1]
        n, o0, vs = POP[j, K_N], POP[j, K_OUT], POP[j, K_VST]
        for b in range(ST.shape[0]):
            for i in range(n):
                if POP[j, K_SPK]:
                    Y[yr, b, y0 + i] = 1.0 if MASKS[r, b, o0 + i] else 0.0
                elif fixed:
                    Y[yr, b, y0 + i] = float(ST[b, vs + i]) * OSCALE[q]
                else:
                    Y[yr, b, y0 + i] = ST[b, vs + i]


@njit(**JIT)
def _finite(X, tt):
    for b in range(X.shape[1]):
        for i in range(X.shape[2]):
            if not math.isfinite(X[tt, b, i]):
                return False
    return True


@njit(**INLINE)
def _e_only(j, POP):
    """Whether population j's input is exactly ``E[tt]``: no live blocks, and every port of nonzero width starts
    from the precomputed inputs (the kernels then read ``E[tt]`` itself, not a copy of it in ``ACC``: they never
    write their input)."""
    if POP[j, K_NB] != 0:
        return False
    for q in range(2):
        if POP[j, K_AW0 + 2 * q] != 0 and POP[j, K_E0 + q] == 0:
            return False
    return True


@njit(**INLINE)
def _any_e(j, POP):
    """Whether a port of population j (of nonzero width) starts from the precomputed inputs ``E``."""
    for q in range(2):
        if POP[j, K_AW0 + 2 * q] != 0 and POP[j, K_E0 + q] != 0:
            return True
    return False


# ---- the interpreters: a unit of populations over steps t0 .. t0+T-1 ----------------------------------------------
@njit(**JIT)
def run_fixed(t0, T, POP, BLK, W, W8, P, ST, ACC, TMP, T32, IDX, HIST, E, X, MASKS, VREC, EVC, SOC, FAN,
              OUTS, OSCALE, Y):
    """Step the populations of POP (in order) T times in fixed point. Per step: each population's synaptic input
    (:func:`_port_inputs`), its kind's step, then recording (``MASKS``/``VREC``/``Y``: one row per step, or a
    single row reused when they have one row) and counting (``EVC``/``SOC``, one row per step, when they have
    rows). Returns 0, or k > 0 when the host input X[k-1] is not finite (nothing of that step was done)."""
    R = HIST.shape[0]
    for tt in range(T):
        if POP[0, K_KIND] == INPUT and not _finite(X, tt):
            return tt + 1
        t = t0 + tt
        OUT = HIST[t % R]
        r = tt if MASKS.shape[0] == T else 0
        MK = MASKS[r]
        for j in range(POP.shape[0]):
            kind = POP[j, K_KIND]
            if kind == INPUT:
                _input_fixed(j, POP, P, ST, X, tt, OUT, MK)
                continue
            if _e_only(j, POP):
                A = E[tt]
            elif _any_e(j, POP):  # the live blocks add into E[tt] itself (this step's row of the engine's buffer,
                # read once; exact integers: the sums of a copy of it in ACC), the other ports' columns zeroed first
                A = E[tt]
                _port_inputs_into(j, t, tt, POP, BLK, W, W8, A, TMP, T32, IDX, HIST, E, True)
            else:
                _port_inputs(j, t, tt, POP, BLK, W, W8, ACC, TMP, T32, IDX, HIST, E)
                A = ACC
            if kind == LIF:
                _lif_fixed(j, POP, P, ST, A, OUT, MK)
            elif kind == SLSTM:
                _slstm_fixed(j, POP, P, ST, A, OUT, MK)
            elif kind == SGRU:
                _sgru_fixed(j, POP, P, ST, A, OUT, MK)
            elif kind == ADLIF:
                _adlif_fixed(j, POP, P, ST, A, OUT, MK)
            elif kind == ALSTM:
                _alstm_fixed(j, POP, P, ST, A, OUT, MK)
            elif kind == AGRU:
                _agru_fixed(j, POP, P, ST, A, OUT, MK)
            elif kind == SDRNN:
                _sdrnn_fixed(j, POP, P, ST, A, OUT, MK)
            elif kind == SDLSTM:
                _sdlstm_fixed(j, POP, P, ST, A, OUT, MK)
            elif kind == SDGRU:
                _sdgru_fixed(j, POP, P, ST, A, OUT, MK)
            else:
                _readout_fixed(j, POP, P, ST, A, OUT, MK)
        for j in range(POP.shape[0]):
            _record(j, r if VREC.shape[0] != T else tt, POP, ST, OUT, VREC)
        if EVC.shape[0]:
            _count(tt, r, POP, BLK, FAN, MASKS, EVC, SOC)
        if Y.shape[0]:
            _outputs(r, tt if Y.shape[0] == T else 0, POP, ST, MASKS, OUTS, OSCALE, Y, True)
    return 0


@njit(**JIT)
def run_float(t0, T, POP, BLK, W, W8, P, ST, ACC, TMP, T32, IDX, HIST, E, X, MASKS, VREC, EVC, SOC, FAN,
              OUTS, OSCALE, Y):
    """:func:`run_fixed` in float precision (float64 state, weights and messages)."""
    R = HIST.shape[0]
    for tt in range(T):
        if POP[0, K_KIND] == INPUT and not _finite(X, tt):
            return tt + 1
        t = t0 + tt
        OUT = HIST[t % R]
        r = tt if MASKS.shape[0] == T else 0
        MK = MASKS[r]
        for j in range(POP.shape[0]):
            kind = POP[j, K_KIND]
            if kind == INPUT:
                _input_float(j, POP, P, ST, X, tt, OUT, MK)
                continue
            if _e_only(j, POP):
                A = E[tt]
            else:
                _port_inputs(j, t, tt, POP, BLK, W, W8, ACC, TMP, T32, IDX, HIST, E)
                A = ACC
            if kind == LIF:
                _lif_float(j, POP, P, ST, A, OUT, MK)
            elif kind == SLSTM:
                _slstm_float(j, POP, P, ST, A, OUT, MK)
            elif kind == SGRU:
                _sgru_float(j, POP, P, ST, A, OUT, MK)
            elif kind == ADLIF:
                _adlif_float(j, POP, P, ST, A, OUT, MK)
            elif kind == ALSTM:
                _alstm_float(j, POP, P, ST, A, OUT, MK)
            elif kind == AGRU:
                _agru_float(j, POP, P, ST, A, OUT, MK)
            elif kind == SDRNN:
                _sdrnn_float(j, POP, P, ST, A, OUT, MK)
            elif kind == SDLSTM:
                _sdlstm_float(j, POP, P, ST, A, OUT, MK)
            elif kind == SDGRU:
                _sdgru_float(j, POP, P, ST, A, OUT, MK)
            else:
                _readout_float(j, POP, P, ST, A, OUT, MK)
        for j in range(POP.shape[0]):
            _record(j, r if VREC.shape[0] != T else tt, POP, ST, OUT, VREC)
        if EVC.shape[0]:
            _count(tt, r, POP, BLK, FAN, MASKS, EVC, SOC)
        if Y.shape[0]:
            _outputs(r, tt if Y.shape[0] == T else 0, POP, ST, MASKS, OUTS, OSCALE, Y, False)
    return 0


# ---- streaming: one step of a unit from packed buffers (engine.CompiledStream) ----------------------------------
# numba's dispatcher costs ~0.2 us per array argument (~5 us for the interpreters' 24 on the 2-core AMD EPYC of the
# benchmarks, more than the work of a small step): a stream packs its tables and state once into two flat buffers
# (``I``: int64 tables, ``D``: weights, parameters and state in the unit's dtype) described by a header at the
# start of ``I``, and these entry points rebuild the interpreter's arrays as views of them (no copies).
SV_POP, SV_BLK, SV_OUTS, SV_FAN, SV_IDX, SV_W, SV_P, SV_ST, SV_ACC, SV_TMP, SV_HIST, SV_E, SV_VREC = range(13)
SV_N = 13  # views; header: SV_N rows (offset, d0, d1, d2), then batch, outputs per sample, inputs, populations,
# blocks
SV_HEAD = 4 * SV_N + 5


@njit(**INLINE)
def _sv(buf, I, k):
    """View k of a packed stream buffer, 3-D (d0, d1, d2)."""
    o, d0, d1, d2 = I[4 * k], I[4 * k + 1], I[4 * k + 2], I[4 * k + 3]
    return buf[o:o + d0 * d1 * d2].reshape(d0, d1, d2)


@njit(**INLINE)
def _sv2(buf, I, k):
    o, d0, d1 = I[4 * k], I[4 * k + 1], I[4 * k + 2]
    return buf[o:o + d0 * d1].reshape(d0, d1)


@njit(**INLINE)
def _sv1(buf, I, k):
    o = I[4 * k]
    return buf[o:o + I[4 * k + 1]]


@njit(**INLINE)
def _stream_args(I, D, W8, T32, MASKS, OSCALE, x, C, t, T):
    """The interpreter's arguments after ``t0, T`` for steps t .. t+T-1 of a packed stream: views of the buffers
    (the counters' rows of those steps: ``C`` holds events (cap, populations) then synaptic operations (cap,
    blocks), cap = C.size // (populations + blocks)), the input x as X (T, B, n_in) and a fresh output Y (T, B, n_y)."""
    h = 4 * SV_N
    B, O, n_in, n_pop, n_blk = I[h], I[h + 1], I[h + 2], I[h + 3], I[h + 4]
    s0 = (C.size // (n_pop + n_blk)) * n_pop
    EVC = C[t * n_pop:(t + T) * n_pop].reshape(T, n_pop)
    SOC = C[s0 + t * n_blk:s0 + (t + T) * n_blk].reshape(T, n_blk)
    return (_sv2(I, I, SV_POP), _sv2(I, I, SV_BLK), _sv1(D, I, SV_W), W8, _sv1(D, I, SV_P), _sv2(D, I, SV_ST),
            _sv2(D, I, SV_ACC), _sv2(D, I, SV_TMP), T32, _sv1(I, I, SV_IDX), _sv(D, I, SV_HIST), _sv(D, I, SV_E),
            x.reshape(T, B, n_in), MASKS, _sv(D, I, SV_VREC), EVC, SOC, _sv1(I, I, SV_FAN), _sv2(I, I, SV_OUTS),
            OSCALE, np.empty((T, B, O), np.float64))


@njit(**INLINE)
def _stream_out(status, Y):
    if status:
        raise ValueError("x_t contains NaN or inf")  # backends.stream.NOT_FINITE (numba needs the literal)
    return Y.reshape(Y.size)


@njit(**JIT)
def stream_fixed(I, D, W8, T32, MASKS, OSCALE, x, C, t, T):
    """Fixed-point steps t .. t+T-1 of a packed stream on the host input x (T * B * n_in,) float64 (:func:`run_fixed`:
    the interpreter loops over the steps); returns the outputs (T * B * n_y,) float64. Counts each step into its
    rows of C (:func:`_stream_args`). ValueError when an input step is not finite (nothing of that step done; the
    caller checks whole sequences first)."""
    a = _stream_args(I, D, W8, T32, MASKS, OSCALE, x, C, t, T)
    return _stream_out(run_fixed(t, T, *a), a[-1])


@njit(**JIT)
def stream_float(I, D, W8, T32, MASKS, OSCALE, x, C, t, T):
    """:func:`stream_fixed` in float precision (:func:`run_float`)."""
    a = _stream_args(I, D, W8, T32, MASKS, OSCALE, x, C, t, T)
    return _stream_out(run_float(t, T, *a), a[-1])


@njit(**JIT)
def pre_block(msg, t0, T, lag, W, m, graded, ex, E, a0, TMP):
    """One block's input into ``E[tt, :, a0:a0+m]`` for steps t0 .. t0+T-1 from a source's whole message sequence
    ``msg`` (T_all, B, n_src) in the target's time (a block of lag L delivers msg[t - L]; nothing before L). The
    block's sum is formed on its own (``TMP``) and added, as in :func:`_port_inputs`."""
    B = E.shape[1]
    offs = np.empty(msg.shape[2] + COMPRESS_LANES, np.int64)  # + the lanes _compress8 stores past the count
    for tt in range(T):
        ts = t0 + tt - lag
        if ts < 0:
            continue
        for b in range(B):
            tmp = TMP[b, :m]
            if graded:
                tmp[:] = 0
                _row_into(tmp, msg[ts, b], W, 0, m, graded)
            else:
                _colsums(tmp, msg[ts, b], W, 0, m, offs)
            row = E[tt, b, a0:a0 + m]
            for c in range(m):
                row[c] += shifted(tmp[c], ex)


@njit(**JIT)
def pre_spikes_set(msg, t0, T, lag, W, m, E, a0):
    """Float: a binary block's input written into ``E[tt, :, a0:a0+m]`` for steps t0 .. t0+T-1 (zeros before its
    lag), as the first block of columns not yet zeroed: its column sums (:func:`_colsums`, float64 or their exact
    float32 twin ``W`` widened) stored there directly. The bits of :func:`pre_block` into zeroed columns (+0.0 plus
    a sum that is never -0.0: the tiles start from +0.0), without zeroing them, the scratch pass and the addition."""
    B = E.shape[1]
    offs = np.empty(msg.shape[2] + COMPRESS_LANES, np.int64)  # + the lanes _compress8 stores past the count
    for tt in range(T):
        ts = t0 + tt - lag
        for b in range(B):
            row = E[tt, b, a0:a0 + m]
            if ts < 0:
                row[:] = 0.0
            else:
                _colsums(row, msg[ts, b], W, 0, m, offs)


# ---- int8 matrix products of large batches (intmm.py) ------------------------------------------------------------
@njit(**JIT)
def max_abs(rows):
    """max |rows[i, c]| of integer payloads (N, n), any strides, as an int64 (an integer reduction: vectorised)."""
    N, n = rows.shape
    mx = 0
    for i in range(N):
        r = rows[i]
        pm = 0
        for c in range(n):
            a = abs(np.int64(r[c]))
            pm = a if a > pm else pm
        mx = pm if pm > mx else mx
    return mx


@njit(**JIT)
def byte_planes(rows, out, k):
    """Signed-byte digits of integer payloads ``rows`` (N, n) (any strides) into ``out`` (flat int8, >= k N n) as k
    planes stacked row-wise, ``out[:k N n]`` viewed (k N, n): rows[i] = sum_j out[j N + i] 256**j, each digit in
    [-128, 127] (d = ((x + 128) & 255) - 128, x = (x - d) >> 8: exact for |x| <= 127 (256**k - 1) / 255, the
    caller's bound for k; one GEMM of k N rows then multiplies every plane). Per k an unrolled loop, vectorised."""
    N, n = rows.shape
    P = out[:k * N * n].reshape(k, N, n)
    for i in range(N):
        r = rows[i]
        p0 = P[0, i]
        if k == 1:
            for c in range(n):
                p0[c] = np.int8(r[c])
        elif k == 2:
            p1 = P[1, i]
            for c in range(n):
                x = np.int64(r[c])
                d = ((x + 128) & 255) - 128
                p0[c] = np.int8(d)
                p1[c] = np.int8((x - d) >> 8)
        else:
            for c in range(n):
                x = np.int64(r[c])
                for j in range(k - 1):
                    d = ((x + 128) & 255) - 128
                    P[j, i, c] = np.int8(d)
                    x = (x - d) >> 8
                P[k - 1, i, c] = np.int8(x)


@njit(**INLINE)
def _planes_sum(R, N, k, i, c):
    """sum_j R[j N + i, c] 256**j in int64 (the int32 products of :func:`byte_planes`' k planes)."""
    v = np.int64(R[i, c])
    for j in range(1, k):
        v += np.int64(R[j * N + i, c]) << (8 * j)
    return v


@njit(**JIT)
def add_planes(res, N, k, ex, out, a0, assign):
    """out[i, a0:a0+m] += floor((sum_{j<k} res[j N + i] 256**j) * 2**ex) for rows i < N (``assign``: = instead of
    +=): the int32 products (k N, m) of :func:`byte_planes`' stacked planes recombined exactly in int64, then the
    block's exponent (an arithmetic shift, as synapses.shift_floor)."""
    m = res.shape[1]
    sl = ex if ex > 0 else 0
    sr = -ex if ex < 0 else 0
    for i in range(N):
        row = out[i, a0:a0 + m]
        if k == 1:
            r0 = res[i]
            if assign:
                for c in range(m):
                    row[c] = (np.int64(r0[c]) << sl) >> sr
            else:
                for c in range(m):
                    row[c] += (np.int64(r0[c]) << sl) >> sr
        elif k == 2:
            r0, r1 = res[i], res[N + i]
            if assign:
                for c in range(m):
                    row[c] = ((np.int64(r0[c]) + (np.int64(r1[c]) << 8)) << sl) >> sr
            else:
                for c in range(m):
                    row[c] += ((np.int64(r0[c]) + (np.int64(r1[c]) << 8)) << sl) >> sr
        elif k == 3:  # the quantised host input: unrolled like k == 2 (the generic loop below is not vectorised:
            # 780 us against ~100 us per (512 x 512) call)
            r0, r1, r2 = res[i], res[N + i], res[2 * N + i]
            if assign:
                for c in range(m):
                    row[c] = ((np.int64(r0[c]) + (np.int64(r1[c]) << 8) + (np.int64(r2[c]) << 16)) << sl) >> sr
            else:
                for c in range(m):
                    row[c] += ((np.int64(r0[c]) + (np.int64(r1[c]) << 8) + (np.int64(r2[c]) << 16)) << sl) >> sr
        else:
            if assign:
                for c in range(m):
                    row[c] = (_planes_sum(res, N, k, i, c) << sl) >> sr
            else:
                for c in range(m):
                    row[c] += (_planes_sum(res, N, k, i, c) << sl) >> sr


@njit(**JIT)
def add_scaled(acc, N, ex, out, a0, assign):
    """out[i, a0:a0+m] += floor(acc[i] * 2**ex) for rows i < N (``assign``: = instead of +=, for a block into a
    buffer not yet zeroed): float64 products that hold exact integers (the caller checked |acc| < 2**53) scaled by
    the block's exponent (exact: a power of two; floor == the arithmetic shift of synapses.shift_floor)."""
    m = acc.shape[1]
    sc = 2.0 ** ex
    for i in range(N):
        row = out[i, a0:a0 + m]
        r = acc[i]
        if assign:
            for c in range(m):
                row[c] = np.int64(math.floor(r[c] * sc))
        else:
            for c in range(m):
                row[c] += np.int64(math.floor(r[c] * sc))


@njit(**JIT)
def pre_block8(msg, t0, T, lag, W8, m, ex, E, a0, T32, IDX):
    """:func:`pre_block` for a binary-spike block in fixed point over its int8 mantissas ``W8`` (n_src * m,
    row-major) with int32 column sums (exact: the caller checked that the largest column sum of |mantissas| is
    below 2**31), then scaled by 2**ex (floor for ex < 0, as synapses.shift_floor): a quarter of the weight
    traffic of int64 columns and twice the SIMD lanes. ``T32`` (>= B, >= m) int32 and ``IDX`` (>= n_src) scratch."""
    B = E.shape[1]
    for tt in range(T):
        ts = t0 + tt - lag
        if ts < 0:
            continue
        for b in range(B):
            acc = T32[b, :m]
            _sum8_binary(acc, msg[ts, b], W8, 0, m, IDX)
            _add_int32(E[tt, b, a0:a0 + m], acc, m, ex)


@njit(**JIT)
def rows_to_float(rows, dst):
    """dst[i, c] = rows[i, c] (bool spikes as 0/1 or integer payloads, any strides) into the float buffer ``dst``
    (>= N rows), in one pass over each row that also returns (max |payload|, the largest sum of squares of a row) as
    floats: the bounds :func:`~spikernn.hardware.compiled.intmm.product` checks before an exact float32 GEMM. Both
    reductions are integer ones (which LLVM vectorises: float64 ones it keeps in order, scalar, 3-4x slower); a
    row's sum of squares is exact in int64 while its max |payload| is below 2**24 and it has fewer than 2**15
    entries (every square below 2**48), else it is formed in float64 (exact below 2**53; the caller allows for
    its rounding)."""
    N, n = rows.shape
    pmax = 0
    qmax = 0.0
    for i in range(N):
        r = rows[i]
        d = dst[i]
        pm = 0
        for c in range(n):
            d[c] = np.float64(r[c])
        for c in range(n):
            a = abs(np.int64(r[c]))
            pm = a if a > pm else pm
        pmax = pm if pm > pmax else pmax
        if pm < (1 << 24) and n < (1 << 15):
            qi = 0
            for c in range(n):
                v = np.int64(r[c])
                qi += v * v
            q = np.float64(qi)
        else:
            q = 0.0
            for c in range(n):
                v = np.float64(r[c])
                q += v * v
        qmax = max(qmax, q)
    return np.float64(pmax), qmax


@njit(**JIT)
def add_scaled32(acc, N, ex, out, a0, assign):
    """:func:`add_scaled` for float32 products that hold exact integers below 2**24 (intmm's float32 route): each
    converted to int32 (exact) and shifted there (an arithmetic shift is floor(v 2**ex), as
    synapses.shift_floor), then widened: 32-bit lanes that AVX2 vectorises (no float64 -> int64 conversion).
    ``assign``: = instead of +=."""
    m = acc.shape[1]
    for i in range(N):
        row = out[i, a0:a0 + m]
        r = acc[i]
        if ex >= 0:
            if assign:
                for c in range(m):
                    row[c] = np.int64(np.int32(r[c])) << ex
            else:
                for c in range(m):
                    row[c] += np.int64(np.int32(r[c])) << ex
        else:
            s = np.int32(min(-ex, 31))  # |v| < 2**24: v >> 31 is already floor(v 2**ex) for any ex <= -24
            if assign:
                for c in range(m):
                    row[c] = np.int64(np.int32(r[c]) >> s)
            else:
                for c in range(m):
                    row[c] += np.int64(np.int32(r[c]) >> s)
