"""kernels.graded_rows at the spiking RNN's input projection, (2048 x 40) @ (40 x 128) float64 into a 2048 x 128
buffer: us per call (min of 5 x 50), warm (same input) and streaming (a new 2048-row input slice each call, as the
engine's chunks)."""
import os, time
import numpy as np
from spikernn.hardware.compiled import kernels as K

rng = np.random.default_rng(0)
W = rng.standard_normal((40, 128)).astype(np.float32).astype(np.float64)
Wp = K.gemv_pack(W)
X = rng.standard_normal((100 * 256, 40))
out = np.zeros((2048, 128))
K.graded_rows(X[:2048], Wp, 128, out, 0, False)
for rnd in range(3):
    best = {}
    for mode in ("warm", "stream"):
        b = 1e9
        for _ in range(5):
            t = time.perf_counter()
            for c in range(50):
                r0 = 0 if mode == "warm" else (c % 12) * 2048
                K.graded_rows(X[r0:r0 + 2048], Wp, 128, out, 0, False)
            b = min(b, (time.perf_counter() - t) / 50)
        best[mode] = b * 1e6
    print(f"graded_rows 2048x40 @ 40x128: warm {best['warm']:.0f} us, stream {best['stream']:.0f} us "
          f"({2048 * 40 * 128 * 2 / best['warm'] / 1e3:.1f} GFLOP/s warm); load {os.getloadavg()[0]:.2f}")
