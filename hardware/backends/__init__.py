"""Backends that run a :class:`~spikernn.hardware.network.Network`, behind one interface
(:class:`~spikernn.hardware.backends.base.Backend`), found by name in :data:`BACKENDS`:

* ``"fast"``: the batched numpy simulator with per-kind kernels (:mod:`spikernn.hardware.fast`);
* ``"lava"``: real Lava processes under ``Loihi2SimCfg`` (:mod:`spikernn.hardware.lava_backend`);
* ``"reference"``: the kinds' reference steps run plainly, step by step (:mod:`spikernn.hardware.backends.reference`),
  what the others are checked against; it also streams (``get_backend("reference").stream(net)``).

A new backend subclasses ``Backend`` and is registered with :func:`register_backend`; nothing else changes.

>>> sorted(BACKENDS)
['fast', 'lava', 'reference']
"""
from __future__ import annotations

import importlib

from spikernn.hardware.backends.base import Backend, Encoded, Recording

BACKENDS: dict[str, str | type[Backend]] = {  # name -> Backend subclass, or "module:Class" imported on first use
    "fast": "spikernn.hardware.fast.backend:FastBackend",
    "lava": "spikernn.hardware.lava_backend:LavaBackend",
    "reference": "spikernn.hardware.backends.reference:ReferenceBackend",
}

__all__ = ["BACKENDS", "Backend", "Encoded", "Recording", "get_backend", "register_backend"]


def register_backend(name: str, backend: type[Backend] | str) -> None:
    """Make ``backend`` (a :class:`Backend` subclass or "module:Class") available as ``backend=name``."""
    if isinstance(backend, type) and not issubclass(backend, Backend):
        raise TypeError(f"{backend!r} is not a spikernn.hardware.backends.Backend subclass")
    BACKENDS[name] = backend


def get_backend(name: str) -> Backend:
    """An instance of the backend registered as ``name``; ValueError naming the known ones otherwise."""
    entry = BACKENDS.get(name) if isinstance(name, str) else None
    if entry is None:
        raise ValueError(f"unknown backend {name!r}; known: {sorted(BACKENDS)}")
    if isinstance(entry, str):
        module, cls = entry.split(":")
        entry = BACKENDS[name] = getattr(importlib.import_module(module), cls)
    return entry()
