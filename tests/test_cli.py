"""The `spikernn` command line: help of every command, the train -> convert -> simulate -> energy chain on tiny
synthetic data, and one-line errors (no tracebacks) for missing or wrong files."""
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from spikernn.cli import app

COMMANDS = ("doctor", "demo", "train", "convert", "simulate", "energy")
runner = CliRunner()


def _ok(result):
    assert result.exit_code == 0, (result.output, getattr(result, "stderr", ""), result.exception)
    return result


def test_top_level_help_lists_every_command():
    out = _ok(runner.invoke(app, ["--help"])).output
    for c in COMMANDS:
        assert c in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    out = _ok(runner.invoke(app, [command, "--help"])).output
    assert "Usage:" in out
    assert f"spikernn {command}" in out  # examples in the docstring


def test_python_dash_m_is_the_same_entry_point():
    res = subprocess.run([sys.executable, "-m", "spikernn", "train", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "--hidden-size" in res.stdout


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "tiny"
    _ok(runner.invoke(app, ["train", "--data", "synthetic", "--model", "lstm", "--hidden-size", "8", "--epochs", "2",
                            "--device", "cpu", "--seed", "1", "--out", str(out)]))
    return out


def test_train_writes_a_loadable_checkpoint_and_record(trained):
    import spikernn as snr

    model = snr.load(trained / "model.safetensors")
    assert type(model).__name__ == "SpikingSequenceClassifier"
    record = json.loads((trained / "train.json").read_text())
    assert record["data"] == "synthetic" and record["model"] == "lstm" and record["world_size"] == 1
    assert 0.0 <= record["test_accuracy"] <= 1.0 and len(record["training"]["loss"]) == 2


def test_train_dense_baseline(tmp_path):
    import spikernn as snr

    _ok(runner.invoke(app, ["train", "--data", "synthetic", "--model", "gru", "--dense", "--hidden-size", "8",
                            "--epochs", "1", "--device", "cpu", "--out", str(tmp_path)]))
    assert type(snr.load(tmp_path / "model.safetensors")).__name__ == "DenseSequenceClassifier"


def test_convert_simulate_energy_chain(trained, tmp_path):
    net_path = trained / "model-fixed.net.safetensors"
    res = _ok(runner.invoke(app, ["convert", str(trained / "model.safetensors"), "--precision", "fixed", "--limit", "8"]))
    assert net_path.exists() and "verify" in res.output
    from spikernn.hardware.network import Network

    assert Network.load(net_path).precision == "fixed"

    js = tmp_path / "sim.json"
    res = _ok(runner.invoke(app, ["simulate", str(net_path), "--backend", "fast", "--limit", "16", "--json", str(js)]))
    assert "accuracy" in res.output
    sim = json.loads(js.read_text())
    assert sim["sequences"] == 16 and 0.0 <= sim["accuracy"] <= 1.0 and sim["per_inference"]["events"] >= 0

    res = _ok(runner.invoke(app, ["simulate", str(net_path), "--backend", "lava", "--limit", "2", "--no-place",
                                  "--json", str(js)]))
    lava = json.loads(js.read_text())
    assert lava["backend"] == "lava" and lava["sequences"] == 2

    rep = tmp_path / "report"
    res = _ok(runner.invoke(app, ["energy", str(trained / "model.safetensors"), "--limit", "8", "--quick",
                                  "--platforms", "cpu,loihi", "--out", str(rep)]))
    for ext in ("html", "md", "json"):
        assert (rep / f"report.{ext}").exists()
    data = json.loads((rep / "report.json").read_text())
    kinds = {r["platform"]: r["kind"] for r in data["rows"]}
    assert kinds["loihi"] == "estimated" and kinds["cpu"] in ("measured", "estimated", "unavailable")


def _one_line_error(result, *needles):
    assert result.exit_code != 0
    text = result.output  # click >= 8.2: stdout and stderr interleaved
    assert "Traceback" not in text
    lines = [l for l in text.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), text
    for n in needles:
        assert n in lines[0]


@pytest.mark.parametrize("argv", [["convert", "nope/model.safetensors"], ["simulate", "nope.safetensors"],
                                  ["energy", "nope/model.safetensors"]])
def test_missing_file_is_a_one_line_error(argv):
    _one_line_error(runner.invoke(app, argv), "not found", "nope")


def test_wrong_kind_of_file_is_a_one_line_error(trained):
    # a model checkpoint given where a converted network is expected
    _one_line_error(runner.invoke(app, ["simulate", str(trained / "model.safetensors")]), "not a converted spikernn network")


def test_spiking_model_refuses_a_sigma_delta_threshold(trained, tmp_path):
    res = runner.invoke(app, ["convert", str(trained / "model.safetensors"), "--threshold", "0.1",
                              "--out", str(tmp_path / "n.safetensors")])
    _one_line_error(res, "cannot convert")


def test_energy_sweep_of_a_spiking_model_is_a_clear_error(trained, tmp_path):
    # --sweep / --threshold are sigma-delta thresholds of dense models: say so before measuring anything
    for extra in (["--sweep", "0,0.1"], ["--threshold", "0.1"]):
        res = runner.invoke(app, ["energy", str(trained / "model.safetensors"), "--quick", "--limit", "4",
                                  "--out", str(tmp_path / "e"), *extra])
        _one_line_error(res, "dense models", "spiking model")


def test_bad_option_value_exits_nonzero():
    res = runner.invoke(app, ["train", "--model", "transformer", "--epochs", "1"])
    assert res.exit_code != 0 and "Traceback" not in res.output


def test_missing_file_through_the_real_entry_point():
    res = subprocess.run([sys.executable, "-m", "spikernn", "convert", "does-not-exist.safetensors"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr and res.stderr.strip().startswith("error:")
    assert len(res.stderr.strip().splitlines()) == 1


def test_synthetic_data_is_regenerated_with_the_training_seed(tmp_path):
    # simulate/convert/energy with --data auto must score the splits the model was trained/tested on
    import torch

    from spikernn import cli
    from spikernn.demo import load_dataset

    out = tmp_path / "s3"
    _ok(runner.invoke(app, ["train", "--data", "synthetic", "--model", "rnn", "--hidden-size", "4", "--epochs", "1",
                            "--seed", "3", "--out", str(out)]))
    ds = cli._load_data("auto", out / "model.safetensors")
    assert torch.equal(ds.test.x, load_dataset("synthetic", seed=3).test.x)
    assert not torch.equal(ds.test.x, load_dataset("synthetic", seed=0).test.x)
