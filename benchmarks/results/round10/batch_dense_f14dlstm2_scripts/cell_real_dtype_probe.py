"""Probe: the real kernels._sdlstm_fixed on one 256 x 128 layer-step with ST int64 (today) and ST int32 (numba
specialises the same kernel on the state dtype; the values here fit int32). Warm and cold (64 MB sweep first).
Interleaved; the outputs asserted equal each round."""
import sys, time
import numpy as np
from spikernn.hardware.compiled import kernels as K

from probe_step import nb, n, POP, P, Es
ST = {64: np.zeros((nb, 6 * n), np.int64), 32: np.zeros((nb, 6 * n), np.int32)}
OUT = {k: np.zeros((nb, n), np.int64) for k in ST}
MK = {k: np.zeros((nb, n), np.bool_) for k in ST}
junk = np.ones(8 << 20)
for k in ST:
    K._sdlstm_fixed(0, POP, P, ST[k], Es[0], OUT[k], MK[k])
N = int(sys.argv[1]) if len(sys.argv) > 1 else 30
res = {(k, c): [] for k in ST for c in ("warm", "cold")}
for r in range(N):
    for c in ("warm", "cold"):
        for k in ((64, 32) if r % 2 else (32, 64)):
            if c == "cold":
                junk += 1.0
            t = time.perf_counter()
            K._sdlstm_fixed(0, POP, P, ST[k], Es[r % 8], OUT[k], MK[k])
            res[(k, c)].append(time.perf_counter() - t)
    assert np.array_equal(ST[64], ST[32]) and np.array_equal(OUT[64], OUT[32]) and np.array_equal(MK[64], MK[32])
for key, v in res.items():
    print(key, "median us %.0f min %.0f" % (np.median(v) * 1e6, np.min(v) * 1e6))
