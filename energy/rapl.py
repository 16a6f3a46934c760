"""CPU energy read directly from Linux RAPL counters in ``/sys/class/powercap`` (a measurement).

Zones: top-level ``intel-rapl:N`` are packages (name "package-N", or "psys" for the platform); their
sub-zones ``intel-rapl:N:M`` include "core", "uncore" and "dram". The energy summed here is all packages
plus the "dram" sub-zones (dram is not inside the package figure); "psys" is used only when no package zone
exists (it already contains the packages). Counters are in microjoules and wrap at ``max_energy_range_uj``.
Since Linux 5.10 ``energy_uj`` is readable by root only; that case is "unavailable", not an error.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from spikernn.energy.meters import MeterReading, MeterUnavailable

POWERCAP_ROOT = Path("/sys/class/powercap")

RAPL_CAVEAT = (
    "RAPL counters read directly: whole-socket package energy, so it includes every process and the idle floor "
    "of the machine (the dynamic figure subtracts idle power measured just before); the DRAM zone, where "
    "exposed, is given separately as RAM energy and not included; RAPL is itself a model-assisted on-chip "
    "estimate calibrated by the vendor, generally within a few percent."
)

_ZONE = re.compile(r"^intel-rapl:(\d+)(?::(\d+))?$")


@dataclass(frozen=True)
class RaplZone:
    """One counter: its sysfs directory, name and wrap range in microjoules."""

    path: Path
    name: str
    max_range_uj: int

    def read_uj(self) -> int:
        """Current counter value in microjoules (raises OSError/ValueError when unreadable)."""
        return int((self.path / "energy_uj").read_text().strip())


def find_zones(root: Path | str | None = None) -> list[RaplZone]:
    """The RAPL zones to sum (packages + dram, or psys alone) under ``root`` (default /sys/class/powercap);
    raises MeterUnavailable with the reason."""
    root = Path(root if root is not None else POWERCAP_ROOT)
    if not root.is_dir():
        raise MeterUnavailable(f"no {root} (RAPL not exposed on this machine)")
    packages: list[RaplZone] = []
    psys: list[RaplZone] = []
    dram: list[RaplZone] = []
    for entry in sorted(os.listdir(root)):
        m = _ZONE.match(entry)
        if not m:
            continue
        p = root / entry
        try:
            name = (p / "name").read_text().strip()
            rng = int((p / "max_energy_range_uj").read_text().strip())
        except (OSError, ValueError) as exc:
            raise MeterUnavailable(f"cannot read RAPL zone {p}: {exc}") from None
        zone = RaplZone(p, name, rng)
        if m.group(2) is None:
            (psys if name == "psys" else packages).append(zone)
        elif name == "dram":
            dram.append(zone)
    zones = packages + dram if packages else psys
    if not zones:
        raise MeterUnavailable(f"no RAPL package zones under {root}")
    for z in zones:
        try:
            z.read_uj()
        except PermissionError:
            raise MeterUnavailable(f"{z.path / 'energy_uj'} is not readable (root only since Linux 5.10)") from None
        except (OSError, ValueError) as exc:
            raise MeterUnavailable(f"cannot read {z.path / 'energy_uj'}: {exc}") from None
    return zones


def rapl_available(root: Path | str | None = None) -> tuple[bool, str]:
    """(True, "") when RAPL can be read here, else (False, reason)."""
    try:
        find_zones(root)
        return True, ""
    except MeterUnavailable as exc:
        return False, str(exc)


FROZEN_WINDOW_S = 0.1  # a zone whose counter does not move over a window this long is frozen, not idle


def counter_delta_uj(zone: RaplZone, start_uj: int, end_uj: int, seconds: float) -> int:
    """Energy between two readings of ``zone``'s counter, in microjoules.

    A counter that went down wrapped once, when the energy that implies (end + range - start) is at most half
    of the wrap range (a window far shorter than a wrap period); a smaller decrease (e.g. 1 µJ) is a bad
    reading, and a counter that did not move over ``seconds`` >= :data:`FROZEN_WINDOW_S` is frozen (a package
    or DRAM zone always uses energy): both raise MeterUnavailable rather than report 0 J or a false wrap."""
    delta = end_uj - start_uj
    if delta < 0:
        wrapped = delta + zone.max_range_uj
        if not 0 <= wrapped <= zone.max_range_uj // 2:
            raise MeterUnavailable(f"RAPL counter {zone.name!r} went back by {-delta} uJ ({start_uj} -> {end_uj}), "
                                   "which is not a wrap: reading refused")
        return wrapped
    if delta == 0 and seconds >= FROZEN_WINDOW_S:
        raise MeterUnavailable(f"RAPL counter {zone.name!r} did not advance over {seconds:.2f} s (a frozen counter): "
                               "no energy measured")
    return delta


class RaplMeter:
    """Meter over RAPL counters (kind "measured", method "rapl")."""

    method = "rapl"
    kind = "measured"
    caveat = RAPL_CAVEAT
    supports_idle = True

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else None
        self.zones: list[RaplZone] = []
        self.device = "cpu (RAPL)"
        self._start: list[int] = []
        self._t0 = 0.0

    def open(self) -> None:
        self.zones = find_zones(self.root if self.root is not None else POWERCAP_ROOT)
        self.device = "cpu (RAPL: " + ", ".join(z.name for z in self.zones) + ")"

    def _read_all(self) -> list[int]:
        try:
            return [z.read_uj() for z in self.zones]
        except (OSError, ValueError) as exc:
            raise MeterUnavailable(f"RAPL read failed: {exc}") from None

    def start(self) -> None:
        if not self.zones:
            self.open()
        self._t0 = time.perf_counter()
        self._start = self._read_all()

    def stop(self) -> MeterReading:
        end = self._read_all()
        seconds = time.perf_counter() - self._t0
        comps: dict[str, float] = {}
        for z, a, b in zip(self.zones, self._start, end):
            comps[z.name] = comps.get(z.name, 0.0) + counter_delta_uj(z, a, b, seconds) * 1e-6
        return MeterReading(joules=sum(comps.values()), seconds=seconds, components=comps)

    def close(self) -> None:
        self._start = []
