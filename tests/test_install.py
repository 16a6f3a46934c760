"""Lava is an extra: the core distribution installs beside numpy 2 (no Lava pins), the `lava` extra carries
Lava's pins, and `backend="lava"` without Lava is a clear error saying how to install it. These tests run in
both environments: where Lava is installed, a subprocess hides it (``sys.modules["lava"] = None``)."""
import json
import subprocess
import sys
from importlib.metadata import requires

HIDE_LAVA = "import sys; sys.modules['lava'] = None; "


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", HIDE_LAVA + code], capture_output=True, text=True, timeout=120)


def _requirements() -> tuple[dict, dict]:
    """(core, lava extra): requirement name -> its specifier, from the installed distribution's metadata."""
    from packaging.requirements import Requirement

    core, lava = {}, {}
    for text in requires("spikernn") or []:
        req = Requirement(text)
        marker = str(req.marker or "")
        if not marker:
            core[req.name.lower()] = str(req.specifier)
        elif 'extra == "lava"' in marker:
            lava[req.name.lower()] = str(req.specifier)
    return core, lava


def test_core_requirements_do_not_pin_numpy_below_2_and_the_lava_extra_does():
    core, lava = _requirements()
    assert "<2" not in core["numpy"] and "lava-nc" not in core
    for dep in ("scipy", "scikit-learn", "networkx", "asteval"):
        assert dep not in core, f"{dep} is a Lava pin and belongs in the lava extra, not the core"
    assert "<2" in lava["numpy"]
    assert set(lava) == {"numpy", "scipy", "scikit-learn", "networkx", "asteval"}


def test_lava_backend_without_lava_says_how_to_install_it():
    res = _run("import torch, spikernn as snr\n"
               "from spikernn import converters\n"
               "net = converters.to_lava(snr.SpikingRNN(2, 3), precision='float')\n"
               "try:\n"
               "    net.run(torch.zeros(4, 1, 2), backend='lava')\n"
               "except ImportError as e:\n"
               "    print(type(e).__name__, '|', e)\n")
    assert res.returncode == 0, res.stderr
    name, message = res.stdout.split(" | ", 1)
    assert name == "LavaNotInstalled"
    assert "pip install 'spikernn[lava]'" in message and "--no-deps --ignore-requires-python lava-nc==0.10.0" in message
    assert "backend='fast'" in message  # and what works without it


def test_fast_backend_and_energy_work_without_lava():
    res = _run("import torch, spikernn as snr\n"
               "from spikernn import converters, energy\n"
               "m = snr.SpikingSequenceClassifier('rnn', 2, 4, 3).eval()\n"
               "x = torch.randn(5, 6, 2)\n"
               "net = converters.to_lava(m, precision='fixed', calibration_x=x)\n"
               "y, stats = net.simulate(x, backend='fast')\n"
               "rep = energy.compare(m, x, platforms=('loihi',), network=net)\n"
               "print(sorted(k for k, v in sys.modules.items() if v is not None and k.split('.')[0] == 'lava'),"
               " rep.rows[0].kind)\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["[]", "estimated"]


def test_doctor_without_lava_succeeds_and_says_how_to_install_it():
    res = _run("from spikernn.app.cli import main; sys.exit(main(['doctor', '--json']))")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["lava"]["installed"] is False and "spikernn[lava]" in report["lava"]["install"]
