"""Work buffers of the matrix-product paths (:mod:`~spikernn.hardware.compiled.intmm`,
:mod:`~spikernn.hardware.compiled.blas`), kept per thread and reused across calls: batch shards run in parallel
threads (``workers``), and a fresh large output per call costs more in page faults than the product."""
from __future__ import annotations

import threading
from typing import Any, Callable, Optional

_LOCAL = threading.local()


def per_thread(key: tuple, make: Callable[[], Any], fits: Optional[Callable[[Any], bool]] = None) -> Any:
    """This thread's buffers for ``key``, built by ``make()`` on first use (or again when ``fits(buffers)`` is
    False). Keys are shared by every caller: start them with the caller's name."""
    bufs = getattr(_LOCAL, "bufs", None)
    if bufs is None:
        bufs = _LOCAL.bufs = {}
    b = bufs.get(key)
    if b is None or (fits is not None and not fits(b)):
        b = bufs[key] = make()
    return b
