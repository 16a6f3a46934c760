"""Simulated Loihi 2 hardware: neuron kinds, network description, fixed-point rules, backends (fast simulator,
Lava, reference), placement.

* :mod:`~spikernn.hardware.kinds`: one typed definition per neuron kind (:data:`KINDS`);
* :mod:`~spikernn.hardware.network`: ``Network`` / ``Population`` / ``SynapseBlock`` and the file format;
* :mod:`~spikernn.hardware.fixed_point` (``quantize``), :mod:`~spikernn.hardware.arith` (the chip's arithmetic);
* :mod:`~spikernn.hardware.backends`: the backend interface and registry (:data:`BACKENDS`); ``fast``
  (:mod:`~spikernn.hardware.fast`), ``lava`` (:mod:`~spikernn.hardware.lava_backend`), ``reference``;
* :mod:`~spikernn.hardware.timing`, :mod:`~spikernn.hardware.stats`, :mod:`~spikernn.hardware.placement`.

Lava is imported lazily (only by the Lava backend, through :mod:`spikernn.hardware.lava_compat`); importing
this package imports numpy only. Names below are loaded on first use.
"""
from __future__ import annotations

import importlib

from spikernn.hardware.stats import ActivityStats

_LAZY = {
    "Network": "spikernn.hardware.network",
    "Population": "spikernn.hardware.network",
    "SynapseBlock": "spikernn.hardware.network",
    "KINDS": "spikernn.hardware.kinds",
    "BACKENDS": "spikernn.hardware.backends",
    "get_backend": "spikernn.hardware.backends",
    "register_backend": "spikernn.hardware.backends",
    "simulate_fast": "spikernn.hardware.fast",
    "quantize": "spikernn.hardware.fixed_point",
    "QuantizationReport": "spikernn.hardware.fixed_point",
    "quantize_input": "spikernn.hardware.fixed_point",
    "dequantize": "spikernn.hardware.fixed_point",
    "compile_network": "spikernn.hardware.fast",
    "record_values": "spikernn.hardware.fast",
    "place": "spikernn.hardware.placement",
    "Placement": "spikernn.hardware.placement",
    "annotate_hops": "spikernn.hardware.placement",
    "kinds": "spikernn.hardware.kinds",
    "backends": "spikernn.hardware.backends",
    "timing": "spikernn.hardware.timing",
    "synapses": "spikernn.hardware.synapses",
    "fixed_point": "spikernn.hardware.fixed_point",
    "fast": "spikernn.hardware.fast",
    "placement": "spikernn.hardware.placement",
}

__all__ = ["ActivityStats", *_LAZY]


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'spikernn.hardware' has no attribute {name!r}")
    m = importlib.import_module(mod)
    val = m if mod.rsplit(".", 1)[1] == name else getattr(m, name)
    globals()[name] = val
    return val


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
