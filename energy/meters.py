"""The meter interface shared by the RAPL, NVML and codecarbon back-ends.

A meter measures one window: ``start()``, the work, ``stop() -> MeterReading`` (joules over the window).
Any failure of the instrument (missing driver, unreadable counter, library error) is raised as
:class:`MeterUnavailable` carrying a short reason, never as the library's own exception.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class MeterUnavailable(RuntimeError):
    """The instrument cannot measure here; ``str(exc)`` says why (e.g. "no /sys/class/powercap")."""


@dataclass(frozen=True)
class MeterReading:
    """Energy of one window.

    Attributes:
        joules: total energy over the window, in joules.
        seconds: window length as the meter saw it, in seconds.
        components: joules per component (e.g. {"package-0": .., "dram": ..} or {"cpu": .., "ram": ..}).
    """

    joules: float
    seconds: float
    components: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Meter(Protocol):
    """What :func:`spikernn.energy.measurement.measure` needs from an instrument.

    Attributes:
        method: short method label, e.g. "rapl".
        kind: "measured" or "estimated" (may be decided at ``open()``; read it after).
        caveat: what the instrument includes/excludes, in words.
        device: what it measures, e.g. "cpu (2 RAPL zones)".
        supports_idle: True when an idle window gives a meaningful idle power to subtract.
    """

    method: str
    kind: str
    caveat: str
    device: str
    supports_idle: bool

    def open(self) -> None:
        """Prepare the instrument; raise MeterUnavailable if it cannot measure here."""

    def start(self) -> None:
        """Begin a window."""

    def stop(self) -> MeterReading:
        """End the window and return its energy."""

    def close(self) -> None:
        """Release the instrument (never raises)."""
