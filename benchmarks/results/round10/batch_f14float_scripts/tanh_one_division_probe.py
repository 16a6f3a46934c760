"""A tanh with one IEEE division per element (both forms as one quotient: big = 1 - 2(Q - px) / (2**k (Q + px) +
(Q - px)), the algebra of the shipped 1 - 2/(e + 1) with e = 2**k (1 + 2 px/(Q - px))) against the shipped
kernels.tanh (two divisions): accuracy against np.tanh (ulp) and ns per element over 1e6 values (numba, vectorised
loops, min of 5 x 20 calls). Not shipped: tests/conformance pins the shipped formula bit for bit."""
import os, time
import numpy as np
from numba import njit
from spikernn.hardware.compiled import kernels as K
import math

_TP, _TQ, _EP, _EQ = K._TP, K._TQ, K._EP, K._EQ
_LOG2E, _LN2_HI, _LN2_LO = K._LOG2E, K._LN2_HI, K._LN2_LO
_pow2 = K._pow2


@njit(inline="always", error_model="numpy")
def tanh1(x):
    ax = abs(x)
    lo = ax < 0.625
    z = x * x
    y = min(2.0 * ax, 40.0)
    k = np.floor(_LOG2E * y + 0.5)
    r = (y - k * _LN2_HI) - k * _LN2_LO
    rr = r * r
    px = r * ((_EP[0] * rr + _EP[1]) * rr + _EP[2])
    qe = (((_EQ[0] * rr + _EQ[1]) * rr + _EQ[2]) * rr + _EQ[3])
    dm = qe - px
    num = x * z * ((_TP[0] * z + _TP[1]) * z + _TP[2]) if lo else 2.0 * dm
    den = (((z + _TQ[0]) * z + _TQ[1]) * z + _TQ[2]) if lo else _pow2(k) * (qe + px) + dm
    q = num / den
    return math.copysign(x + q if lo else 1.0 - q, x)


@njit(error_model="numpy")
def vtanh1(x, out):
    for i in range(x.size):
        out[i] = tanh1(x[i])


rng = np.random.default_rng(0)
x = np.concatenate([rng.normal(0, s, 200_000) for s in (1e-3, 0.3, 1, 3, 10, 30)] +
                   [np.array([0.0, -0.0, 0.625, -0.625, np.nextafter(0.625, 0), 5e-324, 1e-300, 19.0, 20.0, 21.0,
                              700.0, -700.0, 1e300])])
ref = np.tanh(x)
for name, f in (("shipped (2 divisions)", K.vtanh), ("one division", vtanh1)):
    got = np.empty_like(x)
    f(x, got)
    ulp = np.abs(got - ref) / np.spacing(np.abs(ref)).clip(np.finfo(float).tiny)
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(20):
            f(x, got)
        best = min(best, (time.perf_counter() - t) / 20)
    print(f"{name}: max {ulp.max():.0f} ulp from np.tanh, {np.mean(ulp > 0) * 100:.1f} % not exact, signs "
          f"{'ok' if np.array_equal(np.signbit(got), np.signbit(ref)) else 'DIFFER'}; {best / x.size * 1e9:.2f} ns per "
          f"element; load {os.getloadavg()[0]:.2f}")
