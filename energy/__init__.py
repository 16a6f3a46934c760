"""Energy: measured CPU/GPU energy per inference next to estimated Loihi-class energy, and reports.

Every figure is an :class:`EnergyFigure` that says whether it is "measured" or "estimated", how
(``method``) and what it cannot see (``caveat``). Units: joules and seconds per inference.

    from spikernn import energy
    fig = energy.measure(lambda: model(x), device="cpu", inferences_per_call=batch)
    rep = energy.compare(model, x, targets)           # rows: cpu, gpu, loihi
    rep.save("report.html")                           # also .md and .json

Hardware figures (Davies 2018, Horowitz 2014, Blouw 2019) ship in ``figures.json`` with their sources.
"""
from spikernn.energy.compare import compare, threshold_sweep
from spikernn.energy.counts import (DenseArch, OpCounts, arch_of, cell_step_counts, horowitz_estimate,
                                    sequence_counts, step_counts)
from spikernn.energy.figures import citation, horowitz, loihi, sources
from spikernn.energy.loihi import LoihiEstimate, loihi_estimate
from spikernn.energy.measurement import Measurement, measure, measuring
from spikernn.energy.meters import MeterReading, MeterUnavailable
from spikernn.energy.report import EnergyReport, PlatformRow, SweepPoint
from spikernn.energy.result import EnergyFigure
from spikernn.energy.saved import report_for_saved_model, save_report
from spikernn.energy.sources import describe_energy_sources

__all__ = [
    "EnergyFigure", "EnergyReport", "PlatformRow", "SweepPoint", "LoihiEstimate", "Measurement", "MeterReading",
    "MeterUnavailable", "OpCounts", "DenseArch",
    "measure", "measuring", "compare", "threshold_sweep", "loihi_estimate", "cell_step_counts", "step_counts",
    "sequence_counts", "arch_of", "horowitz_estimate", "report_for_saved_model", "save_report",
    "describe_energy_sources", "citation", "sources", "loihi", "horowitz",
]
