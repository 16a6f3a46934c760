"""What can measure energy on this machine: a quick probe for ``spikernn doctor`` and for reports.

``describe_energy_sources()`` returns ``{"cpu": {...}, "gpu": {...}}``; each entry has ``available`` (bool),
``kind`` ("measured" / "estimated" / None), ``method``, ``summary`` (one line for people) and ``reasons``
(why better sources were not usable). It never raises.
"""
from __future__ import annotations

from typing import Any


def _cpu(probe_codecarbon: bool) -> dict[str, Any]:
    from spikernn.energy.rapl import rapl_available

    ok, why = rapl_available()
    if ok:
        return {"available": True, "kind": "measured", "method": "rapl", "reasons": [],
                "summary": "measured: RAPL counters in /sys/class/powercap are readable"}
    reasons = [f"rapl: {why}"]
    try:
        import codecarbon  # noqa: F401
    except Exception as exc:
        reasons.append(f"codecarbon: cannot be imported: {exc}")
        return {"available": False, "kind": None, "method": None, "reasons": reasons,
                "summary": "unavailable: " + "; ".join(reasons)}
    if not probe_codecarbon:
        return {"available": True, "kind": "estimated", "method": "codecarbon", "reasons": reasons,
                "summary": f"estimated by codecarbon (no RAPL: {why})"}
    from spikernn.energy.codecarbon_meter import CodecarbonMeter
    from spikernn.energy.meters import MeterUnavailable

    m = CodecarbonMeter()
    try:
        m.open()
        m.start()
        m.stop()
    except MeterUnavailable as exc:
        reasons.append(f"codecarbon: {exc}")
        return {"available": False, "kind": None, "method": None, "reasons": reasons,
                "summary": "unavailable: " + "; ".join(reasons)}
    finally:
        m.close()
    return {"available": True, "kind": m.kind, "method": m.method, "reasons": reasons,
            "summary": f"{m.kind} ({m.method}): {m.caveat} (no RAPL: {why})"}


def _gpu() -> dict[str, Any]:
    from spikernn.energy.meters import MeterUnavailable
    from spikernn.energy.nvml import NvmlMeter

    m = NvmlMeter(0)
    try:
        m.open()
        dev = m.device
    except MeterUnavailable as exc:
        return {"available": False, "kind": None, "method": None, "reasons": [f"nvml: {exc}"],
                "summary": f"unavailable: {exc}"}
    finally:
        m.close()
    return {"available": True, "kind": "measured", "method": m.method, "reasons": [],
            "summary": f"measured: NVML energy counter on {dev}"}


def describe_energy_sources(*, probe_codecarbon: bool = True) -> dict[str, dict[str, Any]]:
    """Which CPU and GPU energy sources work here (see module docstring). Takes well under a second."""
    out: dict[str, dict[str, Any]] = {}
    for key, fn in (("cpu", lambda: _cpu(probe_codecarbon)), ("gpu", _gpu)):
        try:
            out[key] = fn()
        except Exception as exc:  # a probe must never break `spikernn doctor`
            out[key] = {"available": False, "kind": None, "method": None, "reasons": [repr(exc)],
                        "summary": f"unavailable: {exc!r}"}
    return out
