"""Probe: kernels._sdlstm_fixed (int16 LUT, the shipped kernel) against a copy of it whose LUT is int32
(vpgatherdd-able) on one 256 x 128 layer-step at idle; warm and cold (64 MB sweep). Outputs asserted equal."""
import sys, time
import numpy as np
from numba import njit
from spikernn.hardware.compiled import kernels as K
from spikernn.hardware.arith import FULL_BOTH

_F32 = FULL_BOTH.astype(np.int32)
LH = K.LUT_HALF

@njit(inline="always")
def lut32(x12, base):
    return np.int64(_F32[base + min(max(x12, -LH), LH - 1) + LH])

@njit
def cell32(j, POP, P, ST, ACC, OUT, MK):
    n, s0, p0, a0, o0, F = POP[j, K.K_N], POP[j, K.K_ST], POP[j, K.K_P], POP[j, K.K_A0], POP[j, K.K_OUT], POP[j, K.K_F]
    thr = P[p0 + 4 * n]
    for b in range(ST.shape[0]):
        z, s, out, mk = ACC[b, a0:a0 + 4 * n], ST[b, s0:s0 + 6 * n], OUT[b, o0:o0 + n], MK[b, o0:o0 + n]
        for i in range(n):
            ii, ff, gg, oo = s[i] + z[i], s[n + i] + z[n + i], s[2 * n + i] + z[2 * n + i], s[3 * n + i] + z[3 * n + i]
            s[i], s[n + i], s[2 * n + i], s[3 * n + i] = ii, ff, gg, oo
            i_ = lut32(K.to_q12(ii + P[p0 + i], F), 0)
            f_ = lut32(K.to_q12(ff + P[p0 + n + i], F), 0)
            g_ = lut32(K.to_q12(gg + P[p0 + 2 * n + i], F), K.TANH_BASE)
            o_ = lut32(K.to_q12(oo + P[p0 + 3 * n + i], F), 0)
            c = K.sat24(K.mulq(f_, s[4 * n + i]) + K.mulq(i_, g_))
            s[4 * n + i] = c
            h = K.mulq(o_, lut32(c, K.TANH_BASE))
            out[i], s[5 * n + i], mk[i] = K._delta(h, s[5 * n + i], thr)

from probe_step import nb, n, POP, P, Es
fns = {"int16 (shipped)": K._sdlstm_fixed, "int32 lut": cell32}
ST = {k: np.zeros((nb, 6 * n), np.int64) for k in fns}
OUT = {k: np.zeros((nb, n), np.int64) for k in fns}
MK = {k: np.zeros((nb, n), np.bool_) for k in fns}
junk = np.ones(8 << 20)
for k, f in fns.items():
    f(0, POP, P, ST[k], Es[0], OUT[k], MK[k])
N = int(sys.argv[1]) if len(sys.argv) > 1 else 30
res = {(k, c): [] for k in fns for c in ("warm", "cold")}
ks = list(fns)
for r in range(N):
    for c in ("warm", "cold"):
        for k in (ks if r % 2 else ks[::-1]):
            if c == "cold":
                junk += 1.0
            t = time.perf_counter()
            fns[k](0, POP, P, ST[k], Es[r % 8], OUT[k], MK[k])
            res[(k, c)].append(time.perf_counter() - t)
    a, b = ks
    assert np.array_equal(ST[a], ST[b]) and np.array_equal(OUT[a], OUT[b]) and np.array_equal(MK[a], MK[b])
for key, v in res.items():
    print(key, "median us %.0f min %.0f" % (np.median(v) * 1e6, np.min(v) * 1e6))
