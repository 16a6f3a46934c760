"""The one record every energy figure is carried in: :class:`EnergyFigure`.

A figure says what it is (``kind``: "measured" or "estimated"), how it was obtained (``method``), what the
instrument cannot see (``caveat``), and the numbers per inference: joules and seconds, over how many
``iterations`` (inferences per measurement window) and ``repeats`` (windows). When nothing could be
obtained, ``joules_per_inference`` is ``None`` and ``unavailable_reason`` says why.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Sequence

Kind = Literal["measured", "estimated"]
KINDS: tuple[str, ...] = ("measured", "estimated")


@dataclass(frozen=True)
class EnergyFigure:
    """Energy and time of one inference, with provenance.

    Attributes:
        kind: "measured" (read from an energy counter) or "estimated" (a model: TDP x load, per-op energies).
        method: how, e.g. "rapl", "nvml-energy-counter", "codecarbon-tdp-load", "loihi-davies2018-proxy".
        caveat: what the figure includes/excludes and how far to trust it, in words.
        joules_per_inference: median over repeats of the figure in joules (total, i.e. including idle power,
            for counters), or None when unavailable.
        seconds_per_inference: median wall-clock seconds per inference, or None.
        iterations: inferences per measurement window (median over windows; the batch for analytic estimates).
        repeats: number of windows (samples) the median is taken over (1 for analytic estimates).
        spread_j: half the range (max - min) / 2 of the per-inference joule samples, in joules.
        samples_j: per-window joules per inference (total).
        dynamic_joules_per_inference: median of (total - idle power x window) / iterations, in joules, when an
            idle power was measured; None otherwise.
        dynamic_samples_j: per-window dynamic joules per inference.
        idle_watts: idle power subtracted for the dynamic figure, in watts, or None.
        components_j: joules per inference split by component (e.g. {"cpu": .., "ram": ..}) or by operation.
        device: what was measured or modelled, e.g. "cpu", "cuda:0 NVIDIA H100", "Loihi (proxy for Loihi 2)".
        unavailable_reason: why there is no number (None when there is one).
        sources: keys of ``figures.json`` sources the figure relies on.
        low_j, high_j: the range of the figure in joules per inference: min and max of the samples for a
            measurement, the bounds over the stated approximations for an estimate (None when unknown).
        ram_joules_per_inference: RAM energy per inference, kept OUT of ``joules_per_inference`` and labelled
            by ``ram_kind`` ("measured": a RAPL DRAM zone; "estimated": codecarbon's constant power per DIMM).
        ram_kind: "measured" / "estimated" / None (no RAM figure).
        threads: torch threads the work ran with during the windows (pinned, then restored); None if untouched.
        threads_note: how the thread count was chosen.
        cpu_seconds_per_inference: median process CPU time (user + system, all threads) per inference.
        seconds_samples, cpu_seconds_samples: per-window wall and CPU seconds per inference.
        load: what else the machine did during the windows (see :func:`spikernn.energy.load.summarise`).
        disturbed: True when too few undisturbed windows could be had (the figure then uses every window).
        disturbed_reason: why, in words.
        static_joules_per_inference: static (leakage) energy per inference for an estimate that has a cited
            static power (Loihi 2), not included in ``joules_per_inference``; None otherwise.
    """

    kind: Kind
    method: str
    caveat: str
    joules_per_inference: float | None
    seconds_per_inference: float | None
    iterations: int = 0
    repeats: int = 1
    spread_j: float | None = None
    samples_j: tuple[float, ...] = ()
    dynamic_joules_per_inference: float | None = None
    dynamic_samples_j: tuple[float, ...] = ()
    idle_watts: float | None = None
    components_j: dict[str, float] = field(default_factory=dict)
    device: str = ""
    unavailable_reason: str | None = None
    sources: tuple[str, ...] = ()
    low_j: float | None = None
    high_j: float | None = None
    ram_joules_per_inference: float | None = None
    ram_kind: str | None = None
    threads: int | None = None
    threads_note: str = ""
    cpu_seconds_per_inference: float | None = None
    seconds_samples: tuple[float, ...] = ()
    cpu_seconds_samples: tuple[float, ...] = ()
    load: dict[str, Any] = field(default_factory=dict)
    disturbed: bool = False
    disturbed_reason: str = ""
    static_joules_per_inference: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"EnergyFigure.kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def basis(self) -> str:
        """What ``joules_per_inference`` counts, in words: a counter's total (idle power included), a
        TDP x load share (codecarbon), or dynamic energy only (per-operation estimates, no static power)."""
        m = self.method
        if m.startswith("loihi2-system"):
            return "whole system at full load (all included)"
        if m.startswith("loihi"):
            return "dynamic only"
        if m.startswith("codecarbon"):
            return "TDP x load share, CPU only"
        if m == "rapl":
            return "package incl. idle, RAM separate"
        if m in ("nvml-energy-counter", "zeus"):
            return "total incl. idle"
        return "total"

    @property
    def interval_j(self) -> tuple[float, float] | None:
        """(low, high) joules per inference: ``low_j``/``high_j`` when set, else the samples' range."""
        if self.low_j is not None and self.high_j is not None:
            return (self.low_j, self.high_j)
        if self.samples_j:
            return (min(self.samples_j), max(self.samples_j))
        return None

    @property
    def available(self) -> bool:
        """True when the figure carries an energy number."""
        return self.joules_per_inference is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        d = asdict(self)
        d["samples_j"] = list(self.samples_j)
        d["dynamic_samples_j"] = list(self.dynamic_samples_j)
        d["sources"] = list(self.sources)
        d["seconds_samples"] = list(self.seconds_samples)
        d["cpu_seconds_samples"] = list(self.cpu_seconds_samples)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EnergyFigure":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        for k in ("samples_j", "dynamic_samples_j", "sources", "seconds_samples", "cpu_seconds_samples"):
            d[k] = tuple(d.get(k) or ())
        d["components_j"] = dict(d.get("components_j") or {})
        d["load"] = dict(d.get("load") or {})
        return cls(**d)

    @classmethod
    def unavailable(cls, method: str, reason: str, *, device: str = "", caveat: str = "") -> "EnergyFigure":
        """A figure with no number: nothing could be measured or estimated, and ``reason`` says why."""
        return cls(
            kind="estimated",
            method=method,
            caveat=caveat or f"unavailable: {reason}",
            joules_per_inference=None,
            seconds_per_inference=None,
            device=device,
            unavailable_reason=reason,
        )


def median_and_spread(samples: Sequence[float]) -> tuple[float | None, float | None]:
    """Median and half-range ((max - min) / 2) of ``samples``; (None, None) when empty."""
    if not samples:
        return None, None
    return float(statistics.median(samples)), float((max(samples) - min(samples)) / 2.0)
