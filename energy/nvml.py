"""GPU energy from NVML's total-energy counter (a measurement).

``nvmlDeviceGetTotalEnergyConsumption(handle)`` returns the energy the board has used since the driver was
last loaded, in **millijoules** (Volta and newer). The counter updates only about every 100 ms, so windows
must be well over a second and the result divided by the inferences run inside them. The figure is board
energy: it includes idle power and any other process on the same GPU; a dynamic figure subtracts idle power
measured over an idle window just before. pynvml (package ``nvidia-ml-py``) is imported lazily; every
failure (no library, no driver, no device, unsupported counter) becomes :class:`MeterUnavailable`.
"""
from __future__ import annotations

import os
import time
from typing import Any

from spikernn.energy.meters import MeterReading, MeterUnavailable

NVML_CAVEAT = (
    "NVML total energy counter (board level, millijoules, Volta or newer; updates about every 100 ms, so only "
    "windows well over a second are meaningful): includes the GPU's idle power and every process on the GPU; "
    "the dynamic figure subtracts idle power measured just before; host CPU and RAM energy are not included."
)


def _nvml() -> Any:
    try:
        import pynvml  # from nvidia-ml-py
    except Exception as exc:  # ImportError, or a broken install
        raise MeterUnavailable(f"pynvml (nvidia-ml-py) cannot be imported: {exc}") from None
    return pynvml


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _torch_uuid(cuda_index: int) -> str | None:
    """NVML-style UUID ("GPU-...") of torch's cuda device ``cuda_index``, when torch knows it."""
    try:
        import torch

        props = torch.cuda.get_device_properties(cuda_index)
        uuid = getattr(props, "uuid", None)
        if uuid is None:
            return None
        s = str(uuid)
        return s if s.startswith(("GPU-", "MIG-")) else f"GPU-{s}"
    except Exception:
        return None


def _handle(pynvml: Any, cuda_index: int) -> Any:
    """NVML handle of torch's ``cuda:<cuda_index>``: by UUID, else via CUDA_VISIBLE_DEVICES, else by index.

    CUDA and NVML may number devices differently (CUDA_VISIBLE_DEVICES, CUDA_DEVICE_ORDER), so the UUID
    is the reliable link when torch provides it.
    """
    uuid = _torch_uuid(cuda_index)
    if uuid is not None:
        try:
            return pynvml.nvmlDeviceGetHandleByUUID(uuid)
        except Exception:
            pass
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        entries = [e.strip() for e in visible.split(",") if e.strip()]
        if cuda_index < len(entries):
            e = entries[cuda_index]
            if e.isdigit():
                return pynvml.nvmlDeviceGetHandleByIndex(int(e))
            return pynvml.nvmlDeviceGetHandleByUUID(e)
    return pynvml.nvmlDeviceGetHandleByIndex(cuda_index)


class NvmlMeter:
    """Meter over ``nvmlDeviceGetTotalEnergyConsumption`` (kind "measured", method "nvml-energy-counter")."""

    method = "nvml-energy-counter"
    kind = "measured"
    caveat = NVML_CAVEAT
    supports_idle = True

    def __init__(self, cuda_index: int = 0) -> None:
        self.cuda_index = int(cuda_index)
        self.device = f"cuda:{self.cuda_index}"
        self._pynvml: Any = None
        self._h: Any = None
        self._e0 = 0
        self._t0 = 0.0

    def open(self) -> None:
        pynvml = _nvml()
        try:
            pynvml.nvmlInit()
        except Exception as exc:
            raise MeterUnavailable(f"NVML init failed (no NVIDIA driver?): {exc}") from None
        self._pynvml = pynvml
        try:
            self._h = _handle(pynvml, self.cuda_index)
            self.device = f"cuda:{self.cuda_index} {_text(pynvml.nvmlDeviceGetName(self._h))}"
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self._h)
        except Exception as exc:
            self.close()
            raise MeterUnavailable(
                f"NVML energy counter unavailable for cuda:{self.cuda_index} (needs Volta or newer): {exc}"
            ) from None

    def _read_mj(self) -> int:
        try:
            return int(self._pynvml.nvmlDeviceGetTotalEnergyConsumption(self._h))
        except Exception as exc:
            raise MeterUnavailable(f"NVML energy read failed: {exc}") from None

    def start(self) -> None:
        if self._h is None:
            self.open()
        self._t0 = time.perf_counter()
        self._e0 = self._read_mj()

    def stop(self) -> MeterReading:
        e1 = self._read_mj()
        seconds = time.perf_counter() - self._t0
        joules = (e1 - self._e0) * 1e-3
        if joules < 0:
            raise MeterUnavailable("NVML energy counter went backwards (driver reloaded during the window?)")
        return MeterReading(joules=joules, seconds=seconds, components={"gpu": joules})

    def close(self) -> None:
        if self._pynvml is not None:
            try:
                self._pynvml.nvmlShutdown()
            except Exception:
                pass
        self._pynvml = None
        self._h = None
