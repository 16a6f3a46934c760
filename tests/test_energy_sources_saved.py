"""describe_energy_sources (for `spikernn doctor`) and report_for_saved_model (for `spikernn energy`)."""
import json
import sys

import pytest
import torch

import spikernn
from spikernn.energy import describe_energy_sources, report_for_saved_model
from spikernn.energy.report import EnergyReport


def test_sources_never_raise_and_say_why(monkeypatch):
    monkeypatch.setattr("spikernn.energy.rapl.POWERCAP_ROOT", "/nonexistent/powercap")
    monkeypatch.setitem(sys.modules, "pynvml", None)
    src = describe_energy_sources(probe_codecarbon=False)
    assert set(src) == {"cpu", "gpu"}
    assert src["cpu"]["kind"] == "estimated" and "no RAPL" in src["cpu"]["summary"]
    assert not src["gpu"]["available"] and "pynvml" in src["gpu"]["summary"]
    monkeypatch.setitem(sys.modules, "codecarbon", None)
    src = describe_energy_sources()
    assert not src["cpu"]["available"] and "codecarbon" in src["cpu"]["summary"]
    json.dumps(src)


def test_report_for_saved_model(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"placeholder")
    torch.manual_seed(0)
    model = torch.nn.RNN(3, 4)
    monkeypatch.setattr(spikernn, "load", lambda p: model, raising=False)

    class Meter:
        method, kind, caveat, device, supports_idle = "fake", "measured", "fake", "fake", False

        def open(self): ...
        def start(self): ...
        def close(self): ...

        def stop(self):
            from spikernn.energy.meters import MeterReading
            return MeterReading(1.0, 1.0)

    rep, paths = report_for_saved_model(path, torch.randn(5, 2, 3), out=tmp_path / "out" / "rep",
                                        platforms=("cpu",), repeats=1, min_window_s=0.0, cpu_meters=[Meter()])
    assert sorted(p.name for p in paths) == ["rep.html", "rep.json", "rep.md"]
    assert EnergyReport.load(tmp_path / "out" / "rep.json").row("cpu").method == "fake"
    assert rep.title.endswith("model.safetensors")
    with pytest.raises(FileNotFoundError, match="no saved model"):
        report_for_saved_model(tmp_path / "missing.safetensors", torch.randn(5, 2, 3))
