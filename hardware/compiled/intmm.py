"""Fixed-point synaptic products with int8 matrix multiplication (``torch._int_mm``: int8 x int8 -> int32, exact;
VNNI/AMX kernels where the CPU has them), for the precomputed inputs of large batches."""
from __future__ import annotations

import numpy as np


def add_block(E: np.ndarray, msg: np.ndarray, pb, t0: int, T: int) -> bool:
    """Add block ``pb``'s input for steps t0 .. t0+T-1 into ``E`` with int8 products; False when it does not apply
    (the caller then uses the compiled kernel)."""
    return False
