"""Probe: the sd_lstm fixed cell step on one 256 x 128 layer-step, state int64 (today's ST) against int32
(the proposed compact state), E int64 in both. Warm (state in cache) and cold (64 MB sweep before each call).
Same integers asserted. Interleaved, median of N."""
import time, sys
import numpy as np
from numba import njit
from spikernn.hardware.compiled.kernels import lut, to_q12, mulq, sat24, _delta, TANH_BASE, JIT

@njit(**JIT)
def cell(E, B, S4, C, SENT, OUT, MK, F, thr):
    nb, n4 = E.shape
    n = n4 // 4
    for b in range(nb):
        for i in range(n):
            ii = S4[b, i] + E[b, i]; ff = S4[b, n + i] + E[b, n + i]
            gg = S4[b, 2 * n + i] + E[b, 2 * n + i]; oo = S4[b, 3 * n + i] + E[b, 3 * n + i]
            S4[b, i] = ii; S4[b, n + i] = ff; S4[b, 2 * n + i] = gg; S4[b, 3 * n + i] = oo
            zi = np.int64(ii) + B[i]; zf = np.int64(ff) + B[n + i]
            zg = np.int64(gg) + B[2 * n + i]; zo = np.int64(oo) + B[3 * n + i]
            i_ = lut(to_q12(zi, F), 0); f_ = lut(to_q12(zf, F), 0)
            g_ = lut(to_q12(zg, F), TANH_BASE); o_ = lut(to_q12(zo, F), 0)
            c = sat24(mulq(f_, np.int64(C[b, i])) + mulq(i_, g_))
            h = mulq(o_, lut(c, TANH_BASE))
            C[b, i] = c
            o, s, m = _delta(h, np.int64(SENT[b, i]), thr)
            OUT[b, i] = o; SENT[b, i] = s; MK[b, i] = m

rng = np.random.default_rng(0)
nb, n, F, thr = 256, 128, 12, 0
B = rng.integers(-2000, 2000, 4 * n).astype(np.int64)
Es = [rng.integers(-3000, 3000, (nb, 4 * n)).astype(np.int64) for _ in range(8)]
def state(dt):
    return (np.zeros((nb, 4 * n), dt), np.zeros((nb, n), dt), np.zeros((nb, n), dt),
            np.zeros((nb, n), np.int64), np.zeros((nb, n), np.bool_))
st = {64: state(np.int64), 32: state(np.int32)}
junk = np.ones(8 << 20)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 30
res = {(k, c): [] for k in (64, 32) for c in ("warm", "cold")}
for k in (64, 32):
    cell(Es[0], B, *st[k][:3], st[k][3], st[k][4], F, thr)
for r in range(N):
    for cold in ("warm", "cold"):
        for k in ((64, 32) if r % 2 == 0 else (32, 64)):
            E = Es[r % 8]
            if cold == "cold":
                junk += 1.0
            t = time.perf_counter()
            cell(E, B, *st[k][:3], st[k][3], st[k][4], F, thr)
            res[(k, cold)].append(time.perf_counter() - t)
    assert all(np.array_equal(a, b) for a, b in zip(st[64], st[32]))
for key, v in res.items():
    print(key, "median us %.0f min %.0f" % (np.median(v) * 1e6, np.min(v) * 1e6))
