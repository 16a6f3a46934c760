"""EnergyReport: rows, ratios, and the three saved forms (versioned JSON, Markdown, self-contained HTML)."""
import base64
import json
import re

import numpy as np
import pytest

from spikernn.energy.loihi import loihi_estimate
from spikernn.energy.report import SCHEMA, EnergyReport, PlatformRow, SweepPoint
from spikernn.energy.result import EnergyFigure
from spikernn.hardware.stats import ActivityStats


def cpu_figure():
    return EnergyFigure(kind="estimated", method="codecarbon-tdp-load", caveat="TDP x load | not measured",
                        joules_per_inference=2e-4, seconds_per_inference=1e-5, iterations=1000, repeats=3,
                        spread_j=1e-6, samples_j=(1.9e-4, 2e-4, 2.1e-4), components_j={"cpu": 1e-4, "ram": 1e-4},
                        device="cpu")


def stats():
    return ActivityStats(steps=4, batch=2, events={"input": np.array([2, 1, 0, 1]), "l0": np.array([3, 2, 2, 1])},
                         synaptic_ops={"input->l0": np.array([8, 4, 0, 4]), "l0->l0": np.array([12, 8, 8, 4])},
                         neuron_updates={"l0": 32}, message_bits={"input": 24, "l0": 24})


def make_report():
    rep = EnergyReport(title="test report", model="LSTM 2->4", inferences=2, steps=4)
    rep.add_row(PlatformRow.from_figure("loihi", loihi_estimate(stats()).figure, accuracy=0.5))
    rep.add_row(PlatformRow.from_figure("cpu", cpu_figure(), accuracy=0.5))
    rep.add_row(PlatformRow.from_figure("gpu", EnergyFigure.unavailable("none", "no CUDA device visible to torch")))
    rep.set_activity(stats())
    rep.loihi_breakdown = loihi_estimate(stats()).to_dict()
    rep.add_threshold_sweep([{"threshold": 0.1, "accuracy": 0.4, "events_per_inference": 5.0,
                              "synaptic_ops_per_inference": 20.0, "energy_per_inference_j": 1e-9},
                             SweepPoint(0.0, 0.5, 6.0, 24.0, 1.2e-9)])
    return rep


def test_rows_order_ratios_and_unavailable():
    rep = make_report()
    assert [r.platform for r in rep.rows] == ["cpu", "gpu", "loihi"]
    gpu = rep.row("gpu")
    assert gpu.kind == "unavailable" and gpu.energy_per_inference_j is None and "no CUDA" in gpu.caveat
    loihi = rep.row("loihi").energy_per_inference_j
    assert rep.ratios()["cpu/loihi"] == pytest.approx(2e-4 / loihi)
    assert "gpu/cpu" not in rep.ratios()
    assert [p.threshold for p in rep.threshold_sweep] == [0.0, 0.1]
    with pytest.raises(KeyError, match="rows"):
        rep.row("tpu")


def test_json_versioned_and_roundtrips(tmp_path):
    rep = make_report()
    p = rep.save(tmp_path / "r.json")
    d = json.loads(p.read_text())
    assert d["schema"] == SCHEMA == "spikernn.energy-report/1"
    assert {r["platform"] for r in d["rows"]} == {"cpu", "gpu", "loihi"}
    for r in d["rows"]:
        assert {"platform", "energy_per_inference_j", "seconds_per_inference", "kind", "method", "caveat",
                "accuracy"} <= set(r)
    assert d["rows"][0]["kind"] == "estimated" and d["rows"][0]["method"] == "codecarbon-tdp-load"
    assert "davies2018" in d["metadata"]["sources"] and d["metadata"]["versions"]["spikernn"]
    assert d["metadata"]["machine"]["cpu_count"] >= 1 and d["created"]
    back = EnergyReport.load(p)
    assert back.to_dict()["rows"] == d["rows"] and back.threshold_sweep == rep.threshold_sweep
    with pytest.raises(ValueError, match="schema"):
        EnergyReport.from_dict({"schema": "other/1"})


def test_markdown_spells_out_kinds_methods_caveats(tmp_path):
    md = make_report().save(tmp_path / "r.md").read_text()
    assert "| cpu | 200 µJ (190 µJ – 210 µJ) | TDP x load share, CPU only |" in md  # range = the samples' min-max
    assert "codecarbon-tdp-load" in md and "loihi-davies2018-proxy" in md
    assert "**cpu** (estimated, codecarbon-tdp-load): TDP x load | not measured" in md
    assert "unavailable: no CUDA device visible to torch" in md
    assert "IEEE Micro" in md and "Blouw" in md
    assert "| cpu / loihi |" in md and "loihi / cpu" not in md  # each pair once, in row order


def test_html_self_contained_with_plots(tmp_path):
    html = make_report().save(tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert not re.search(r'(src|href)="(http|//)', html)  # nothing loaded from anywhere
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) == 4  # energy per platform, Loihi breakdown, activity over time, threshold sweep
    for b in imgs:
        assert base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'class="kind-estimated"' in html and 'class="kind-unavailable"' in html


def test_empty_report_and_bad_extension(tmp_path):
    rep = EnergyReport()
    for ext in ("json", "md", "html"):
        assert rep.save(tmp_path / "sub" / f"e.{ext}").stat().st_size > 0
    with pytest.raises(ValueError, match=r"\.json, \.md or \.html"):
        rep.save(tmp_path / "e.pdf")


def test_ratio_table_says_what_each_side_counts_and_adds_dynamic_ratios():
    rep = make_report()
    loihi = rep.row("loihi")
    # per-operation energies are dynamic energy: the Loihi figure is all dynamic
    assert loihi.dynamic_energy_per_inference_j == loihi.energy_per_inference_j
    assert loihi.figure.basis.startswith("dynamic only")
    assert rep.row("cpu").figure.basis == "TDP x load share, CPU only"
    assert rep.ratios(dynamic=True) == {}  # the codecarbon figure has no dynamic part
    md = rep.to_markdown()
    assert "| cpu / loihi |" in md and "TDP x load share, CPU only / dynamic only" in md
    # a counter with idle power subtracted gives a like-for-like dynamic ratio as well
    rapl = EnergyFigure(kind="measured", method="rapl", caveat="package counter", joules_per_inference=3e-4,
                        seconds_per_inference=1e-5, dynamic_joules_per_inference=1e-4, idle_watts=5.0, device="cpu")
    rep2 = EnergyReport(title="t", inferences=2, steps=4)
    rep2.add_row(PlatformRow.from_figure("cpu", rapl))
    rep2.add_row(PlatformRow.from_figure("loihi", loihi.figure))
    e = loihi.energy_per_inference_j
    assert rep2.ratios()["cpu/loihi"] == pytest.approx(3e-4 / e)
    assert rep2.ratios(dynamic=True)["cpu/loihi"] == pytest.approx(1e-4 / e)
    md2 = rep2.to_markdown()
    assert "package incl. idle, RAM separate / dynamic only" in md2
    from spikernn.energy.fmt import fmt_ratio

    assert f"| cpu / loihi | {fmt_ratio(1e-4 / e)} | measured / estimated | dynamic / dynamic |" in md2
    assert json.loads(rep2.to_json())["dynamic_ratios"]["cpu/loihi"] == pytest.approx(1e-4 / e)


def test_numbers_for_people_and_accuracy_with_n():
    """No 96766.2, no 50858.20 µJ, no 6.61e+03: counts with separators, SI prefixes, ratios with the digits
    their range supports; accuracy with its n and 95 % interval."""
    rep = EnergyReport(title="t", inferences=370, steps=29)
    wide = EnergyFigure(kind="estimated", method="codecarbon-tdp-load", caveat="c", joules_per_inference=5.0858e-2,
                        seconds_per_inference=1e-3, samples_j=(9e-3, 5.0858e-2, 6.2e-2), repeats=3, device="cpu")
    rep.add_row(PlatformRow.from_figure("cpu", wide, accuracy=356 / 370, accuracy_n=370, accuracy_of="full test split"))
    lo = EnergyFigure(kind="estimated", method="loihi-davies2018-proxy", caveat="e", joules_per_inference=7.7e-6,
                      seconds_per_inference=2e-5, low_j=7e-6, high_j=8.5e-6)
    rep.add_row(PlatformRow.from_figure("loihi", lo))
    rep.set_activity(ActivityStats(steps=2, batch=1, events={"l0": np.array([96766, 0])},
                                   synaptic_ops={"l0->l0": np.array([12345678, 0])}, neuron_updates={"l0": 200}))
    md = rep.to_markdown()
    assert "| cpu | 50 mJ (9 mJ – 62 mJ) |" in md and "50858" not in md  # one digit: the range is wide
    assert "96.2 % (n = 370, 95 % CI 93.7–97.7 %)" in md and "full test split, n = 370" in md
    t = rep.ratio_table()[0]
    assert (t["low"], t["high"]) == pytest.approx((9e-3 / 8.5e-6, 6.2e-2 / 7e-6))
    assert "| cpu / loihi | 7,000 (1,100–8,900) |" in md and "e+0" not in md
    assert "96,766" in md and "12,345,678" in md and "96766" not in md
    assert "| cpu | 1 ms | 50.9 µJ·s |" in md  # energy-delay product
