"""Energy: measured CPU/GPU energy per inference next to estimated Loihi-class energy, and reports.

Every figure is an :class:`EnergyFigure` that says whether it is "measured" or "estimated", how
(``method``) and what it cannot see (``caveat``). Units: joules and seconds per inference.

    from spikernn import energy
    fig = energy.measure(lambda: model(x), device="cpu", inferences_per_call=batch)
    rep = energy.compare(model, x, targets,           # rows: cpu, gpu, loihi, loihi2-system
                         eval_inputs=x_test, eval_targets=y_test)   # accuracy with n and 95 % CI
    rep.save("report.html")                           # also .md and .json
    lat = energy.loihi_latency(stats, net)            # modelled Loihi time per inference (Davies 2018)
    nb = energy.neurobench_metrics(model, x)          # NeuroBench 2.3.0's metrics, computed by spikernn

CPU figures pin torch's threads, read process CPU time and the machine's load beside wall time, re-measure
disturbed windows and flag what stays disturbed; RAM energy is a separate component, never in the CPU figure.

Hardware figures (Davies 2018, Horowitz 2014, Blouw 2019) ship in ``figures.json`` with their sources.
"""
from spikernn.energy.compare import compare, threshold_sweep
from spikernn.energy.counts import (DenseArch, OpCounts, arch_of, cell_step_counts, horowitz_estimate,
                                    recognise_arch, sequence_counts, step_counts)
from spikernn.energy.figures import citation, horowitz, loihi, sources
from spikernn.energy.load import LoadSample, LoadWindow, background_load
from spikernn.energy.loihi import LoihiEstimate, loihi_estimate
from spikernn.energy.loihi_timing import LoihiLatency, loihi_latency
from spikernn.energy.neurobench_metrics import NeuroBenchMetrics, network_metrics, neurobench_metrics
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
    "sequence_counts", "arch_of", "recognise_arch", "horowitz_estimate", "report_for_saved_model", "save_report",
    "describe_energy_sources", "citation", "sources", "loihi", "horowitz", "LoihiLatency", "loihi_latency",
    "NeuroBenchMetrics", "neurobench_metrics", "network_metrics", "LoadSample", "LoadWindow", "background_load",
]
