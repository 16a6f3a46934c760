"""Energy report for a model saved with ``spikernn.save`` (what ``spikernn energy`` calls)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from spikernn.energy.compare import compare
from spikernn.energy.report import EnergyReport

FORMATS = ("html", "md", "json")


def save_report(report: EnergyReport, out: str | os.PathLike[str], formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``report`` as ``<out>.<fmt>`` for each format ("html", "md", "json"); ``out`` without extension.
    When ``out`` is an existing directory the files are ``<out>/report.<fmt>``."""
    base = Path(out)
    if base.is_dir():
        base = base / "report"
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"unknown report format(s) {bad}; choose from {FORMATS}")
    return [report.save(base.with_name(base.name + "." + f) if base.suffix == "" else base.with_suffix("." + f))
            for f in formats]


def report_for_saved_model(model_path: str | os.PathLike[str], inputs: Any, targets: Any = None, *,
                           out: str | os.PathLike[str] | None = None, formats: Sequence[str] = FORMATS,
                           **compare_options: Any) -> tuple[EnergyReport, list[Path]]:
    """Load a model saved with ``spikernn.save``, :func:`~spikernn.energy.compare.compare` it on ``inputs``
    (and ``targets``), and write the report when ``out`` is given.

    Returns ``(report, written paths)``. Raises FileNotFoundError when ``model_path`` does not exist and
    ImportError when this spikernn has no ``load``.
    """
    p = Path(model_path)
    if not p.exists():
        raise FileNotFoundError(f"no saved model at {p}")
    import spikernn

    load = getattr(spikernn, "load", None)
    if load is None:
        raise ImportError("spikernn.load is not available in this installation")
    model = load(p)
    compare_options.setdefault("title", f"energy report: {p.name}")
    report = compare(model, inputs, targets, **compare_options)
    paths = save_report(report, out, formats) if out is not None else []
    return report, paths
