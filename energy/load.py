"""What else the machine was doing during a measurement window, and whether that disturbed it.

A CPU energy figure is only as stable as the window it was measured in. On a shared machine other processes
compete for the cores; torch with more threads than free cores then spins and waits (on a loaded 2-core
machine ``nn.LSTM`` took 89 ms per batch with 2 threads and 10.7 ms with 1). This module reads, for one
window:

* the wall time, and **this process's CPU time** (``time.process_time``: user + system of all its threads);
* the **whole machine's busy CPU time** from ``/proc/stat`` (user + nice + system + irq + softirq + steal, in
  clock ticks), so ``others = machine busy - this process`` is the CPU time other processes used;
* the cores this process may run on (``os.sched_getaffinity``).

A window is **disturbed** when (a) other processes used more cores than the threads left free
(``others_cores > cores - threads + OVERSUBSCRIPTION_SLACK``: the threads were oversubscribed), or (b) a
single-threaded measurement got less than ``MIN_OWN_SHARE`` of a core (it waited for the CPU). Without
``/proc/stat`` (not Linux) the machine's load is unknown and only (b) is checked.
"""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

PROC_STAT = Path("/proc/stat")
OVERSUBSCRIPTION_SLACK = 0.25  # cores of other load tolerated beyond the free ones (scheduler noise, our meters)
MIN_OWN_SHARE = 0.75  # a single-threaded window must get at least this share of one core


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


def machine_busy_seconds(path: Path | str = PROC_STAT) -> float | None:
    """Busy CPU seconds of the whole machine since boot, summed over cores (None when unreadable).

    From the first ``cpu`` line of ``/proc/stat``: user + nice + system + irq + softirq + steal (idle and
    iowait excluded; guest time is already inside user), divided by ``SC_CLK_TCK``.
    """
    try:
        with open(path, encoding="ascii") as f:
            first = f.readline().split()
        if not first or first[0] != "cpu":
            return None
        v = [int(x) for x in first[1:9]] + [0] * max(0, 9 - len(first))
        user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        return (user + nice + system + irq + softirq + steal) / float(ticks)
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class LoadSample:
    """One window's load.

    Attributes:
        wall_s: window length (s). process_cpu_s: this process's CPU time in the window (s).
        others_cpu_s: CPU time used by every other process (s), None when ``/proc/stat`` is unreadable.
        cores: usable cores. threads: torch threads the measured work ran with (None if not pinned).
        disturbed: whether the window is disturbed (see the module docstring); reason: why, in words.
    """

    wall_s: float
    process_cpu_s: float
    others_cpu_s: float | None
    cores: int
    threads: int | None
    disturbed: bool
    reason: str = ""

    @property
    def own_cores(self) -> float:
        """Cores this process kept busy on average (CPU time / wall time)."""
        return self.process_cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def others_cores(self) -> float | None:
        """Cores other processes kept busy on average (None when unknown)."""
        if self.others_cpu_s is None or self.wall_s <= 0:
            return None
        return self.others_cpu_s / self.wall_s

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "own_cores": self.own_cores, "others_cores": self.others_cores}


def judge(wall_s: float, process_cpu_s: float, others_cpu_s: float | None, cores: int,
          threads: int | None) -> tuple[bool, str]:
    """(disturbed, reason) for a window with these figures (the rule in the module docstring)."""
    reasons = []
    want = threads if threads is not None else 1
    if others_cpu_s is not None and wall_s > 0:
        others = others_cpu_s / wall_s
        free = cores - want
        if others > free + OVERSUBSCRIPTION_SLACK:
            reasons.append(f"other processes used {others:.2f} of {cores} cores while this measurement ran "
                           f"{want} thread(s): oversubscribed")
    if want == 1 and wall_s > 0 and process_cpu_s / wall_s < MIN_OWN_SHARE:
        reasons.append(f"the single-threaded work got {process_cpu_s / wall_s:.2f} of a core (waited for the CPU)")
    return bool(reasons), "; ".join(reasons)


class LoadWindow:
    """Reads the load over one window: ``w = LoadWindow(threads); w.start(); ...; sample = w.stop()``."""

    def __init__(self, threads: int | None = None, *, proc_stat: Path | str = PROC_STAT) -> None:
        self.threads = threads
        self.proc_stat = proc_stat
        self.cores = usable_cores()
        self._t0 = self._c0 = 0.0
        self._m0: float | None = None

    def start(self) -> None:
        self._m0 = machine_busy_seconds(self.proc_stat)
        self._c0 = time.process_time()
        self._t0 = time.perf_counter()

    def stop(self) -> LoadSample:
        wall = time.perf_counter() - self._t0
        cpu = time.process_time() - self._c0
        m1 = machine_busy_seconds(self.proc_stat)
        others = None
        if self._m0 is not None and m1 is not None:
            # /proc/stat counts in clock ticks (10 ms): clip the rounding below zero
            others = max(m1 - self._m0 - cpu, 0.0)
        disturbed, reason = judge(wall, cpu, others, self.cores, self.threads)
        return LoadSample(wall, cpu, others, self.cores, self.threads, disturbed, reason)


def background_load(seconds: float = 0.3, *, proc_stat: Path | str = PROC_STAT) -> float | None:
    """Cores other processes keep busy right now, measured over ``seconds`` of sleep (None when unknown)."""
    w = LoadWindow(None, proc_stat=proc_stat)
    w.start()
    time.sleep(max(seconds, 0.0))
    s = w.stop()
    return s.others_cores


def choose_threads(requested: int | str | None, *, available: int | None = None, others_cores: float | None = None,
                   current: int | None = None) -> tuple[int, str]:
    """Torch threads for a measurement, and why.

    ``requested``: an int (used as given, >= 1), or "auto"/None: the cores left free by the other load
    (``cores - round(others)``), at least 1 and at most the current torch setting.
    """
    cores = available if available is not None else usable_cores()
    if isinstance(requested, int) and not isinstance(requested, bool):
        if requested < 1:
            raise ValueError(f"threads must be >= 1 (or 'auto'), got {requested}")
        return requested, "as requested"
    if requested not in (None, "auto"):
        raise ValueError(f"threads must be an int >= 1 or 'auto', got {requested!r}")
    cap = current if current is not None else cores
    if others_cores is None:
        n = max(1, min(cap, cores))
        return n, f"{cores} usable cores, other load unknown"
    free = max(1, cores - int(round(others_cores)))
    n = max(1, min(cap, free))
    return n, f"{cores} usable cores, other processes kept {others_cores:.1f} busy just before, so {free} free"


def disturbance_summary(samples: Sequence[LoadSample]) -> str:
    """One sentence for the disturbed windows among ``samples``: how many, the other load and the share of a
    core the work got, as ranges (empty when none is disturbed)."""
    bad = [s for s in samples if s.disturbed]
    if not bad:
        return ""
    parts = [f"{len(bad)} of {len(samples)} windows disturbed"]
    others = [s.others_cores for s in bad if s.others_cores is not None]
    if others:
        parts.append(f"other processes used {min(others):.2f}-{max(others):.2f} of {bad[0].cores} cores while "
                     f"this ran {bad[0].threads or 1} thread(s)"
                     + (" (oversubscribed)" if any("oversubscribed" in s.reason for s in bad) else ""))
    own = [s.own_cores for s in bad]
    parts.append(f"the work got {min(own):.2f}-{max(own):.2f} cores")
    return "; ".join(parts)


def summarise(samples: Sequence[LoadSample]) -> dict[str, Any]:
    """Medians and counts over windows, for the report: windows, disturbed windows, own and others' cores."""
    if not samples:
        return {}
    others = [s.others_cores for s in samples if s.others_cores is not None]
    return {
        "windows": len(samples),
        "disturbed_windows": sum(s.disturbed for s in samples),
        "cores": samples[0].cores,
        "threads": samples[0].threads,
        "own_cores_median": statistics.median(s.own_cores for s in samples),
        "others_cores_median": statistics.median(others) if others else None,
        "others_cores_max": max(others) if others else None,
        "reasons": sorted({s.reason for s in samples if s.reason}),
    }
