"""The distribution: one namespace, Lava never imported by `import spikernn`, the CLI entry point."""
import importlib.util
import json
import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout


def test_import_spikernn_does_not_import_lava():
    out = _run("import sys, spikernn, spikernn.hardware, spikernn.converters, spikernn.energy;"
               "print([m for m in sys.modules if m.startswith('lava')])")
    assert out.strip() == "[]"


def test_subpackages_live_in_one_namespace():
    out = _run("import spikernn.hardware, spikernn.converters, spikernn.energy, sys;"
               "print(json.dumps([m for m in ('hardware', 'energy', 'converters') if m in sys.modules]))".replace("json.dumps", "__import__('json').dumps"))
    assert json.loads(out) == []  # nothing installs a top-level `hardware`, `energy` or `converters`


def test_cli_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "spikernn", "--help"], check=True, capture_output=True, text=True).stdout
    for command in ("doctor",):
        assert command in out


def test_doctor_json_reports_versions_and_energy_sources():
    res = subprocess.run([sys.executable, "-m", "spikernn", "doctor", "--json", "--skip-lava"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["python"].startswith("3.")
    lava = importlib.util.find_spec("lava") is not None  # Lava is the optional `lava` extra
    assert report["versions"]["torch"] and report["versions"]["lava-nc"] == ("0.10.0" if lava else None)
    assert report["energy_sources"]["cpu"]["kind"] in ("measured", "estimated")
