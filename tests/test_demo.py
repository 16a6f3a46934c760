"""`spikernn demo --quick` runs the whole job (train, convert, Lava check, simulated hardware, placement,
energy) and writes the report; the pipeline lives in the application layer (spikernn.app) and reuses
energy.compare for the simulated-hardware run instead of simulating the test split itself."""
import importlib.util
import json
import os
import subprocess
import sys
import time

import pytest

LAVA = importlib.util.find_spec("lava") is not None


@pytest.mark.timeout(240)
def test_demo_quick_writes_the_report_and_prints_json(tmp_path):
    env = dict(os.environ, COLUMNS="160")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "spikernn", "demo", "--quick", "--out", str(tmp_path), "--json"],
                         capture_output=True, text=True, timeout=230, env=env)
    seconds = time.perf_counter() - t0
    print(f"spikernn demo --quick: {seconds:.1f} s")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    summary = json.loads(res.stdout)  # --json: the results alone on stdout, progress on stderr
    assert summary == json.loads((tmp_path / "demo.json").read_text())
    for ext in ("html", "md", "json"):
        assert (tmp_path / f"report.{ext}").stat().st_size > 0
    report = json.loads((tmp_path / "report.json").read_text())
    kinds = {r["platform"]: r["kind"] for r in report["rows"]}
    # one report for both models: every row names platform and model
    assert kinds["loihi (spiking LSTM)"] == "estimated" and kinds["loihi (dense LSTM)"] == "estimated"
    assert kinds["cpu (spiking LSTM)"] in ("measured", "estimated")
    assert summary["problems"] == []
    assert [m["label"] for m in summary["models"]] == ["spiking LSTM", "dense LSTM"]
    for m in summary["models"]:
        assert m["torch_accuracy"] is not None and m["hardware_accuracy"] is not None
        assert m["activity_per_inference"]["events"] > 0 and m["cores"] >= 1
        if LAVA:
            assert m["lava_sequences"] >= 1 and m["lava_max_abs_diff"] == 0.0  # fixed point: bit-identical
        else:
            assert m["lava_sequences"] == 0
    if LAVA:
        assert summary["skipped"] == {}
    else:  # the Lava check is skipped, saying how to install it; everything else ran
        assert all("lava-nc" in why and "spikernn[lava]" in why for why in summary["skipped"].values())
        assert len(summary["skipped"]) == 2
    # the files are named as `spikernn train` / `spikernn convert` name them
    for which in ("spiking-lstm", "dense-lstm"):
        names = sorted(p.name for p in (tmp_path / which).iterdir())
        assert names == ["model-fixed.json", "model-fixed.net.safetensors", "model.safetensors", "train.json"]
    assert "accuracy" in res.stderr and "energy and simulated hardware" in res.stderr  # progress of every step


def test_demo_table_output(tmp_path):
    """Without --json the closing tables go to stdout."""
    res = subprocess.run([sys.executable, "-m", "spikernn", "demo", "--quick", "--lava-sequences", "0",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=230,
                         env=dict(os.environ, COLUMNS="160"))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "accuracy" in res.stdout and "energy per inference" in res.stdout and "report" in res.stdout


def test_the_test_split_is_simulated_once_per_model_by_energy_compare(tmp_path, monkeypatch):
    """The demo reads the simulated hardware's accuracy and activity from energy.compare's Loihi row: each
    network runs the (quick) test split once, in one batch, and nothing else simulates it again."""
    from spikernn.app import DemoConfig, run_demo
    from spikernn.hardware.network import Network

    calls = []
    original = Network.simulate

    def counting(self, x, *args, **kwargs):
        calls.append((kwargs.get("backend", "fast"), tuple(x.shape)))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(Network, "simulate", counting)
    result = run_demo(DemoConfig(out=tmp_path, quick=True, lava_sequences=0))
    assert result.ok, result.problems
    n_test = 32
    assert len(calls) == 2 and all(b == "fast" and n_test in shape for b, shape in calls), calls
    for m in result.models:
        assert m.hardware_accuracy is not None and m.activity_per_inference["core_hops"] >= 0


def test_demo_is_importable_without_the_cli_and_the_old_path_still_works():
    from spikernn.app import DemoConfig, run_demo

    cfg = DemoConfig(quick=True).finalize()
    assert cfg.epochs == 2 and cfg.lava_sequences == 1 and cfg.device == "auto" and callable(run_demo)
    sys.modules.pop("spikernn.demo", None)
    with pytest.warns(DeprecationWarning, match="spikernn.app"):
        from spikernn.demo import run_demo as old
    assert old is run_demo


EXAMPLES = {
    "convert_trained_lstm.py": ["--epochs", "1", "--hidden-size", "8", "--lava-sequences", "1"],
    "spiking_gru_forecasting.py": ["--series", "airline", "--epochs", "2", "--hidden-size", "8"],
    "energy_report_for_your_model.py": ["--epochs", "1", "--hidden-size", "8", "--inferences", "8", "--quick"],
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_examples_run(script, tmp_path):
    """The examples stay runnable (tiny settings here)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = list(EXAMPLES[script]) + (["--out", str(tmp_path / "rep")] if "energy" in script else [])
    res = subprocess.run([sys.executable, os.path.join(root, "examples", script), *args], capture_output=True,
                         text=True, timeout=110, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    if "energy" in script:
        assert (tmp_path / "rep" / "report.html").exists()


def test_energy_report_does_not_drop_unknown_options():
    # a misspelt option must fail loudly instead of being filtered out before energy.compare
    from spikernn.app.data import load_dataset
    from spikernn.app.models import build_model
    from spikernn.app.reports import energy_report

    ds = load_dataset("synthetic")
    m = build_model("lstm", input_size=ds.input_size, hidden_size=4, num_classes=ds.num_classes)
    with pytest.raises(TypeError, match="sweep_threshold"):
        energy_report(m, ds.test.subset(2), platforms=("loihi",), sweep_threshold=[0.1])
