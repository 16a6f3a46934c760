"""Compiled (numba) kernels for the fast backend: every kind in fixed and float precision, stepped by one
interpreter per precision (:mod:`~spikernn.hardware.compiled.kernels`), for whole runs
(:func:`~spikernn.hardware.compiled.engine.execute`) and for streaming (:class:`~spikernn.hardware.compiled.engine.CompiledStream`).

``backend="fast"`` uses them when numba is installed and the network's kinds all have kernels; otherwise it runs
its numpy kernels (the fallback, chosen automatically; ``SPIKERNN_KERNELS=numpy`` forces it, as does
``engine="numpy"``). Nothing here imports numba until a compiled run or stream starts: ``import spikernn``
stays fast. Compilation happens on first use and is cached on disk (numba's ``cache=True``: next to the
package when that is writable, else in numba's per-user cache directory, or ``NUMBA_CACHE_DIR``); when no cache
directory is writable the kernels still compile, uncached. :func:`info` says which (``spikernn doctor``).
Measured (benchmarks/bench_streaming.py --compile-time, 2 shared cores): the first stream step of a fresh process
took 19.3-25.9 s with an empty cache (compiling the fixed-point interpreter) and 0.29-0.48 s loading it from the
cache (two sessions); on the AMD EPYC (AVX2) of issue 14's second round, heavily loaded (load average 8-13 on 2
cores): 49.1 s of CPU (130 s wall) empty, 0.5 s of CPU (1.4-2.7 s wall) from the cache.

>>> from spikernn.hardware import compiled
>>> compiled.info()["engine"] in ("numba", "numpy")
True
"""
from __future__ import annotations

import importlib.util
import time
import warnings
from typing import Any

from spikernn._numba import ENV, kernels_disabled

_STATE: dict[str, Any] = {"kernels": None, "error": None, "load_s": None, "cache": None}
TIMING: dict[str, float | None] = {"first_call_s": None}  # first compiled run/stream of this process (compile or
# cache load of the interpreter), measured by the engine


def numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


def available() -> bool:
    """Whether the compiled kernels can be used (numba importable, not disabled by ``SPIKERNN_KERNELS=numpy``)."""
    if kernels_disabled():
        return False
    return numba_installed() and load_kernels() is not None


def load_kernels():
    """The kernel module (imports numba on first call), or None when it cannot be imported."""
    if _STATE["kernels"] is None and _STATE["error"] is None:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numba's "cannot cache" warnings: see _cache_location
                from spikernn.hardware.compiled import kernels as K
            _STATE["kernels"] = K
            _STATE["cache"] = _cache_location(K)
        except Exception as exc:  # noqa: BLE001 - numba missing, broken or unable to cache: the numpy path runs
            _STATE["error"] = f"{type(exc).__name__}: {exc}"
        _STATE["load_s"] = time.perf_counter() - t0
    return _STATE["kernels"]


def _cache_location(K) -> str | None:
    """Where numba caches the kernels (None: nowhere writable, compiled on every first use in a process)."""
    if not K.JIT["cache"]:
        return None
    return getattr(getattr(K.run_fixed, "_cache", None), "cache_path", None)


def info() -> dict:
    """What ``backend="fast"`` runs with: ``engine`` ("numba" or "numpy"), numba's version, the cache directory,
    and, once a compiled run happened in this process, ``first_call_s`` (compilation or cache load of the
    kernels used)."""
    forced = kernels_disabled()
    out: dict[str, Any] = {"engine": "numpy", "numba": None, "cache": None, "reason": None}
    if forced:
        out["reason"] = f"{ENV}=numpy"
    elif not numba_installed():
        out["reason"] = "numba is not installed (pip install numba)"
    elif load_kernels() is None:
        out["reason"] = f"numba failed to load: {_STATE['error']}"
    else:
        import numba

        out.update(engine="numba", numba=numba.__version__, cache=_STATE["cache"] or "not cached (no writable "
                   "cache directory: set NUMBA_CACHE_DIR)")
    out.update({k: v for k, v in TIMING.items() if v is not None})
    return out
