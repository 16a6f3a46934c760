"""Simulated Loihi 2 hardware: network description, fixed-point rules, Lava runner, fast simulator, placement.

Lava is imported lazily (only by the Lava backend, through :mod:`spikernn.hardware.lava_compat`).
"""
from spikernn.hardware.stats import ActivityStats

__all__ = ["ActivityStats"]
