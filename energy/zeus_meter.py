"""GPU energy through Zeus (``zeus`` on PyPI, ``zeus.monitor.ZeusMonitor``): a second instrument beside NVML.

Zeus reads the same NVML energy counter (and RAPL for CPUs) and never estimates, so a Zeus figure next to
:class:`~spikernn.energy.nvml.NvmlMeter`'s cross-checks the windowing rather than the sensor. Zeus is optional
and not a dependency (it is imported only here, when the meter opens); any failure to import, to find the
GPU, or to measure becomes :class:`MeterUnavailable`. Measurement windows are Zeus's own
``begin_window(name)`` / ``end_window(name)`` pairs; the reading is ``Measurement.total_energy`` joules
(per-GPU ``gpu_energy`` as components).
"""
from __future__ import annotations

import time
from typing import Any

from spikernn.energy.meters import MeterReading, MeterUnavailable

ZEUS_CAVEAT = (
    "Zeus ZeusMonitor window over the GPU's NVML energy counter (board level; includes the GPU's idle power "
    "and every process on it; the dynamic figure subtracts idle power measured just before); host CPU and RAM "
    "not included."
)


class ZeusMeter:
    """Meter over ``ZeusMonitor(gpu_indices=[index])`` windows (kind "measured", method "zeus")."""

    method = "zeus"
    kind = "measured"
    caveat = ZEUS_CAVEAT
    supports_idle = True

    def __init__(self, cuda_index: int = 0) -> None:
        self.cuda_index = int(cuda_index)
        self.device = f"cuda:{self.cuda_index} (Zeus)"
        self._mon: Any = None
        self._n = 0
        self._name = ""
        self._t0 = 0.0

    def open(self) -> None:
        try:
            from zeus.monitor import ZeusMonitor
        except Exception as exc:
            raise MeterUnavailable(f"zeus cannot be imported (pip install zeus): {exc}") from None
        try:
            self._mon = ZeusMonitor(gpu_indices=[self.cuda_index])
        except Exception as exc:
            raise MeterUnavailable(f"ZeusMonitor could not be created for cuda:{self.cuda_index}: {exc}") from None

    def start(self) -> None:
        if self._mon is None:
            self.open()
        self._n += 1
        self._name = f"spikernn-window-{self._n}"
        try:
            self._mon.begin_window(self._name)
        except Exception as exc:
            raise MeterUnavailable(f"Zeus begin_window failed: {exc}") from None
        self._t0 = time.perf_counter()

    def stop(self) -> MeterReading:
        try:
            m = self._mon.end_window(self._name)
        except Exception as exc:
            raise MeterUnavailable(f"Zeus end_window failed: {exc}") from None
        try:
            joules = float(m.total_energy)
            seconds = float(getattr(m, "time", time.perf_counter() - self._t0))
            comps = {f"gpu{k}": float(v) for k, v in (getattr(m, "gpu_energy", None) or {}).items()}
        except Exception as exc:
            raise MeterUnavailable(f"Zeus returned an unusable measurement: {exc}") from None
        if joules < 0:
            raise MeterUnavailable(f"Zeus returned a negative energy ({joules} J)")
        return MeterReading(joules=joules, seconds=seconds, components=comps or {"gpu": joules})

    def close(self) -> None:
        self._mon = None
