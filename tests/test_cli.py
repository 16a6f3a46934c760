"""The `spikernn` command line: help and --version, the train -> convert -> simulate -> energy chain on tiny
synthetic data, `--json` on every command that prints results, and the conventions every command keeps:
results on stdout, progress/warnings/errors on stderr, exit codes 0 / 1 (failure) / 2 (usage) with one-line
errors in one style."""
import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

import spikernn
from spikernn.app.cli import app

COMMANDS = ("doctor", "demo", "train", "convert", "simulate", "energy")
runner = CliRunner()


def _ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def _json(result):
    """The stdout of a --json run: exactly one JSON object (progress went to stderr)."""
    _ok(result)
    return json.loads(result.stdout)


def test_top_level_help_lists_every_command():
    out = _ok(runner.invoke(app, ["--help"])).output
    for c in COMMANDS:
        assert c in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    out = _ok(runner.invoke(app, [command, "--help"])).output
    assert "Usage:" in out
    assert f"spikernn {command}" in out  # examples in the docstring


def test_version():
    res = _ok(runner.invoke(app, ["--version"]))
    assert res.stdout.strip() == f"spikernn {spikernn.__version__}"
    res = subprocess.run([sys.executable, "-m", "spikernn", "--version"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == f"spikernn {spikernn.__version__}"
    from importlib.metadata import version

    assert version("spikernn") == spikernn.__version__  # pyproject reads it from spikernn.__version__


def test_python_dash_m_is_the_same_entry_point():
    res = subprocess.run([sys.executable, "-m", "spikernn", "train", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "--hidden-size" in res.stdout


def test_every_command_with_results_has_a_json_flag():
    """--json means the same everywhere: a flag (no file name) that prints the results as JSON on stdout."""
    group = typer.main.get_command(app)
    for name in COMMANDS:
        opts = {o: p for p in group.commands[name].params for o in p.opts}
        assert "--json" in opts, name
        assert opts["--json"].is_flag, f"{name}: --json must be a flag, files have their own options"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "tiny"
    record = _json(runner.invoke(app, ["train", "--data", "synthetic", "--model", "lstm", "--hidden-size", "8",
                                       "--epochs", "2", "--device", "cpu", "--seed", "1", "--out", str(out), "--json"]))
    assert record["checkpoint"] == str(out / "model.safetensors") and record["seed"] == 1
    return out


def test_train_writes_a_loadable_checkpoint_and_record(trained):
    model = spikernn.load(trained / "model.safetensors")
    assert type(model).__name__ == "SpikingSequenceClassifier"
    record = json.loads((trained / "train.json").read_text())
    assert record["data"] == "synthetic" and record["model"] == "lstm" and record["world_size"] == 1
    assert 0.0 <= record["test_accuracy"] <= 1.0 and len(record["training"]["loss"]) == 2


def test_train_dense_baseline_with_table_output(tmp_path):
    res = _ok(runner.invoke(app, ["train", "--data", "synthetic", "--model", "gru", "--dense", "--hidden-size", "8",
                                  "--epochs", "1", "--device", "cpu", "--out", str(tmp_path)]))
    assert "test accuracy" in res.stdout and "saved" in res.stdout
    assert "train" in res.stderr  # progress of the steps goes to stderr
    assert type(spikernn.load(tmp_path / "model.safetensors")).__name__ == "DenseSequenceClassifier"


def test_train_and_demo_share_the_device_default():
    group = typer.main.get_command(app)
    defaults = {name: next(p.default for p in group.commands[name].params if p.name == "device")
                for name in ("train", "demo")}
    assert defaults == {"train": "auto", "demo": "auto"}


def test_convert_simulate_energy_chain(trained, tmp_path):
    net_path = trained / "model-fixed.net.safetensors"  # the name the demo uses too
    summary = _json(runner.invoke(app, ["convert", str(trained / "model.safetensors"), "--limit", "8", "--json"]))
    assert summary["network"] == str(net_path) and summary["precision"] == "fixed"
    assert summary["verification"]["sequences"] == 8 and 0.0 <= summary["verification"]["agreement"] <= 1.0
    from spikernn.hardware.network import Network

    assert Network.load(net_path).precision == "fixed"
    assert json.loads((trained / "model-fixed.json").read_text())["converted_from"].endswith("model.safetensors")
    res = _ok(runner.invoke(app, ["convert", str(trained / "model.safetensors"), "--limit", "8"]))
    assert "verify" in res.stdout and "population" in res.stdout  # the table form

    js = tmp_path / "sim.json"
    sim = _json(runner.invoke(app, ["simulate", str(net_path), "--limit", "16", "--json", "--out", str(js)]))
    assert sim == json.loads(js.read_text())
    assert sim["sequences"] == 16 and 0.0 <= sim["accuracy"] <= 1.0 and sim["per_inference"]["events"] >= 0
    assert sim["data"] == "synthetic" and sim["placement"]["cores"] >= 1  # data set found from the record

    # energy: the report goes to the model's folder by default (not the working directory)
    report = _json(runner.invoke(app, ["energy", str(trained / "model.safetensors"), "--limit", "8", "--quick",
                                       "--platforms", "cpu,loihi", "--json"]))
    for ext in ("html", "md", "json"):
        assert (trained / f"report.{ext}").exists()
    assert report["schema"] == json.loads((trained / "report.json").read_text())["schema"]
    kinds = {r["platform"]: r["kind"] for r in report["rows"]}
    assert kinds["loihi"] == "estimated" and kinds["cpu"] in ("measured", "estimated", "unavailable")


@pytest.mark.lava
def test_simulate_on_lava(trained, tmp_path):
    net_path = trained / "model-float.net.safetensors"
    _ok(runner.invoke(app, ["convert", str(trained / "model.safetensors"), "--precision", "float", "--no-verify"]))
    lava = _json(runner.invoke(app, ["simulate", str(net_path), "--backend", "lava", "--limit", "2", "--no-place", "--json"]))
    assert lava["backend"] == "lava" and lava["sequences"] == 2


def test_doctor_json():
    report = _json(runner.invoke(app, ["doctor", "--json", "--skip-lava"]))
    assert report["versions"]["spikernn"] == spikernn.__version__ and "energy_sources" in report
    import importlib.util

    has_numba = importlib.util.find_spec("numba") is not None
    assert report["fast_kernels"]["engine"] == ("numba" if has_numba else "numpy")
    assert report["training_kernels"]["engine"] == ("numba" if has_numba else "torch")
    assert (report["versions"]["numba"] is not None) == has_numba


def test_doctor_reports_the_numpy_fallback(monkeypatch):
    monkeypatch.setenv("SPIKERNN_KERNELS", "numpy")
    report = _json(runner.invoke(app, ["doctor", "--json", "--skip-lava"]))
    assert report["fast_kernels"]["engine"] == "numpy" and "SPIKERNN_KERNELS=numpy" in report["fast_kernels"]["reason"]
    assert report["training_kernels"] == {**report["training_kernels"], "engine": "torch",
                                          "reason": "SPIKERNN_KERNELS=numpy"}
    text = runner.invoke(app, ["doctor", "--skip-lava"]).output
    assert "numpy fallback" in text and "torch loop" in text


def _one_line_error(result, code, *needles):
    """One error line, the last on stderr (progress lines of the steps that ran may come before it)."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stdout == ""  # errors go to stderr
    assert "Traceback" not in result.stderr
    lines = [l for l in result.stderr.strip().splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    for n in needles:
        assert n in errors[0]


@pytest.mark.parametrize("argv", [["convert", "nope/model.safetensors"], ["simulate", "nope.safetensors"],
                                  ["energy", "nope/model.safetensors"]])
def test_missing_file_is_a_one_line_failure(argv):
    _one_line_error(runner.invoke(app, argv), 1, "not found", "nope")


def test_wrong_kind_of_file_is_a_one_line_failure(trained):
    # a model checkpoint given where a converted network is expected
    _one_line_error(runner.invoke(app, ["simulate", str(trained / "model.safetensors")]), 1,
                    "not a converted spikernn network")


def test_spiking_model_refuses_a_sigma_delta_threshold(trained, tmp_path):
    res = runner.invoke(app, ["convert", str(trained / "model.safetensors"), "--threshold", "0.1",
                              "--out", str(tmp_path / "n.safetensors")])
    _one_line_error(res, 1, "cannot convert")


def test_energy_sweep_of_a_spiking_model_is_a_clear_error(trained, tmp_path):
    # --sweep / --threshold are sigma-delta thresholds of dense models: say so before measuring anything
    for extra in (["--sweep", "0,0.1"], ["--threshold", "0.1"]):
        res = runner.invoke(app, ["energy", str(trained / "model.safetensors"), "--quick", "--limit", "4",
                                  "--out", str(tmp_path / "e"), *extra])
        _one_line_error(res, 1, "dense models", "spiking model")


@pytest.mark.parametrize("argv,needle", [
    (["train", "--model", "transformer"], "--model"),               # a bad value (our own check)
    (["train", "--epochs", "0"], "--epochs"),                       # a bad value (typer's range check)
    (["train", "--no-such-option"], "--no-such-option"),            # an unknown option
    (["simulate"], "NET_PATH"),                                     # a missing argument
    (["energy", "m.safetensors", "--platforms", "tpu"], "--platforms"),
    (["energy", "m.safetensors", "--sweep", "a,b"], "--sweep"),
    (["nonsense"], "nonsense"),                                     # an unknown command
])
def test_usage_errors_exit_2_in_the_same_one_line_style(argv, needle):
    res = runner.invoke(app, argv)
    _one_line_error(res, 2, needle.replace("NET_PATH", "net_path"))
    assert "--help" in res.stderr  # where to look


def test_exit_codes_through_the_real_entry_point():
    for argv, code in ((["convert", "does-not-exist.safetensors"], 1), (["train", "--model", "x"], 2), ([], 2)):
        res = subprocess.run([sys.executable, "-m", "spikernn", *argv], capture_output=True, text=True, timeout=60)
        assert res.returncode == code, (argv, res.returncode, res.stderr)
        assert "Traceback" not in res.stderr and res.stdout == ""
        if argv:
            assert res.stderr.startswith("error:") and len(res.stderr.strip().splitlines()) == 1
        else:  # a bare `spikernn` shows the help (on stderr) as a usage error
            assert "Commands:" in res.stderr


def test_synthetic_data_is_regenerated_with_the_training_seed(tmp_path):
    # simulate/convert/energy with --data auto must score the splits the model was trained/tested on
    import torch

    from spikernn.app import cli
    from spikernn.app.data import load_dataset

    out = tmp_path / "s3"
    _ok(runner.invoke(app, ["train", "--data", "synthetic", "--model", "rnn", "--hidden-size", "4", "--epochs", "1",
                            "--seed", "3", "--out", str(out)]))
    ds = cli._load_data("auto", out / "model.safetensors")
    assert torch.equal(ds.test.x, load_dataset("synthetic", seed=3).test.x)
    assert not torch.equal(ds.test.x, load_dataset("synthetic", seed=0).test.x)


def test_progress_is_shown_for_every_step_in_a_log(trained):
    """Outside a terminal each step still prints when it starts and ends, with its time (on stderr)."""
    res = _ok(runner.invoke(app, ["energy", str(trained / "model.safetensors"), "--limit", "4", "--quick",
                                  "--platforms", "cpu,loihi", "--json"]))
    lines = res.stderr.splitlines()
    for step in ("load data", "convert for the Loihi row", "measure cpu + simulate and estimate Loihi"):
        assert any(l.startswith(f"- {step}") for l in lines), res.stderr
        assert any(l.strip().startswith(f"{step}") and ": done (" in l for l in lines), res.stderr
