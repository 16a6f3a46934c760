"""`spikernn demo --quick` runs the whole job (train, convert, Lava check, fast simulator, placement, energy)
and writes the report."""
import json
import os
import subprocess
import sys
import time

import pytest


@pytest.mark.timeout(180)
def test_demo_quick_writes_the_report(tmp_path):
    env = dict(os.environ, COLUMNS="160")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "spikernn", "demo", "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=170, env=env)
    seconds = time.perf_counter() - t0
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    for ext in ("html", "md", "json"):
        assert (tmp_path / f"report.{ext}").stat().st_size > 0
    report = json.loads((tmp_path / "report.json").read_text())
    kinds = {r["platform"]: r["kind"] for r in report["rows"]}
    # one report for both models: every row names platform and model
    assert kinds["loihi (spiking LSTM)"] == "estimated" and kinds["loihi (dense LSTM)"] == "estimated"
    assert kinds["cpu (spiking LSTM)"] in ("measured", "estimated")
    summary = json.loads((tmp_path / "demo.json").read_text())
    assert summary["problems"] == []
    labels = [m["label"] for m in summary["models"]]
    assert labels == ["spiking LSTM", "dense LSTM"]
    for m in summary["models"]:
        assert m["torch_accuracy"] is not None and m["hardware_accuracy"] is not None
        assert m["lava_sequences"] >= 1 and m["lava_max_abs_diff"] == 0.0  # fixed point: bit-identical
    assert summary["models"][0]["cores"] >= 1
    assert "accuracy" in res.stdout and "report" in res.stdout and "energy per inference" in res.stdout
    assert seconds < 170


def test_demo_is_importable_without_the_cli():
    from spikernn.demo import DemoConfig, run_demo

    cfg = DemoConfig(quick=True).finalize()
    assert cfg.epochs == 2 and cfg.lava_sequences == 1 and callable(run_demo)


EXAMPLES = {
    "convert_trained_lstm.py": ["--epochs", "1", "--hidden-size", "8", "--lava-sequences", "1"],
    "spiking_gru_forecasting.py": ["--series", "airline", "--epochs", "2", "--hidden-size", "8"],
    "energy_report_for_your_model.py": ["--epochs", "1", "--hidden-size", "8", "--inferences", "8", "--quick"],
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_examples_run(script, tmp_path):
    """The examples stay runnable (tiny settings here; their defaults take well under 2 minutes)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = list(EXAMPLES[script]) + (["--out", str(tmp_path / "rep")] if "energy" in script else [])
    res = subprocess.run([sys.executable, os.path.join(root, "examples", script), *args], capture_output=True,
                         text=True, timeout=110, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    if "energy" in script:
        assert (tmp_path / "rep" / "report.html").exists()


def test_energy_report_does_not_drop_unknown_options():
    # a misspelt option must fail loudly instead of being filtered out before energy.compare
    from spikernn.demo import build_model, energy_report, load_dataset

    ds = load_dataset("synthetic")
    m = build_model("lstm", input_size=ds.input_size, hidden_size=4, num_classes=ds.num_classes)
    with pytest.raises(TypeError, match="sweep_threshold"):
        energy_report(m, ds.test.subset(2), platforms=("loihi",), sweep_threshold=[0.1])
