"""CPU + RAM energy through codecarbon's ``OfflineEmissionsTracker`` task windows.

codecarbon's figure is only as real as its source, and this meter says which it was:
    * CPU from RAPL / Windows EMI / Power Gadget / powermetrics -> that component is measured;
    * CPU from "cpu_load" (TDP x CPU load) or "constant" (TDP x 50 %) -> estimated. On machines whose CPU
      model is missing from codecarbon's table the TDP itself is a generic guess (e.g. 4 W per thread);
    * RAM is always estimated by codecarbon 3.x (a constant power per DIMM / per GB).
The figure's ``kind`` is that of its CPU component; RAM is a separate component (``ram_kind`` "estimated")
that :func:`~spikernn.energy.measurement.measure` keeps out of the CPU figure. Whether the TDP is a known
chip's or codecarbon's generic fallback is read from codecarbon 3.3 itself (:func:`tdp_provenance`): for a
CPU model missing from its table, ``codecarbon.core.cpu.TDP`` returns ``count_cpus() x
DEFAULT_POWER_PER_CORE`` (4 W per thread), and with no model at all ``POWER_CONSTANT`` (85 W,
``_is_generic_tdp``). The tracker runs offline
(no network), writes no file (``output_methods=[]``, output_dir a private temporary directory), logs at
ERROR only, and uses ``tracking_mode="process"`` by default so a shared machine's other work is not counted
(TDP x load of this process). Every codecarbon failure becomes :class:`MeterUnavailable`.
"""
from __future__ import annotations

import functools
import logging
import math
import shutil
import tempfile
import time
from typing import Any

from spikernn.energy.meters import MeterReading, MeterUnavailable

KWH_TO_J = 3.6e6
MEASURED_CPU_MODES = ("intel_rapl", "windows_emi", "intel_power_gadget", "apple_powermetrics")


def _quiet() -> None:
    logging.getLogger("codecarbon").setLevel(logging.ERROR)


@functools.lru_cache(maxsize=8)
def _registry_tdp(cpu_model: str) -> float | None:
    """codecarbon's TDP table entry for ``cpu_model`` (None when the model is not in the table)."""
    from codecarbon.core.cpu import TDP

    _quiet()
    probe = TDP.__new__(TDP)  # the lookup only; TDP() itself would re-detect and log warnings
    return probe._get_cpu_power_from_registry(cpu_model)


def tdp_provenance(cpu_model: str | None, tdp: float | None, is_generic_flag: bool | None) -> tuple[bool, str]:
    """(generic, words): whether codecarbon's CPU power figure is its generic fallback rather than a known TDP.

    Reads codecarbon 3.3's own rules: ``_is_generic_tdp`` (no model: 85 W ``POWER_CONSTANT``), or a model
    that its TDP table does not contain (``TDP._main`` then uses ``DEFAULT_POWER_PER_CORE`` W per thread).
    """
    if is_generic_flag:
        return True, f"codecarbon's generic constant TDP ({tdp} W): the CPU model was not detected"
    if not cpu_model:
        return True, "no CPU model detected: a generic TDP"
    try:
        from codecarbon.core.cpu import DEFAULT_POWER_PER_CORE, count_cpus

        known = _registry_tdp(str(cpu_model))
    except Exception as exc:  # codecarbon internals moved: say so rather than guess
        return False, f"could not check codecarbon's TDP table ({exc!r})"
    if known is None:
        return True, (f"codecarbon's GENERIC fallback: {cpu_model!s} is not in its TDP table, so it assumes "
                      f"{DEFAULT_POWER_PER_CORE} W per thread x {count_cpus()} threads (x physical CPUs) = {tdp} W")
    return False, f"codecarbon's table TDP for {cpu_model!s}: {known:g} W per CPU ({tdp} W in all)"


class CodecarbonMeter:
    """Meter over codecarbon ``start_task``/``stop_task`` windows (CPU + optionally RAM)."""

    supports_idle = False

    def __init__(self, *, tracking_mode: str = "process", include_ram: bool = True,
                 measure_power_secs: float = 1.0, country_iso_code: str = "USA") -> None:
        if tracking_mode not in ("process", "machine"):
            raise ValueError(f"tracking_mode must be 'process' or 'machine', got {tracking_mode!r}")
        self.tracking_mode = tracking_mode
        self.include_ram = include_ram
        self.measure_power_secs = float(measure_power_secs)
        self.country_iso_code = country_iso_code
        self.method = "codecarbon"
        self.kind = "estimated"
        self.ram_kind = "estimated"  # codecarbon 3.x always models RAM power
        self.generic_tdp: bool | None = None
        self.caveat = "codecarbon (source not yet determined)"
        self.device = "cpu"
        self._tracker: Any = None
        self._tmp: str | None = None
        self._task = 0
        self._name = ""
        self._t0 = 0.0

    # -- lifecycle -------------------------------------------------------------------------------
    def open(self) -> None:
        _quiet()
        try:
            from codecarbon import OfflineEmissionsTracker
        except Exception as exc:
            raise MeterUnavailable(f"codecarbon cannot be imported: {exc}") from None
        _quiet()
        try:
            self._tmp = tempfile.mkdtemp(prefix="spikernn-codecarbon-")
        except OSError as exc:
            raise MeterUnavailable(f"no temporary directory for codecarbon: {exc}") from None
        try:
            self._tracker = OfflineEmissionsTracker(
                country_iso_code=self.country_iso_code,
                output_methods=[],
                emissions_endpoint=None,  # a config file's endpoint would make codecarbon post over the network
                output_dir=self._tmp,
                log_level="error",
                measure_power_secs=self.measure_power_secs,
                tracking_mode=self.tracking_mode,
                allow_multiple_runs=True,
            )
        except Exception as exc:
            self.close()
            raise MeterUnavailable(f"codecarbon tracker could not be created: {exc}") from None
        _quiet()

    def start(self) -> None:
        if self._tracker is None:
            self.open()
        self._task += 1
        self._name = f"spikernn-window-{self._task}"
        try:
            self._tracker.start_task(self._name)
        except Exception as exc:
            raise MeterUnavailable(f"codecarbon start_task failed: {exc}") from None
        if getattr(self._tracker, "_active_task", self._name) != self._name:
            raise MeterUnavailable("codecarbon did not start its task (see codecarbon's log)")
        self._describe()
        self._t0 = time.perf_counter()

    def stop(self) -> MeterReading:
        seconds = time.perf_counter() - self._t0
        try:
            data = self._tracker.stop_task(self._name)
        except Exception as exc:
            raise MeterUnavailable(f"codecarbon stop_task failed: {exc}") from None
        if data is None:
            raise MeterUnavailable("codecarbon stop_task returned no data")
        try:
            cpu = float(data.cpu_energy) * KWH_TO_J
            ram = float(data.ram_energy) * KWH_TO_J
        except Exception as exc:
            raise MeterUnavailable(f"codecarbon returned unusable energy data: {exc}") from None
        if not (math.isfinite(cpu) and math.isfinite(ram)) or cpu < 0 or ram < 0:
            raise MeterUnavailable(f"codecarbon returned invalid energy (cpu {cpu} J, ram {ram} J)")
        ram_w = getattr(data, "ram_power", None)
        if self.include_ram and ram_w is not None and "W here)" not in self.caveat:
            self.caveat = self.caveat.replace("per DIMM", f"per DIMM ({float(ram_w):.1f} W here)", 1)
        comps = {"cpu": cpu}
        if self.include_ram:
            comps["ram"] = ram
        return MeterReading(joules=sum(comps.values()), seconds=seconds, components=comps)

    def close(self) -> None:
        if self._tracker is not None:
            try:
                self._tracker.stop()
            except Exception:
                pass
        self._tracker = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- provenance --------------------------------------------------------------------------------
    def _describe(self) -> None:
        """Set ``kind``, ``method``, ``caveat`` and ``device`` from the hardware codecarbon chose."""
        cpu_mode, tdp, generic, cpu_model = None, None, None, None
        try:
            for hw in getattr(self._tracker, "_hardware", []):
                cls = type(hw).__name__
                if cls == "CPU":
                    cpu_mode = getattr(hw, "_mode", None)
                    tdp = getattr(hw, "_tdp", None)
                    generic = getattr(hw, "_is_generic_tdp", None)
                    cpu_model = getattr(hw, "_model", None)
        except Exception:
            pass
        cpu_measured = cpu_mode in MEASURED_CPU_MODES
        self.kind = "measured" if cpu_measured else "estimated"
        self.generic_tdp = None
        if cpu_measured:
            self.method = f"codecarbon-{cpu_mode.replace('_', '-')}"
            cpu_txt = f"CPU energy measured by codecarbon through {cpu_mode}"
        elif cpu_mode in ("cpu_load", "constant"):
            self.generic_tdp, tdp_txt = tdp_provenance(cpu_model, tdp, generic)
            how = (f"TDP x this process's CPU load ({self.tracking_mode} mode: TDP x process CPU time / wall "
                   f"time / logical CPUs)" if cpu_mode == "cpu_load" else "a constant 50 % of TDP")
            self.method = ("codecarbon-tdp-load" if cpu_mode == "cpu_load" else "codecarbon-constant-tdp") + (
                "-generic" if self.generic_tdp else "")
            cpu_txt = f"CPU energy ESTIMATED by codecarbon as {how}, TDP {tdp} W: {tdp_txt}; nothing was measured"
        else:
            self.method = "codecarbon-unknown-source"
            cpu_txt = f"CPU energy from codecarbon, source unknown (mode {cpu_mode!r}); treated as an estimate"
        ram_txt = ("; RAM energy ESTIMATED by codecarbon as a constant power per DIMM x wall time, given "
                   "separately and not included in the CPU figure" if self.include_ram else "; RAM not included")
        self.caveat = cpu_txt + ram_txt + "."
        self.device = f"cpu ({cpu_model})" if cpu_model else "cpu"
