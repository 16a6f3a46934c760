"""``energy.compare`` on the sequences of a data split, as ``spikernn energy`` and the demo run it, and the
report's rows as plain dicts for tables and ``--json``.

Nothing here measures, simulates or places by itself: :func:`spikernn.energy.compare` does all of it (the
measured CPU/GPU rows, the Loihi row from the converted network's simulated activity with hops from a
Loihi 2 placement, the threshold sweep).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import torch

from spikernn.datasets import SequenceData

REPORT_FORMATS = ("html", "md", "json")


def energy_report(model: torch.nn.Module, data: SequenceData, *, out: Optional[Path] = None,
                  platforms: Sequence[str] = ("cpu", "gpu", "loihi"), network: Any = None, precision: str = "fixed",
                  threshold: float = 0.0, calibration_x: Optional[torch.Tensor] = None, quick: bool = False,
                  title: Optional[str] = None, notes: Optional[list[str]] = None,
                  **options: Any) -> tuple[Any, list[Path]]:
    """``energy.compare`` of ``model`` on all sequences of ``data`` (one batch: targets and lengths included);
    saves report.html/.md/.json in ``out`` when given. Returns the report and the written paths.

    ``network``: the converted network behind the Loihi row; without one compare converts the model
    (``threshold``: sigma-delta threshold of dense models). Conversions compare makes (the Loihi row without
    ``network``, a threshold sweep) use ``precision``, fixed point calibrated on ``calibration_x`` (default:
    the measured inputs). ``quick`` asks for short measurement windows. ``options`` go to compare unchanged
    (a misspelt one fails there).
    """
    from spikernn import energy
    from spikernn.energy.compare import batch_first_of

    opts: dict[str, Any] = {"targets": data.y, "lengths": data.lengths, "platforms": tuple(platforms),
                            "precision": precision, "threshold": threshold}
    if precision == "fixed":
        opts["convert_options"] = {"calibration_x": calibration_x if calibration_x is not None else data.x}
    if network is not None:
        opts["network"] = network
    if title:
        opts["title"] = title
    if quick:
        opts.update({"min_window_s": 0.25, "repeats": 2})
    opts.update(options)
    T = int(data.lengths.max())
    x = data.x[:, :T] if batch_first_of(model) else data.x[:, :T].transpose(0, 1).contiguous()
    report = energy.compare(model, x, **opts)
    report.notes.extend(notes or [])
    return report, (save_report(report, out) if out is not None else [])


def save_report(report: Any, folder: Path) -> list[Path]:
    """Write ``report.html``, ``report.md`` and ``report.json`` into ``folder``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [report.save(folder / f"report.{ext}") for ext in REPORT_FORMATS]


def energy_rows(report: Any) -> list[dict[str, Any]]:
    """The rows of a report as plain dicts (:func:`energy_row`)."""
    return [energy_row(r) for r in report.rows]


def energy_row(row: Any) -> dict[str, Any]:
    """One :class:`~spikernn.energy.PlatformRow` as a plain dict: platform, joules, seconds, kind, method,
    caveat, accuracy, notes, device and basis (what the joules count: :attr:`EnergyFigure.basis`, "" when
    unavailable)."""
    basis = row.figure.basis if row.figure is not None and row.kind != "unavailable" else ""
    return {"platform": row.platform, "joules": row.energy_per_inference_j, "seconds": row.seconds_per_inference,
            "kind": row.kind, "method": row.method, "caveat": row.caveat, "accuracy": row.accuracy,
            "notes": row.notes, "device": row.device, "basis": basis}


def loihi_activity(report: Any) -> dict[str, float]:
    """Activity per inference behind a report's Loihi row (events, synaptic_ops, neuron_updates, core_hops);
    empty when the report has no Loihi row."""
    if not report.activity:
        return {}
    from spikernn.hardware.stats import ActivityStats

    return {k: float(v) for k, v in ActivityStats.from_dict(report.activity).per_inference().items()}


def row_accuracy(report: Any, platform: str) -> Optional[float]:
    """The accuracy in the row of ``platform`` (None when there is no such row or it has none)."""
    return next((r.accuracy for r in report.rows if r.platform == platform), None)
