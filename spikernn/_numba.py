"""What the numba kernel modules share (:mod:`spikernn._fused_kernels` for training,
:mod:`spikernn.hardware.compiled` for the fast simulator), without importing numba: the switch that turns them all
off and the check for a writable cache directory."""
from __future__ import annotations

import os

ENV = "SPIKERNN_KERNELS"  # "numpy": never use the compiled kernels (the torch loop / numpy kernels run instead)


def kernels_disabled() -> bool:
    """Whether ``SPIKERNN_KERNELS=numpy`` turns the compiled kernels off."""
    return os.environ.get(ENV, "").lower() == "numpy"


def numba_can_cache(fn) -> bool:
    """Whether numba finds a writable cache directory for the functions of ``fn``'s file (next to it, numba's
    per-user directory, or ``NUMBA_CACHE_DIR``); never the case in a read-only install without one. Without it a
    kernel module compiles uncached (on first use in every process). Each kernel module asks with a function of
    its own file."""
    try:
        from numba.core.caching import FunctionCache

        FunctionCache(fn)
        return True
    except Exception:  # noqa: BLE001 - "no locator available": compile without caching
        return False
