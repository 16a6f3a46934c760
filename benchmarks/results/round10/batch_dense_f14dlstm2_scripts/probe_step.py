"""The synthetic sd_lstm layer-step both probes use: one population row (256 x 128, F = 12), biases, 8 E rows."""
import numpy as np
from spikernn.hardware.compiled import kernels as K

nb, n, F = 256, 128, 12
POP = np.zeros((1, K.POP_COLS), np.int64)
POP[0, K.K_KIND], POP[0, K.K_N], POP[0, K.K_F] = K.SDLSTM, n, F
rng = np.random.default_rng(0)
P = np.concatenate([rng.integers(-2000, 2000, 4 * n), [0]]).astype(np.int64)
Es = [rng.integers(-3000, 3000, (nb, 4 * n)).astype(np.int64) for _ in range(8)]
