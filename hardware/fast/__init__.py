"""The fast backend (batched numpy simulator): :func:`simulate_fast` / ``net.run(x, backend="fast")``.

Parts: :mod:`~spikernn.hardware.fast.plan` (compiled plan: groups, lags, prepared kinds),
:mod:`~spikernn.hardware.fast.synapses` (synaptic products), :mod:`~spikernn.hardware.fast.kernels` (in-place
per-kind kernels, each naming the reference step it implements), :mod:`~spikernn.hardware.fast.fused` (fused
time loops for single-population groups) and :mod:`~spikernn.hardware.fast.backend` (the run).
"""
from spikernn.hardware.fast.backend import MIN_SHARD, FastBackend, record_values, simulate_fast
from spikernn.hardware.fast.kernels import KERNELS
from spikernn.hardware.fast.plan import Plan, compile_network

__all__ = ["simulate_fast", "compile_network", "record_values", "FastBackend", "Plan", "KERNELS", "MIN_SHARD"]
