"""``EnergyReport``: one row per platform (cpu, gpu, loihi), ratios, analytic cross-checks, an optional
sigma-delta threshold sweep and the activity behind the Loihi row; saved as JSON, Markdown or HTML.

JSON schema "spikernn.energy-report/1": ``{"schema", "title", "created", "rows": [PlatformRow...],
"ratios", "analytic", "threshold_sweep": [SweepPoint...], "activity", "loihi_breakdown", "notes",
"metadata": {"machine", "versions", "sources"}}``; every row and figure carries ``kind``, ``method`` and
``caveat``. Units: joules per inference, seconds per inference.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata as _md
from pathlib import Path
from typing import Any, Iterable

from spikernn.energy.figures import sources as _sources
from spikernn.energy.result import EnergyFigure
from spikernn.energy.uncertainty import ratio_range, wilson_interval

SCHEMA = "spikernn.energy-report/1"
PLATFORM_ORDER = ("cpu", "gpu", "loihi", "loihi2-system")


@dataclass
class PlatformRow:
    """One platform's figure for the same work.

    Attributes:
        platform: "cpu", "gpu" or "loihi" (or another label).
        energy_per_inference_j: joules per inference (None when unavailable).
        seconds_per_inference: seconds per inference (None when unavailable or not modelled).
        kind: "measured", "estimated", or "unavailable" when there is no figure.
        method: how the figure was obtained (e.g. "codecarbon-tdp-load").
        caveat: what the figure includes and how far to trust it.
        accuracy: fraction correct on the given targets (None without targets).
        dynamic_energy_per_inference_j: total minus idle, when an idle power was measured.
        figure: the full :class:`EnergyFigure` (samples, spread, components), when there is one.
        device: the device measured or modelled.
        notes: anything else worth saying (e.g. which model ran: dense torch vs converted network).
        accuracy_n: how many samples ``accuracy`` is over. accuracy_ci: its 95 % Wilson interval [low, high].
        accuracy_of: which samples, in words (e.g. "full test split", "the measured batch").
    """

    platform: str
    energy_per_inference_j: float | None
    seconds_per_inference: float | None
    kind: str
    method: str
    caveat: str
    accuracy: float | None = None
    dynamic_energy_per_inference_j: float | None = None
    figure: EnergyFigure | None = None
    device: str = ""
    notes: str = ""
    accuracy_n: int | None = None
    accuracy_ci: list[float] | None = None
    accuracy_of: str = ""

    @classmethod
    def from_figure(cls, platform: str, fig: EnergyFigure, *, accuracy: float | None = None,
                    notes: str = "", accuracy_n: int | None = None, accuracy_of: str = "") -> "PlatformRow":
        """A row from a figure; an unavailable figure gives kind "unavailable" and its reason as caveat.
        With ``accuracy`` and ``accuracy_n`` the row carries the 95 % Wilson interval of the accuracy."""
        ci = None
        if accuracy is not None and accuracy_n:
            ci = list(wilson_interval(int(round(accuracy * accuracy_n)), int(accuracy_n)))
        extra = {"accuracy_n": accuracy_n if accuracy is not None else None, "accuracy_ci": ci,
                 "accuracy_of": accuracy_of if accuracy is not None else ""}
        if not fig.available:
            return cls(platform, None, None, "unavailable", fig.method,
                       f"unavailable: {fig.unavailable_reason}", accuracy, None, fig, fig.device, notes, **extra)
        return cls(platform, fig.joules_per_inference, fig.seconds_per_inference, fig.kind, fig.method,
                   fig.caveat, accuracy, fig.dynamic_joules_per_inference, fig, fig.device, notes, **extra)

    @property
    def interval_j(self) -> tuple[float, float] | None:
        """(low, high) energy per inference (J) of the row's figure, when known."""
        return self.figure.interval_j if self.figure is not None and self.energy_per_inference_j is not None else None

    @property
    def edp_js(self) -> float | None:
        """Energy-delay product per inference, joule-seconds (energy x time per inference), when both exist."""
        if self.energy_per_inference_j is None or self.seconds_per_inference is None:
            return None
        return self.energy_per_inference_j * self.seconds_per_inference

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["figure"] = self.figure.to_dict() if self.figure is not None else None
        d["edp_js"] = self.edp_js
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PlatformRow":
        d = dict(d)
        d.pop("edp_js", None)
        d["figure"] = EnergyFigure.from_dict(d["figure"]) if d.get("figure") else None
        return cls(**d)


@dataclass
class SweepPoint:
    """One sigma-delta threshold of a sweep: accuracy (over ``n`` samples, 95 % interval ``accuracy_ci``) vs
    activity and estimated Loihi energy (J/inference)."""

    threshold: float
    accuracy: float | None
    events_per_inference: float
    synaptic_ops_per_inference: float
    energy_per_inference_j: float
    n: int | None = None
    accuracy_ci: list[float] | None = None


def _version(dist: str) -> str | None:
    try:
        return _md.version(dist)
    except Exception:
        return None


def machine_metadata() -> dict[str, Any]:
    """Machine, versions and date of this run (never imports torch/lava just to ask)."""
    return {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), "python": platform.python_version()},
        "versions": {d: _version(d) for d in ("spikernn", "torch", "numpy", "codecarbon", "nvidia-ml-py",
                                               "lava-nc", "matplotlib")},
    }


@dataclass
class EnergyReport:
    """Energy per inference on several platforms for the same model and inputs, with provenance."""

    rows: list[PlatformRow] = field(default_factory=list)
    title: str = "spikernn energy report"
    model: str = ""
    inferences: int = 0
    steps: int | None = None
    analytic: dict[str, Any] = field(default_factory=dict)
    threshold_sweep: list[SweepPoint] = field(default_factory=list)
    activity: dict[str, Any] | None = None
    loihi_breakdown: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    latency: dict[str, Any] | None = None
    neurobench: dict[str, Any] | None = None
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    metadata: dict[str, Any] = field(default_factory=machine_metadata)

    # -- rows ---------------------------------------------------------------------------------------
    def add_row(self, row: PlatformRow) -> None:
        """Add (or replace) the row of ``row.platform``."""
        self.rows = [r for r in self.rows if r.platform != row.platform] + [row]
        order = {p: i for i, p in enumerate(PLATFORM_ORDER)}
        self.rows.sort(key=lambda r: order.get(r.platform, len(order)))

    def row(self, platform: str) -> PlatformRow:
        """The row of ``platform``; KeyError naming the platforms present otherwise."""
        for r in self.rows:
            if r.platform == platform:
                return r
        raise KeyError(f"no row for platform {platform!r}; rows: {[r.platform for r in self.rows]}")

    def ratios(self, dynamic: bool = False) -> dict[str, float]:
        """Energy ratios "a/b" for every ordered pair of platforms that both have a figure: of
        ``energy_per_inference_j`` (each row on its own basis, see :attr:`EnergyFigure.basis`), or with
        ``dynamic`` of ``dynamic_energy_per_inference_j`` (idle/static power excluded on both sides)."""
        key = "dynamic_energy_per_inference_j" if dynamic else "energy_per_inference_j"
        out = {}
        for a in self.rows:
            for b in self.rows:
                ea, eb = getattr(a, key), getattr(b, key)
                if a is not b and ea is not None and eb:
                    out[f"{a.platform}/{b.platform}"] = ea / eb
        return out

    def ratio_table(self, dynamic: bool = False) -> list[dict[str, Any]]:
        """Each pair of rows once, in row order: {"a", "b", "value", "low", "high"} with the range from the
        two figures' ranges (:func:`spikernn.energy.uncertainty.ratio_range`; a side without a range counts
        as exact; None when neither has one). Rows labelled with a model (``"cpu (spiking LSTM)"``) pair with
        rows of the same model, or of the same platform."""
        key = "dynamic_energy_per_inference_j" if dynamic else "energy_per_inference_j"
        out = []
        for i, a in enumerate(self.rows):
            for b in self.rows[i + 1:]:
                ea, eb = getattr(a, key), getattr(b, key)
                if ea is None or not eb or not _comparable(a.platform, b.platform):
                    continue
                lo = hi = None
                ia, ib = (a.interval_j, b.interval_j) if not dynamic else (None, None)
                if (ia or ib) and not dynamic:
                    ia, ib = ia or (ea, ea), ib or (eb, eb)
                    if min(ib) > 0:
                        _, lo, hi = ratio_range((ia[0], ea, ia[1]), (ib[0], eb, ib[1]))
                out.append({"a": a.platform, "b": b.platform, "value": ea / eb, "low": lo, "high": hi})
        return out

    # -- sweep and activity -------------------------------------------------------------------------
    def add_threshold_sweep(self, points: Iterable[SweepPoint | dict[str, Any]]) -> None:
        """Attach sigma-delta threshold sweep points (SweepPoint or dicts with its fields), sorted by threshold."""
        for p in points:
            self.threshold_sweep.append(p if isinstance(p, SweepPoint) else SweepPoint(**p))
        self.threshold_sweep.sort(key=lambda p: p.threshold)

    def set_activity(self, stats: Any) -> None:
        """Keep the activity (an ActivityStats or its dict) behind the Loihi row, for tables and plots."""
        self.activity = stats.to_dict() if hasattr(stats, "to_dict") else dict(stats)

    # -- (de)serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        used = sorted({s for r in self.rows if r.figure for s in r.figure.sources}
                      | set((self.latency or {}).get("sources", ()))
                      | {"davies2018", "horowitz2014", "blouw2019", "intel2021"})
        src = _sources()
        return {
            "schema": SCHEMA, "title": self.title, "created": self.created, "model": self.model,
            "inferences": self.inferences, "steps": self.steps,
            "rows": [r.to_dict() for r in self.rows], "ratios": self.ratios(),
            "dynamic_ratios": self.ratios(dynamic=True), "analytic": self.analytic,
            "threshold_sweep": [asdict(p) for p in self.threshold_sweep], "activity": self.activity,
            "ratio_ranges": self.ratio_table(), "latency": self.latency, "neurobench": self.neurobench,
            "loihi_breakdown": self.loihi_breakdown, "notes": list(self.notes),
            "metadata": {**self.metadata, "sources": {k: src[k] for k in used if k in src}},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EnergyReport":
        if d.get("schema") != SCHEMA:
            raise ValueError(f"not an energy report: schema {d.get('schema')!r}, expected {SCHEMA!r}")
        meta = dict(d.get("metadata") or {})
        meta.pop("sources", None)
        return cls(rows=[PlatformRow.from_dict(r) for r in d.get("rows", [])], title=d.get("title", ""),
                   model=d.get("model", ""), inferences=int(d.get("inferences", 0)), steps=d.get("steps"),
                   analytic=d.get("analytic") or {},
                   threshold_sweep=[SweepPoint(**p) for p in d.get("threshold_sweep", [])],
                   activity=d.get("activity"), loihi_breakdown=d.get("loihi_breakdown"),
                   latency=d.get("latency"), neurobench=d.get("neurobench"),
                   notes=list(d.get("notes", [])), created=d.get("created", ""), metadata=meta)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, default=_json_default)

    def to_markdown(self) -> str:
        from spikernn.energy.render import to_markdown

        return to_markdown(self)

    def to_html(self) -> str:
        from spikernn.energy.render import to_html

        return to_html(self)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report; the format follows the extension: ``.json``, ``.md`` or ``.html``/``.htm``.

        Parent directories are created. Raises ValueError for any other extension.
        """
        p = Path(path)
        ext = p.suffix.lower()
        writers = {".json": self.to_json, ".md": self.to_markdown, ".html": self.to_html, ".htm": self.to_html}
        if ext not in writers:
            raise ValueError(f"cannot save an energy report as {p.name!r}: use .json, .md or .html")
        text = writers[ext]()
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "EnergyReport":
        """Read a report saved as ``.json``."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _split_label(platform: str) -> tuple[str, str]:
    """("cpu", "spiking LSTM") from "cpu (spiking LSTM)"; (platform, "") without a label."""
    if platform.endswith(")") and " (" in platform:
        base, label = platform[:-1].split(" (", 1)
        return base, label
    return platform, ""


def _comparable(a: str, b: str) -> bool:
    (pa, la), (pb, lb) = _split_label(a), _split_label(b)
    return la == lb or pa == pb


def _json_default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except Exception:
        pass
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
